//! Sends one delivery as docs/product.md §2.3 describes, deciding at send time (the accept-time checks may be
//! stale): the org's workspace must be configured and ACTIVE and the recipient connected to it,
//! else the delivery is SKIPPED. A connected sender posts as themself into the sender↔recipient DM
//! (`conversations.open` + `chat.postMessage` with their user token); if that token no longer works
//! the person is flagged NEEDS_RECONNECT and the same attempt falls back to the bot DM
//! (`chat.postMessage` with the bot token to the recipient's user id).

mod change;
pub use change::ChangeOutcome;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use moka::future::Cache;
use ovice_slack_model::{SlackTeamId, UnixMillis};
use secrecy::{ExposeSecret, SecretString};
use slack_client::{PostMessage, SlackClient, SlackError};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    directory::{BotCredentials, CachedDirectory, Freshness, ResolvedUser},
    domain::{
        Delivery, DeliveryMode, EXPIRED, FailureAction, Health, HoldReason, Language, LinkUrl, SkipReason,
        SlackMessage, SlackText, SpaceRole, TokenOwner, Verdict, on_slack_failure, render_digest,
        skip_before_send,
    },
    pacer::{Lane, Pace, Pacer},
};

/// What became of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Sent {
        mode: DeliveryMode,
        channel: String,
        ts: String,
        /// The frame's language.
        language: Language,
    },
    Skipped(SkipReason),
    /// Slack refused it for good (this recipient, this request).
    Failed {
        mode: Option<DeliveryMode>,
        error: String,
    },
    /// A transient failure: retried with backoff, the attempt counts. `ambiguous`: the post
    /// reached Slack and Slack may have carried it out (a 5xx, reset or timeout after sending).
    Retry {
        mode: Option<DeliveryMode>,
        error: String,
        ambiguous: bool,
    },
    /// Slack rejected the org's bot token; it has been reported. The org's other pending deliveries
    /// cannot succeed either.
    WorkspaceTokenRejected {
        error: String,
    },
    /// A rate-limit lane is busy this long: try again later, no attempt counted.
    Deferred(Duration),
    /// Slack answered 429: wait this long, no attempt counted.
    RateLimited(Duration),
    /// Nothing was posted (shutdown, or too little lease left to call Slack safely).
    Abandoned,
    /// A preference of the recipient (read it in ovice first, quiet hours): not before `until` (no
    /// attempt counted).
    Held {
        until: UnixMillis,
        reason: HoldReason,
    },
}

impl SendOutcome {
    /// What the attempt told about Slack (for the org's circuit).
    pub fn health(&self) -> Health {
        match self {
            SendOutcome::Sent { .. }
            | SendOutcome::Failed { .. }
            | SendOutcome::WorkspaceTokenRejected { .. }
            | SendOutcome::RateLimited(_) => Health::Answered,
            SendOutcome::Retry { .. } => Health::Failed,
            // A skip is decided from our own services; a deferral waited for pacing or a peer.
            SendOutcome::Skipped(_)
            | SendOutcome::Deferred(_)
            | SendOutcome::Abandoned
            | SendOutcome::Held { .. } => Health::Untested,
        }
    }
}

/// The (team, sender, recipient) Slack ids of a DM whose conversation id is known.
type DmKey = (String, String, String);

pub struct DeliverySender {
    slack: SlackClient,
    directory: CachedDirectory,
    pacer: Arc<Pacer>,
    dms: Cache<DmKey, String>,
}

/// The result of the as-sender path.
enum AsSender {
    Done(SendOutcome),
    FallBack,
    /// The sender's token expired and was renewed: post again with this one.
    Renewed(SecretString),
}

/// One bot post.
enum BotPost {
    Done(SendOutcome),
    /// The token was renewed: post again with these.
    Renewed(BotCredentials),
}

const OPEN: &str = "conversations.open";
const POST: &str = "chat.postMessage";

