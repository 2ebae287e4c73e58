//! The workers' second duty: sent messages that changed in ovice (an edit, a delete) are brought up
//! to date in Slack. One loop per process leases due rows (`claim_changes`), changes each with the
//! token that posted it, and records the end; a crashed worker's lease runs out and another takes the
//! row. An update or delete done twice shows the same in Slack, so a lost answer is simply tried again.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    domain::{Delivery, Failure, RetryDecision, SlackChange},
    metrics,
    sender::{ChangeOutcome, digest_message},
    store::{ChangeEnd, Claim},
    worker::{Context, call_deadline},
};

/// Rows leased per round. They are changed one after another; a row whose turn comes too late
/// for its lease goes back untouched (`call_deadline`), and the next round takes it.
const BATCH: u32 = 16;

/// Rows of one org per round: the others' changes are not held behind one org's burst (each
/// workspace's Tier 3 pace would make them wait in turn).
const PER_ORG: u32 = 4;

/// How often the loop looks when it found nothing (changes are rare next to posts).
const IDLE_POLL: Duration = Duration::from_millis(250);

pub(crate) async fn change_loop(ctx: Arc<Context>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        // Before the lease starts in the database, so the deadline derived from it is early.
        let claimed_at = Instant::now();
        let now = ctx.clock.now();
        let claim = Claim {
            worker_id: &ctx.worker_id,
            now,
            lease_until: now.plus(ctx.settings.lease),
            limit: BATCH,
            per_org: PER_ORG,
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
            change_one(&ctx, &d, call_deadline(&ctx.settings, claimed_at), &stop)
                .instrument(span)
                .await;
        }
        if idle {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(IDLE_POLL.min(ctx.settings.poll_interval)) => {}
            }
        }
    }
}

async fn change_one(ctx: &Context, d: &Delivery, call_deadline: Instant, stop: &CancellationToken) {
    let Some(change) = d.life.pending_change else {
        return;
    };
    let outcome = if d.life.in_digest {
        change_digest(ctx, d, change, call_deadline, stop).await
    } else {
        ctx.sender.change_in_slack(d, None, call_deadline, stop).await
    };
    let now = ctx.clock.now();
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
                // When the change became due: a retry does not move `updated_at`.
                window_started_at: d.updated_at,
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
                        error: Some(error),
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
        // A pacing wait is no failure: the last one's reason stays shown.
        ChangeOutcome::Deferred(wait) => ChangeEnd::Again {
            at: now.plus(*wait),
            error: None,
            attempt: false,
        },
        ChangeOutcome::Abandoned => ChangeEnd::Again {
            at: now,
            error: None,
            attempt: false,
        },
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

/// A message a digest carried changed (only a delete or read reaches here: a digest shows no text).
/// The digest is shown again without it, or deleted once it names none. Two of its messages deleted
/// at once each show it again; each then reads what it shows once more and repeats until they agree,
/// so the last update Slack gets names what is left.
async fn change_digest(
    ctx: &Context,
    d: &Delivery,
    change: SlackChange,
    call_deadline: Instant,
    stop: &CancellationToken,
) -> ChangeOutcome {
    let language = d.life.slack_language.unwrap_or_default();
    let store = &ctx.store;
    let members = || store.digest_members(&d.org_id, &d.slack_channel_id, &d.slack_ts);
    let mut shown = match members().await {
        Ok(m) => m,
        Err(e) => return ChangeOutcome::Again(format!("reading the digest failed: {e}")),
    };
    for _ in 0..3 {
        if shown.is_empty() {
            // Nothing left to show: the digest goes (`chat.delete`).
            return ctx.sender.change_in_slack(d, None, call_deadline, stop).await;
        }
        let rows: Vec<&Delivery> = shown.iter().collect();
        let message = digest_message(&rows, language);
        let outcome = ctx
            .sender
            .change_in_slack(d, Some(&message), call_deadline, stop)
            .await;
        if outcome != ChangeOutcome::Done(change) {
            return outcome;
        }
        let now_shown = match members().await {
            Ok(m) => m,
            Err(_) => return outcome,
        };
        let ids = |rows: &[Delivery]| rows.iter().map(|r| r.delivery_id.clone()).collect::<Vec<_>>();
        if ids(&now_shown) == ids(&shown) {
            return outcome;
        }
        shown = now_shown;
    }
    ChangeOutcome::Again("the digest changed while it was being updated".into())
}
