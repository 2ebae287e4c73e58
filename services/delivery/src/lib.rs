//! DeliveryService (SPEC 2.3). Message delivery is built by the "Message delivery" issue; until then
//! every method answers UNIMPLEMENTED and says so, rather than pretending.

use ovice_slack_proto::v1::{
    Delivery, EnqueueDirectMessageRequest, EnqueueDirectMessageResponse, GetDeliveryRequest,
    ListDeliveriesRequest, ListDeliveriesResponse, RetryDeliveryRequest,
    delivery_service_server::{DeliveryService, DeliveryServiceServer},
};
use ovice_slack_runtime::auth::AuthInterceptor;
use tonic::{Request, Response, Status, service::interceptor::InterceptedService};

pub type Server = InterceptedService<DeliveryServiceServer<DeliveryGrpc>, AuthInterceptor>;

pub fn server(auth: AuthInterceptor, max_request_bytes: usize) -> Server {
    InterceptedService::new(
        DeliveryServiceServer::new(DeliveryGrpc).max_decoding_message_size(max_request_bytes),
        auth,
    )
}

pub struct DeliveryGrpc;

fn missing(method: &str) -> Status {
    Status::unimplemented(format!(
        "DeliveryService.{method} is not available yet: forwarding direct messages to Slack is still being built"
    ))
}

#[tonic::async_trait]
impl DeliveryService for DeliveryGrpc {
    async fn enqueue_direct_message(
        &self,
        _: Request<EnqueueDirectMessageRequest>,
    ) -> Result<Response<EnqueueDirectMessageResponse>, Status> {
        Err(missing("EnqueueDirectMessage"))
    }
    async fn get_delivery(&self, _: Request<GetDeliveryRequest>) -> Result<Response<Delivery>, Status> {
        Err(missing("GetDelivery"))
    }
    async fn list_deliveries(
        &self,
        _: Request<ListDeliveriesRequest>,
    ) -> Result<Response<ListDeliveriesResponse>, Status> {
        Err(missing("ListDeliveries"))
    }
    async fn retry_delivery(&self, _: Request<RetryDeliveryRequest>) -> Result<Response<Delivery>, Status> {
        Err(missing("RetryDelivery"))
    }
}