impl DeliverySender {
    pub fn new(slack: SlackClient, directory: CachedDirectory, pacer: Arc<Pacer>) -> Self {
        Self {
            slack,
            directory,
            pacer,
            // DM ids never change; the cache only spares Slack's Tier 3 conversations.open.
            dms: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(24 * 3600))
                .build(),
        }
    }

    /// One attempt. No Slack call starts after `call_deadline` (the lease must outlast the call,
    /// or another worker could send the message a second time). With `digest` (queued rows behind
    /// `d` that waited with it), one bot DM names them all.
    pub async fn send(
        &self,
        d: &Delivery,
        digest: &[Delivery],
        now: UnixMillis,
        call_deadline: Instant,
        cancel: &CancellationToken,
    ) -> SendOutcome {
        // Deleted or read in ovice while another attempt held it: nothing goes to Slack.
        if let Some(reason) = skip_before_send(d) {
            return SendOutcome::Skipped(reason);
        }
        let creds = match self.directory.bot_credentials(&d.org_id, Freshness::Fresh).await {
            Ok(Some(c)) if c.active => c,
            Ok(Some(_)) => return SendOutcome::Skipped(SkipReason::WorkspaceTokenInvalid),
            Ok(None) => return SendOutcome::Skipped(SkipReason::WorkspaceNotConfigured),
            Err(e) => return peer_outage(d, &e.to_string()),
        };
        let ids = [d.recipient_user_id.clone(), d.sender_user_id.clone()];
        let users = match self
            .directory
            .resolve_users(&d.org_id, &creds.team_id, &ids, Freshness::Fresh)
            .await
        {
            Ok(users) => users,
            Err(e) => return peer_outage(d, &e.to_string()),
        };
        let (Some(recipient), Some(sender)) = (users.first(), users.get(1)) else {
            return peer_outage(d, "AccountLinkService answered too few users");
        };
        if !recipient.connected_in(&creds.team_id) {
            return SendOutcome::Skipped(SkipReason::RecipientNotConnected);
        }
        let preferences = &recipient.preferences;
        match preferences.verdict(now) {
            Verdict::Forward => {}
            Verdict::Paused => return SendOutcome::Skipped(SkipReason::Paused),
            Verdict::QuietUntil(until) => {
                return SendOutcome::Held {
                    until,
                    reason: HoldReason::QuietHours,
                };
            }
        }
        // The recipient's "only if unread after N seconds": a read meanwhile ends it SKIPPED.
        if let Some(hold) = preferences.hold_unread {
            let until = d.created_at.plus(hold);
            if until > now {
                return SendOutcome::Held {
                    until,
                    reason: HoldReason::Unread,
                };
            }
        }
        let language = preferences.effective_language();
        let message = if digest.is_empty() {
            slack_message(d, language)
        } else {
            let mut rows = vec![d];
            rows.extend(digest);
            digest_message(&rows, language)
        };
        let route = Route {
            d,
            team_id: creds.team_id.as_str(),
            message: &message,
            language,
            call_deadline,
            cancel,
        };
        // A digest is the app's own message; visitors are never posted as, even should they hold a link.
        if digest.is_empty()
            && d.sender_role != SpaceRole::Visitor
            && sender.connected_in(&creds.team_id)
            && sender.slack_user_id != recipient.slack_user_id
            && let Some(token) = &sender.user_token
            && let AsSender::Done(outcome) = self.as_sender(&route, sender, recipient, token).await
        {
            return outcome;
        }
        self.bot_dm(&route, &creds, recipient).await
    }

    /// Posting as the sender; a token that expired is renewed once and the post tried again.
    async fn as_sender(
        &self,
        route: &Route<'_>,
        sender: &ResolvedUser,
        recipient: &ResolvedUser,
        token: &SecretString,
    ) -> AsSender {
        let mut token = token.clone();
        let mut renewed = false;
        loop {
            match self
                .as_sender_once(route, sender, recipient, &token, renewed)
                .await
            {
                AsSender::Renewed(fresh) => {
                    // Nothing was posted with the expired token.
                    token = fresh;
                    renewed = true;
                }
                other => return other,
            }
        }
    }

    /// The sender's token expired: account-links renews it (one replica does; the others find it
    /// done) and the person is read afresh. Anything else sends the bot DM now.
    async fn renew_sender_token(&self, route: &Route<'_>, expired: &SecretString) -> AsSender {
        let d = route.d;
        if let Err(report) = self
            .directory
            .report_user_token_invalid(&d.org_id, &d.sender_user_id, EXPIRED)
            .await
        {
            // Renewing is out of reach for now (account-links or Slack not answering): the message is
            // tried again later, still as its sender, rather than posted by the bot.
            tracing::warn!(delivery_id = %d.delivery_id, error = %report, "could not have the sender's expired token renewed; tried again later");
            return AsSender::Done(SendOutcome::Retry {
                mode: Some(DeliveryMode::AsSender),
                error: format!("the sender's expired Slack token could not be renewed yet: {report}"),
                ambiguous: false,
            });
        }
        let team = SlackTeamId::from(route.team_id.to_owned());
        let ids = [d.sender_user_id.clone()];
        match self
            .directory
            .resolve_users(&d.org_id, &team, &ids, Freshness::Fresh)
            .await
        {
            Ok(users) => match users.first() {
                Some(sender) if sender.connected_in(&team) => match &sender.user_token {
                    Some(fresh) if fresh.expose_secret() != expired.expose_secret() => {
                        tracing::info!(delivery_id = %d.delivery_id, org_id = %d.org_id, "the sender's expired token was renewed; posting once more");
                        AsSender::Renewed(fresh.clone())
                    }
                    _ => AsSender::FallBack,
                },
                _ => AsSender::FallBack,
            },
            Err(e) => {
                tracing::warn!(delivery_id = %d.delivery_id, error = %e, "could not read the sender again; tried again later");
                AsSender::Done(SendOutcome::Retry {
                    mode: Some(DeliveryMode::AsSender),
                    error: format!("the sender's renewed Slack token could not be read yet: {e}"),
                    ambiguous: false,
                })
            }
        }
    }

    async fn as_sender_once(
        &self,
        route: &Route<'_>,
        sender: &ResolvedUser,
        recipient: &ResolvedUser,
        token: &SecretString,
        renewed: bool,
    ) -> AsSender {
        let key: DmKey = (
            route.team_id.to_owned(),
            sender.slack_user_id.to_string(),
            recipient.slack_user_id.to_string(),
        );
        let mut cached = self.dms.get(&key).await;
        loop {
            let from_cache = cached.is_some();
            let channel = match cached.take() {
                Some(channel) => channel,
                None => {
                    let lane = Lane::Tier3 {
                        team_id: route.team_id,
                        method: OPEN,
                    };
                    if let Some(outcome) = self.pace(lane, route.cancel).await {
                        return AsSender::Done(outcome);
                    }
                    if Instant::now() > route.call_deadline {
                        return AsSender::Done(SendOutcome::Abandoned);
                    }
                    let users = [recipient.slack_user_id.as_str()];
                    let call = self
                        .slack
                        .conversations_open(token, &users)
                        .instrument(slack_span(OPEN));
                    match call.await {
                        Ok(channel) => {
                            self.dms.insert(key.clone(), channel.clone()).await;
                            channel
                        }
                        Err(e) => return self.user_token_failure(route, lane, e, token, renewed).await,
                    }
                }
            };
            let lane = Lane::Post {
                team_id: route.team_id,
                channel: &channel,
            };
            if let Some(outcome) = self.pace(lane, route.cancel).await {
                return AsSender::Done(outcome);
            }
            if Instant::now() > route.call_deadline {
                return AsSender::Done(SendOutcome::Abandoned);
            }
            match self.post(token, &channel, route.message).await {
                Ok(posted) => {
                    return AsSender::Done(SendOutcome::Sent {
                        mode: DeliveryMode::AsSender,
                        channel: posted.channel,
                        ts: posted.ts,
                        language: route.language,
                    });
                }
                Err(e) if e.code() == Some("channel_not_found") => {
                    self.dms.invalidate(&key).await;
                    if from_cache {
                        // The DM id remembered from an earlier message is no longer valid at Slack
                        // (a stale or archived conversation): nothing was posted, so the conversation
                        // is opened afresh and the post tried once more, in this attempt.
                        tracing::info!(delivery_id = %route.d.delivery_id, "a cached slack DM was not found; opening it again");
                        continue;
                    }
                    return self.user_token_failure(route, lane, e, token, renewed).await;
                }
                Err(e) => return self.user_token_failure(route, lane, e, token, renewed).await,
            }
        }
    }

    /// The sender's token failed: the failure table (`domain::slack_failure`) decides.
    async fn user_token_failure(
        &self,
        route: &Route<'_>,
        lane: Lane<'_>,
        e: SlackError,
        token: &SecretString,
        renewed: bool,
    ) -> AsSender {
        let d = route.d;
        match on_slack_failure(&e, TokenOwner::Sender) {
            FailureAction::RenewSenderToken if !renewed => self.renew_sender_token(route, token).await,
            // Renewed a moment ago and expired again: not worth another round; the bot DM goes.
            FailureAction::RenewSenderToken => AsSender::FallBack,
            FailureAction::Wait(wait) => {
                self.pacer.close(lane, wait).await;
                AsSender::Done(SendOutcome::RateLimited(wait))
            }
            FailureAction::RetryLater => AsSender::Done(retry_later(Some(DeliveryMode::AsSender), &e)),
            FailureAction::ReconnectSenderThenBot { reason } => {
                tracing::warn!(
                    delivery_id = %d.delivery_id, org_id = %d.org_id, user_id = %d.sender_user_id, %reason,
                    "Slack refused the sender's token; falling back to the bot DM"
                );
                if let Err(report) = self
                    .directory
                    .report_user_token_invalid(&d.org_id, &d.sender_user_id, &reason)
                    .await
                {
                    tracing::warn!(error = %report, "could not report the sender's refused token");
                }
                AsSender::FallBack
            }
            FailureAction::FallBackToBot
            // Not produced for the sender's token; falling back is the safe reading.
            | FailureAction::InvalidateWorkspace { .. }
            | FailureAction::RenewWorkspaceToken
            | FailureAction::FailForOwner { .. }
            | FailureAction::Fail { .. } => {
                tracing::info!(
                    delivery_id = %d.delivery_id, org_id = %d.org_id, error = %e,
                    "posting as the sender failed; falling back to the bot DM"
                );
                AsSender::FallBack
            }
        }
    }

    async fn bot_dm(
        &self,
        route: &Route<'_>,
        creds: &BotCredentials,
        recipient: &ResolvedUser,
    ) -> SendOutcome {
        let mut creds = creds.clone();
        let mut renewed = false;
        loop {
            match self.bot_post(route, &creds, recipient, renewed).await {
                BotPost::Done(outcome) => return outcome,
                BotPost::Renewed(fresh) => {
                    // Nothing was posted with the expired token: once more with the new one.
                    renewed = true;
                    creds = fresh;
                }
            }
        }
    }

    /// The bot's token expired: its owner service renews it (one replica does; the others find it
    /// done) or gives it up; the credentials are then read afresh.
    async fn renew_bot_token(&self, d: &Delivery, creds: &BotCredentials, e: &SlackError) -> BotPost {
        if let Err(report) = self
            .directory
            .report_workspace_token_invalid(&d.org_id, &creds.team_id, EXPIRED)
            .await
        {
            tracing::warn!(delivery_id = %d.delivery_id, error = %report, "could not have the expired bot token renewed; retried later");
            return BotPost::Done(retry_later(Some(DeliveryMode::BotDm), e));
        }
        match self.directory.bot_credentials(&d.org_id, Freshness::Fresh).await {
            Ok(Some(fresh))
                if fresh.active && fresh.bot_token.expose_secret() != creds.bot_token.expose_secret() =>
            {
                tracing::info!(delivery_id = %d.delivery_id, org_id = %d.org_id, "the expired bot token was renewed; posting once more");
                BotPost::Renewed(fresh)
            }
            Ok(Some(fresh)) if !fresh.active => BotPost::Done(SendOutcome::WorkspaceTokenRejected {
                error: format!(
                    "Slack refused the workspace's bot token: {EXPIRED}, and it could not be renewed"
                ),
            }),
            Ok(Some(_)) => BotPost::Done(retry_later(Some(DeliveryMode::BotDm), e)),
            Ok(None) => BotPost::Done(SendOutcome::Skipped(SkipReason::WorkspaceNotConfigured)),
            Err(outage) => BotPost::Done(peer_outage(d, &outage.to_string())),
        }
    }

    async fn bot_post(
        &self,
        route: &Route<'_>,
        creds: &BotCredentials,
        recipient: &ResolvedUser,
        renewed: bool,
    ) -> BotPost {
        let d = route.d;
        // A bot DM is addressed by the recipient's user id; Slack resolves it to the bot's DM.
        let channel = recipient.slack_user_id.as_str();
        let lane_key = format!("bot:{channel}");
        let lane = Lane::Post {
            team_id: route.team_id,
            channel: &lane_key,
        };
        if let Some(outcome) = self.pace(lane, route.cancel).await {
            return BotPost::Done(outcome);
        }
        if Instant::now() > route.call_deadline {
            return BotPost::Done(SendOutcome::Abandoned);
        }
        BotPost::Done(match self.post(&creds.bot_token, channel, route.message).await {
            Ok(posted) => SendOutcome::Sent {
                mode: DeliveryMode::BotDm,
                channel: posted.channel,
                ts: posted.ts,
                language: route.language,
            },
            Err(e) => match on_slack_failure(&e, TokenOwner::Bot) {
                FailureAction::Wait(wait) => {
                    self.pacer.close(lane, wait).await;
                    SendOutcome::RateLimited(wait)
                }
                FailureAction::RetryLater => retry_later(Some(DeliveryMode::BotDm), &e),
                FailureAction::RenewWorkspaceToken if !renewed => {
                    return self.renew_bot_token(d, creds, &e).await;
                }
                // Renewed a moment ago and already expired again: Slack and we disagree; later.
                FailureAction::RenewWorkspaceToken => retry_later(Some(DeliveryMode::BotDm), &e),
                // Not produced for the bot's token.
                FailureAction::RenewSenderToken => retry_later(Some(DeliveryMode::BotDm), &e),
                FailureAction::InvalidateWorkspace { reason } => {
                    tracing::warn!(
                        delivery_id = %d.delivery_id, org_id = %d.org_id, team_id = %creds.team_id, %reason,
                        "Slack refused the workspace's bot token; delivery for the organization stops"
                    );
                    if let Err(report) = self
                        .directory
                        .report_workspace_token_invalid(&d.org_id, &creds.team_id, &reason)
                        .await
                    {
                        tracing::warn!(error = %report, "could not report the refused bot token");
                    }
                    SendOutcome::WorkspaceTokenRejected {
                        error: format!("Slack refused the workspace's bot token: {reason}"),
                    }
                }
                FailureAction::FailForOwner { reason } => {
                    tracing::warn!(
                        delivery_id = %d.delivery_id, org_id = %d.org_id, team_id = %creds.team_id, %reason,
                        "the Slack app cannot send DMs until an owner acts"
                    );
                    SendOutcome::Failed {
                        mode: Some(DeliveryMode::BotDm),
                        error: reason,
                    }
                }
                FailureAction::Fail { reason } => SendOutcome::Failed {
                    mode: Some(DeliveryMode::BotDm),
                    error: reason,
                },
                // Not produced for the bot's token: there is nothing to fall back to.
                FailureAction::ReconnectSenderThenBot { .. } | FailureAction::FallBackToBot => {
                    SendOutcome::Failed {
                        mode: Some(DeliveryMode::BotDm),
                        error: e.to_string(),
                    }
                }
            },
        })
    }

    async fn post(
        &self,
        token: &SecretString,
        channel: &str,
        message: &SlackMessage,
    ) -> Result<slack_client::PostedMessage, SlackError> {
        let message = PostMessage {
            channel: channel.to_owned(),
            text: message.text.clone(),
            blocks: message.blocks.clone(),
            // A link preview of ovice would only repeat the link.
            unfurl_links: false,
            unfurl_media: false,
        };
        self.slack
            .chat_post_message(token, &message)
            .instrument(slack_span(POST))
            .await
    }

    /// `None` to go ahead; otherwise what to answer.
    async fn pace(&self, lane: Lane<'_>, cancel: &CancellationToken) -> Option<SendOutcome> {
        match self.pacer.acquire(lane, cancel).await {
            Pace::Go => None,
            Pace::Defer(wait) => Some(SendOutcome::Deferred(wait)),
            Pace::Cancelled => Some(SendOutcome::Abandoned),
        }
    }
}

