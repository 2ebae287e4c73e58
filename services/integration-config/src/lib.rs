//! IntegrationConfigService (docs/product.md §2.1): an organization owner sets up, views, replaces and removes the
//! org's Slack workspace settings; the project's own services read the bot token.

pub mod app;
pub mod domain;
mod error;
mod grpc;
mod health;
mod own_app_events;
mod renewal;
pub mod store;

use ovice_slack_proto::v1::integration_config_service_server::IntegrationConfigServiceServer;
use ovice_slack_revocation::{Revocations, TokenKind, WorkerConfig};
use ovice_slack_runtime::{auth::AuthInterceptor, db::Database};
use ovice_slack_secrets::TokenCipher;
use slack_client::SlackClient;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

pub use app::IntegrationConfig;
pub use error::ConfigError;
pub use grpc::IntegrationConfigGrpc;
pub use health::HealthCheckConfig;

/// The tonic server of this service, with the auth interceptor attached.
pub type Server = InterceptedService<IntegrationConfigServiceServer<IntegrationConfigGrpc>, AuthInterceptor>;

/// Everything the service needs.
pub struct Deps {
    pub db: Database,
    pub cipher: TokenCipher,
    pub slack: SlackClient,
    /// The worker that revokes dropped bot tokens with Slack.
    pub revocation: WorkerConfig,
    /// The periodic `auth.test` of each org's bot token.
    pub health: HealthCheckConfig,
    /// Renewing rotating bot tokens.
    pub renewal: ovice_slack_runtime::config::TokenRenewalConfig,
    /// Stops the workers.
    pub stop: CancellationToken,
}

/// Re-seals the bot tokens with the active key (the `reseal-tokens` command, after a key rotation).
pub async fn reseal_tokens(db: &Database, cipher: &TokenCipher) -> anyhow::Result<usize> {
    let store = store::open(db).await?;
    Ok(app::reseal_tokens(store.as_ref(), cipher).await?)
}

/// Runs the migrations, starts the workers (revoking dropped bot tokens, the health check, renewing
/// rotating tokens, acting on orgs' own apps' events), and builds the service and its HTTP routes
/// (the orgs' events endpoint).
pub async fn start(
    deps: Deps,
    auth: AuthInterceptor,
    max_request_bytes: usize,
) -> anyhow::Result<(Server, axum::Router)> {
    let store = store::open(&deps.db).await?;
    let revocations = Revocations::open(&deps.db, deps.cipher.clone(), TokenKind::Bot).await?;
    revocations.spawn_worker(deps.slack.clone(), deps.revocation, deps.stop.clone());
    let app = IntegrationConfig::new(store, deps.cipher, deps.slack, revocations)
        .with_refresh_margin(deps.renewal.margin);
    tokio::spawn(health::run(app.clone(), deps.health, deps.stop.clone()));
    tokio::spawn(renewal::run(app.clone(), deps.renewal, deps.stop.clone()));
    let inbox = ovice_slack_events::Inbox::open(&deps.db, own_app_events::OWN_APP_EVENTS).await?;
    inbox.spawn_worker(
        std::sync::Arc::new(own_app_events::OwnAppEvents(app.clone())),
        ovice_slack_events::WorkerConfig::default(),
        deps.stop,
    );
    let routes = ovice_slack_events::org_routes(
        std::sync::Arc::new(own_app_events::OwnAppSecrets(app.clone())),
        inbox,
    );
    let server = IntegrationConfigServiceServer::new(IntegrationConfigGrpc::new(app))
        .max_decoding_message_size(max_request_bytes);
    Ok((InterceptedService::new(server, auth), routes))
}
