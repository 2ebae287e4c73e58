//! ChatEventService (SPEC 2.3), the platform's entry point. Publishing is built by the "Message
//! delivery" issue; until then both methods answer UNIMPLEMENTED and say so, rather than pretending.

use std::pin::Pin;

use ovice_slack_proto::v1::{
    PublishChatMessageRequest, PublishChatMessageResponse,
    chat_event_service_server::{ChatEventService, ChatEventServiceServer},
};
use ovice_slack_runtime::auth::AuthInterceptor;
use tonic::{
    Request, Response, Status, Streaming, codegen::tokio_stream::Stream,
    service::interceptor::InterceptedService,
};

pub type Server = InterceptedService<ChatEventServiceServer<GatewayGrpc>, AuthInterceptor>;

pub fn server(auth: AuthInterceptor, max_request_bytes: usize) -> Server {
    InterceptedService::new(
        ChatEventServiceServer::new(GatewayGrpc).max_decoding_message_size(max_request_bytes),
        auth,
    )
}

pub struct GatewayGrpc;

fn missing(method: &str) -> Status {
    Status::unimplemented(format!(
        "ChatEventService.{method} is not available yet: forwarding direct messages to Slack is still being built"
    ))
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<PublishChatMessageResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ChatEventService for GatewayGrpc {
    type StreamChatMessagesStream = ResponseStream;

    async fn publish_chat_message(
        &self,
        _: Request<PublishChatMessageRequest>,
    ) -> Result<Response<PublishChatMessageResponse>, Status> {
        Err(missing("PublishChatMessage"))
    }

    async fn stream_chat_messages(
        &self,
        _: Request<Streaming<PublishChatMessageRequest>>,
    ) -> Result<Response<Self::StreamChatMessagesStream>, Status> {
        Err(missing("StreamChatMessages"))
    }
}
