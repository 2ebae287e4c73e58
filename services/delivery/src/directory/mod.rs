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

pub use cached::{CachedDirectory, Freshness};
pub use grpc::GrpcDirectory;
pub use memory::{Report, StaticDirectory};

pub use ovice_slack_model::{BotCredentials, ConnectionState, ResolvedUser};
use ovice_slack_model::{OrgId, SlackTeamId, UserId};
pub use ovice_slack_runtime::peer_clients::PeerUnavailable;

#[async_trait::async_trait]
pub trait Directory: Send + Sync + 'static {
    /// `None` when the org has no Slack settings.
    async fn bot_credentials(&self, org_id: &OrgId) -> Result<Option<BotCredentials>, PeerUnavailable>;

    /// One answer per requested id, in order, for the org's current team `team_id` (links of
    /// another team are not connected). User tokens only `with_tokens`.
    async fn resolve_users(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        user_ids: &[UserId],
        with_tokens: bool,
    ) -> Result<Vec<ResolvedUser>, PeerUnavailable>;

    /// Slack rejected the org's bot token (of `team_id`) with `reason`.
    async fn report_workspace_token_invalid(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        reason: &str,
    ) -> Result<(), PeerUnavailable>;

    /// Slack rejected the person's user token with `reason`: the link becomes NEEDS_RECONNECT.
    async fn report_user_token_invalid(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
    ) -> Result<(), PeerUnavailable>;
}
