//! The directory over the generated clients of IntegrationConfigService and AccountLinkService.

use ovice_slack_proto::v1::{
    ConnectionState, GetBotCredentialsRequest, ReportUserTokenInvalidRequest,
    ReportWorkspaceTokenInvalidRequest, ResolveSlackUsersRequest, WorkspaceStatus,
    account_link_service_client::AccountLinkServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::peer::GrpcChannel;
use secrecy::SecretString;
use tonic::{Code, Status};

use super::{Directory, DirectoryError, LinkState, OrgCredentials, ResolvedUser};

/// AccountLinkService takes at most this many ids per ResolveSlackUsers.
const RESOLVE_BATCH: usize = 100;

const CONFIG: &str = "IntegrationConfigService";
const LINKS: &str = "AccountLinkService";

#[derive(Clone)]
pub struct GrpcDirectory {
    config: IntegrationConfigServiceClient<GrpcChannel>,
    links: AccountLinkServiceClient<GrpcChannel>,
}

impl GrpcDirectory {
    /// `integration_config` and `account_links` carry the service identity (`peer::with_identity`).
    pub fn new(integration_config: GrpcChannel, account_links: GrpcChannel) -> Self {
        Self {
            config: IntegrationConfigServiceClient::new(integration_config),
            links: AccountLinkServiceClient::new(account_links),
        }
    }
}

fn unavailable(service: &'static str, status: &Status) -> DirectoryError {
    // The peer's message is readable and free of secrets; keep it for the delivery's last_error.
    DirectoryError::Unavailable {
        service,
        detail: format!("{:?}: {}", status.code(), status.message()),
    }
}

#[async_trait::async_trait]
impl Directory for GrpcDirectory {
    async fn bot_credentials(&self, org_id: &str) -> Result<Option<OrgCredentials>, DirectoryError> {
        let request = GetBotCredentialsRequest {
            org_id: org_id.to_owned(),
        };
        match self.config.clone().get_bot_credentials(request).await {
            Ok(response) => {
                let c = response.into_inner();
                Ok(Some(OrgCredentials {
                    active: c.status == WorkspaceStatus::Active as i32,
                    team_id: c.team_id,
                    workspace_domain: c.workspace_domain,
                    bot_user_id: c.bot_user_id,
                    bot_token: SecretString::from(c.access_token),
                }))
            }
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(unavailable(CONFIG, &s)),
        }
    }

    async fn resolve_users(
        &self,
        org_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<ResolvedUser>, DirectoryError> {
        let mut resolved = Vec::with_capacity(user_ids.len());
        for batch in user_ids.chunks(RESOLVE_BATCH) {
            let request = ResolveSlackUsersRequest {
                org_id: org_id.to_owned(),
                user_ids: batch.to_vec(),
            };
            let users = self
                .links
                .clone()
                .resolve_slack_users(request)
                .await
                .map_err(|s| unavailable(LINKS, &s))?
                .into_inner()
                .users;
            // One answer per id, in order; match by id anyway rather than trust positions.
            for id in batch {
                let user = users.iter().find(|u| &u.user_id == id);
                resolved.push(match user {
                    None => ResolvedUser::not_connected(id),
                    Some(u) => {
                        let state = match ConnectionState::try_from(u.state) {
                            Ok(ConnectionState::Connected) => LinkState::Connected,
                            Ok(ConnectionState::NeedsReconnect) => LinkState::NeedsReconnect,
                            _ => LinkState::NotConnected,
                        };
                        let token = (state == LinkState::Connected && !u.user_access_token.is_empty())
                            .then(|| SecretString::from(u.user_access_token.clone()));
                        ResolvedUser {
                            user_id: id.clone(),
                            state,
                            slack_user_id: u.slack_user_id.clone(),
                            slack_team_id: u.slack_team_id.clone(),
                            user_token: token,
                        }
                    }
                });
            }
        }
        Ok(resolved)
    }

    async fn report_workspace_token_invalid(
        &self,
        org_id: &str,
        team_id: &str,
        reason: &str,
    ) -> Result<(), DirectoryError> {
        let request = ReportWorkspaceTokenInvalidRequest {
            org_id: org_id.to_owned(),
            reason: reason.to_owned(),
            team_id: team_id.to_owned(),
        };
        match self.config.clone().report_workspace_token_invalid(request).await {
            // NOT_FOUND: the settings were removed meanwhile; nothing left to flag.
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(unavailable(CONFIG, &s)),
        }
    }

    async fn report_user_token_invalid(
        &self,
        org_id: &str,
        user_id: &str,
        reason: &str,
    ) -> Result<(), DirectoryError> {
        let request = ReportUserTokenInvalidRequest {
            org_id: org_id.to_owned(),
            user_id: user_id.to_owned(),
            reason: reason.to_owned(),
        };
        match self.links.clone().report_user_token_invalid(request).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(unavailable(LINKS, &s)),
        }
    }
}
