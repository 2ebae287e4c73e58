//! A chat message as the platform publishes it, after validation at the gRPC edge.

/// The sender's role in the space the message was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceRole {
    Admin,
    Member,
    /// A visitor or guest: never posted as, always a bot DM, and marked as a visitor in Slack.
    Visitor,
}

impl SpaceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceRole::Admin => "admin",
            SpaceRole::Member => "member",
            SpaceRole::Visitor => "visitor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(SpaceRole::Admin),
            "member" => Some(SpaceRole::Member),
            "visitor" => Some(SpaceRole::Visitor),
            _ => None,
        }
    }
}

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
    User(String),
    /// `@all`, `@here` or a named group.
    Group { kind: GroupKind, group_id: String },
}

/// The person who wrote a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    pub user_id: String,
    pub display_name: String,
    pub role: SpaceRole,
}

/// A valid chat message.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub org_id: String,
    pub space_id: String,
    pub space_name: String,
    pub message_id: String,
    /// Milliseconds since the Unix epoch.
    pub sent_at: i64,
    pub sender: Sender,
    /// Private: never logged.
    pub text: String,
    pub mentions: Vec<Mention>,
    pub link_url: Option<super::LinkUrl>,
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
