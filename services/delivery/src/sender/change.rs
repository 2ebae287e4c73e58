//! Bringing a sent message up to date in Slack: `chat.update` to the newest revision or
//! `chat.delete`, with the token that posted it (Slack lets no one else change a message), paced
//! like the other Tier 3 calls of the workspace.

use secrecy::SecretString;
use slack_client::{PostedMessage, SlackError, UpdateMessage};
use tokio_util::sync::CancellationToken;

use super::DeliverySender;
use crate::{
    directory::Freshness,
    domain::{Delivery, DeliveryMode, SlackChange},
    pacer::{Lane, Pace},
};

/// What became of one try to change a sent message in Slack.
#[derive(Debug, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Slack made it (a message already gone counts as deleted).
    Done(SlackChange),
    /// Slack refused it for good, or nothing can make it (the token that posted it is gone).
    Refused(String),
    /// A transient failure: tried again later.
    Again(String),
    /// The pacing lane (or Slack's `Retry-After`) says wait this long; no attempt counted.
    Deferred(std::time::Duration),
    /// Shutting down: nothing was called.
    Abandoned,
}

impl DeliverySender {
    /// One try to bring the sent message `d` up to date in Slack (`d.life.pending_change`).
    pub async fn change_in_slack(&self, d: &Delivery, cancel: &CancellationToken) -> ChangeOutcome {
        let Some(change) = d.life.pending_change else {
            return ChangeOutcome::Refused("nothing to change".into());
        };
        let creds = match self.directory.bot_credentials(&d.org_id, Freshness::Fresh).await {
            Ok(Some(c)) if c.active => c,
            Ok(_) => {
                return ChangeOutcome::Refused(
                    "the organization's Slack settings are gone or its token no longer works".into(),
                );
            }
            Err(e) => return ChangeOutcome::Again(format!("the settings service did not answer: {e}")),
        };
        let token = match d.mode {
            Some(DeliveryMode::BotDm) => creds.bot_token.clone(),
            Some(DeliveryMode::AsSender) => match self.sender_token(d, &creds.team_id).await {
                Ok(Some(token)) => token,
                Ok(None) => {
                    return ChangeOutcome::Refused(
                        "the sender is no longer connected to Slack, and only the token that posted a message may change it"
                            .into(),
                    );
                }
                Err(e) => return ChangeOutcome::Again(e),
            },
            None => return ChangeOutcome::Refused("how the message was sent is not recorded".into()),
        };
        let method = match change {
            SlackChange::Update => "chat.update",
            SlackChange::Delete => "chat.delete",
        };
        let lane = Lane::Tier3 {
            team_id: creds.team_id.as_str(),
            method,
        };
        match self.pacer.acquire(lane, cancel).await {
            Pace::Go => {}
            Pace::Defer(wait) => return ChangeOutcome::Deferred(wait),
            Pace::Cancelled => return ChangeOutcome::Abandoned,
        }
        let at = PostedMessage {
            channel: d.slack_channel_id.clone(),
            ts: d.slack_ts.clone(),
        };
        let result = match change {
            SlackChange::Update => {
                let update = UpdateMessage {
                    channel: at.channel,
                    ts: at.ts,
                    text: super::slack_text(d),
                };
                self.slack.chat_update(&token, &update).await.map(|_| ())
            }
            SlackChange::Delete => self.slack.chat_delete(&token, &at).await,
        };
        match result {
            Ok(()) => ChangeOutcome::Done(change),
            // Gone already (deleted in Slack, or by an earlier try whose answer was lost).
            Err(SlackError::Api { code, .. })
                if change == SlackChange::Delete && code == "message_not_found" =>
            {
                ChangeOutcome::Done(change)
            }
            Err(SlackError::RateLimited { retry_after, .. }) => {
                self.pacer.close(lane, retry_after).await;
                ChangeOutcome::Deferred(retry_after)
            }
            Err(e @ (SlackError::Unavailable { .. } | SlackError::Protocol { .. })) => {
                ChangeOutcome::Again(e.to_string())
            }
            // edit_window_closed, cant_update_message, message_not_found, a dead token…
            Err(e @ (SlackError::Api { .. } | SlackError::Config(_))) => {
                ChangeOutcome::Refused(e.to_string())
            }
        }
    }

    /// The sender's user token in `team`, when they are still connected there.
    async fn sender_token(
        &self,
        d: &Delivery,
        team: &ovice_slack_model::SlackTeamId,
    ) -> Result<Option<SecretString>, String> {
        let ids = [d.sender_user_id.clone()];
        let users = self
            .directory
            .resolve_users(&d.org_id, team, &ids, Freshness::Fresh)
            .await
            .map_err(|e| format!("the link service did not answer: {e}"))?;
        Ok(users
            .first()
            .filter(|u| u.connected_in(team))
            .and_then(|u| u.user_token.clone()))
    }
}
