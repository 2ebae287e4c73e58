//! The gRPC face: proto <-> domain conversion (validation happens here, once) and Status mapping.

use ovice_slack_model::{
    DeliveryId, OrgId, UnixMillis,
    message_change::{MessageChange, ReportedChange},
    publish::{MAX_ID, published_org},
    validation::{FieldViolations, invalid_field, required},
};
use ovice_slack_proto::v1 as pb;
use ovice_slack_proto::v1::delivery_service_server::DeliveryService;
use ovice_slack_runtime::auth::{Rpc, Scope, caller_of};
use tonic::{Request, Response, Status};

use crate::{
    app::{DeliveryApp, Disposition},
    domain::{ChatMessage, Delivery, DeliveryMode, DeliveryStatus, HoldReason, SkipReason, SlackChange},
    store::ChangeApplied,
};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

pub struct DeliveryGrpc {
    app: DeliveryApp,
}

impl DeliveryGrpc {
    pub fn new(app: DeliveryApp) -> Self {
        Self { app }
    }
}

fn org_id(v: &mut FieldViolations, value: &str) -> OrgId {
    OrgId::new(required(v, "org_id", value, MAX_ID))
}

pub(crate) fn proto_skip_reason(r: SkipReason) -> pb::SkipReason {
    match r {
        SkipReason::NotDirect => pb::SkipReason::NotDirect,
        SkipReason::SelfMention => pb::SkipReason::SelfMention,
        SkipReason::WorkspaceNotConfigured => pb::SkipReason::WorkspaceNotConfigured,
        SkipReason::WorkspaceTokenInvalid => pb::SkipReason::WorkspaceTokenInvalid,
        SkipReason::RecipientNotConnected => pb::SkipReason::RecipientNotConnected,
        SkipReason::Deleted => pb::SkipReason::Deleted,
        SkipReason::Read => pb::SkipReason::Read,
        SkipReason::Paused => pb::SkipReason::Paused,
    }
}

fn proto_status(s: DeliveryStatus) -> pb::DeliveryStatus {
    match s {
        DeliveryStatus::Pending => pb::DeliveryStatus::Pending,
        DeliveryStatus::Sent => pb::DeliveryStatus::Sent,
        DeliveryStatus::Skipped => pb::DeliveryStatus::Skipped,
        DeliveryStatus::Failed => pb::DeliveryStatus::Failed,
        DeliveryStatus::Dead => pb::DeliveryStatus::Dead,
        DeliveryStatus::Expired => pb::DeliveryStatus::Expired,
    }
}

/// Never carries the message text.
fn to_proto(d: Delivery) -> pb::Delivery {
    pb::Delivery {
        delivery_id: d.delivery_id.into(),
        org_id: d.org_id.into(),
        message_id: d.message_id,
        recipient_user_id: d.recipient_user_id.into(),
        status: proto_status(d.status).into(),
        mode: match d.mode {
            None => pb::DeliveryMode::Unspecified,
            Some(DeliveryMode::AsSender) => pb::DeliveryMode::AsSender,
            Some(DeliveryMode::BotDm) => pb::DeliveryMode::BotDm,
        }
        .into(),
        attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
        ambiguous_attempts: i32::try_from(d.ambiguous_attempts).unwrap_or(i32::MAX),
        last_error: d.last_error,
        slack_channel_id: d.slack_channel_id,
        slack_ts: d.slack_ts,
        created_at: Some(d.created_at.to_proto()),
        updated_at: Some(d.updated_at.to_proto()),
        sender_user_id: d.sender_user_id.into(),
        skip_reason: d
            .skip_reason
            .map_or(pb::SkipReason::Unspecified, proto_skip_reason)
            .into(),
        next_attempt_at: (d.status == DeliveryStatus::Pending).then(|| d.next_attempt_at.to_proto()),
        revision: d.life.revision,
        slack_revision: d.life.slack_revision,
        deleted_at: d.life.deleted_at.map(UnixMillis::to_proto),
        read_at: d.life.read_at.map(UnixMillis::to_proto),
        held_until: d.life.held_until.map(UnixMillis::to_proto),
        pending_change: match d.life.pending_change {
            None => pb::SlackChange::Unspecified,
            Some(SlackChange::Update) => pb::SlackChange::Update,
            Some(SlackChange::Delete) => pb::SlackChange::Delete,
        }
        .into(),
        removed_from_slack: d.life.removed_from_slack(d.status),
        hold_reason: match d.life.hold_reason {
            None => pb::HoldReason::Unspecified,
            Some(HoldReason::Unread) => pb::HoldReason::Unread,
            Some(HoldReason::QuietHours) => pb::HoldReason::QuietHours,
        }
        .into(),
        in_digest: d.life.in_digest,
        change_error: d.life.change_error,
    }
}

