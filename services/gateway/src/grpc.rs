//! PublishChatMessage and StreamChatMessages.

use std::{pin::Pin, sync::Arc, time::Duration};

use futures::channel::oneshot;
use futures::future::{FutureExt, Shared};
use futures::{Stream, StreamExt};
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};
use ovice_slack_model::{message_change::ReportedChange, publish::published_org, validation::invalid_field};
use ovice_slack_proto::v1::{
    ChatMessageChangeOutcome, DeleteChatMessageRequest, DeleteChatMessageResponse, EditChatMessageRequest,
    EditChatMessageResponse, EnqueueDirectMessageRequest, MarkChatMessageReadRequest,
    MarkChatMessageReadResponse, PublishChatMessageRequest, PublishChatMessageResponse,
    chat_event_service_server::ChatEventService, delivery_service_client::DeliveryServiceClient,
    publish_chat_message_request,
};
use ovice_slack_runtime::{
    auth::{Caller, Rpc, Scope, caller_of},
    peer::GrpcChannel,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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

    /// Forwards an edit, delete or read to DeliveryService, under the same authorization and limit as
    /// a publish; DeliveryService validates it and stores it before answering.
    async fn change(
        &self,
        caller: &Caller,
        change: ReportedChange<'_>,
    ) -> Result<ChatMessageChangeOutcome, Status> {
        let org_id = change.org().to_owned();
        caller.authorize(rpc_of(change), Scope::Org(&org_id))?;
        self.admit(&org_id)?;
        let answer = self
            .delivery
            .clone()
            .change_direct_message(change.to_request())
            .await
            .map_err(peer_error)?
            .into_inner();
        Ok(ChatMessageChangeOutcome {
            message_id: change.message_id().to_owned(),
            disposition: answer.disposition,
            skip_reason: answer.skip_reason,
            delivery_id: answer.delivery_id,
        })
    }

    /// One request of a stream: a message or a change.
    async fn stream_item(
        &self,
        caller: &Caller,
        request: PublishChatMessageRequest,
    ) -> Result<PublishChatMessageResponse, Status> {
        let Some(change) = reported_change(&request) else {
            return self.publish(caller, request).await;
        };
        if request.message.is_some() {
            return Err(invalid_field(
                "message",
                "a request carries a message or a change (edit, delete, read), not both",
            ));
        }
        let outcome = self.change(caller, change).await?;
        Ok(PublishChatMessageResponse {
            message_id: outcome.message_id,
            disposition: outcome.disposition,
            skip_reason: outcome.skip_reason,
            delivery_id: outcome.delivery_id,
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

/// The RPC whose authorization a change follows (on the stream too).
fn rpc_of(change: ReportedChange<'_>) -> Rpc {
    match change {
        ReportedChange::Edit(_) => Rpc::EditChatMessage,
        ReportedChange::Delete(_) => Rpc::DeleteChatMessage,
        ReportedChange::Read(_) => Rpc::MarkChatMessageRead,
    }
}

/// The change a stream request carries, if any.
fn reported_change(request: &PublishChatMessageRequest) -> Option<ReportedChange<'_>> {
    use publish_chat_message_request::Change;
    Some(match request.change.as_ref()? {
        Change::Edit(e) => ReportedChange::Edit(e),
        Change::Delete(d) => ReportedChange::Delete(d),
        Change::Read(r) => ReportedChange::Read(r),
    })
}

/// Which message a stream request is about: requests about one message are carried out in the
/// order they came (a publish, then its edit), requests about different ones side by side.
fn stream_key(request: &PublishChatMessageRequest) -> String {
    match reported_change(request) {
        Some(change) => format!("{}\u{0}{}", change.org(), change.message_id()),
        None => request
            .message
            .as_ref()
            .map(|m| format!("{}\u{0}{}", m.org_id.trim(), m.message_id.trim()))
            .unwrap_or_default(),
    }
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
        let order = Arc::new(KeyOrder::default());
        let answers = request
            .into_inner()
            .map(move |item| {
                let gateway = gateway.clone();
                let caller = caller.clone();
                let span = tracing::info_span!(parent: &stream_span, "gateway.publish");
                // Taken here, in stream order: the turn after the last request about this message.
                let turn = item.as_ref().ok().map(|r| order.clone().enter(stream_key(r)));
                async move {
                    let request = item?;
                    let _turn = match turn {
                        Some(turn) => Some(turn.wait().await),
                        None => None,
                    };
                    let message_id = match reported_change(&request) {
                        Some(change) => change.message_id().to_owned(),
                        None => request
                            .message
                            .as_ref()
                            .map(|m| m.message_id.clone())
                            .unwrap_or_default(),
                    };
                    match gateway.stream_item(&caller, request).await {
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

    async fn edit_chat_message(
        &self,
        request: Request<EditChatMessageRequest>,
    ) -> Result<Response<EditChatMessageResponse>, Status> {
        let caller = caller_of(&request)?;
        let Some(edit) = request.get_ref().edit.as_ref() else {
            caller.admits(Rpc::EditChatMessage)?;
            return Err(invalid_field("edit", "is required"));
        };
        let outcome = self.inner.change(&caller, ReportedChange::Edit(edit)).await?;
        Ok(Response::new(EditChatMessageResponse {
            outcome: Some(outcome),
        }))
    }

    async fn delete_chat_message(
        &self,
        request: Request<DeleteChatMessageRequest>,
    ) -> Result<Response<DeleteChatMessageResponse>, Status> {
        let caller = caller_of(&request)?;
        let Some(delete) = request.get_ref().delete.as_ref() else {
            caller.admits(Rpc::DeleteChatMessage)?;
            return Err(invalid_field("delete", "is required"));
        };
        let outcome = self.inner.change(&caller, ReportedChange::Delete(delete)).await?;
        Ok(Response::new(DeleteChatMessageResponse {
            outcome: Some(outcome),
        }))
    }

    async fn mark_chat_message_read(
        &self,
        request: Request<MarkChatMessageReadRequest>,
    ) -> Result<Response<MarkChatMessageReadResponse>, Status> {
        let caller = caller_of(&request)?;
        let Some(read) = request.get_ref().read.as_ref() else {
            caller.admits(Rpc::MarkChatMessageRead)?;
            return Err(invalid_field("read", "is required"));
        };
        let outcome = self.inner.change(&caller, ReportedChange::Read(read)).await?;
        Ok(Response::new(MarkChatMessageReadResponse {
            outcome: Some(outcome),
        }))
    }
}

/// Resolves when a request's turn ends.
type TurnEnded = Shared<oneshot::Receiver<()>>;

/// Per stream: each request about a message waits for the one before it about the same message.
#[derive(Default)]
struct KeyOrder {
    /// Per message: the last request about it, and when it ends.
    last: std::sync::Mutex<HashMap<String, (u64, TurnEnded)>>,
    next_id: AtomicU64,
}

/// A request's place in its message's line.
struct Turn {
    order: Arc<KeyOrder>,
    key: String,
    id: u64,
    before: Option<TurnEnded>,
    done: Option<oneshot::Sender<()>>,
}

impl KeyOrder {
    fn enter(self: Arc<Self>, key: String) -> Turn {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (done, finished) = oneshot::channel();
        let before = match self.last.lock() {
            Ok(mut last) => last.insert(key.clone(), (id, finished.shared())).map(|(_, f)| f),
            // A poisoned map only loses the ordering, never a request.
            Err(_) => None,
        };
        Turn {
            order: self,
            key,
            id,
            before,
            done: Some(done),
        }
    }
}

impl Turn {
    /// Waits for the request before it about the same message; the returned guard ends this turn.
    async fn wait(mut self) -> Turn {
        if let Some(before) = self.before.take() {
            // An error means the one before ended without sending: it ended all the same.
            let _ = before.await;
        }
        self
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
        if let Ok(mut last) = self.order.last.lock()
            && last.get(&self.key).is_some_and(|(id, _)| *id == self.id)
        {
            last.remove(&self.key);
        }
    }
}
