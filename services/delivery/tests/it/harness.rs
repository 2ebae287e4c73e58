//! A delivery service on a fresh database, the Slack emulator over HTTP, an in-memory directory,
//! and clients with the identities the tests need.

use std::{sync::Arc, time::Duration};

use delivery::{
    DeliveryConfig, DeliveryWorkers, DeliveryWorkersHandle, Deps, StaticDirectory,
    store::{OutboxStore, open},
};
use ovice_slack_proto::v1::{self as pb, delivery_service_client::DeliveryServiceClient};
use ovice_slack_runtime::{
    auth::{AuthInterceptor, Claims, OrgRole, SvcRole},
    db::Database,
    peer::{self, GrpcChannel},
    test_support::{Backend, Bearer, TempDirGuard, TestKeys, eventually, fresh_database},
};
use secrecy::SecretString;
use slack_client::{OAuthAccessRequest, SlackClient, SlackClientConfig};
use slack_emulator::{Emulator, EmulatorHandle, Seed, UserSeed};
use tokio_util::sync::CancellationToken;
use tonic::{Status, service::interceptor::InterceptedService};

pub const ORG: &str = "org-acme";
pub const TEAM: &str = "T0ACME";
pub const BOT_TOKEN: &str = "xoxb-acme-good";
pub const SLACK_TIMEOUT: Duration = Duration::from_secs(2);
const AUDIENCE: &str = "ovice-slack";

/// Settings that keep the tests fast: quick polls and retries, permissive pacing.
pub fn fast_config() -> DeliveryConfig {
    DeliveryConfig {
        workers: 4,
        lease: Duration::from_secs(10),
        poll_interval: Duration::from_millis(100),
        retry_base: Duration::from_millis(50),
        retry_cap: Duration::from_millis(200),
        post_rate: 100.try_into().unwrap(),
        post_burst: 100.try_into().unwrap(),
        ..DeliveryConfig::default()
    }
}

pub type CallerClient = DeliveryServiceClient<InterceptedService<GrpcChannel, Bearer>>;

pub struct Harness {
    pub slack: EmulatorHandle,
    pub directory: Arc<StaticDirectory>,
    pub store: Arc<dyn OutboxStore>,
    pub server: delivery::Server,
    /// The outbox's clock: `advance` it to cross quiet hours or a pause's end.
    pub clock: delivery::Clock,
    keys: TestKeys,
    workers: Option<DeliveryWorkers>,
    running: Option<DeliveryWorkersHandle>,
    _db: Database,
    _guard: Option<TempDirGuard>,
}

impl Harness {
    /// Workers running.
    pub async fn start(backend: Backend, config: DeliveryConfig) -> Self {
        let mut h = Self::idle(backend, config).await;
        h.spawn_workers();
        h
    }

    /// Workers built but not running (`spawn_workers`).
    pub async fn idle(backend: Backend, config: DeliveryConfig) -> Self {
        ovice_slack_runtime::install_crypto_providers();
        let slack = Emulator::start(seed()).await.unwrap();
        let client = SlackClient::new(SlackClientConfig {
            api_base_url: slack.api_url(),
            // Short, so that a 10 s lease is allowed (twice this, pacing's wait and a margin).
            timeout: SLACK_TIMEOUT,
        })
        .unwrap();
        let directory = Arc::new(StaticDirectory::new());
        directory.set_workspace(ORG, TEAM, BOT_TOKEN);
        let (db, guard) = fresh_database(backend).await.unwrap();
        let keys = TestKeys::new("a-test-secret-of-at-least-32-bytes!!", AUDIENCE, &["gateway"]).unwrap();
        let auth = AuthInterceptor::new(Arc::new(keys.verifier()));
        let clock = delivery::Clock::system();
        let deps = Deps {
            db: db.clone(),
            slack: client,
            directory: directory.clone(),
            config,
            clock: clock.clone(),
        };
        let (server, workers) = delivery::start(deps, auth, 1024 * 1024).await.unwrap();
        let store = open(&db).await.unwrap();
        Self {
            slack,
            directory,
            store,
            server,
            clock,
            keys,
            workers: Some(workers.with_jitter(Arc::new(|| 0.5))),
            running: None,
            _db: db,
            _guard: guard,
        }
    }

