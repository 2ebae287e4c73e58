//! The directory over the typed clients of IntegrationConfigService and AccountLinkService.

use ovice_slack_runtime::{
    peer::GrpcChannel,
    peer_clients::{AccountLinksPeer, IntegrationConfigPeer},
};

use ovice_slack_model::{OrgId, SlackTeamId, UserId};

use super::{BotCredentials, Directory, PeerUnavailable, ResolvedUser};

#[derive(Clone)]
pub struct GrpcDirectory {
    config: IntegrationConfigPeer,
    links: AccountLinksPeer,
}

impl GrpcDirectory {
    /// `integration_config` and `account_links` carry the service identity (`peer::with_identity`).
    pub fn new(integration_config: GrpcChannel, account_links: GrpcChannel) -> Self {
        Self {
            config: IntegrationConfigPeer::new(integration_config),
            links: AccountLinksPeer::new(account_links),
        }
    }
}

#[async_trait::async_trait]
impl Directory for GrpcDirectory {
    async fn bot_credentials(&self, org_id: &OrgId) -> Result<Option<BotCredentials>, PeerUnavailable> {
        self.config.bot_credentials(org_id).await
    }

    async fn resolve_users(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        user_ids: &[UserId],
        with_tokens: bool,
    ) -> Result<Vec<ResolvedUser>, PeerUnavailable> {
        self.links
            .resolve_users(org_id, team_id, user_ids, with_tokens)
            .await
    }

    async fn report_workspace_token_invalid(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        reason: &str,
    ) -> Result<(), PeerUnavailable> {
        self.config
            .report_workspace_token_invalid(org_id, team_id, reason)
            .await
    }

    async fn report_user_token_invalid(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
    ) -> Result<(), PeerUnavailable> {
        self.links
            .report_user_token_invalid(org_id, user_id, reason)
            .await
    }
}
