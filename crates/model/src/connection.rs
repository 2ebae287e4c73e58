//! A person's Slack connection in an org, as the other services and the Slack item see it.

use secrecy::SecretString;

use crate::{SlackPreferences, SlackTeamId, SlackUserId, UserId};

/// Whether a person's Slack account is linked in an org.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// No link (or one made in a workspace the org no longer uses).
    #[default]
    NotConnected,
    Connected,
    /// Slack refused the person's token: they should connect again.
    NeedsReconnect,
}

/// The org's Slack workspace and its bot token, as IntegrationConfigService hands them to the other
/// services.
#[derive(Clone, Debug)]
pub struct BotCredentials {
    pub team_id: SlackTeamId,
    pub workspace_domain: String,
    pub bot_user_id: SlackUserId,
    pub bot_token: SecretString,
    /// False once Slack refused the token (TOKEN_INVALID) until an owner puts a new one.
    pub active: bool,
}

/// One ovice user, resolved to Slack.
#[derive(Clone, Debug)]
pub struct ResolvedUser {
    pub user_id: UserId,
    pub state: ConnectionState,
    /// Empty unless a link exists.
    pub slack_user_id: SlackUserId,
    pub slack_team_id: SlackTeamId,
    /// The person's own token: only when CONNECTED, and only when it was asked for.
    pub user_token: Option<SecretString>,
    /// Their preferences (the defaults when there is no link).
    pub preferences: SlackPreferences,
}

impl ResolvedUser {
    pub fn not_connected(user_id: &UserId) -> Self {
        Self {
            user_id: user_id.clone(),
            state: ConnectionState::NotConnected,
            slack_user_id: SlackUserId::default(),
            slack_team_id: SlackTeamId::default(),
            user_token: None,
            preferences: SlackPreferences::default(),
        }
    }

    /// Connected, and to the workspace the org uses now (a link of a replaced workspace is stale).
    pub fn connected_in(&self, team_id: &SlackTeamId) -> bool {
        self.state == ConnectionState::Connected
            && !self.slack_user_id.is_empty()
            && self.slack_team_id == *team_id
    }

    /// The same answer without the person's token (what may be cached).
    pub fn without_token(&self) -> Self {
        Self {
            user_token: None,
            ..self.clone()
        }
    }
}
