//! The Slack Web API client of ovice-slack: the few typed calls the services need, an error
//! taxonomy that tells retryable from per-user and per-org failures, and OAuth v2 helpers.
//!
//! Tokens and secrets are `secrecy::SecretString` throughout; they travel only in the
//! `Authorization` header or a form body, never in a URL, an error, a Debug output or a log.

pub mod blocks;
mod client;
mod error;
mod metrics;
pub mod oauth;
mod refresh;
mod types;

pub use client::{MAX_RETRY_AFTER, SLACK_API_BASE_URL, SlackClient, SlackClientConfig};
pub use error::{DEAD_TOKEN, SlackError};
pub use refresh::{REFRESH_ATTEMPT, REFRESH_WINDOW};
pub use types::{
    AuthTest, OAuthAccessRequest, OAuthV2Access, PostMessage, PostedMessage, RefreshedToken, Rotation,
    SlackUser, UpdateMessage,
};

/// Installs rustls' ring crypto provider as the process default; a no-op when one is installed.
/// reqwest is built without a provider of its own, so the binary (or a test) calls this first.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is then installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
