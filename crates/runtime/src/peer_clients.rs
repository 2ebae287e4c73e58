//! The one typed client of each peer call the services make of each other: proto in, model out, and
//! one error for "the peer could not answer". Over a [`GrpcChannel`] carrying the service identity.

use ovice_slack_model::{
    BotCredentials, ConnectionState, OrgId, ResolvedUser, SlackPreferences, SlackTeamId, SlackUserId, UserId,
};
use ovice_slack_proto::v1::{
    self as pb, GetBotCredentialsRequest, ReportUserTokenInvalidRequest, ReportWorkspaceTokenInvalidRequest,
    ResolveSlackUsersRequest, WorkspaceStatus, account_link_service_client::AccountLinkServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use secrecy::SecretString;
use tonic::{Code, Status};

use crate::peer::GrpcChannel;

/// AccountLinkService takes at most this many ids per ResolveSlackUsers.
pub const RESOLVE_BATCH: usize = 100;

/// A peer did not answer (unreachable, overloaded, or an error on its side). Its message is
/// readable and free of secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{service} is unavailable: {detail}")]
pub struct PeerUnavailable {
    pub service: &'static str,
    pub detail: String,
}

impl PeerUnavailable {
    fn of(service: &'static str, status: &Status) -> Self {
        Self {
            service,
            detail: format!("{:?}: {}", status.code(), status.message()),
        }
    }
}

const CONFIG: &str = "IntegrationConfigService";
const LINKS: &str = "AccountLinkService";

/// IntegrationConfigService, as the other services call it.
#[derive(Clone)]
pub struct IntegrationConfigPeer {
    client: IntegrationConfigServiceClient<GrpcChannel>,
}

impl IntegrationConfigPeer {
    /// `channel` carries the service identity (`peer::with_identity`).
    pub fn new(channel: GrpcChannel) -> Self {
        Self {
            client: IntegrationConfigServiceClient::new(channel),
        }
    }

    /// The org's workspace and bot token; `None` when the org has no Slack settings.
    pub async fn bot_credentials(&self, org_id: &OrgId) -> Result<Option<BotCredentials>, PeerUnavailable> {
        let request = GetBotCredentialsRequest {
            org_id: org_id.to_string(),
        };
        match self.client.clone().get_bot_credentials(request).await {
            Ok(response) => {
                let c = response.into_inner();
                Ok(Some(BotCredentials {
                    active: c.status == WorkspaceStatus::Active as i32,
                    team_id: c.team_id.into(),
                    workspace_domain: c.workspace_domain,
                    bot_user_id: c.bot_user_id.into(),
                    bot_token: SecretString::from(c.access_token),
                }))
            }
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(PeerUnavailable::of(CONFIG, &s)),
        }
    }

    /// Slack refused the org's bot token (of `team_id`) with `reason`. Settings removed meanwhile
    /// leave nothing to flag: that is not an error.
    pub async fn report_workspace_token_invalid(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        reason: &str,
    ) -> Result<(), PeerUnavailable> {
        let request = ReportWorkspaceTokenInvalidRequest {
            org_id: org_id.to_string(),
            reason: reason.to_owned(),
            team_id: team_id.to_string(),
        };
        match self.client.clone().report_workspace_token_invalid(request).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(PeerUnavailable::of(CONFIG, &s)),
        }
    }
}

impl IntegrationConfigPeer {
    /// Slack said the app's tokens in `team_id` went (the bot users named, or all of them when the
    /// app was uninstalled); returns the orgs whose workspace became TOKEN_INVALID.
    pub async fn report_tokens_revoked(
        &self,
        team_id: &SlackTeamId,
        bot_user_ids: &[SlackUserId],
        app_uninstalled: bool,
    ) -> Result<Vec<OrgId>, PeerUnavailable> {
        let request = pb::ReportSlackTokensRevokedRequest {
            team_id: team_id.to_string(),
            bot_user_ids: bot_user_ids.iter().map(|b| b.to_string()).collect(),
            app_uninstalled,
        };
        match self.client.clone().report_slack_tokens_revoked(request).await {
            Ok(r) => Ok(r
                .into_inner()
                .invalidated_org_ids
                .into_iter()
                .map(OrgId::new)
                .collect()),
            Err(s) => Err(PeerUnavailable::of(CONFIG, &s)),
        }
    }
}

/// AccountLinkService, as the other services call it.
#[derive(Clone)]
pub struct AccountLinksPeer {
    client: AccountLinkServiceClient<GrpcChannel>,
}

impl AccountLinksPeer {
    /// `channel` carries the service identity (`peer::with_identity`).
    pub fn new(channel: GrpcChannel) -> Self {
        Self {
            client: AccountLinkServiceClient::new(channel),
        }
    }

    /// One answer per id, in order, for the org's current workspace `team_id`. User tokens only
    /// when `with_tokens` (the send path); the accept path only needs to know who is connected.
    pub async fn resolve_users(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        user_ids: &[UserId],
        with_tokens: bool,
    ) -> Result<Vec<ResolvedUser>, PeerUnavailable> {
        let mut resolved = Vec::with_capacity(user_ids.len());
        for batch in user_ids.chunks(RESOLVE_BATCH) {
            let request = ResolveSlackUsersRequest {
                org_id: org_id.to_string(),
                user_ids: batch.iter().map(UserId::to_string).collect(),
                team_id: team_id.to_string(),
                include_user_tokens: with_tokens,
            };
            let users = self
                .client
                .clone()
                .resolve_slack_users(request)
                .await
                .map_err(|s| PeerUnavailable::of(LINKS, &s))?
                .into_inner()
                .users;
            // One answer per id, in order; matched by id anyway rather than trusting positions.
            for id in batch {
                resolved.push(match users.iter().find(|u| *id == u.user_id.as_str()) {
                    None => ResolvedUser::not_connected(id),
                    Some(u) => from_proto(id, u),
                });
            }
        }
        Ok(resolved)
    }

    /// Slack refused the person's token with `reason`: their link becomes NEEDS_RECONNECT.
    pub async fn report_user_token_invalid(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
    ) -> Result<(), PeerUnavailable> {
        let request = ReportUserTokenInvalidRequest {
            org_id: org_id.to_string(),
            user_id: user_id.to_string(),
            reason: reason.to_owned(),
        };
        match self.client.clone().report_user_token_invalid(request).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(PeerUnavailable::of(LINKS, &s)),
        }
    }
}

fn from_proto(id: &UserId, u: &pb::ResolvedSlackUser) -> ResolvedUser {
    let state = match pb::ConnectionState::try_from(u.state) {
        Ok(pb::ConnectionState::Connected) => ConnectionState::Connected,
        Ok(pb::ConnectionState::NeedsReconnect) => ConnectionState::NeedsReconnect,
        _ => ConnectionState::NotConnected,
    };
    let user_token = (state == ConnectionState::Connected && !u.user_access_token.is_empty())
        .then(|| SecretString::from(u.user_access_token.clone()));
    ResolvedUser {
        user_id: id.clone(),
        state,
        slack_user_id: u.slack_user_id.as_str().into(),
        slack_team_id: u.slack_team_id.as_str().into(),
        user_token,
        // An older account-links sends only the hold.
        preferences: u.preferences.as_ref().map_or_else(
            || SlackPreferences {
                hold_unread: SlackPreferences::hold_from_seconds(i64::from(u.hold_unread_seconds))
                    .unwrap_or_default(),
                ..SlackPreferences::default()
            },
            SlackPreferences::from_peer,
        ),
    }
}