    pub fn spawn_workers(&mut self) {
        let workers = self.workers.take().expect("workers spawned once");
        self.running = Some(workers.spawn(CancellationToken::new()));
    }

    pub async fn stop_workers(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// A client with the service identity the gateway uses.
    pub fn service(&self) -> DeliveryServiceClient<GrpcChannel> {
        let tokens = self.keys.service_tokens("gateway").unwrap();
        DeliveryServiceClient::new(peer::with_identity(peer::in_process(self.server.clone()), tokens))
    }

    /// A client sending the token of `claims` (or none), signed with the platform's secret.
    pub fn as_caller(&self, claims: Option<Claims>) -> CallerClient {
        let bearer = claims.map_or_else(Bearer::none, |c| {
            Bearer::token(&self.keys.platform_token(&c).unwrap()).unwrap()
        });
        DeliveryServiceClient::with_interceptor(peer::in_process(self.server.clone()), bearer)
    }

    pub fn operator(&self) -> CallerClient {
        self.as_caller(Some(claims("ops", None, None, &[], Some(SvcRole::Operator))))
    }

    pub async fn enqueue(
        &self,
        message: pb::ChatMessage,
    ) -> Result<pb::EnqueueDirectMessageResponse, Status> {
        self.service()
            .enqueue_direct_message(pb::EnqueueDirectMessageRequest {
                message: Some(message),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Reports an edit of `message_id` (of `ORG`) as the gateway would; it must be accepted.
    pub async fn edit(&self, message_id: &str, revision: i64, text: &str) {
        let r = self
            .service()
            .change_direct_message(pb::ChangeDirectMessageRequest {
                change: Some(pb::change_direct_message_request::Change::Edit(
                    pb::ChatMessageEdit {
                        org_id: ORG.into(),
                        message_id: message_id.into(),
                        revision,
                        text: text.into(),
                    },
                )),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.disposition(), pb::Disposition::Accepted, "{r:?}");
    }

    /// Reports that `message_id` (of `ORG`) was deleted in ovice; it must be accepted.
    pub async fn delete(&self, message_id: &str) {
        let r = self
            .service()
            .change_direct_message(pb::ChangeDirectMessageRequest {
                change: Some(pb::change_direct_message_request::Change::Delete(
                    pb::ChatMessageDelete {
                        org_id: ORG.into(),
                        message_id: message_id.into(),
                    },
                )),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.disposition(), pb::Disposition::Accepted, "{r:?}");
    }

    pub async fn accepted(&self, message: pb::ChatMessage) -> String {
        let r = self.enqueue(message).await.unwrap();
        assert_eq!(r.disposition(), pb::Disposition::Accepted, "{r:?}");
        r.delivery_id
    }

    pub async fn delivery(&self, message_id: &str) -> pb::Delivery {
        self.operator()
            .get_delivery(pb::GetDeliveryRequest {
                org_id: ORG.into(),
                message_id: message_id.into(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// The stored row of `message_id` (of `ORG`), as the outbox holds it.
    pub async fn stored(&self, message_id: &str) -> Option<delivery::domain::Delivery> {
        self.store
            .get(&ORG.into(), message_id)
            .await
            .expect("the outbox answers")
    }

    /// Waits until the delivery of `message_id` has `status`.
    pub async fn wait_for(&self, message_id: &str, status: pb::DeliveryStatus) -> pb::Delivery {
        eventually(
            &format!("{message_id} becomes {status:?}"),
            Duration::from_secs(20),
            || async {
                let d = self.delivery(message_id).await;
                (d.status() == status).then_some(d)
            },
        )
        .await
    }

    /// Links `user` of the emulator's Acme workspace to the ovice user `ovice_user`, with a real
    /// user token from the emulator's OAuth flow when `with_token`.
    pub async fn link(&self, ovice_user: &str, slack_user: &str, with_token: bool) -> Option<String> {
        let token = if with_token {
            Some(self.user_token(slack_user).await)
        } else {
            None
        };
        self.directory
            .link_user(ORG, ovice_user, slack_user, TEAM, token.as_deref());
        token
    }

    async fn user_token(&self, slack_user: &str) -> String {
        const REDIRECT: &str = "http://127.0.0.1:8090/oauth/slack/callback";
        let form = [
            ("client_id", "111.222"),
            ("redirect_uri", REDIRECT),
            ("redirect_uri_given", "1"),
            ("state", "st"),
            ("scope", ""),
            ("user_scope", "chat:write,im:write"),
            ("code_challenge", ""),
            ("team", TEAM),
            ("user", slack_user),
            ("decision", "allow"),
        ];
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = self.slack.base_url().join("oauth/v2/authorize/decide").unwrap();
        let resp = http.post(url).form(&form).send().await.unwrap();
        let location = reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let client = SlackClient::new(SlackClientConfig {
            api_base_url: self.slack.api_url(),
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let access = client
            .oauth_v2_access(&OAuthAccessRequest {
                client_id: "111.222".into(),
                client_secret: SecretString::from("emulator-secret".to_owned()),
                code: SecretString::from(code),
                redirect_uri: REDIRECT.into(),
                code_verifier: None,
            })
            .await
            .unwrap();
        use secrecy::ExposeSecret;
        access.authed_user_token.unwrap().expose_secret().to_owned()
    }

    /// How many calls of `method` the emulator received.
    pub fn calls(&self, method: &str) -> usize {
        self.slack.calls().iter().filter(|c| c.method == method).count()
    }
}

/// Acme of the demo workspace, with twenty more people (`U0P00`…`U0P19`) for tests of many
/// conversations.
fn seed() -> Seed {
    let mut seed = Seed::demo();
    for i in 0..20 {
        seed.workspaces[0].users.push(UserSeed {
            id: format!("U0P{i:02}"),
            name: format!("p{i:02}"),
            real_name: None,
            email: Some(format!("p{i:02}@acme.test")),
            deleted: false,
            is_bot: false,
        });
    }
    seed
}

pub fn claims(
    sub: &str,
    org: Option<&str>,
    role: Option<OrgRole>,
    perms: &[&str],
    svc: Option<SvcRole>,
) -> Claims {
    let now = chrono_now();
    Claims {
        sub: sub.into(),
        org: org.map(str::to_owned),
        email: None,
        email_verified: None,
        org_role: role,
        perms: perms.iter().map(|p| (*p).to_owned()).collect(),
        space: None,
        space_role: None,
        svc_role: svc,
        exp: now + 600,
        iat: Some(now),
        nbf: None,
        aud: AUDIENCE.into(),
        locale: None,
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A chat message in the test org from `sender` mentioning `mentions`.
pub fn message(id: &str, sender: &str, mentions: &[&str], text: &str) -> pb::ChatMessage {
    pb::ChatMessage {
        org_id: ORG.into(),
        space_id: "space-1".into(),
        space_name: "Design Room".into(),
        message_id: id.into(),
        sent_at: None,
        sender: Some(pb::Sender {
            user_id: sender.into(),
            display_name: format!("{sender} (ovice)"),
            role: pb::SpaceRole::Member.into(),
        }),
        text: text.into(),
        mentions: mentions
            .iter()
            .map(|m| pb::Mention {
                target: Some(pb::mention::Target::UserId((*m).into())),
            })
            .collect(),
        link_url: format!("https://ovice.example/spaces/1/messages/{id}"),
    }
}