/// How the delivery reads in Slack, in `language` (a post and every later update render the same way).
fn slack_message(d: &Delivery, language: Language) -> SlackMessage {
    let link = LinkUrl::parse(&d.link_url).ok();
    SlackText {
        sender_name: &d.sender_name,
        sender_is_visitor: d.sender_role == SpaceRole::Visitor,
        space_name: &d.space_name,
        text: &d.text,
        link: link.as_ref(),
        language,
    }
    .render()
}

/// One digest for `rows` (in order), in `language`: who and where of each, no text.
pub(crate) fn digest_message(rows: &[&Delivery], language: Language) -> SlackMessage {
    let links: Vec<Option<LinkUrl>> = rows.iter().map(|d| LinkUrl::parse(&d.link_url).ok()).collect();
    let entries: Vec<SlackText<'_>> = rows
        .iter()
        .zip(&links)
        .map(|(d, link)| SlackText {
            sender_name: &d.sender_name,
            sender_is_visitor: d.sender_role == SpaceRole::Visitor,
            space_name: &d.space_name,
            text: "",
            link: link.as_ref(),
            language,
        })
        .collect();
    render_digest(&entries, language)
}

/// What both paths of one attempt share.
struct Route<'a> {
    d: &'a Delivery,
    team_id: &'a str,
    message: &'a SlackMessage,
    language: Language,
    /// No Slack call starts after it.
    call_deadline: Instant,
    cancel: &'a CancellationToken,
}

