//! The one validation of a published chat message: `TryFrom<&pb::ChatMessage>`, applied where the
//! message enters the outbox (DeliveryService's EnqueueDirectMessage). The gateway forwards what the
//! platform published unchanged, so the rules live here only.

use ovice_slack_proto::v1 as pb;

use crate::{
    ChatMessage, GroupKind, LinkUrl, Mention, OrgId, Sender, SpaceRole, UnixMillis, UserId,
    validation::{FieldViolations, optional, required},
};

pub const MAX_ID: usize = 128;
pub const MAX_NAME: usize = 256;
pub const MAX_TEXT: usize = 40_000;
pub const MAX_MENTIONS: usize = 100;

impl ChatMessage {
    /// The `message` field of a request: required, then validated.
    pub fn from_field(message: Option<&pb::ChatMessage>) -> Result<Self, FieldViolations> {
        let Some(m) = message else {
            let mut v = FieldViolations::new();
            v.add("message", "is required");
            return Err(v);
        };
        Self::try_from(m)
    }
}

/// The org a published message is for, as validation reads it (for authorizing the publisher
/// before the message itself is looked at).
pub fn published_org(message: Option<&pb::ChatMessage>) -> &str {
    message.map_or("", |m| m.org_id.trim())
}

/// Every problem is reported as a field violation named by its path (`message.sender.role`).
impl TryFrom<&pb::ChatMessage> for ChatMessage {
    type Error = FieldViolations;

    fn try_from(m: &pb::ChatMessage) -> Result<Self, FieldViolations> {
        let mut v = FieldViolations::new();
        let org_id = OrgId::new(required(&mut v, "message.org_id", &m.org_id, MAX_ID));
        let space_id = required(&mut v, "message.space_id", &m.space_id, MAX_ID);
        let message_id = required(&mut v, "message.message_id", &m.message_id, MAX_ID);
        let space_name = optional(&mut v, "message.space_name", &m.space_name, MAX_NAME);
        let sent_at = match &m.sent_at {
            None => UnixMillis::now(),
            Some(ts) => UnixMillis::from_proto(ts).unwrap_or_else(|| {
                v.add("message.sent_at", "is not a valid timestamp");
                UnixMillis::default()
            }),
        };
        let sender = match &m.sender {
            None => {
                v.add("message.sender", "is required");
                None
            }
            Some(s) => {
                let user_id = UserId::new(required(&mut v, "message.sender.user_id", &s.user_id, MAX_ID));
                let display_name = optional(&mut v, "message.sender.display_name", &s.display_name, MAX_NAME);
                let role = match pb::SpaceRole::try_from(s.role) {
                    Ok(role) => match SpaceRole::try_from(role) {
                        Ok(role) => Some(role),
                        Err(()) => {
                            v.add("message.sender.role", "is required (ADMIN, MEMBER or VISITOR)");
                            None
                        }
                    },
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
        let Some(sender) = sender.filter(|_| v.is_empty()) else {
            if v.is_empty() {
                // Unreachable: a missing sender was reported above.
                v.add("message.sender", "is required");
            }
            return Err(v);
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
            Some(Mention::User(UserId::new(user)))
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

#[cfg(test)]
mod proptests {
    //! Whatever the platform sends, validation answers with the message or with INVALID_ARGUMENT
    //! naming every bad field; it never panics.
    use proptest::prelude::*;
    use tonic::Code;
    use tonic_types::StatusExt;

    use super::*;

    fn validate_chat_message(m: Option<&pb::ChatMessage>) -> Result<ChatMessage, tonic::Status> {
        ChatMessage::from_field(m).map_err(FieldViolations::into_status)
    }

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
