use std::net::SocketAddr;

use clap::Parser;
use ovice_slack::cli::{Cli, Command};
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

use super::tokens::TEST_JWT_SECRET;

/// `ovice-slack serve --target all` on 127.0.0.1:0, in this process, on a fresh database.
pub struct TestServer {
    pub addr: SocketAddr,
    pub database_url: SecretString,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
    _db_dir: Option<TempDirGuard>,
}

pub const TEST_ENCRYPTION_KEYS: &str = "e2e1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

impl TestServer {
    pub async fn start(backend: Backend, slack_api: &url::Url) -> Self {
        let (database_url, db_dir) = match backend {
            Backend::Sqlite => {
                let (url, guard) = fresh_sqlite_database().unwrap();
                (url, Some(guard))
            }
            Backend::Postgres => (fresh_postgres_database().await.unwrap(), None),
        };
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cli = Cli::try_parse_from([
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
            "--encryption-keys",
            TEST_ENCRYPTION_KEYS,
            "--api-base-url",
            slack_api.as_str(),
            "--slack-timeout",
            "5",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            unreachable!()
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(ovice_slack::serve::run(*args, listener, shutdown.clone()));
        let server = Self {
            addr,
            database_url,
            shutdown,
            task: Some(task),
            _dir: dir,
            _db_dir: db_dir,
        };
        server.wait_serving().await;
        server
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
