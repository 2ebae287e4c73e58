use std::net::SocketAddr;

use clap::Parser;
use ovice_slack::{
    cli::{Cli, Command},
    serve::Listeners,
};
use ovice_slack_runtime::{
    db::Database,
    test_support::{Backend, TempDirGuard, fresh_postgres_database, fresh_sqlite_database},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::tokens::{PROCESS_KEYS, TEST_JWT_SECRET};

/// `ovice-slack serve --target all` on 127.0.0.1:0, in this process, on a fresh database.
pub struct TestServer {
    pub addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub database_url: SecretString,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
    _db_dir: Option<TempDirGuard>,
}

/// The emulator's demo OAuth app (`Seed::demo()`), used as the operator's distributed Slack app.
pub const TEST_CLIENT_ID: &str = "111.222";
pub const TEST_CLIENT_SECRET: &str = "emulator-secret";

/// Where the test server finds Slack.
pub struct SlackUrls {
    pub api_url: url::Url,
    pub authorize_url: url::Url,
}

impl SlackUrls {
    /// The emulator's endpoints; registers `callback` as a redirect URI of the demo app once known.
    pub fn of(slack: &slack_emulator::EmulatorHandle) -> Self {
        Self {
            api_url: slack.api_url(),
            authorize_url: slack.authorize_url(),
        }
    }
}

pub const TEST_ENCRYPTION_KEYS: &str = "e2e1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

impl TestServer {
    pub async fn start(backend: Backend, slack: &SlackUrls) -> Self {
        Self::start_with(backend, slack, &[]).await
    }

    /// Like [`TestServer::start`], with extra `serve` flags.
    pub async fn start_with(backend: Backend, slack: &SlackUrls, extra: &[&str]) -> Self {
        let (database_url, db_dir) = match backend {
            Backend::Sqlite => {
                let (url, guard) = fresh_sqlite_database().unwrap();
                (url, Some(guard))
            }
            Backend::Postgres => (fresh_postgres_database().await.unwrap(), None),
        };
        let dir = tempfile::tempdir().unwrap();
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = grpc.local_addr().unwrap();
        let http_addr = http.local_addr().unwrap();
        let callback_url = format!("http://{http_addr}/oauth/slack/callback");
        let service_keys = PROCESS_KEYS.key_set();
        let cli = Cli::try_parse_from(
            [
                "ovice-slack",
                "serve",
                "--target",
                "all",
                "--data-dir",
                dir.path().to_str().unwrap(),
                "--database-url",
                database_url.expose_secret(),
                "--jwt-secret",
                TEST_JWT_SECRET,
                "--service-keys-file",
                &service_keys,
                "--encryption-keys",
                TEST_ENCRYPTION_KEYS,
                "--api-base-url",
                slack.api_url.as_str(),
                "--authorize-url",
                slack.authorize_url.as_str(),
                "--slack-client-id",
                TEST_CLIENT_ID,
                "--slack-client-secret",
                TEST_CLIENT_SECRET,
                "--slack-signing-secret",
                slack_emulator::DEMO_SIGNING_SECRET,
                "--oauth-redirect-url",
                &callback_url,
                "--slack-timeout",
                "5",
            ]
            .into_iter()
            .chain(extra.iter().copied()),
        )
        .unwrap();
        let Command::Serve(args) = cli.command() else {
            unreachable!()
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(ovice_slack::serve::run(
            *args,
            Listeners { grpc, http },
            shutdown.clone(),
        ));
        let server = Self {
            addr,
            http_addr,
            database_url,
            shutdown,
            task: Some(task),
            _dir: dir,
            _db_dir: db_dir,
        };
        server.wait_serving().await;
        server
    }

    /// The OAuth callback URL; registers it with the emulator's demo app like an operator would.
    pub fn register_callback(&self, slack: &slack_emulator::EmulatorHandle) -> String {
        let url = format!("http://{}/oauth/slack/callback", self.http_addr);
        assert!(slack.add_redirect_uri(TEST_CLIENT_ID, &url));
        url
    }

    /// Points the demo app's Request URL at this server's Events endpoint.
    pub fn register_events(&self, slack: &slack_emulator::EmulatorHandle) -> String {
        let url = format!("http://{}/slack/events", self.http_addr);
        assert!(slack.set_event_url(TEST_CLIENT_ID, &url));
        url
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn wait_serving(&self) {
        // Health turns SERVING only once every target is ready; Watch streams each change.
        let mut client = HealthClient::new(self.channel().await);
        let mut updates = client
            .watch(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        while let Some(update) = updates.message().await.unwrap() {
            if update.status == ServingStatus::Serving as i32 {
                return;
            }
        }
        panic!("health stream ended before the server was SERVING");
    }

    /// Opens the database the server uses, for assertions on what is stored.
    pub async fn database(&self) -> Database {
        Database::connect(&self.database_url, 1).await.unwrap()
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
