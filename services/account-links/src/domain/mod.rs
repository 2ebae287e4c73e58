//! The rules of docs/product.md §2.2 in plain Rust: who sees the Slack item, what state a link is in, and the four
//! checks that decide whether a consent on Slack's page becomes a link.

pub(crate) mod connect;
mod link;
mod visibility;

pub use connect::{CONNECT_TTL, ConnectRefusal, Consent, PendingConnect, USER_SCOPES, check_consent};
pub use link::{Link, LinkState};
pub use visibility::item_visible;
