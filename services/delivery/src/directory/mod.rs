//! What delivery needs to know from the other services: the org's bot credentials
//! (IntegrationConfigService) and who is connected to Slack (AccountLinkService), and where it
//! reports tokens Slack rejected.
//!
//! [`GrpcDirectory`] asks the services (in this process or over the network); [`CachedDirectory`]
//! keeps answers a few seconds for the accept path, where a burst of messages to one org must not
//! turn into a burst of peer calls, while the send path always asks afresh.

mod cached;
mod grpc;
mod memory;

use secrecy::SecretString;

pub use cached::{CachedDirectory, Freshness};
pub use grpc::GrpcDirectory;
pub use memory::{Report, StaticDirectory};

/// The org's Slack workspace and bot token.
#[derive(Clone, Debug)]
pub struct OrgCredentials {
    pub team_id: String,
    pub workspace_domain: String,
    pub bot_user_id: String,
    pub bot_token: SecretString,
    /// False once Slack rejected the token (TOKEN_INVALID) until an owner puts a new one.
    pub active: bool,
}

/// Whether a person's Slack account is linked in an org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    NotConnected,
    Connected,
    NeedsReconnect,
}

/// One ovice user, resolved to Slack.
#[derive(Clone, Debug)]
pub struct ResolvedUser {
    pub user_id: String,
    pub state: LinkState,
    pub slack_user_id: String,
    pub slack_team_id: String,
    /// The person's own token, only when CONNECTED.
    pub user_token: Option<SecretString>,
}

impl ResolvedUser {
    pub fn not_connected(user_id: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            state: LinkState::NotConnected,
            slack_user_id: String::new(),
            slack_team_id: String::new(),
            user_token: None,
        }
    }

    /// Connected, and to the workspace the org uses now (a link of a replaced workspace is stale).
    pub fn connected_in(&self, team_id: &str) -> bool {
        self.state == LinkState::Connected && !self.slack_user_id.is_empty() && self.slack_team_id == team_id
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("{service} is unavailable: {detail}")]
    Unavailable { service: &'static str, detail: String },
}

#[async_trait::async_trait]
pub trait Directory: Send + Sync + 'static {
    /// `None` when the org has no Slack settings.
    async fn bot_credentials(&self, org_id: &str) -> Result<Option<OrgCredentials>, DirectoryError>;

    /// One answer per requested id, in order.
    async fn resolve_users(
        &self,
        org_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<ResolvedUser>, DirectoryError>;

    /// Slack rejected the org's bot token (of `team_id`) with `reason`.
    async fn report_workspace_token_invalid(
        &self,
        org_id: &str,
        team_id: &str,
        reason: &str,
    ) -> Result<(), DirectoryError>;

    /// Slack rejected the person's user token with `reason`: the link becomes NEEDS_RECONNECT.
    async fn report_user_token_invalid(
        &self,
        org_id: &str,
        user_id: &str,
        reason: &str,
    ) -> Result<(), DirectoryError>;
}
