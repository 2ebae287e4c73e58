//! PublishChatMessage and StreamChatMessages.

use std::{pin::Pin, sync::Arc, time::Duration};

use futures::{Stream, StreamExt};
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};
use ovice_slack_model::publish::published_org;
use ovice_slack_proto::v1::{
    EnqueueDirectMessageRequest, PublishChatMessageRequest, PublishChatMessageResponse,
    chat_event_service_server::ChatEventService, delivery_service_client::DeliveryServiceClient,
};
use ovice_slack_runtime::{
    auth::{Caller, Rpc, Scope, caller_of},
    peer::GrpcChannel,
};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::Instrument;

use crate::GatewayConfig;

type OrgLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Idle orgs are forgotten once the limiter tracks this many.
const MAX_TRACKED_ORGS: usize = 10_000;

pub struct GatewayGrpc {
    inner: Arc<Gateway>,
}

struct Gateway {
    delivery: DeliveryServiceClient<GrpcChannel>,
    limiter: OrgLimiter,
    clock: DefaultClock,
    org_rate: u32,
    stream_concurrency: usize,
}

impl GatewayGrpc {
    pub fn new(delivery: DeliveryServiceClient<GrpcChannel>, config: &GatewayConfig) -> Self {
        let clock = DefaultClock::default();
        let quota = Quota::per_second(config.org_rate).allow_burst(config.org_burst);
        Self {
            inner: Arc::new(Gateway {
                delivery,
                limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
                clock,
                org_rate: config.org_rate.get(),
                stream_concurrency: usize::from(config.stream_concurrency.max(1)),
            }),
        }
    }
}

impl Gateway {
    async fn publish(
        &self,
        caller: &Caller,
        request: PublishChatMessageRequest,
    ) -> Result<PublishChatMessageResponse, Status> {
        // Authorization first, so a stranger learns nothing from the error messages. The message is
        // validated once, where it enters the outbox (DeliveryService); its errors come back unchanged.
        let org_id = published_org(request.message.as_ref()).to_owned();
        caller.authorize(Rpc::PublishChatMessage, Scope::Org(&org_id))?;
        self.admit(&org_id)?;
        let message_id = request
            .message
            .as_ref()
            .map(|m| m.message_id.trim().to_owned())
            .unwrap_or_default();
        let enqueue = EnqueueDirectMessageRequest {
            message: request.message,
        };
        let answer = self
            .delivery
            .clone()
            .enqueue_direct_message(enqueue)
            .await
            .map_err(peer_error)?
            .into_inner();
        Ok(PublishChatMessageResponse {
            message_id,
            disposition: answer.disposition,
            skip_reason: answer.skip_reason,
            delivery_id: answer.delivery_id,
            error_code: 0,
            error_message: String::new(),
        })
    }

    /// The per-organization publish limit.
    fn admit(&self, org_id: &str) -> Result<(), Status> {
        if self.limiter.len() > MAX_TRACKED_ORGS {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&org_id.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until
                    .wait_time_from(self.clock.now())
                    .max(Duration::from_millis(1));
                tracing::info!(
                    org_id,
                    retry_in_ms = wait.as_millis(),
                    "publish rate limit reached"
                );
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(wait));
                Err(Status::with_error_details(
                    Code::ResourceExhausted,
                    format!(
                        "organization `{org_id}` publishes more than {} messages per second; retry in {} ms",
                        self.org_rate,
                        wait.as_millis().max(1)
                    ),
                    details,
                ))
            }
        }
    }
}

/// DeliveryService's answers keep their code. A transport failure reaching it surfaces as UNKNOWN
/// from the generated client (DeliveryService itself never answers UNKNOWN): that is UNAVAILABLE
/// to the platform, which should retry.
fn peer_error(status: Status) -> Status {
    if status.code() == Code::Unknown {
        tracing::warn!(error = %status.message(), "DeliveryService could not be reached");
        return Status::unavailable("DeliveryService cannot be reached right now; publish again shortly");
    }
    status
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<PublishChatMessageResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ChatEventService for GatewayGrpc {
    type StreamChatMessagesStream = ResponseStream;

    async fn publish_chat_message(
        &self,
        request: Request<PublishChatMessageRequest>,
    ) -> Result<Response<PublishChatMessageResponse>, Status> {
        let caller = caller_of(&request)?;
        let response = self.inner.publish(&caller, request.into_inner()).await?;
        Ok(Response::new(response))
    }

    async fn stream_chat_messages(
        &self,
        request: Request<Streaming<PublishChatMessageRequest>>,
    ) -> Result<Response<Self::StreamChatMessagesStream>, Status> {
        let caller = caller_of(&request)?;
        // Refuse a stream from a person at once; the org of each message is checked per message.
        caller.admits(Rpc::StreamChatMessages)?;
        let gateway = self.inner.clone();
        let concurrency = gateway.stream_concurrency;
        let stream_span = tracing::Span::current();
        // `buffered` keeps the answers in request order, runs at most `concurrency` at once and
        // reads the next request only when a slot is free: a fast publisher is slowed to our pace.
        let answers = request
            .into_inner()
            .map(move |item| {
                let gateway = gateway.clone();
                let caller = caller.clone();
                let span = tracing::info_span!(parent: &stream_span, "gateway.publish");
                async move {
                    let request = item?;
                    let message_id = request
                        .message
                        .as_ref()
                        .map(|m| m.message_id.clone())
                        .unwrap_or_default();
                    match gateway.publish(&caller, request).await {
                        Ok(answer) => Ok(answer),
                        // One bad message is answered, not fatal to the stream.
                        Err(status) => Ok(PublishChatMessageResponse {
                            message_id,
                            error_code: status.code() as i32,
                            error_message: status.message().to_owned(),
                            ..Default::default()
                        }),
                    }
                }
                .instrument(span)
            })
            .buffered(concurrency);
        Ok(Response::new(Box::pin(answers)))
    }
}
