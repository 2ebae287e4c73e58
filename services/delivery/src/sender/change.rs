//! Bringing a sent message up to date in Slack: `chat.update` to the newest revision or
//! `chat.delete`, with the token that posted it (Slack lets no one else change a message), paced
//! like the other Tier 3 calls of the workspace. A failed call goes through the same table as a
//! post (`domain::slack_failure`): an expired token is renewed and the change tried once more, a
//! refused one is reported (the workspace TOKEN_INVALID, the sender NEEDS_RECONNECT); only what no
//! retry can make is a refusal.

use std::time::Instant;

use secrecy::{ExposeSecret, SecretString};
use slack_client::{PostedMessage, SlackError, UpdateMessage};
use tokio_util::sync::CancellationToken;

use super::DeliverySender;
use crate::{
    directory::{BotCredentials, Freshness},
    domain::{
        Delivery, DeliveryMode, EXPIRED, FailureAction, SlackChange, SlackMessage, TokenOwner,
        on_slack_failure,
    },
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
    /// Shutting down, or the lease is too short for another call: nothing more was called, and the
    /// row goes back as it was.
    Abandoned,
}

/// The token for one try, or how the change ends without a call.
type TokenFor = Result<SecretString, ChangeOutcome>;

impl DeliverySender {
    /// One try to bring the sent message `d` up to date in Slack (`d.life.pending_change`). No Slack
    /// call starts after `call_deadline` (the lease must outlast it, or another worker could change
    /// the message at the same time, and an older revision land after a newer one).
    ///
    /// With `replacement`, the Slack message is updated to it whatever the change (a digest shown
    /// again without a deleted message); the outcome still names the row's change.
    pub async fn change_in_slack(
        &self,
        d: &Delivery,
        replacement: Option<&SlackMessage>,
        call_deadline: Instant,
        cancel: &CancellationToken,
    ) -> ChangeOutcome {
        let Some(change) = d.life.pending_change else {
            return ChangeOutcome::Refused("nothing to change".into());
        };
        let owner = match d.mode {
            Some(DeliveryMode::BotDm) => TokenOwner::Bot,
            Some(DeliveryMode::AsSender) => TokenOwner::Sender,
            None => return ChangeOutcome::Refused("how the message was sent is not recorded".into()),
        };
        let method = match (change, replacement) {
            (SlackChange::Update, _) | (_, Some(_)) => "chat.update",
            (SlackChange::Delete, None) => "chat.delete",
        };
        let mut expired: Option<SecretString> = None;
        loop {
            let creds = match self.directory.bot_credentials(&d.org_id, Freshness::Fresh).await {
                Ok(Some(c)) if c.active => c,
                Ok(_) => {
                    return ChangeOutcome::Refused(
                        "the organization's Slack settings are gone or its token no longer works".into(),
                    );
                }
                Err(e) => return ChangeOutcome::Again(format!("the settings service did not answer: {e}")),
            };
            let token = match self.change_token(d, owner, &creds).await {
                Ok(token) => token,
                Err(outcome) => return outcome,
            };
            if expired
                .as_ref()
                .is_some_and(|old| old.expose_secret() == token.expose_secret())
            {
                return ChangeOutcome::Again(format!("{EXPIRED}: the Slack token has not been renewed yet"));
            }
            let lane = Lane::Tier3 {
                team_id: creds.team_id.as_str(),
                method,
            };
            match self.pacer.acquire(lane, cancel).await {
                Pace::Go => {}
                Pace::Defer(wait) => return ChangeOutcome::Deferred(wait),
                Pace::Cancelled => return ChangeOutcome::Abandoned,
            }
            if Instant::now() > call_deadline {
                return ChangeOutcome::Abandoned;
            }
            let error = match self.change_call(d, change, &token, replacement).await {
                Ok(()) => return ChangeOutcome::Done(change),
                // Gone already (deleted in Slack, or by an earlier try whose answer was lost).
                Err(SlackError::Api { code, .. })
                    if change == SlackChange::Delete && code == "message_not_found" =>
                {
                    return ChangeOutcome::Done(change);
                }
                Err(e) => e,
            };
            match on_slack_failure(&error, owner) {
                FailureAction::Wait(wait) => {
                    self.pacer.close(lane, wait).await;
                    return ChangeOutcome::Deferred(wait);
                }
                FailureAction::RetryLater => return ChangeOutcome::Again(error.to_string()),
                FailureAction::RenewWorkspaceToken | FailureAction::RenewSenderToken => {
                    // Renewed a moment ago and refused as expired again: Slack and we disagree; later.
                    if expired.is_some() {
                        return ChangeOutcome::Again(error.to_string());
                    }
                    if let Err(report) = self.renew(d, owner, &creds).await {
                        return ChangeOutcome::Again(format!(
                            "the expired Slack token could not be renewed yet: {report}"
                        ));
                    }
                    // Read afresh at the top: a renewed token, or (renewal refused) none.
                    expired = Some(token);
                }
                FailureAction::InvalidateWorkspace { reason } => {
                    tracing::warn!(delivery_id = %d.delivery_id, org_id = %d.org_id, %reason, "Slack refused the workspace's bot token while changing a message");
                    if let Err(report) = self
                        .directory
                        .report_workspace_token_invalid(&d.org_id, &creds.team_id, &reason)
                        .await
                    {
                        tracing::warn!(error = %report, "could not report the refused bot token");
                    }
                    return ChangeOutcome::Refused(format!(
                        "Slack refused the workspace's bot token: {reason}"
                    ));
                }
                FailureAction::ReconnectSenderThenBot { reason } => {
                    tracing::warn!(delivery_id = %d.delivery_id, org_id = %d.org_id, user_id = %d.sender_user_id, %reason, "Slack refused the sender's token while changing their message");
                    if let Err(report) = self
                        .directory
                        .report_user_token_invalid(&d.org_id, &d.sender_user_id, &reason)
                        .await
                    {
                        tracing::warn!(error = %report, "could not report the sender's refused token");
                    }
                    return ChangeOutcome::Refused(format!(
                        "Slack refused the sender's token ({reason}), and only the token that posted a message may change it"
                    ));
                }
                // edit_window_closed, cant_update_message, message_not_found, a setting…: the same
                // request can never work.
                FailureAction::FallBackToBot
                | FailureAction::FailForOwner { .. }
                | FailureAction::Fail { .. } => return ChangeOutcome::Refused(error.to_string()),
            }
        }
    }

