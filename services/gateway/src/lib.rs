//! ChatEventService (docs/product.md §2.3), the platform's entry point: it authenticates the platform,
//! validates each chat message, applies the per-organization publish limit and hands the message to
//! DeliveryService, answering only once the delivery is stored durably.

pub mod config;
mod grpc;

use ovice_slack_proto::v1::{
    chat_event_service_server::ChatEventServiceServer, delivery_service_client::DeliveryServiceClient,
};
use ovice_slack_runtime::{auth::AuthInterceptor, peer::GrpcChannel};
use tonic::service::interceptor::InterceptedService;

pub use config::GatewayConfig;
pub use grpc::GatewayGrpc;

/// The tonic server of this service, with the auth interceptor attached.
pub type Server = InterceptedService<ChatEventServiceServer<GatewayGrpc>, AuthInterceptor>;

/// Everything the gateway needs.
pub struct GatewayDeps {
    /// DeliveryService, with the service identity attached (`peer::with_identity`).
    pub delivery: GrpcChannel,
    pub config: GatewayConfig,
}

pub fn server(deps: GatewayDeps, auth: AuthInterceptor, max_request_bytes: usize) -> Server {
    let grpc = GatewayGrpc::new(DeliveryServiceClient::new(deps.delivery), &deps.config);
    InterceptedService::new(
        ChatEventServiceServer::new(grpc).max_decoding_message_size(max_request_bytes),
        auth,
    )
}
