//! A faithful local Slack for tests and local trials: the Web API methods ovice-slack uses
//! (`auth.test`, `users.info`, `users.lookupByEmail`, `conversations.open`, `chat.postMessage`,
//! `oauth.v2.access`), the OAuth v2 authorize screen, Slack's error shapes, `X-OAuth-Scopes`,
//! rate limits with 429 + `Retry-After`, signed Events API requests to an app's Request URL
//! (`tokens_revoked`, `app_uninstalled`, `user_change`), fault injection, a record of what it saw, and a web page
//! showing each person's direct messages the way a Slack client would.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use slack_emulator::{Emulator, Seed};
//! let slack = Emulator::start(Seed::demo()).await?;
//! let api_base = slack.api_url(); // http://127.0.0.1:PORT/api/
//! # let _ = api_base;
//! slack.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
pub mod blocks;
mod control;
pub mod events;
pub mod faults;
pub mod limits;
mod oauth;
pub mod record;
pub mod rotation;
pub mod seed;
mod server;
mod state;
pub mod web;

pub use events::{EventDelivery, EventError};
pub use faults::{Chaos, Fault, FaultKind};
pub use limits::RateLimitConfig;
pub use oauth::pkce_s256;
pub use record::{ChangeKind, RecordedCall, RecordedCallView, RecordedChange, RecordedMessage, TokenKind};
pub use rotation::{DEFAULT_TOKEN_LIFETIME, InstalledBot, REFRESH_GRACE, RefreshRecord};
pub use seed::{BotTokenSeed, DEMO_SIGNING_SECRET, OAuthAppSeed, Seed, UserSeed, WorkspaceSeed};
pub use server::{Emulator, EmulatorHandle};