#[tonic::async_trait]
impl DeliveryService for DeliveryGrpc {
    async fn enqueue_direct_message(
        &self,
        request: Request<pb::EnqueueDirectMessageRequest>,
    ) -> Result<Response<pb::EnqueueDirectMessageResponse>, Status> {
        let caller = caller_of(&request)?;
        let raw = request.get_ref().message.as_ref();
        // Authorization before validation, so a stranger learns nothing from the error messages.
        // The app does not check again.
        caller.authorize(Rpc::EnqueueDirectMessage, Scope::Org(published_org(raw)))?;
        // The one validation of a published message (the gateway forwards it unchanged).
        let message = ChatMessage::from_field(raw).map_err(FieldViolations::into_status)?;
        let disposition = self.app.enqueue(message).await?;
        let mut response = pb::EnqueueDirectMessageResponse::default();
        match disposition {
            Disposition::Accepted { delivery_id } => {
                response.set_disposition(pb::Disposition::Accepted);
                response.delivery_id = delivery_id.into();
            }
            Disposition::Duplicate { delivery_id } => {
                response.set_disposition(pb::Disposition::Duplicate);
                response.delivery_id = delivery_id.into();
            }
            Disposition::Skipped(reason) => {
                response.set_disposition(pb::Disposition::Skipped);
                response.set_skip_reason(proto_skip_reason(reason));
            }
        }
        Ok(Response::new(response))
    }

    async fn change_direct_message(
        &self,
        request: Request<pb::ChangeDirectMessageRequest>,
    ) -> Result<Response<pb::ChangeDirectMessageResponse>, Status> {
        let caller = caller_of(&request)?;
        let Some(reported) = ReportedChange::of_request(request.get_ref()) else {
            // Nothing names an org: only a caller allowed for every org hears why.
            caller.admits(Rpc::ChangeDirectMessage)?;
            return Err(invalid_field("change", "one of edit, delete or read is required"));
        };
        // Authorization before validation, as for a publish.
        caller.authorize(Rpc::ChangeDirectMessage, Scope::Org(reported.org()))?;
        let change = MessageChange::try_from(reported).map_err(FieldViolations::into_status)?;
        let mut response = pb::ChangeDirectMessageResponse::default();
        match self.app.change(change).await? {
            ChangeApplied::NoDelivery => {
                response.set_disposition(pb::Disposition::Skipped);
                response.set_skip_reason(pb::SkipReason::NotForwarded);
            }
            ChangeApplied::Unchanged(d) => {
                response.set_disposition(pb::Disposition::Duplicate);
                response.delivery_id = d.delivery_id.into();
            }
            ChangeApplied::Applied(d) => {
                response.set_disposition(pb::Disposition::Accepted);
                response.delivery_id = d.delivery_id.into();
            }
        }
        Ok(Response::new(response))
    }

    async fn get_delivery(
        &self,
        request: Request<pb::GetDeliveryRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let org = org_id(&mut v, &r.org_id);
        let message_id = required(&mut v, "message_id", &r.message_id, MAX_ID);
        v.into_result()?;
        Ok(Response::new(to_proto(
            self.app.get(&caller, &org, &message_id).await?,
        )))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let org = org_id(&mut v, &r.org_id);
        let status = match pb::DeliveryStatus::try_from(r.status) {
            Ok(pb::DeliveryStatus::Unspecified) => None,
            Ok(pb::DeliveryStatus::Pending) => Some(DeliveryStatus::Pending),
            Ok(pb::DeliveryStatus::Sent) => Some(DeliveryStatus::Sent),
            Ok(pb::DeliveryStatus::Skipped) => Some(DeliveryStatus::Skipped),
            Ok(pb::DeliveryStatus::Failed) => Some(DeliveryStatus::Failed),
            Ok(pb::DeliveryStatus::Dead) => Some(DeliveryStatus::Dead),
            Ok(pb::DeliveryStatus::Expired) => Some(DeliveryStatus::Expired),
            Err(_) => {
                v.add("status", format!("{} is not a known DeliveryStatus", r.status));
                None
            }
        };
        let page_size = match u32::try_from(r.page_size) {
            Ok(0) => DEFAULT_PAGE,
            Ok(n) if n <= MAX_PAGE => n,
            _ => {
                v.add("page_size", format!("must be between 0 and {MAX_PAGE}"));
                DEFAULT_PAGE
            }
        };
        // The token is the last delivery id of the previous page (a UUID).
        let after = match r.page_token.as_str() {
            "" => None,
            t if uuid::Uuid::try_parse(t).is_ok() => Some(DeliveryId::new(t)),
            _ => {
                v.add("page_token", "is not a token this service handed out");
                None
            }
        };
        v.into_result()?;
        let page = self
            .app
            .list(&caller, &org, status, page_size, after.as_ref())
            .await?;
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: page.deliveries.into_iter().map(to_proto).collect(),
            next_page_token: page.next.map(String::from).unwrap_or_default(),
        }))
    }

    async fn retry_delivery(
        &self,
        request: Request<pb::RetryDeliveryRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let org = org_id(&mut v, &r.org_id);
        let delivery_id = DeliveryId::new(required(&mut v, "delivery_id", &r.delivery_id, MAX_ID));
        v.into_result()?;
        Ok(Response::new(to_proto(
            self.app.retry(&caller, &org, &delivery_id).await?,
        )))
    }
}
