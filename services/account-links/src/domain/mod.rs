//! The rules of docs/product.md §2.2 in plain Rust: who sees the Slack item, what state a link is in, and the four
//! checks that decide whether a consent on Slack's page becomes a link.

pub(crate) mod connect;
mod link;
pub mod link_event;
mod visibility;

pub use connect::{
    CONNECT_TTL, ConnectRefusal, Consent, DEFAULT_CONNECT_STARTS_PER_MINUTE, MAX_PENDING_CONNECTS_PER_PERSON,
    PendingConnect, USER_SCOPES, check_consent,
};
pub use link::{Link, LinkRotation, LinkState, legacy_token_context, refresh_context, token_context};
// A person's preferences are shared with delivery, which decides by them: one home in the model.
pub use ovice_slack_model::preferences::{MAX_HOLD_UNREAD, SlackPreferences};
pub use visibility::item_visible;
