//! `serve`: composes the chosen targets into one process. Targets start in dependency order; a target
//! reaches a peer in this process through its server object (no socket), and one elsewhere by address.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use ovice_slack_events::SigningSecret;
use ovice_slack_revocation::WorkerConfig;
use ovice_slack_runtime::{
    Target,
    auth::{AuthInterceptor, JwtKeys, ServiceKey, ServiceTokens},
    db::Database,
    http,
    peer::{self, GrpcChannel},
    server::GrpcServerBuilder,
    shutdown, telemetry,
    tls::Tls,
};
use ovice_slack_secrets::TokenCipher;
use secrecy::SecretString;
use slack_client::{SlackClient, SlackClientConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{cli::ServeArgs, secrets};

/// The sockets of a process: gRPC for every service, HTTP for the OAuth callback pages.
pub struct Listeners {
    pub grpc: TcpListener,
    pub http: TcpListener,
}

impl Listeners {
    pub async fn bind(args: &ServeArgs) -> anyhow::Result<Self> {
        let grpc = TcpListener::bind(args.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.server.listen))?;
        let http = TcpListener::bind(args.server.http_listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.server.http_listen))?;
        Ok(Self { grpc, http })
    }
}

/// Entry point of `ovice-slack serve`.
pub async fn main(args: ServeArgs) -> anyhow::Result<()> {
    // Before telemetry: the OTLP exporter's HTTP client needs the TLS provider.
    ovice_slack_runtime::install_crypto_providers();
    let _telemetry = telemetry::init(&args.telemetry, "ovice-slack")?;
    let shutdown = shutdown::on_signal();
    // Every configuration error is reported before a port is taken, so a mistake never shows up as
    // "address in use" and a refused process never blocks the port of one that would work.
    let config = Resolved::from_args(args)?;
    let listeners = Listeners::bind(&config.args).await?;
    run_resolved(config, listeners, shutdown).await
}

/// Serves `args.target` on `listeners` until `shutdown` is cancelled.
pub async fn run(args: ServeArgs, listeners: Listeners, shutdown: CancellationToken) -> anyhow::Result<()> {
    run_resolved(Resolved::from_args(args)?, listeners, shutdown).await
}

/// The configuration of a process with every secret read and every rule checked; nothing bound or
/// connected yet.
pub struct Resolved {
    pub args: ServeArgs,
    keys: Arc<JwtKeys>,
    service_key: Option<ServiceKey>,
    database_url: Option<SecretString>,
    cipher: Option<TokenCipher>,
    connect: Option<account_links::ConnectConfig>,
    signing_secret: Option<SigningSecret>,
    tls: Option<Tls>,
}

impl Resolved {
    pub fn from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let embedded = args.target.is_all();
        for target in args.target.iter() {
            for &peer in target.peers() {
                peer_address(&args, peer)?;
            }
        }
        let service_key = secrets::service_key(&args.auth, &args.data, &args.target, embedded)?;
        if service_key.is_none() && args.target.iter().any(|t| !t.peers().is_empty()) {
            anyhow::bail!(
                "no service key: `{}` calls other services and signs those calls with its own key; set \
                 OVICE_SLACK_SERVICE_KEY_FILE (make one with `ovice-slack service-key --target {} --key FILE --key-set FILE`)",
                args.target,
                args.target
            );
        }
        let keys = Arc::new(secrets::jwt_keys(
            &args.auth,
            &args.data,
            embedded,
            service_key.as_ref(),
        )?);
        let needs = |t| args.target.contains(t);
        let database_url = args
            .target
            .iter()
            .any(|t| t != Target::Gateway)
            .then(|| secrets::database_url(&args.database, &args.data, embedded))
            .transpose()?;
        let cipher = (needs(Target::IntegrationConfig) || needs(Target::AccountLinks))
            .then(|| secrets::token_cipher(&args.encryption, &args.data, embedded))
            .transpose()?;
        let (connect, signing_secret) = if needs(Target::AccountLinks) {
            let signing_secret = secrets::signing_secret(&args.slack)?.map(SigningSecret::new);
            if signing_secret.is_none() {
                tracing::warn!(
                    "no Slack signing secret (OVICE_SLACK_SIGNING_SECRET or _FILE): POST /slack/events refuses every event, so revoked and changed Slack accounts are learned only when a message fails"
                );
            }
            (connect_config(&args)?, signing_secret)
        } else {
            (None, None)
        };
        let tls = Tls::load(&args.tls)?;
        Ok(Self {
            args,
            keys,
            service_key,
            database_url,
            cipher,
            connect,
            signing_secret,
            tls,
        })
    }
}

