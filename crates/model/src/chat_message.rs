//! A chat message as the platform publishes it, once validated (`publish.rs`).

use crate::{LinkUrl, OrgId, SpaceRole, UnixMillis, UserId};

/// Who a group mention addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    All,
    Here,
    Group,
}

/// One mention of a chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mention {
    /// An individual ovice user id.
    User(UserId),
    /// `@all`, `@here` or a named group.
    Group { kind: GroupKind, group_id: String },
}

/// The person who wrote a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    pub user_id: UserId,
    pub display_name: String,
    pub role: SpaceRole,
}

/// A valid chat message.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub org_id: OrgId,
    pub space_id: String,
    pub space_name: String,
    pub message_id: String,
    pub sent_at: UnixMillis,
    pub sender: Sender,
    /// Private: never logged.
    pub text: String,
    pub mentions: Vec<Mention>,
    pub link_url: Option<LinkUrl>,
}

// The text is the person's private message: Debug shows only its length.
impl std::fmt::Debug for ChatMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatMessage")
            .field("org_id", &self.org_id)
            .field("space_id", &self.space_id)
            .field("message_id", &self.message_id)
            .field("sent_at", &self.sent_at)
            .field("sender_user_id", &self.sender.user_id)
            .field("text_len", &self.text.len())
            .field("mentions", &self.mentions)
            .finish_non_exhaustive()
    }
}
