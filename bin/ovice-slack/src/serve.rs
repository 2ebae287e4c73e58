//! `serve`: composes the chosen targets into one process. Targets start in dependency order; a target
//! reaches a peer in this process through its server object (no socket), and one elsewhere by address.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context;
use ovice_slack_runtime::{
    Target,
    auth::{AuthInterceptor, ServiceTokens},
    db::Database,
    peer::{self, GrpcChannel},
    server::GrpcServerBuilder,
    shutdown, telemetry,
};
use slack_client::{SlackClient, SlackClientConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{cli::ServeArgs, secrets};

/// Entry point of `ovice-slack serve`.
pub async fn main(args: ServeArgs) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(&args.telemetry, "ovice-slack")?;
    let shutdown = shutdown::on_signal();
    let listener = TcpListener::bind(args.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.server.listen))?;
    run(args, listener, shutdown).await
}

/// Serves `args.target` on `listener` until `shutdown` is cancelled.
pub async fn run(args: ServeArgs, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    let started = Instant::now();
    ovice_slack_runtime::install_crypto_providers();
    let embedded = args.target.is_all();
    let keys = Arc::new(secrets::jwt_keys(&args.auth, &args.data, embedded)?);
    let auth = AuthInterceptor::new(keys.clone());
    let minter = keys
        .minter()
        .cloned()
        .context("no key to sign the services' own calls")?;
    let service_tokens = ServiceTokens::new(minter, format!("ovice-slack/{}", args.target), keys.audience());
    let max_bytes = args.server.max_request_bytes;

    let needs_db = args.target.contains(Target::IntegrationConfig)
        || args.target.contains(Target::AccountLinks)
        || args.target.contains(Target::Delivery);
    let db = if needs_db {
        let url = secrets::database_url(&args.database, &args.data, embedded)?;
        Some(Database::connect(&url, args.database.database_max_connections).await?)
    } else {
        None
    };
    let slack = SlackClient::new(SlackClientConfig {
        api_base_url: args.slack.api_base_url.clone(),
        timeout: args.slack.slack_timeout,
    })?;

    let mut grpc = GrpcServerBuilder::new();
    let mut local = LocalPeers::default();
    for target in args.target.iter() {
        match target {
            Target::IntegrationConfig => {
                let deps = integration_config::Deps {
                    db: require(&db)?,
                    cipher: secrets::token_cipher(&args.encryption, &args.data, embedded)?,
                    slack: slack.clone(),
                };
                let server = integration_config::start(deps, auth.clone(), max_bytes).await?;
                local.integration_config = Some(peer::in_process(server.clone()));
                grpc.add_service(server);
            }
            Target::AccountLinks => {
                let server = account_links::server(auth.clone(), max_bytes);
                local.account_links = Some(peer::in_process(server.clone()));
                grpc.add_service(server);
            }
            Target::Delivery => {
                let server = delivery::server(auth.clone(), max_bytes);
                local.delivery = Some(peer::in_process(server.clone()));
                grpc.add_service(server);
            }
            Target::Gateway => {
                grpc.add_service(gateway::server(auth.clone(), max_bytes));
            }
        }
    }
    // Peers are wired with the service identity; later targets use them.
    let _peers = Peers::resolve(&local, &args, &service_tokens)?;

    let server = grpc.build().await?;
    server.set_serving().await;
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(
        %addr,
        targets = %args.target,
        database = db.as_ref().map(Database::backend_name).unwrap_or("none"),
        startup_ms = started.elapsed().as_millis() as u64,
        "serving"
    );
    let result = server.serve(listener, &args.server, shutdown).await;
    if let Some(db) = &db {
        db.close().await;
    }
    tracing::info!("stopped");
    result
}

fn require(db: &Option<Database>) -> anyhow::Result<Database> {
    db.clone().context("this target needs a database")
}

/// Server objects of targets in this process, reachable without a socket.
#[derive(Default)]
struct LocalPeers {
    integration_config: Option<GrpcChannel>,
    account_links: Option<GrpcChannel>,
    delivery: Option<GrpcChannel>,
}

/// Channels to every peer: in-process when the peer runs here, by address otherwise.
#[allow(dead_code)]
struct Peers {
    integration_config: Option<GrpcChannel>,
    account_links: Option<GrpcChannel>,
    delivery: Option<GrpcChannel>,
}

impl Peers {
    fn resolve(local: &LocalPeers, args: &ServeArgs, tokens: &ServiceTokens) -> anyhow::Result<Self> {
        let timeout = args.server.request_timeout;
        let pick =
            |local: &Option<GrpcChannel>, addr: &Option<String>| -> anyhow::Result<Option<GrpcChannel>> {
                let channel = match (local, addr) {
                    (Some(c), _) => Some(c.clone()),
                    (None, Some(addr)) => Some(peer::remote(addr, timeout)?),
                    (None, None) => None,
                };
                Ok(channel.map(|c| peer::with_identity(c, tokens.clone())))
            };
        Ok(Self {
            integration_config: pick(&local.integration_config, &args.peers.integration_config_addr)?,
            account_links: pick(&local.account_links, &args.peers.account_links_addr)?,
            delivery: pick(&local.delivery, &args.peers.delivery_addr)?,
        })
    }
}