/// Where this process reaches `peer`: `None` in this process, `Some(address)` elsewhere.
fn peer_address(args: &ServeArgs, peer: Target) -> anyhow::Result<Option<&str>> {
    if args.target.contains(peer) {
        return Ok(None);
    }
    let (addr, service, flag) = match peer {
        Target::IntegrationConfig => (
            &args.peers.integration_config_addr,
            "IntegrationConfigService",
            "--integration-config-addr",
        ),
        Target::AccountLinks => (
            &args.peers.account_links_addr,
            "AccountLinkService",
            "--account-links-addr",
        ),
        Target::Delivery => (&args.peers.delivery_addr, "DeliveryService", "--delivery-addr"),
        Target::Gateway => anyhow::bail!("no target calls the gateway"),
    };
    match addr {
        Some(addr) => Ok(Some(addr)),
        None => anyhow::bail!("{service} is needed: run it in this process (--target) or set {flag}"),
    }
}

/// Serves an already resolved configuration on `listeners` until `shutdown` is cancelled.
pub async fn run_resolved(
    config: Resolved,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let started = Instant::now();
    ovice_slack_runtime::install_crypto_providers();
    ovice_slack_runtime::metrics::install();
    let Resolved {
        args,
        keys,
        service_key,
        database_url,
        cipher,
        connect,
        signing_secret,
        tls,
    } = config;
    let auth = AuthInterceptor::new(keys.clone());
    let mut peers = Peers {
        tokens: service_key.map(|key| ServiceTokens::new(key, keys.audience())),
        args: &args,
        tls: tls.as_ref(),
        local: Vec::new(),
    };
    let mut workers = None;
    let max_bytes = args.server.max_request_bytes;

    let db = match &database_url {
        Some(url) => Some(Database::connect(url, args.database.database_max_connections).await?),
        None => None,
    };
    let slack = SlackClient::new(SlackClientConfig {
        api_base_url: args.slack.api_base_url.clone(),
        timeout: args.slack.slack_timeout,
    })?;
    let cipher = || {
        cipher
            .clone()
            .context("this target needs the token encryption keys")
    };

    // Stops the token revocation workers, once the servers have stopped.
    let stop_background = CancellationToken::new();
    let mut grpc = GrpcServerBuilder::new();
    let mut http_routes = http::base_routes();
    for target in args.target.iter() {
        match target {
            Target::IntegrationConfig => {
                let deps = integration_config::Deps {
                    db: require(&db)?,
                    cipher: cipher()?,
                    slack: slack.clone(),
                    revocation: WorkerConfig::default(),
                    health: args.workspace_check,
                    renewal: args.token_renewal,
                    stop: stop_background.clone(),
                };
                let (server, routes) = integration_config::start(deps, auth.clone(), max_bytes).await?;
                peers.add_local(target, peer::in_process(server.clone()));
                grpc.add_service(server);
                http_routes = http_routes.merge(routes);
            }
            Target::AccountLinks => {
                let deps = account_links::Deps {
                    db: require(&db)?,
                    cipher: cipher()?,
                    slack: slack.clone(),
                    integration_config: peers.channel(Target::IntegrationConfig)?,
                    connect: connect.clone(),
                    signing_secret: signing_secret.clone(),
                    events: ovice_slack_events::WorkerConfig::default(),
                    revocation: WorkerConfig::default(),
                    renewal: args.token_renewal,
                    stop: stop_background.clone(),
                };
                let (server, routes) = account_links::start(deps, auth.clone(), max_bytes).await?;
                peers.add_local(target, peer::in_process(server.clone()));
                grpc.add_service(server);
                http_routes = http_routes.merge(routes);
            }
            Target::Delivery => {
                let directory = delivery::GrpcDirectory::new(
                    peers.channel(Target::IntegrationConfig)?,
                    peers.channel(Target::AccountLinks)?,
                );
                let deps = delivery::Deps {
                    db: require(&db)?,
                    slack: slack.clone(),
                    directory: Arc::new(directory),
                    config: args.delivery.clone(),
                    clock: delivery::Clock::system(),
                };
                let (server, delivery_workers) = delivery::start(deps, auth.clone(), max_bytes).await?;
                peers.add_local(target, peer::in_process(server.clone()));
                grpc.add_service(server);
                workers = Some(delivery_workers);
            }
            Target::Gateway => {
                let deps = gateway::GatewayDeps {
                    delivery: peers.channel(Target::Delivery)?,
                    config: args.gateway.clone(),
                };
                grpc.add_service(gateway::server(deps, auth.clone(), max_bytes));
            }
        }
    }

    let server = grpc.build().await?;
    // Workers stop on their own token: after the servers have stopped accepting, so that nothing
    // accepted is left unclaimed by a worker that already quit.
    let stop_workers = CancellationToken::new();
    let workers = workers.map(|w| w.spawn(stop_workers.clone()));
    server.set_serving().await;
    let http_routes = http_routes.merge(http::readiness_routes(server.readiness()));
    let addr: SocketAddr = listeners.grpc.local_addr()?;
    let http_addr: SocketAddr = listeners.http.local_addr()?;
    tracing::info!(
        %addr,
        %http_addr,
        targets = %args.target,
        tls = tls.is_some(),
        database = db.as_ref().map(Database::backend_name).unwrap_or("none"),
        startup_ms = started.elapsed().as_millis() as u64,
        "serving"
    );
    // If either server fails, the other is stopped too: a half-running process helps no one.
    let stop_all = shutdown.clone();
    let grpc_task = async {
        let r = server
            .serve(listeners.grpc, &args.server, tls.as_ref(), shutdown.clone())
            .await;
        stop_all.cancel();
        r
    };
    let http_task = async {
        let r = http::serve(listeners.http, http_routes, shutdown.clone()).await;
        shutdown.cancel();
        r
    };
    let (grpc_result, http_result) = tokio::join!(grpc_task, http_task);
    if let Some(workers) = workers {
        // Bounded by the configured grace: in-flight sends finish, claimed rows are handed back.
        stop_workers.cancel();
        if tokio::time::timeout(args.server.shutdown_grace, workers.stop())
            .await
            .is_err()
        {
            tracing::warn!(
                "delivery workers did not stop within the shutdown grace; their leases will expire"
            );
        }
    }
    stop_background.cancel();
    if let Some(db) = &db {
        db.close().await;
    }
    tracing::info!("stopped");
    grpc_result.and(http_result)
}

