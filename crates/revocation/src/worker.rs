//! The loop that asks Slack to revoke queued tokens, one at a time (auth.revoke is Tier 3: a
//! handful per minute is all this ever needs), with the outcome rules of [`crate::domain`].

use std::time::Duration;

use ovice_slack_model::UnixMillis;
use slack_client::SlackClient;
use tokio_util::sync::CancellationToken;

use crate::{
    Revocations, WorkerConfig,
    domain::{Attempt, LEASE},
    metrics::{self, Outcome},
    sealing_context,
    store::QueuedRevocation,
};

/// Rows are claimed one at a time: a rate limit then strands no other claimed row behind its lease.
const BATCH: i64 = 1;

pub(crate) async fn run(
    queue: Revocations,
    slack: SlackClient,
    config: WorkerConfig,
    stop: CancellationToken,
) {
    loop {
        if let Some(wait) = drain(&queue, &slack, &config, &stop).await {
            // Slack asked us to wait: nothing more is claimed until then, even when woken.
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => continue,
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = queue.wake.notified() => {}
            () = tokio::time::sleep(config.poll) => {}
        }
    }
}

/// Works through what is due; returns how long Slack asked us to wait, if it did.
async fn drain(
    queue: &Revocations,
    slack: &SlackClient,
    config: &WorkerConfig,
    stop: &CancellationToken,
) -> Option<Duration> {
    while !stop.is_cancelled() {
        let now = UnixMillis::now();
        let claimed = match queue
            .store
            .claim_due(queue.kind, now, now.plus(LEASE), BATCH)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(kind = queue.kind.as_str(), error = %e, "could not read the slack token revocation queue");
                return None;
            }
        };
        if claimed.is_empty() {
            return None;
        }
        for row in claimed {
            if let Some(wait) = attempt(queue, slack, config, row).await {
                return Some(wait);
            }
        }
    }
    None
}

/// One `auth.revoke`; returns Slack's wait when it rate-limited us.
async fn attempt(
    queue: &Revocations,
    slack: &SlackClient,
    config: &WorkerConfig,
    row: QueuedRevocation,
) -> Option<Duration> {
    let kind = queue.kind.as_str();
    let (org_id, id, reason) = (&row.org_id, &row.id, &row.reason);
    let token = match queue.cipher.open(&row.token, &sealing_context(id)) {
        Ok(token) => token,
        Err(e) => {
            // The key it was sealed with is gone (retired too early) or the row was tampered with.
            tracing::error!(%org_id, kind, reason, revocation = %id, error = %e, "a queued slack token cannot be opened; dropped without revoking it");
            metrics::record(queue.kind, Outcome::Unopenable);
            remove(queue, id).await;
            return None;
        }
    };
    let answer = slack.auth_revoke(&token).await;
    let rate_limited = answer.as_ref().err().and_then(|e| e.retry_after());
    match config.retry.classify(answer, row.attempts) {
        Attempt::Revoked => {
            tracing::info!(%org_id, kind, reason, revocation = %id, "slack token revoked");
            metrics::record(queue.kind, Outcome::Revoked);
            remove(queue, id).await;
        }
        Attempt::AlreadyDead(code) => {
            tracing::info!(%org_id, kind, reason, revocation = %id, code, "slack token already unusable; nothing to revoke");
            metrics::record(queue.kind, Outcome::AlreadyDead);
            remove(queue, id).await;
        }
        Attempt::Retry { after, error } => {
            tracing::warn!(%org_id, kind, reason, revocation = %id, attempts = row.attempts, retry_in_s = after.as_secs(), error, "slack token revocation failed; will retry");
            metrics::record(queue.kind, Outcome::Retried);
            if let Err(e) = queue
                .store
                .reschedule(id, UnixMillis::now().plus(after), &error)
                .await
            {
                // The lease runs out and the row is tried again then.
                tracing::warn!(revocation = %id, error = %e, "could not reschedule a slack token revocation");
            }
        }
        Attempt::GiveUp(error) => {
            tracing::error!(%org_id, kind, reason, revocation = %id, attempts = row.attempts, error, "gave up revoking a slack token; it may stay valid at Slack until the owner removes the app's access there");
            metrics::record(queue.kind, Outcome::GaveUp);
            remove(queue, id).await;
        }
    }
    rate_limited
}

async fn remove(queue: &Revocations, id: &str) {
    if let Err(e) = queue.store.remove(id).await {
        // The row comes back after its lease; revoking twice is harmless (the second says token_revoked).
        tracing::warn!(revocation = %id, error = %e, "could not remove a finished slack token revocation");
    }
}
