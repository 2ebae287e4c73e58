//! DeliveryService (docs/product.md §2.3): the durable outbox of direct messages and the workers that forward
//! them to Slack.
//!
//! `EnqueueDirectMessage` decides whether a chat message is a direct message, checks that the org
//! and the recipient are set up (cached answers), and stores it durably before answering. The
//! [`DeliveryWorkers`] claim due deliveries with a lease, check again, send as the sender or as the
//! org's bot, retry transient failures with backoff, and record the Slack channel and ts.

pub mod app;
mod change_worker;
mod circuits;
mod clock;
pub mod config;
pub mod directory;
pub mod domain;
mod error;
mod grpc;
mod metrics;
pub mod new_work;
pub mod pacer;
pub mod sender;
pub mod store;
mod trace;
pub mod worker;

use std::sync::Arc;

use ovice_slack_proto::v1::delivery_service_server::DeliveryServiceServer;
use ovice_slack_runtime::{auth::AuthInterceptor, db::Database};
use slack_client::SlackClient;
use tonic::service::interceptor::InterceptedService;

pub use app::{DeliveryApp, Disposition};
pub use clock::Clock;
pub use config::DeliveryConfig;
pub use directory::{Directory, GrpcDirectory, StaticDirectory};
pub use error::DeliveryError;
pub use grpc::DeliveryGrpc;
pub use worker::{DeliveryWorkers, DeliveryWorkersHandle};

/// The tonic server of this service, with the auth interceptor attached.
pub type Server = InterceptedService<DeliveryServiceServer<DeliveryGrpc>, AuthInterceptor>;

/// Everything the service needs.
pub struct Deps {
    pub db: Database,
    pub slack: SlackClient,
    /// IntegrationConfigService and AccountLinkService (`GrpcDirectory` in the binary).
    pub directory: Arc<dyn Directory>,
    pub config: DeliveryConfig,
    /// The outbox's "now" ([`Clock::system`] but in tests).
    pub clock: Clock,
}

/// Runs the migrations and builds the service and its workers (not yet running: call
/// [`DeliveryWorkers::spawn`]).
pub async fn start(
    deps: Deps,
    auth: AuthInterceptor,
    max_request_bytes: usize,
) -> anyhow::Result<(Server, DeliveryWorkers)> {
    let slack_timeout = deps.slack.timeout();
    deps.config.validate(slack_timeout).map_err(anyhow::Error::msg)?;
    let store = store::open(&deps.db).await?;
    let directory = directory::CachedDirectory::new(deps.directory, deps.config.directory_cache_ttl);
    let new_work = new_work::NewWork::default();
    // Shared by the replicas through the database where they share the outbox.
    let lanes = store::lanes::open(&deps.db);
    let pacer = Arc::new(pacer::Pacer::new(deps.config.pacing(), lanes));
    let circuits = Arc::new(circuits::Circuits::new(deps.config.circuit_policy(slack_timeout)));
    let sender = sender::DeliverySender::new(deps.slack, directory.clone(), pacer.clone());
    let workers = DeliveryWorkers::new(
        store.clone(),
        sender,
        pacer,
        circuits,
        new_work.clone(),
        deps.config.worker_settings(slack_timeout),
        deps.clock.clone(),
    );
    let app = DeliveryApp::new(store, directory, new_work, deps.clock);
    let server =
        DeliveryServiceServer::new(DeliveryGrpc::new(app)).max_decoding_message_size(max_request_bytes);
    Ok((InterceptedService::new(server, auth), workers))
}
