//! The rules of docs/product.md §2.3 in plain Rust: which chat messages are direct messages, how a message reads
//! in Slack, when a failed send is tried again, when Slack counts as down, and how a delivery moves between its states.

mod circuit;
mod classify;
mod delivery;
mod format;
mod message_life;
mod pacing;
mod retry;
mod slack_failure;

pub use circuit::{Admission, Circuit, CircuitPolicy, Health, Transition};
pub use classify::{Classification, SkipReason, classify};
pub use delivery::{Delivery, DeliveryMode, DeliveryStatus};
pub use format::{
    DIGEST_MAX, DIGEST_MIN, MAX_NOTIFICATION_TEXT_CHARS, MAX_SLACK_TEXT_CHARS, OPEN_ACTION_ID, SlackMessage,
    SlackText, check_inert, check_inert_with_links, escape_mrkdwn, render_digest,
};
pub use message_life::{ChangeEffect, HoldReason, MessageLife, SlackChange, apply_change, skip_before_send};
pub use ovice_slack_model::{
    ChatMessage, DeliveryId, GroupKind, Language, LinkUrl, LinkUrlError, Mention, OrgId, QuietHours, Sender,
    SlackPreferences, SlackTeamId, SlackUserId, SpaceRole, UnixMillis, UserId, Verdict,
};
pub use pacing::{Rate, Slot, closed_until, take_slot};
pub use retry::{Failure, RetryDecision, RetryPolicy, expired_reason};
pub use slack_failure::{EXPIRED, FailureAction, FailureClass, TokenOwner, on_slack_failure};
