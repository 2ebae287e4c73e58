//! The gRPC face: proto <-> domain conversion (validation happens here, once) and Status mapping.

use ovice_slack_proto::v1 as pb;
use ovice_slack_proto::v1::delivery_service_server::DeliveryService;
use ovice_slack_runtime::{
    auth::caller_of,
    status::{FieldViolations, invalid_field, required},
    time::{now_millis, to_timestamp},
};
use tonic::{Request, Response, Status};

use crate::{
    app::{DeliveryApp, Disposition},
    domain::{
        ChatMessage, Delivery, DeliveryMode, DeliveryStatus, GroupKind, LinkUrl, Mention, Sender, SkipReason,
        SpaceRole,
    },
};

const MAX_ID: usize = 128;
const MAX_NAME: usize = 256;
const MAX_TEXT: usize = 40_000;
const MAX_MENTIONS: usize = 100;
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

/// Validates a published chat message (the `message` field of EnqueueDirectMessage and
/// PublishChatMessage); every problem is reported as a field violation named by its path.
pub fn validate_chat_message(message: Option<&pb::ChatMessage>) -> Result<ChatMessage, Status> {
    let Some(m) = message else {
        return Err(invalid_field("message", "is required"));
    };
    let mut v = FieldViolations::new();
    let org_id = required(&mut v, "message.org_id", &m.org_id, MAX_ID);
    let space_id = required(&mut v, "message.space_id", &m.space_id, MAX_ID);
    let message_id = required(&mut v, "message.message_id", &m.message_id, MAX_ID);
    let space_name = optional(&mut v, "message.space_name", &m.space_name, MAX_NAME);
    let sent_at = match &m.sent_at {
        None => now_millis(),
        Some(ts) => match ovice_slack_runtime::time::from_timestamp(ts) {
            Some(t) => t.timestamp_millis(),
            None => {
                v.add("message.sent_at", "is not a valid timestamp");
                0
            }
        },
    };
    let sender = match &m.sender {
        None => {
            v.add("message.sender", "is required");
            None
        }
        Some(s) => {
            let user_id = required(&mut v, "message.sender.user_id", &s.user_id, MAX_ID);
            let display_name = optional(&mut v, "message.sender.display_name", &s.display_name, MAX_NAME);
            let role = match pb::SpaceRole::try_from(s.role) {
                Ok(pb::SpaceRole::Admin) => Some(SpaceRole::Admin),
                Ok(pb::SpaceRole::Member) => Some(SpaceRole::Member),
                Ok(pb::SpaceRole::Visitor) => Some(SpaceRole::Visitor),
                Ok(pb::SpaceRole::Unspecified) => {
                    v.add("message.sender.role", "is required (ADMIN, MEMBER or VISITOR)");
                    None
                }
                Err(_) => {
                    v.add(
                        "message.sender.role",
                        format!("{} is not a known SpaceRole", s.role),
                    );
                    None
                }
            };
            role.map(|role| Sender {
                user_id,
                display_name,
                role,
            })
        }
    };
    if m.text.len() > MAX_TEXT {
        v.add("message.text", format!("is longer than {MAX_TEXT} bytes"));
    }
    if m.mentions.len() > MAX_MENTIONS {
        v.add(
            "message.mentions",
            format!("has more than {MAX_MENTIONS} entries"),
        );
    }
    let mut mentions = Vec::with_capacity(m.mentions.len().min(MAX_MENTIONS));
    for (i, mention) in m.mentions.iter().take(MAX_MENTIONS).enumerate() {
        if let Some(parsed) = validate_mention(&mut v, i, mention) {
            mentions.push(parsed);
        }
    }
    let link_url = if m.link_url.is_empty() {
        None
    } else {
        match LinkUrl::parse(&m.link_url) {
            Ok(link) => Some(link),
            Err(e) => {
                v.add("message.link_url", e.to_string());
                None
            }
        }
    };
    v.into_result()?;
    let Some(sender) = sender else {
        // Unreachable: a missing sender was reported above.
        return Err(invalid_field("message.sender", "is required"));
    };
    Ok(ChatMessage {
        org_id,
        space_id,
        space_name,
        message_id,
        sent_at,
        sender,
        text: m.text.clone(),
        mentions,
        link_url,
    })
}

fn validate_mention(v: &mut FieldViolations, i: usize, mention: &pb::Mention) -> Option<Mention> {
    use pb::mention::Target;
    match &mention.target {
        None => {
            v.add(
                format!("message.mentions[{i}]"),
                "names neither a user_id nor a group",
            );
            None
        }
        Some(Target::UserId(user)) => {
            let user = required(v, &format!("message.mentions[{i}].user_id"), user, MAX_ID);
            Some(Mention::User(user))
        }
        Some(Target::Group(g)) => {
            let field = format!("message.mentions[{i}].group.kind");
            let kind = match pb::GroupKind::try_from(g.kind) {
                Ok(pb::GroupKind::All) => GroupKind::All,
                Ok(pb::GroupKind::Here) => GroupKind::Here,
                Ok(pb::GroupKind::Group) => GroupKind::Group,
                Ok(pb::GroupKind::Unspecified) => {
                    v.add(field, "is required (ALL, HERE or GROUP)");
                    return None;
                }
                Err(_) => {
                    v.add(field, format!("{} is not a known GroupKind", g.kind));
                    return None;
                }
            };
            let id_field = format!("message.mentions[{i}].group.group_id");
            let group_id = if kind == GroupKind::Group {
                required(v, &id_field, &g.group_id, MAX_ID)
            } else {
                optional(v, &id_field, &g.group_id, MAX_ID)
            };
            Some(Mention::Group { kind, group_id })
        }
    }
}

