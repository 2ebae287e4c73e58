//! The rules of docs/product.md §2.3 in plain Rust: which chat messages are direct messages, how a message reads
//! in Slack, when a failed send is tried again, and how a delivery moves between its states.

mod classify;
mod delivery;
mod format;
mod message;
mod retry;

pub use classify::{Classification, SkipReason, classify};
pub use delivery::{Delivery, DeliveryMode, DeliveryStatus};
pub use format::{LinkUrl, LinkUrlError, MAX_SLACK_TEXT_CHARS, SHORTENED_MARKER, SlackText, escape_mrkdwn};
pub use message::{ChatMessage, GroupKind, Mention, Sender, SpaceRole};
pub use retry::{RetryDecision, RetryPolicy};