fn require(db: &Option<Database>) -> anyhow::Result<Database> {
    db.clone().context("this target needs a database")
}

/// The operator's Slack app for Connect; `None` (Connect says it is not configured) when unset.
fn connect_config(args: &ServeArgs) -> anyhow::Result<Option<account_links::ConnectConfig>> {
    let s = &args.slack;
    match (
        &s.slack_client_id,
        secrets::client_secret(s)?,
        &s.oauth_redirect_url,
    ) {
        (Some(id), Some(secret), Some(redirect)) => Ok(Some(account_links::ConnectConfig {
            client_id: id.clone(),
            client_secret: secret,
            redirect_url: redirect.clone(),
            authorize_url: s.authorize_url.clone(),
            starts_per_minute: s.connect_starts_per_minute,
        })),
        (None, None, None) => {
            tracing::warn!(
                "Slack Connect is not configured (OVICE_SLACK_CLIENT_ID, _CLIENT_SECRET, _OAUTH_REDIRECT_URL)"
            );
            Ok(None)
        }
        _ => anyhow::bail!(
            "Slack Connect needs all of OVICE_SLACK_CLIENT_ID, OVICE_SLACK_CLIENT_SECRET (or _FILE) and OVICE_SLACK_OAUTH_REDIRECT_URL"
        ),
    }
}

/// Channels to the other services: in-process when the peer runs here, by address otherwise; every
/// call carries this process's service token.
struct Peers<'a> {
    /// `None` only where no target calls a peer (checked when the configuration is resolved).
    tokens: Option<ServiceTokens>,
    args: &'a ServeArgs,
    /// Peers are called over TLS with this process's certificate when set.
    tls: Option<&'a Tls>,
    /// The targets started so far in this process (targets start in dependency order).
    local: Vec<(Target, GrpcChannel)>,
}

impl Peers<'_> {
    fn add_local(&mut self, target: Target, channel: GrpcChannel) {
        self.local.push((target, channel));
    }

    fn channel(&self, peer: Target) -> anyhow::Result<GrpcChannel> {
        let channel = match peer_address(self.args, peer)? {
            Some(addr) => peer::remote(addr, self.args.server.request_timeout, self.tls)?,
            None => self
                .local
                .iter()
                .find(|(t, _)| *t == peer)
                .map(|(_, c)| c.clone())
                .with_context(|| format!("{peer} must start before the targets that call it"))?,
        };
        let tokens = self
            .tokens
            .clone()
            .context("no service key to sign calls to the other services")?;
        Ok(peer::with_identity(channel, tokens))
    }
}