fn optional(v: &mut FieldViolations, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.len() > max {
        v.add(field, format!("is longer than {max} bytes"));
    }
    value.to_owned()
}

fn org_id(v: &mut FieldViolations, value: &str) -> String {
    required(v, "org_id", value, MAX_ID)
}

pub(crate) fn proto_skip_reason(r: SkipReason) -> pb::SkipReason {
    match r {
        SkipReason::NotDirect => pb::SkipReason::NotDirect,
        SkipReason::SelfMention => pb::SkipReason::SelfMention,
        SkipReason::WorkspaceNotConfigured => pb::SkipReason::WorkspaceNotConfigured,
        SkipReason::WorkspaceTokenInvalid => pb::SkipReason::WorkspaceTokenInvalid,
        SkipReason::RecipientNotConnected => pb::SkipReason::RecipientNotConnected,
    }
}

fn proto_status(s: DeliveryStatus) -> pb::DeliveryStatus {
    match s {
        DeliveryStatus::Pending => pb::DeliveryStatus::Pending,
        DeliveryStatus::Sent => pb::DeliveryStatus::Sent,
        DeliveryStatus::Skipped => pb::DeliveryStatus::Skipped,
        DeliveryStatus::Failed => pb::DeliveryStatus::Failed,
        DeliveryStatus::Dead => pb::DeliveryStatus::Dead,
    }
}

