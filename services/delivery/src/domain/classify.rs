//! Which chat messages are direct messages (docs/product.md §2.3): the mentions name exactly one individual
//! user, with no `@all`, `@here`, group or second person, and that user is not the sender.

use ovice_slack_model::UserId;

use super::ChatMessage;
use super::Mention;

/// Why a chat message is not forwarded to Slack. Stored as its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum SkipReason {
    NotDirect,
    SelfMention,
    WorkspaceNotConfigured,
    WorkspaceTokenInvalid,
    RecipientNotConnected,
    /// Deleted in ovice before it was sent.
    Deleted,
    /// Read by the recipient in ovice before it was sent.
    Read,
    /// The recipient had paused forwarding when it was due.
    Paused,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The verdict on one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classification {
    Direct { recipient_user_id: UserId },
    Skip(SkipReason),
}

pub fn classify(message: &ChatMessage) -> Classification {
    let mut individual: Option<&UserId> = None;
    for mention in &message.mentions {
        match mention {
            Mention::Group { .. } => return Classification::Skip(SkipReason::NotDirect),
            // The same person mentioned twice is still one person.
            Mention::User(user) => match individual {
                None => individual = Some(user),
                Some(seen) if seen == user => {}
                Some(_) => return Classification::Skip(SkipReason::NotDirect),
            },
        }
    }
    match individual {
        None => Classification::Skip(SkipReason::NotDirect),
        Some(user) if *user == message.sender.user_id => Classification::Skip(SkipReason::SelfMention),
        Some(user) => Classification::Direct {
            recipient_user_id: user.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{GroupKind, Sender, SpaceRole};

    fn message(mentions: Vec<Mention>) -> ChatMessage {
        ChatMessage {
            org_id: "o1".into(),
            space_id: "s1".into(),
            space_name: "Lobby".into(),
            message_id: "m1".into(),
            sent_at: ovice_slack_model::UnixMillis::default(),
            sender: Sender {
                user_id: "alice".into(),
                display_name: "Alice".into(),
                role: SpaceRole::Member,
            },
            text: "hi".into(),
            mentions,
            link_url: None,
        }
    }

    fn user(id: &str) -> Mention {
        Mention::User(id.into())
    }

    fn group(kind: GroupKind) -> Mention {
        Mention::Group {
            kind,
            group_id: if kind == GroupKind::Group {
                "g1".into()
            } else {
                String::new()
            },
        }
    }

    #[test]
    fn one_individual_is_direct() {
        assert_eq!(
            classify(&message(vec![user("bob")])),
            Classification::Direct {
                recipient_user_id: "bob".into()
            }
        );
    }

    #[test]
    fn the_same_person_twice_counts_once() {
        assert_eq!(
            classify(&message(vec![user("bob"), user("bob")])),
            Classification::Direct {
                recipient_user_id: "bob".into()
            }
        );
    }

    #[test]
    fn groups_all_here_and_second_people_are_not_direct() {
        for mentions in [
            vec![],
            vec![user("bob"), user("carol")],
            vec![user("bob"), group(GroupKind::All)],
            vec![group(GroupKind::Here), user("bob")],
            vec![user("bob"), group(GroupKind::Group)],
            vec![group(GroupKind::All)],
            // The sender and someone else: two people.
            vec![user("alice"), user("bob")],
        ] {
            assert_eq!(
                classify(&message(mentions.clone())),
                Classification::Skip(SkipReason::NotDirect),
                "{mentions:?}"
            );
        }
    }

    #[test]
    fn mentioning_oneself_is_a_self_mention() {
        assert_eq!(
            classify(&message(vec![user("alice"), user("alice")])),
            Classification::Skip(SkipReason::SelfMention)
        );
    }

    #[test]
    fn skip_reasons_round_trip() {
        for r in [
            SkipReason::NotDirect,
            SkipReason::SelfMention,
            SkipReason::WorkspaceNotConfigured,
            SkipReason::WorkspaceTokenInvalid,
            SkipReason::RecipientNotConnected,
        ] {
            assert_eq!(r.as_str().parse(), Ok(r));
        }
        assert!("x".parse::<SkipReason>().is_err());
    }
}
