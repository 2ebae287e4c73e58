//! The world a benchmark runs in: a Slack workspace in the emulator with a thousand people, an
//! `ovice-slack serve --target all` process pointed at it, org-1 set up through
//! IntegrationConfigService and its people connected through Slack's consent flow (the form a
//! browser posts), and the chat messages the platform publishes.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use futures::{FutureExt, StreamExt, TryStreamExt};
use ovice_slack_proto::v1::{
    BeginSlackConnectRequest, ChatMessage, Disposition, Mention, PublishChatMessageRequest,
    PutSlackWorkspaceRequest, Sender, SpaceRole, account_link_service_client::AccountLinkServiceClient,
    chat_event_service_client::ChatEventServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient, mention::Target,
};
use ovice_slack_runtime::auth::{self, Claims, OrgRole, PlatformKeys, SvcRole, TokenMinter};
use prost::Message;
use secrecy::SecretString;
use slack_emulator::{OAuthAppSeed, Seed, UserSeed};
use tonic::{Request, metadata::AsciiMetadataValue, transport::Channel};

use crate::{
    load::CallFn,
    process::{ServerProcess, free_port},
    slack::SlackProcess,
};

/// The HS256 secret the benchmark's servers are configured with (a benchmark, not a deployment).
pub const JWT_SECRET: &str = "bench-secret-bench-secret-0123456789abcdef";
pub const ENCRYPTION_KEYS: &str = "bench1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The emulator's demo OAuth app, standing in for the operator's distributed Slack app.
const CLIENT_ID: &str = "111.222";
const CLIENT_SECRET: &str = "emulator-secret";
pub const ORG: &str = "org-1";
const TEAM: &str = "T0ACME";

/// ovice user id of recipient `i` (its Slack id is [`slack_id`], its email `<id>@acme.test`).
pub fn person(i: usize) -> String {
    format!("user{i:04}")
}

pub fn slack_id(i: usize) -> String {
    format!("U0P{i:05}")
}

/// People reserved for "plug" deliveries (see `delivery.rs`), after the recipients.
pub const PLUGS: usize = 4;

/// The demo seed plus `people` members of Acme.
pub fn seed(people: usize) -> Seed {
    let mut seed = Seed::demo();
    for i in 0..people {
        seed.workspaces[0].users.push(UserSeed {
            id: slack_id(i),
            name: person(i),
            real_name: None,
            email: Some(format!("{}@acme.test", person(i))),
            deleted: false,
            is_bot: false,
        });
    }
    // Keep only the app the benchmark uses.
    seed.oauth_apps
        .retain(|a: &OAuthAppSeed| a.client_id == CLIENT_ID);
    seed
}

/// Mints the tokens the platform, owners and people would carry.
#[derive(Clone)]
pub struct Tokens {
    minter: TokenMinter,
}

impl Tokens {
    pub fn new() -> anyhow::Result<Self> {
        ovice_slack_runtime::install_crypto_providers();
        let keys = PlatformKeys::new(Some(&SecretString::from(JWT_SECRET)), None)?;
        Ok(Self {
            minter: keys.minter().cloned().context("an HS256 secret gives a minter")?,
        })
    }

    fn mint(&self, f: impl FnOnce(&mut Claims)) -> anyhow::Result<String> {
        let mut c = Claims {
            sub: String::new(),
            org: None,
            email: None,
            email_verified: None,
            org_role: None,
            perms: vec![],
            space: None,
            space_role: None,
            svc_role: None,
            exp: chrono::Utc::now().timestamp() + 4 * 3600,
            iat: None,
            nbf: None,
            aud: "ovice-slack".into(),
            locale: None,
        };
        f(&mut c);
        Ok(self.minter.mint(&c)?)
    }

    pub fn platform(&self) -> anyhow::Result<AsciiMetadataValue> {
        bearer(&self.mint(|c| {
            c.sub = "ovice-platform".into();
            c.svc_role = Some(SvcRole::Platform);
        })?)
    }

    fn owner(&self) -> anyhow::Result<AsciiMetadataValue> {
        bearer(&self.mint(|c| {
            c.sub = "owner-of-org-1".into();
            c.org = Some(ORG.into());
            c.org_role = Some(OrgRole::Owner);
        })?)
    }

    fn member(&self, user: &str) -> anyhow::Result<AsciiMetadataValue> {
        bearer(&self.mint(|c| {
            c.sub = user.into();
            c.org = Some(ORG.into());
            c.org_role = Some(OrgRole::Member);
            c.email = Some(format!("{user}@acme.test"));
            c.email_verified = Some(true);
            c.space = Some("space-1".into());
            c.space_role = Some(auth::SpaceRole::Member);
        })?)
    }
}