/// Never carries the message text.
fn to_proto(d: Delivery) -> pb::Delivery {
    pb::Delivery {
        delivery_id: d.delivery_id,
        org_id: d.org_id,
        message_id: d.message_id,
        recipient_user_id: d.recipient_user_id,
        status: proto_status(d.status).into(),
        mode: match d.mode {
            None => pb::DeliveryMode::Unspecified,
            Some(DeliveryMode::AsSender) => pb::DeliveryMode::AsSender,
            Some(DeliveryMode::BotDm) => pb::DeliveryMode::BotDm,
        }
        .into(),
        attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
        last_error: d.last_error,
        slack_channel_id: d.slack_channel_id,
        slack_ts: d.slack_ts,
        created_at: Some(to_timestamp(d.created_at)),
        updated_at: Some(to_timestamp(d.updated_at)),
        sender_user_id: d.sender_user_id,
        skip_reason: d
            .skip_reason
            .map_or(pb::SkipReason::Unspecified, proto_skip_reason)
            .into(),
        next_attempt_at: (d.status == DeliveryStatus::Pending).then(|| to_timestamp(d.next_attempt_at)),
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
        caller.ensure_internal_service(raw.map_or("", |m| m.org_id.trim()))?;
        let message = validate_chat_message(raw)?;
        let disposition = self.app.enqueue(&caller, message).await?;
        let mut response = pb::EnqueueDirectMessageResponse::default();
        match disposition {
            Disposition::Accepted { delivery_id } => {
                response.set_disposition(pb::Disposition::Accepted);
                response.delivery_id = delivery_id;
            }
            Disposition::Duplicate { delivery_id } => {
                response.set_disposition(pb::Disposition::Duplicate);
                response.delivery_id = delivery_id;
            }
            Disposition::Skipped(reason) => {
                response.set_disposition(pb::Disposition::Skipped);
                response.set_skip_reason(proto_skip_reason(reason));
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
            t if uuid::Uuid::try_parse(t).is_ok() => Some(t),
            _ => {
                v.add("page_token", "is not a token this service handed out");
                None
            }
        };
        v.into_result()?;
        let page = self.app.list(&caller, &org, status, page_size, after).await?;
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: page.deliveries.into_iter().map(to_proto).collect(),
            next_page_token: page.next.unwrap_or_default(),
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
        let delivery_id = required(&mut v, "delivery_id", &r.delivery_id, MAX_ID);
        v.into_result()?;
        Ok(Response::new(to_proto(
            self.app.retry(&caller, &org, &delivery_id).await?,
        )))
    }
}

#[cfg(test)]
mod proptests {
    //! Whatever the platform sends, validation answers with the message or with INVALID_ARGUMENT
    //! naming every bad field; it never panics.
    use proptest::prelude::*;
    use tonic::Code;
    use tonic_types::StatusExt;

    use super::*;

    fn text(max: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[ a-z0-9-]{0,12}",
            2 => any::<String>(),
            1 => Just(String::new()),
            1 => Just("   ".to_owned()),
            1 => (max - 2..max + 3).prop_map(|n| "x".repeat(n)),
        ]
    }

    fn enum_value() -> impl Strategy<Value = i32> {
        prop_oneof![0..5i32, any::<i32>()]
    }

    fn mention() -> impl Strategy<Value = pb::Mention> {
        use pb::mention::Target;
        prop_oneof![
            Just(pb::Mention { target: None }),
            text(MAX_ID).prop_map(|u| pb::Mention {
                target: Some(Target::UserId(u))
            }),
            (enum_value(), text(MAX_ID)).prop_map(|(kind, group_id)| pb::Mention {
                target: Some(Target::Group(pb::GroupMention { kind, group_id }))
            }),
        ]
    }

    prop_compose! {
        fn chat_message()(
            org_id in text(MAX_ID),
            space_id in text(MAX_ID),
            space_name in text(MAX_NAME),
            message_id in text(MAX_ID),
            sent_at in prop::option::of((any::<i64>(), any::<i32>())),
            sender in prop::option::of((text(MAX_ID), text(MAX_NAME), enum_value())),
            body in prop_oneof![text(64), (MAX_TEXT - 1..MAX_TEXT + 2).prop_map(|n| "é".repeat(n / 2))],
            mentions in prop_oneof![
                prop::collection::vec(mention(), 0..4),
                prop::collection::vec(mention(), MAX_MENTIONS - 1..MAX_MENTIONS + 40),
            ],
            link_url in prop_oneof![Just(String::new()), "https://o\\.example/[ -~]{0,20}", any::<String>()],
        ) -> pb::ChatMessage {
            pb::ChatMessage {
                org_id,
                space_id,
                space_name,
                message_id,
                sent_at: sent_at.map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
                sender: sender.map(|(user_id, display_name, role)| pb::Sender { user_id, display_name, role }),
                text: body,
                mentions,
                link_url,
            }
        }
    }

    fn bad_id(s: &str, max: usize) -> bool {
        s.trim().is_empty() || s.trim().len() > max
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

        #[test]
        fn every_bad_field_is_named_and_nothing_panics(m in chat_message()) {
            // The fields a person can check without reading the code.
            let mut expected = Vec::new();
            if bad_id(&m.org_id, MAX_ID) { expected.push("message.org_id".to_owned()); }
            if bad_id(&m.space_id, MAX_ID) { expected.push("message.space_id".to_owned()); }
            if bad_id(&m.message_id, MAX_ID) { expected.push("message.message_id".to_owned()); }
            if m.space_name.trim().len() > MAX_NAME { expected.push("message.space_name".to_owned()); }
            if m.text.len() > MAX_TEXT { expected.push("message.text".to_owned()); }
            if m.mentions.len() > MAX_MENTIONS { expected.push("message.mentions".to_owned()); }
            match &m.sender {
                None => expected.push("message.sender".to_owned()),
                Some(s) => {
                    if bad_id(&s.user_id, MAX_ID) { expected.push("message.sender.user_id".to_owned()); }
                    if !(1..=3).contains(&s.role) { expected.push("message.sender.role".to_owned()); }
                }
            }
            for (i, mention) in m.mentions.iter().take(MAX_MENTIONS).enumerate() {
                use pb::mention::Target;
                match &mention.target {
                    None => expected.push(format!("message.mentions[{i}]")),
                    Some(Target::UserId(u)) if bad_id(u, MAX_ID) => {
                        expected.push(format!("message.mentions[{i}].user_id"))
                    }
                    Some(Target::Group(g)) if !(1..=3).contains(&g.kind) => {
                        expected.push(format!("message.mentions[{i}].group.kind"))
                    }
                    _ => {}
                }
            }
            match validate_chat_message(Some(&m)) {
                Ok(valid) => {
                    prop_assert!(expected.is_empty(), "accepted although {expected:?} are bad");
                    prop_assert_eq!(valid.org_id.as_str(), m.org_id.trim());
                    prop_assert!(valid.mentions.len() <= MAX_MENTIONS);
                    prop_assert!(valid.text.len() <= MAX_TEXT);
                    prop_assert_eq!(valid.link_url.is_some(), !m.link_url.is_empty());
                }
                Err(status) => {
                    prop_assert_eq!(status.code(), Code::InvalidArgument);
                    let details = status.get_error_details();
                    let violations = details.bad_request().map(|b| b.field_violations.clone()).unwrap_or_default();
                    prop_assert!(!violations.is_empty(), "no field violations in {status:?}");
                    let named: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                    for field in &expected {
                        prop_assert!(named.contains(&field.as_str()), "{field} missing from {named:?}");
                    }
                    prop_assert!(named.iter().all(|f| f.starts_with("message")), "{named:?}");
                    // The message names fields, never echoes the (private) text.
                    if m.text.len() > 8 {
                        prop_assert!(!status.message().contains(&m.text));
                    }
                }
            }
        }
    }

    #[test]
    fn a_missing_message_is_named() {
        let status = validate_chat_message(None).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.get_error_details().bad_request().unwrap().field_violations[0].field,
            "message"
        );
    }
}
