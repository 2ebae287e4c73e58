//! What the emulator saw: every Web API call and every message posted, for tests to assert on.

use std::time::Instant;

use serde::Serialize;

/// Which kind of token made a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Bot,
    User,
}

/// A message accepted by `chat.postMessage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedMessage {
    pub team_id: String,
    /// The conversation it landed in (always the `D…` id for DMs, even when posted to a `U…` id).
    pub channel: String,
    /// The author: the token's user (a bot user for bot tokens).
    pub user: String,
    pub bot_id: Option<String>,
    pub is_bot: bool,
    pub token_kind: TokenKind,
    /// Exactly as received.
    pub text: String,
    /// The Block Kit blocks, as received and accepted (`None`: a text-only message).
    pub blocks: Option<Vec<serde_json::Value>>,
    /// Every broadcast (`<!here>`…) or mention (`<@U…>`) Slack would act on in the text or the
    /// blocks: a forwarded DM must have none.
    pub alerts: Vec<String>,
    pub ts: String,
    pub unfurl_links: Option<bool>,
    pub unfurl_media: Option<bool>,
    /// When it was last changed with `chat.update` (Slack's `edited.ts`); the text is the new one.
    pub edited_ts: Option<String>,
    /// When it was posted, for the workspace's edit window.
    #[serde(skip)]
    pub posted_at: Option<Instant>,
}

/// What a successful `chat.update` or `chat.delete` did to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChangeKind {
    Updated {
        text: String,
        blocks: Option<Vec<serde_json::Value>>,
    },
    Deleted,
}

/// One successful `chat.update` or `chat.delete`, in order, for tests to count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedChange {
    pub team_id: String,
    pub channel: String,
    pub ts: String,
    /// Whose token changed it (the poster: Slack allows no one else).
    pub user: String,
    pub token_kind: TokenKind,
    #[serde(flatten)]
    pub kind: ChangeKind,
}

/// One request to `/api/<method>`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    pub method: String,
    /// The HTTP status served; 0 when the connection was dropped on purpose.
    pub status: u16,
    /// The Slack `error` code when the answer was `ok:false`.
    pub error: Option<String>,
    /// When the request arrived.
    pub at: Instant,
}

/// `RecordedCall` for the HTTP control API: `at` as milliseconds since the emulator started, and
/// as wall-clock microseconds (so that a process on the same machine can compare it with its own
/// clock, e.g. a benchmark timing publish to Slack).
#[derive(Debug, Clone, Serialize)]
pub struct RecordedCallView {
    pub method: String,
    pub status: u16,
    pub error: Option<String>,
    pub at_ms: u64,
    pub at_unix_us: u64,
}

impl RecordedCall {
    pub fn view(&self, started: Instant) -> RecordedCallView {
        let ago = self.at.elapsed();
        let at_unix = std::time::SystemTime::now()
            .checked_sub(ago)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        RecordedCallView {
            method: self.method.clone(),
            status: self.status,
            error: self.error.clone(),
            at_ms: u64::try_from(self.at.saturating_duration_since(started).as_millis()).unwrap_or(u64::MAX),
            at_unix_us: u64::try_from(at_unix.as_micros()).unwrap_or(u64::MAX),
        }
    }
}