fn bearer(token: &str) -> anyhow::Result<AsciiMetadataValue> {
    Ok(format!("Bearer {token}").parse()?)
}

fn authed<T>(message: T, auth: &AsciiMetadataValue) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut().insert("authorization", auth.clone());
    r
}

/// Where a server process keeps its data and finds Slack.
pub struct ServeConfig {
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub database_url: String,
    /// Extra `serve` flags (delivery workers, pacing, …).
    pub extra: Vec<String>,
}

/// `ovice-slack serve --target all` as operators run it, pointed at the emulator.
pub async fn start_server(config: &ServeConfig, slack: &SlackProcess, label: &str) -> anyhow::Result<Server> {
    let grpc = free_port()?;
    let http = free_port()?;
    let callback = format!("http://{http}/oauth/slack/callback");
    if !slack.add_redirect_uri(CLIENT_ID, &callback).await? {
        bail!("the emulator has no OAuth app {CLIENT_ID}");
    }
    let mut command = Command::new(&config.bin);
    command
        .args(["serve", "--target", "all", "--log-format", "json"])
        .args(["--listen", &grpc.to_string(), "--http-listen", &http.to_string()])
        .arg("--data-dir")
        .arg(&config.dir)
        .args(["--database-url", &config.database_url])
        .args(["--jwt-secret", JWT_SECRET, "--encryption-keys", ENCRYPTION_KEYS])
        .args(["--api-base-url", slack.api_url().as_str()])
        .args(["--authorize-url", slack.authorize_url().as_str()])
        .args([
            "--slack-client-id",
            CLIENT_ID,
            "--slack-client-secret",
            CLIENT_SECRET,
        ])
        .args(["--oauth-redirect-url", &callback])
        // The per-org publish limit (100/s by default) would measure the limiter, not ingest.
        .args(["--gateway-org-rate", "1000000", "--gateway-org-burst", "1000000"])
        .args(&config.extra);
    let process = ServerProcess::spawn(command, grpc, config.dir.join(format!("serve-{label}.log"))).await?;
    let channel = process.channel().await?;
    Ok(Server {
        process,
        http,
        channel,
    })
}

pub struct Server {
    pub process: ServerProcess,
    pub http: std::net::SocketAddr,
    pub channel: Channel,
}

impl Server {
    /// The sum of the samples of `name` (whose labels include `label`, if given) on /metrics;
    /// `None` when the server cannot be asked.
    pub async fn metric(&self, name: &str, label: Option<&str>) -> Option<f64> {
        let text = reqwest::get(format!("http://{}/metrics", self.http))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        Some(
            text.lines()
                .filter(|l| l.starts_with(name) && label.is_none_or(|label| l.contains(label)))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                // An empty f64 sum is -0.0.
                .fold(0.0, |a, b| a + b),
        )
    }
}

