//! The loop that hands stored events to their service, oldest first, with a lease per event so that
//! replicas never act on one event at the same moment, and backoff when the service cannot act yet.

use std::{sync::Arc, time::Duration};

use ovice_slack_model::UnixMillis;
use tokio_util::sync::CancellationToken;

use crate::{
    EventHandler, Inbox, WorkerConfig,
    metrics::{self, Outcome},
    store::StoredEvent,
};

/// Events claimed per read: enough for a burst (an uninstall's `tokens_revoked` for many people),
/// few enough that a slow one does not hold the others' leases long.
const BATCH: i64 = 16;

/// After this many attempts (about a day with [`backoff`]) an event is given up, with an error log.
pub(crate) const MAX_ATTEMPTS: u32 = 300;

/// Wait before attempt `attempts + 1`: 1 s, doubling, at most 5 minutes.
pub(crate) fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.saturating_sub(1).min(9)).min(Duration::from_secs(300))
}

pub(crate) async fn run(
    inbox: Inbox,
    handler: Arc<dyn EventHandler>,
    config: WorkerConfig,
    stop: CancellationToken,
) {
    let mut purged_at = UnixMillis::from_millis(0);
    loop {
        drain(&inbox, handler.as_ref(), &config, &stop).await;
        let now = UnixMillis::now();
        if now.as_millis() - purged_at.as_millis() > 3_600_000 {
            purged_at = now;
            match inbox.store.purge_done(now.minus(config.remember)).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(
                    receiver = inbox.receiver,
                    purged = n,
                    "old slack events forgotten"
                ),
                Err(e) => {
                    tracing::warn!(receiver = inbox.receiver, error = %e, "could not purge old slack events")
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = inbox.wake.notified() => {}
            () = tokio::time::sleep(config.poll) => {}
        }
    }
}

async fn drain(inbox: &Inbox, handler: &dyn EventHandler, config: &WorkerConfig, stop: &CancellationToken) {
    while !stop.is_cancelled() {
        let now = UnixMillis::now();
        let claimed = match inbox
            .store
            .claim_due(inbox.receiver, now, now.plus(config.lease), BATCH)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(receiver = inbox.receiver, error = %e, "could not read the slack event inbox");
                return;
            }
        };
        if claimed.is_empty() {
            return;
        }
        for event in claimed {
            attempt(inbox, handler, event).await;
        }
    }
}

async fn attempt(inbox: &Inbox, handler: &dyn EventHandler, event: StoredEvent) {
    let receiver = inbox.receiver;
    let (event_id, kind, team_id) = (&event.event_id, event.event.kind(), &event.team_id);
    let org_id = event.org_id.as_ref().map(|o| o.as_str()).unwrap_or_default();
    let key = event.key();
    match handler.handle(&event).await {
        Ok(()) => {
            tracing::info!(receiver, org_id, %team_id, event_id, kind, "slack event acted on");
            metrics::record(receiver, Outcome::Acted);
            if let Err(e) = inbox.store.finish(receiver, &key, UnixMillis::now(), "").await {
                // Its lease runs out and it is acted on again, which changes nothing more.
                tracing::warn!(receiver, event_id, error = %e, "could not mark a slack event done");
            }
        }
        Err(e) if event.attempts >= MAX_ATTEMPTS => {
            tracing::error!(receiver, org_id, %team_id, event_id, kind, attempts = event.attempts, error = %e, "gave up acting on a slack event; what it reported must be repaired by hand (see the runbook)");
            metrics::record(receiver, Outcome::GaveUp);
            if let Err(e) = inbox.store.finish(receiver, &key, UnixMillis::now(), &e.0).await {
                tracing::warn!(receiver, event_id, error = %e, "could not mark a slack event given up");
            }
        }
        Err(e) => {
            let after = backoff(event.attempts);
            tracing::warn!(receiver, org_id, %team_id, event_id, kind, attempts = event.attempts, retry_in_ms = after.as_millis() as u64, error = %e, "could not act on a slack event; will retry");
            metrics::record(receiver, Outcome::Retried);
            if let Err(e) = inbox
                .store
                .reschedule(receiver, &key, UnixMillis::now().plus(after), &e.0)
                .await
            {
                tracing::warn!(receiver, event_id, error = %e, "could not reschedule a slack event");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_second_to_five_minutes() {
        let s = |n| backoff(n).as_secs();
        assert_eq!((s(1), s(2), s(3), s(9)), (1, 2, 4, 256));
        assert_eq!((s(10), s(40), s(u32::MAX)), (300, 300, 300));
        // The attempts given before giving up add up to about a day.
        let total: u64 = (1..MAX_ATTEMPTS).map(s).sum();
        assert!((20 * 3600..=26 * 3600).contains(&total), "{total}");
    }
}
