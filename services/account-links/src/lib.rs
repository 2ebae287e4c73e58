//! AccountLinkService (docs/product.md §2.2): the Slack item of Personal Integration Settings, Connect through
//! Slack's consent page with the email check, Disconnect, and the lookups delivery needs. The OAuth
//! callback (`GET /oauth/slack/callback`) and the Connect app's Events endpoint (`POST /slack/events`)
//! are served over HTTP by the same process.

pub mod app;
mod callback;
pub mod domain;
mod error;
mod grpc;
mod pages;
mod renewal;
mod slack_events;
pub mod store;

use ovice_slack_proto::v1::account_link_service_server::AccountLinkServiceServer;
use std::sync::Arc;

use ovice_slack_events::{Inbox, SigningSecret};
use ovice_slack_revocation::{Revocations, TokenKind, WorkerConfig};
use ovice_slack_runtime::{
    auth::AuthInterceptor, db::Database, peer::GrpcChannel, peer_clients::IntegrationConfigPeer,
};
use ovice_slack_secrets::TokenCipher;
use slack_client::SlackClient;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

pub use app::{AccountLinks, ConnectConfig};
pub use callback::CALLBACK_PATH;
pub use error::LinkError;
pub use grpc::AccountLinksGrpc;

/// The tonic server of this service, with the auth interceptor attached.
pub type Server = InterceptedService<AccountLinkServiceServer<AccountLinksGrpc>, AuthInterceptor>;

/// Everything the service needs.
pub struct Deps {
    pub db: Database,
    pub cipher: TokenCipher,
    pub slack: SlackClient,
    /// IntegrationConfigService (in-process or remote), with the service identity attached.
    pub integration_config: GrpcChannel,
    /// `None` when the operator has not configured the Slack app: Connect then says so.
    pub connect: Option<ConnectConfig>,
    /// The Connect app's signing secret: `None` leaves `POST /slack/events` answering that it is not
    /// set up.
    pub signing_secret: Option<SigningSecret>,
    /// The worker that acts on the Connect app's events.
    pub events: ovice_slack_events::WorkerConfig,
    /// The worker that revokes dropped user tokens with Slack.
    pub revocation: WorkerConfig,
    /// Renewing rotating user tokens.
    pub renewal: ovice_slack_runtime::config::TokenRenewalConfig,
    /// Stops the workers.
    pub stop: CancellationToken,
}

/// Re-seals the user tokens with the active key (the `reseal-tokens` command, after a key rotation).
pub async fn reseal_tokens(db: &Database, cipher: &TokenCipher) -> anyhow::Result<usize> {
    let store = store::open(db).await?;
    Ok(app::reseal_tokens(store.as_ref(), cipher).await?)
}

/// The receiver name of the Connect app's events in the inbox.
const CONNECT_EVENTS: &str = "connect";

/// Runs the migrations, starts the workers (revoking dropped user tokens, acting on the Connect app's
/// events), and builds the gRPC server and the HTTP routes (the callback, the Events endpoint).
pub async fn start(
    deps: Deps,
    auth: AuthInterceptor,
    max_request_bytes: usize,
) -> anyhow::Result<(Server, axum::Router)> {
    let store = store::open(&deps.db).await?;
    let revocations = Revocations::open(&deps.db, deps.cipher.clone(), TokenKind::User).await?;
    revocations.spawn_worker(deps.slack.clone(), deps.revocation, deps.stop.clone());
    let workspaces = IntegrationConfigPeer::new(deps.integration_config);
    let events = match deps.signing_secret {
        Some(secret) => {
            let inbox = Inbox::open(&deps.db, CONNECT_EVENTS).await?;
            let handler = Arc::new(slack_events::ConnectEvents::new(
                store.clone(),
                workspaces.clone(),
            ));
            inbox.spawn_worker(handler, deps.events, deps.stop.clone());
            ovice_slack_events::routes(secret, inbox)
        }
        None => ovice_slack_events::not_configured_routes(),
    };
    let app = AccountLinks::new(
        store,
        deps.cipher,
        deps.slack,
        workspaces,
        deps.connect,
        revocations,
    )
    .with_refresh_margin(deps.renewal.margin);
    tokio::spawn(renewal::run(app.clone(), deps.renewal, deps.stop));
    let routes = callback::routes(app.clone()).merge(events);
    let server = AccountLinkServiceServer::new(AccountLinksGrpc::new(app))
        .max_decoding_message_size(max_request_bytes);
    Ok((InterceptedService::new(server, auth), routes))
}
