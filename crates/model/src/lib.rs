//! The vocabulary the ovice-slack services share, so each rule has one home: a published chat
//! message and its one validation ([`publish`]), a change to one ([`message_change`]), the link back to ovice, a person's role in a space,
//! their Slack connection, the org's bot credentials, ids and times as types, field violations.

mod chat_message;
mod connection;
mod ids;
mod link_url;
pub mod message_change;
pub mod preferences;
pub mod publish;
mod space_role;
mod time;
pub mod token_renewal;
pub mod validation;

pub use chat_message::{ChatMessage, GroupKind, Mention, Sender};
pub use connection::{BotCredentials, ConnectionState, ResolvedUser};
pub use ids::{DeliveryId, Id, IdKind, OrgId, SlackTeamId, SlackUserId, UserId};
pub use link_url::{LinkUrl, LinkUrlError};
pub use ovice_slack_i18n::Language;
pub use preferences::{QuietHours, SlackPreferences, Verdict};
pub use space_role::SpaceRole;
pub use time::UnixMillis;
