//! The org's Slack workspace, as IntegrationConfigService reports it (in-process or over the network).

use ovice_slack_proto::v1::{
    GetBotCredentialsRequest, WorkspaceStatus,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::peer::GrpcChannel;
use secrecy::SecretString;
use tonic::Code;

use crate::error::LinkError;

/// What account linking needs to know of the org's workspace.
pub struct OrgWorkspace {
    pub team_id: String,
    pub domain: String,
    pub active: bool,
    pub bot_token: SecretString,
}

#[derive(Clone)]
pub struct Workspaces {
    client: IntegrationConfigServiceClient<GrpcChannel>,
}

impl Workspaces {
    pub fn new(channel: GrpcChannel) -> Self {
        Self {
            client: IntegrationConfigServiceClient::new(channel),
        }
    }

    /// `None` when the org has no Slack settings.
    pub async fn get(&self, org_id: &str) -> Result<Option<OrgWorkspace>, LinkError> {
        let request = GetBotCredentialsRequest {
            org_id: org_id.to_owned(),
        };
        match self.client.clone().get_bot_credentials(request).await {
            Ok(r) => {
                let c = r.into_inner();
                Ok(Some(OrgWorkspace {
                    active: c.status == WorkspaceStatus::Active as i32,
                    team_id: c.team_id,
                    domain: c.workspace_domain,
                    bot_token: SecretString::from(c.access_token),
                }))
            }
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => {
                tracing::warn!(code = ?s.code(), message = s.message(), "GetBotCredentials failed");
                Err(LinkError::PeerUnavailable(format!("{:?}", s.code())))
            }
        }
    }
}
