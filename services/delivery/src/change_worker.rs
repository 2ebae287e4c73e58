//! The workers' second duty: sent messages that changed in ovice (an edit, a delete) are brought up
//! to date in Slack. One loop per process leases due rows (`claim_changes`), changes each with the
//! token that posted it, and records the end; a crashed worker's lease runs out and another takes the
//! row. An update or delete done twice shows the same in Slack, so a lost answer is simply tried again.

use std::{sync::Arc, time::Duration};

use ovice_slack_model::UnixMillis;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    domain::{Delivery, Failure, RetryDecision},
    metrics,
    sender::ChangeOutcome,
    store::{ChangeEnd, Claim},
    worker::Context,
};

/// Rows leased per round.
const BATCH: u32 = 16;

/// How often the loop looks when it found nothing (changes are rare next to posts).
const IDLE_POLL: Duration = Duration::from_millis(250);

pub(crate) async fn change_loop(ctx: Arc<Context>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let now = UnixMillis::now();
        let claim = Claim {
            worker_id: &ctx.worker_id,
            now,
            lease_until: now.plus(ctx.settings.lease),
            limit: BATCH,
            per_org: BATCH,
        };
        let rows = match ctx.store.claim_changes(claim).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "claiming message changes failed; trying again");
                Vec::new()
            }
        };
        let idle = rows.is_empty();
        for d in rows {
            let span =
                tracing::info_span!("delivery.change", delivery_id = %d.delivery_id, org_id = %d.org_id);
            change_one(&ctx, &d, &stop).instrument(span).await;
        }
        if idle {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(IDLE_POLL.min(ctx.settings.poll_interval)) => {}
            }
        }
    }
}

async fn change_one(ctx: &Context, d: &Delivery, stop: &CancellationToken) {
    let Some(change) = d.life.pending_change else {
        return;
    };
    let outcome = ctx.sender.change_in_slack(d, stop).await;
    let now = UnixMillis::now();
    let again_error;
    let refused_error;
    let end = match &outcome {
        ChangeOutcome::Done(done) => {
            tracing::info!(
                change = done.as_str(),
                revision = d.life.revision,
                "message changed in Slack"
            );
            metrics::slack_change(done.as_str(), "done");
            ChangeEnd::Done {
                change: *done,
                revision: d.life.revision,
            }
        }
        ChangeOutcome::Refused(error) => {
            tracing::warn!(change = change.as_str(), %error, "Slack refused to change the message; nothing is reposted");
            metrics::slack_change(change.as_str(), "refused");
            ChangeEnd::Refused { change, error }
        }
        ChangeOutcome::Again(error) => {
            let failure = Failure {
                attempts: d.life.change_attempts + 1,
                window_started_at: d.life.change_due_at.min(d.updated_at),
                now,
                slack_down: false,
                unit: (ctx.jitter)(),
            };
            match ctx.settings.retry.decide(failure) {
                RetryDecision::RetryAfter(wait) => {
                    tracing::info!(change = change.as_str(), %error, "changing the message in Slack failed; tried again");
                    metrics::slack_change(change.as_str(), "retried");
                    ChangeEnd::Again {
                        at: now.plus(wait),
                        error,
                        attempt: true,
                    }
                }
                RetryDecision::Dead | RetryDecision::Expired => {
                    refused_error = format!("Slack did not answer after {} tries: {error}", failure.attempts);
                    tracing::warn!(change = change.as_str(), error = %refused_error, "giving up changing the message in Slack");
                    metrics::slack_change(change.as_str(), "gave_up");
                    ChangeEnd::Refused {
                        change,
                        error: &refused_error,
                    }
                }
            }
        }
        ChangeOutcome::Deferred(wait) => {
            again_error = String::new();
            ChangeEnd::Again {
                at: now.plus(*wait),
                error: &again_error,
                attempt: false,
            }
        }
        ChangeOutcome::Abandoned => {
            again_error = String::new();
            ChangeEnd::Again {
                at: now,
                error: &again_error,
                attempt: false,
            }
        }
    };
    match ctx
        .store
        .end_change(&d.delivery_id, &ctx.worker_id, &end, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("the change's lease ran out before its end was stored; another worker takes it")
        }
        Err(e) => {
            tracing::error!(error = %e, "storing a message change's end failed; it is tried again when its lease runs out")
        }
    }
}