    async fn change_call(
        &self,
        d: &Delivery,
        change: SlackChange,
        token: &SecretString,
        replacement: Option<&SlackMessage>,
    ) -> Result<(), SlackError> {
        let at = PostedMessage {
            channel: d.slack_channel_id.clone(),
            ts: d.slack_ts.clone(),
        };
        if let Some(message) = replacement {
            let update = UpdateMessage {
                channel: at.channel,
                ts: at.ts,
                text: message.text.clone(),
                blocks: message.blocks.clone(),
            };
            return self.slack.chat_update(token, &update).await.map(|_| ());
        }
        match change {
            SlackChange::Update => {
                // In the language it was posted in: an edit changes the words, not the frame.
                let message = super::slack_message(d, d.life.slack_language.unwrap_or_default());
                let update = UpdateMessage {
                    channel: at.channel,
                    ts: at.ts,
                    text: message.text,
                    blocks: message.blocks,
                };
                self.slack.chat_update(token, &update).await.map(|_| ())
            }
            SlackChange::Delete => self.slack.chat_delete(token, &at).await,
        }
    }

    /// The token that posted `d`: the bot's, or the sender's while they are still connected.
    async fn change_token(&self, d: &Delivery, owner: TokenOwner, creds: &BotCredentials) -> TokenFor {
        if owner == TokenOwner::Bot {
            return Ok(creds.bot_token.clone());
        }
        let ids = [d.sender_user_id.clone()];
        let users = self
            .directory
            .resolve_users(&d.org_id, &creds.team_id, &ids, Freshness::Fresh)
            .await
            .map_err(|e| ChangeOutcome::Again(format!("the link service did not answer: {e}")))?;
        users
            .first()
            .filter(|u| u.connected_in(&creds.team_id))
            .and_then(|u| u.user_token.clone())
            .ok_or_else(|| {
                ChangeOutcome::Refused(
                    "the sender is no longer connected to Slack, and only the token that posted a message may change it"
                        .into(),
                )
            })
    }

    /// An expired token: its owner service renews it (one replica does; the others find it done),
    /// or gives it up and marks it (then the next read finds no working token).
    async fn renew(&self, d: &Delivery, owner: TokenOwner, creds: &BotCredentials) -> Result<(), String> {
        let reported = match owner {
            TokenOwner::Bot => self
                .directory
                .report_workspace_token_invalid(&d.org_id, &creds.team_id, EXPIRED)
                .await
                .map(|_| ()),
            TokenOwner::Sender => self
                .directory
                .report_user_token_invalid(&d.org_id, &d.sender_user_id, EXPIRED)
                .await
                .map(|_| ()),
        };
        reported.map_err(|e| e.to_string())
    }
}