/// How long a delivery waits when one of our own services cannot be asked who is connected.
const PEER_OUTAGE_WAIT: Duration = Duration::from_secs(2);

/// Our own services (integration-config, account-links) could not answer: nothing was tried with
/// Slack, so no attempt is counted — a restart of a peer must not use up a delivery's retries.
fn peer_outage(d: &Delivery, error: &str) -> SendOutcome {
    tracing::warn!(delivery_id = %d.delivery_id, org_id = %d.org_id, error, "peer unavailable; delivery waits");
    SendOutcome::Deferred(PEER_OUTAGE_WAIT)
}

/// A transient Slack failure: retried with backoff, the attempt counts. (A 429 is Slack asking to
/// wait, not a failed attempt: `FailureAction::Wait` defers without counting one, so a long
/// rate-limit spell never makes a delivery DEAD.) Only a post can leave a copy behind: opening a
/// DM twice opens the same DM.
fn retry_later(mode: Option<DeliveryMode>, e: &SlackError) -> SendOutcome {
    SendOutcome::Retry {
        mode,
        error: e.to_string(),
        ambiguous: e.maybe_applied() && e.method() == Some(POST),
    }
}

fn slack_span(method: &'static str) -> tracing::Span {
    tracing::info_span!(
        "slack.call",
        otel.name = method,
        otel.kind = "client",
        slack.method = method
    )
}
