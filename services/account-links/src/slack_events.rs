//! The Connect app's events (`POST /slack/events`), acted on after they are stored: people who
//! removed the app's access, the app uninstalled from a team, and profile changes. When an org's bot
//! token is of the same app (an operator who lets owners install the Connect app itself), the bot
//! side goes to IntegrationConfigService, which holds that token.

use std::sync::Arc;

use ovice_slack_events::{EventHandler, HandleError, SlackEvent, StoredEvent};
use ovice_slack_model::{SlackTeamId, SlackUserId, UnixMillis};
use ovice_slack_runtime::peer_clients::IntegrationConfigPeer;

use crate::{
    domain::{
        Link,
        link_event::{LinkChange, REASON_APP_UNINSTALLED, REASON_TOKENS_REVOKED, on_user_change},
    },
    store::LinkStore,
};

/// Acts on the Connect app's events against the links.
pub struct ConnectEvents {
    store: Arc<dyn LinkStore>,
    workspaces: IntegrationConfigPeer,
}

impl ConnectEvents {
    pub fn new(store: Arc<dyn LinkStore>, workspaces: IntegrationConfigPeer) -> Self {
        Self { store, workspaces }
    }

    /// The bot side of an event: the orgs whose bot token went are marked TOKEN_INVALID.
    async fn report_bots(
        &self,
        team: &SlackTeamId,
        bot_users: &[SlackUserId],
        app_uninstalled: bool,
    ) -> Result<(), HandleError> {
        let marked = self
            .workspaces
            .report_tokens_revoked(team, bot_users, app_uninstalled)
            .await
            .map_err(|e| HandleError(e.to_string()))?;
        if !marked.is_empty() {
            tracing::warn!(%team, orgs = marked.len(), "slack workspaces marked TOKEN_INVALID by an event from slack");
        }
        Ok(())
    }

    async fn apply(&self, link: &Link, change: LinkChange) -> Result<(), HandleError> {
        let (org_id, user_id) = (&link.org_id, &link.user_id);
        let now = UnixMillis::now();
        let changed = match change {
            LinkChange::DropToken { reason } => self.store.drop_token(org_id, user_id, reason, now).await,
            LinkChange::NeedsReconnect { reason } => {
                self.store
                    .mark_needs_reconnect(org_id, user_id, reason, now)
                    .await
            }
            // Slack ended the account's tokens with it; there is nothing left to revoke.
            LinkChange::Remove => self.store.delete_link(org_id, user_id).await,
        }
        .map_err(|e| HandleError(e.to_string()))?;
        if changed {
            tracing::warn!(%org_id, %user_id, slack_user_id = %link.slack_user_id, change = ?change, "slack connection changed by an event from slack");
        }
        Ok(())
    }

    async fn links_of(&self, team: &SlackTeamId, user: &SlackUserId) -> Result<Vec<Link>, HandleError> {
        self.store
            .links_of_slack_user(team, user)
            .await
            .map_err(|e| HandleError(e.to_string()))
    }
}

#[async_trait::async_trait]
impl EventHandler for ConnectEvents {
    async fn handle(&self, stored: &StoredEvent) -> Result<(), HandleError> {
        let team = &stored.team_id;
        match &stored.event {
            SlackEvent::TokensRevoked { people, bot_users } => {
                let drop = LinkChange::DropToken {
                    reason: REASON_TOKENS_REVOKED,
                };
                for person in people {
                    for link in self.links_of(team, person).await? {
                        self.apply(&link, drop.clone()).await?;
                    }
                }
                if !bot_users.is_empty() {
                    self.report_bots(team, bot_users, false).await?;
                }
            }
            SlackEvent::AppUninstalled => {
                self.report_bots(team, &[], true).await?;
                let links = self
                    .store
                    .links_in_team(team)
                    .await
                    .map_err(|e| HandleError(e.to_string()))?;
                for link in links {
                    let drop = LinkChange::DropToken {
                        reason: REASON_APP_UNINSTALLED,
                    };
                    self.apply(&link, drop).await?;
                }
            }
            SlackEvent::UserChange { user, deleted, email } => {
                for link in self.links_of(team, user).await? {
                    if let Some(change) = on_user_change(&link, *deleted, email.as_ref()) {
                        self.apply(&link, change).await?;
                    }
                }
            }
            SlackEvent::Other { kind } => {
                tracing::debug!(%team, kind, "a slack event not acted on");
            }
        }
        Ok(())
    }
}
