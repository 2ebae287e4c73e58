//! The events of an org's own Slack app (`POST /slack/events/orgs/<org id>`), for owners who set its
//! Request URL there and gave its signing secret: an uninstall, or the revocation of its bot user's
//! tokens, makes the org TOKEN_INVALID at once, before any message needs the token.

use ovice_slack_events::{EventHandler, HandleError, OrgSecrets, SigningSecret, SlackEvent, StoredEvent};
use ovice_slack_model::OrgId;

use crate::app::IntegrationConfig;

/// The receiver name of orgs' own apps' events in the inbox.
pub(crate) const OWN_APP_EVENTS: &str = "org";

/// Each org's signing secret, as the endpoint asks for it.
pub(crate) struct OwnAppSecrets(pub IntegrationConfig);

#[async_trait::async_trait]
impl OrgSecrets for OwnAppSecrets {
    async fn signing_secret(&self, org_id: &OrgId) -> Result<Option<SigningSecret>, String> {
        self.0
            .signing_secret(org_id)
            .await
            .map(|s| s.map(SigningSecret::new))
            .map_err(|e| e.to_string())
    }
}

/// Acts on an org's own app's events.
pub(crate) struct OwnAppEvents(pub IntegrationConfig);

#[async_trait::async_trait]
impl EventHandler for OwnAppEvents {
    async fn handle(&self, stored: &StoredEvent) -> Result<(), HandleError> {
        let Some(org_id) = &stored.org_id else {
            return Ok(());
        };
        let team = &stored.team_id;
        let changed = match &stored.event {
            SlackEvent::AppUninstalled => {
                self.0
                    .own_app_token_gone(org_id, team, None, "app_uninstalled", stored.received_at)
                    .await
            }
            SlackEvent::TokensRevoked { bot_users, .. } if !bot_users.is_empty() => {
                self.0
                    .own_app_token_gone(
                        org_id,
                        team,
                        Some(bot_users),
                        "tokens_revoked",
                        stored.received_at,
                    )
                    .await
            }
            // People's tokens of the org's app are not ovice-slack's; profiles are the Connect app's.
            SlackEvent::TokensRevoked { .. } | SlackEvent::UserChange { .. } | SlackEvent::Other { .. } => {
                Ok(false)
            }
        }
        .map_err(|e| HandleError(e.to_string()))?;
        if changed {
            tracing::warn!(%org_id, %team, kind = stored.event.kind(), "slack workspace marked TOKEN_INVALID by its own app's event");
        }
        Ok(())
    }
}