/// Puts Acme as org-1's workspace and connects people `range` through the consent flow, `parallel`
/// at a time. Returns how long it took.
pub async fn set_up_org(
    server: &Server,
    slack: &SlackProcess,
    tokens: &Tokens,
    people: std::ops::Range<usize>,
    parallel: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    IntegrationConfigServiceClient::new(server.channel.clone())
        .put_slack_workspace(authed(
            PutSlackWorkspaceRequest {
                org_id: ORG.into(),
                access_token: "xoxb-acme-good".into(),
                workspace_domain: "acme".into(),
                ..Default::default()
            },
            &tokens.owner()?,
        ))
        .await
        .context("PutSlackWorkspace")?;
    slack_client::install_crypto_provider();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let decide = slack.base_url().join("oauth/v2/authorize/decide")?;
    futures::stream::iter(people)
        .map(|i| {
            let links = AccountLinkServiceClient::new(server.channel.clone());
            let http = http.clone();
            let decide = decide.clone();
            async move { connect(links, &http, &decide, tokens, i).await }
        })
        .buffer_unordered(parallel.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(started.elapsed())
}

/// Personal Integration Settings → Connect: BeginSlackConnect, Allow on Slack's page as the same
/// person, then the browser follows Slack's redirect to the service's callback.
async fn connect(
    mut links: AccountLinkServiceClient<Channel>,
    http: &reqwest::Client,
    decide: &url::Url,
    tokens: &Tokens,
    i: usize,
) -> anyhow::Result<()> {
    let user = person(i);
    let authorize = links
        .begin_slack_connect(authed(
            BeginSlackConnectRequest {
                org_id: ORG.into(),
                space_id: "space-1".into(),
            },
            &tokens.member(&user)?,
        ))
        .await
        .context("BeginSlackConnect")?
        .into_inner()
        .authorize_url;
    let url = url::Url::parse(&authorize)?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let form = [
        ("client_id", param("client_id")),
        ("redirect_uri", param("redirect_uri")),
        ("redirect_uri_given", "1".to_owned()),
        ("state", param("state")),
        ("scope", param("scope")),
        ("user_scope", param("user_scope")),
        ("code_challenge", param("code_challenge")),
        ("team", TEAM.to_owned()),
        ("user", slack_id(i)),
        ("decision", "allow".to_owned()),
    ];
    let answer = http.post(decide.clone()).form(&form).send().await?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .with_context(|| format!("Slack's consent page did not redirect ({})", answer.status()))?;
    let page = http.get(location).send().await?.text().await?;
    if !page.contains("data-outcome=\"connected\"") {
        bail!(
            "{user} was not connected: {}",
            page.chars().take(400).collect::<String>()
        );
    }
    Ok(())
}

/// The sender of every benchmark message: a member who has not connected Slack, so each message
/// is one `chat.postMessage` by the org's bot (docs/product.md §2.3, second row of the help page's table).
const SENDER: &str = "host0001";

/// A direct message to `recipient`, about 300 bytes encoded, with text that needs escaping.
pub fn message(id: &str, recipient: &str) -> ChatMessage {
    message_from(id, None, recipient)
}

/// `sender`: a connected person (the message is posted as them), or the unconnected host (a bot DM).
pub fn message_from(id: &str, sender: Option<&str>, recipient: &str) -> ChatMessage {
    ChatMessage {
        org_id: ORG.into(),
        space_id: "space-1".into(),
        space_name: "Tokyo Office".into(),
        message_id: id.into(),
        sent_at: Some(prost_types::Timestamp {
            seconds: chrono::Utc::now().timestamp(),
            nanos: 0,
        }),
        sender: Some(Sender {
            user_id: sender.unwrap_or(SENDER).into(),
            display_name: "Hana Host".into(),
            role: SpaceRole::Member as i32,
        }),
        text: format!(
            "[{id}] Could you look at the Q3 plan before the 3pm sync? R&D says <2 days> of work; \
             @here is fine too."
        ),
        mentions: vec![Mention {
            target: Some(Target::UserId(recipient.into())),
        }],
        link_url: format!("https://app.ovice.example/space-1/chat/{id}"),
    }
}

/// The encoded size of a typical publish request, for B1's payload.
pub fn publish_request_size() -> usize {
    PublishChatMessageRequest {
        message: Some(message("ingest-s-0000001234", &person(123))),
        change: None,
    }
    .encoded_len()
}

/// PublishChatMessage calls that must be answered ACCEPTED: call `n` goes to recipient
/// `n % recipients` with message id `<prefix>-<n>`.
pub fn publish_caller(
    channels: Vec<Channel>,
    auth: AsciiMetadataValue,
    prefix: String,
    recipients: usize,
) -> CallFn {
    pair_caller(channels, auth, prefix, recipients, None)
}

/// As `publish_caller`; with `senders_from`, call `n` comes from person `senders_from + n %
/// recipients` (connected: posted as them) instead of the unconnected host.
pub fn pair_caller(
    channels: Vec<Channel>,
    auth: AsciiMetadataValue,
    prefix: String,
    recipients: usize,
    senders_from: Option<usize>,
) -> CallFn {
    let clients: Arc<Vec<ChatEventServiceClient<Channel>>> =
        Arc::new(channels.into_iter().map(ChatEventServiceClient::new).collect());
    let prefix: Arc<str> = prefix.into();
    Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let id = format!("{prefix}-{n:010}");
        let k = n as usize % recipients.max(1);
        let recipient = person(k);
        let sender = senders_from.map(|from| person(from + k));
        let request = authed(
            PublishChatMessageRequest {
                message: Some(message_from(&id, sender.as_deref(), &recipient)),
                change: None,
            },
            &auth,
        );
        async move {
            match client.publish_chat_message(request).await {
                Ok(r) if r.get_ref().disposition == Disposition::Accepted as i32 => Ok(()),
                Ok(r) => Err(format!("answered {:?}", r.get_ref().disposition())),
                Err(status) => Err(format!("{:?}", status.code())),
            }
        }
        .boxed()
    })
}

/// Publishes one message and requires ACCEPTED.
pub async fn publish_one(
    channel: &Channel,
    auth: &AsciiMetadataValue,
    id: &str,
    recipient: &str,
) -> anyhow::Result<()> {
    let answer = ChatEventServiceClient::new(channel.clone())
        .publish_chat_message(authed(
            PublishChatMessageRequest {
                message: Some(message(id, recipient)),
                change: None,
            },
            auth,
        ))
        .await?
        .into_inner();
    if answer.disposition != Disposition::Accepted as i32 {
        bail!("{id} was answered {:?}", answer.disposition());
    }
    Ok(())
}

/// A fresh directory for one server's data and logs.
pub fn data_dir(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
