//! The delivery workers: one claim loop per process leases due rows of the outbox and hands each to
//! a task (at most `workers` at a time) that sends it and records the outcome.
//!
//! The loop wakes when this process enqueues (a `Notify`), when a send finishes (the next message to
//! that recipient may now go), when the earliest retry or lease expiry is due, and at the poll
//! interval for work other processes enqueued. On stop it claims nothing more, lets the sends in
//! flight finish and gives back what was claimed but not yet sent.

use crate::clock::Clock;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use ovice_slack_model::UnixMillis;
use tokio::{
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    task::{JoinHandle, JoinSet},
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    circuits::Circuits,
    domain::{
        Admission, DIGEST_MAX, DIGEST_MIN, Delivery, DeliveryId, DeliveryMode, Failure, HoldReason,
        RetryDecision, RetryPolicy, Transition, expired_reason,
    },
    metrics,
    new_work::NewWork,
    pacer::Pacer,
    sender::{DeliverySender, SendOutcome},
    store::{Again, Claim, OutboxStore, Outcome, StoreError},
};

/// How the workers behave (from `DeliveryConfig`).
#[derive(Clone, Copy, Debug)]
pub struct WorkerSettings {
    pub workers: usize,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub retry: RetryPolicy,
    /// The Slack client's timeout: no call starts unless the lease outlasts it.
    pub slack_timeout: Duration,
    /// How long FAILED and DEAD deliveries keep their text for an operator's retry (zero: erased
    /// at once, like every other final delivery).
    pub failed_text_retention: Duration,
}

/// A random number in `[0, 1)` for the retry jitter; injectable for tests.
pub type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// Housekeeping (pacing lanes, expired texts) runs this often.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// The outbox gauges are refreshed this often.
const GAUGES_EVERY: Duration = Duration::from_secs(5);

/// Kept between the last Slack call's timeout and the lease's end: clocks and the write of the
/// outcome need a moment too.
pub const LEASE_MARGIN: Duration = Duration::from_secs(1);

/// The workers of one process, ready to run.
pub struct DeliveryWorkers {
    ctx: Context,
}

pub(crate) struct Context {
    pub(crate) store: Arc<dyn OutboxStore>,
    pub(crate) sender: DeliverySender,
    pacer: Arc<Pacer>,
    circuits: Arc<Circuits>,
    /// This process's claim loop wakes on it (accepts here, announcements of other replicas).
    wake: Arc<Notify>,
    new_work: NewWork,
    pub(crate) settings: WorkerSettings,
    pub(crate) jitter: Jitter,
    pub(crate) worker_id: String,
    /// The outbox's "now".
    pub(crate) clock: Clock,
}

/// Running workers.
pub struct DeliveryWorkersHandle {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl DeliveryWorkersHandle {
    /// Stops claiming, lets the sends in flight finish, gives back the rest; returns when done.
    pub async fn stop(self) {
        self.stop.cancel();
        self.join().await;
    }

    /// Waits until the workers have stopped (after the shutdown token was cancelled).
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the delivery claim loop failed");
        }
    }
}

impl DeliveryWorkers {
    pub(crate) fn new(
        store: Arc<dyn OutboxStore>,
        sender: DeliverySender,
        pacer: Arc<Pacer>,
        circuits: Arc<Circuits>,
        new_work: NewWork,
        settings: WorkerSettings,
        clock: Clock,
    ) -> Self {
        Self {
            ctx: Context {
                store,
                sender,
                pacer,
                circuits,
                wake: new_work.local(),
                new_work,
                settings,
                jitter: Arc::new(rand::random::<f64>),
                worker_id: format!("delivery-{}", uuid::Uuid::new_v4().simple()),
                clock,
            },
        }
    }

    /// Replaces the random source of the retry jitter (tests).
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.ctx.jitter = jitter;
        self
    }

    /// This process's lease owner name.
    pub fn worker_id(&self) -> &str {
        &self.ctx.worker_id
    }

    /// Starts the claim loop; it runs until `shutdown` is cancelled or the handle stops it.
    pub fn spawn(self, shutdown: CancellationToken) -> DeliveryWorkersHandle {
        let stop = shutdown.child_token();
        let relay = self.ctx.new_work.clone();
        tokio::spawn(relay.relay(self.ctx.store.clone(), stop.clone()));
        let ctx = Arc::new(self.ctx);
        let changes = tokio::spawn(crate::change_worker::change_loop(ctx.clone(), stop.clone()));
        let claims = tokio::spawn(claim_loop(ctx, stop.clone()));
        let task = tokio::spawn(async move {
            let (claims, changes) = tokio::join!(claims, changes);
            if let Err(e) = changes {
                tracing::error!(error = %e, "the message change loop failed");
            }
            if let Err(e) = claims {
                tracing::error!(error = %e, "the delivery claim loop failed");
            }
        });
        DeliveryWorkersHandle { stop, task }
    }
}

async fn claim_loop(ctx: Arc<Context>, stop: CancellationToken) {
    let workers = ctx.settings.workers.max(1);
    let permits = Arc::new(Semaphore::new(workers));
    let mut sends: JoinSet<()> = JoinSet::new();
    let mut last_maintenance = Instant::now();
    let mut last_gauges: Option<Instant> = None;
    tracing::info!(worker_id = %ctx.worker_id, workers, "delivery workers started");
    while !stop.is_cancelled() {
        let free = permits.available_permits();
        let mut claimed_all_free = false;
        if free > 0 {
            // Before the lease starts in the database, so the deadline derived from it is early.
            let claimed_at = Instant::now();
            let now = ctx.clock.now();
            let claim = Claim {
                worker_id: &ctx.worker_id,
                now,
                lease_until: now.plus(ctx.settings.lease),
                limit: u32::try_from(free).unwrap_or(u32::MAX),
                per_org: u32::try_from(free).unwrap_or(u32::MAX),
            };
            match ctx.store.claim_due(claim).await {
                Ok(rows) => {
                    claimed_all_free = rows.len() == free;
                    for row in rows {
                        let Ok(permit) = permits.clone().try_acquire_owned() else {
                            // Cannot happen (only this loop takes permits); give the row back.
                            release(&ctx, &row, ctx.clock.now()).await;
                            continue;
                        };
                        sends.spawn(send_one(ctx.clone(), row, claimed_at, permit, stop.clone()));
                    }
                }
                Err(e) => tracing::error!(error = %e, "claiming deliveries failed; trying again shortly"),
            }
        }
        if last_gauges.is_none_or(|t| t.elapsed() >= GAUGES_EVERY) {
            last_gauges = Some(Instant::now());
            match ctx.store.pending_stats().await {
                Ok((pending, oldest)) => {
                    metrics::outbox(
                        pending,
                        oldest.map_or(Duration::ZERO, |at| ctx.clock.now().since(at)),
                    );
                }
                Err(e) => tracing::warn!(error = %e, "reading the outbox depth failed"),
            }
        }
        if last_maintenance.elapsed() >= MAINTENANCE_EVERY {
            last_maintenance = Instant::now();
            maintenance(&ctx).await;
        }
        if claimed_all_free {
            // Every worker is busy: wait for one to finish (there may be more due).
            tokio::select! {
                _ = sends.join_next() => {}
                () = stop.cancelled() => {}
            }
            continue;
        }
        let sleep = next_sleep(&ctx).await;
        tokio::select! {
            () = ctx.wake.notified() => {}
            () = tokio::time::sleep(sleep) => {}
            Some(_) = sends.join_next(), if !sends.is_empty() => {}
            () = stop.cancelled() => {}
        }
    }
    let in_flight = sends.len();
    if in_flight > 0 {
        tracing::info!(
            in_flight,
            "delivery workers stopping: finishing the sends in flight"
        );
    }
    while sends.join_next().await.is_some() {}
    tracing::info!(worker_id = %ctx.worker_id, "delivery workers stopped");
}

/// Until the next retry or lease expiry, at most the poll interval.
async fn next_sleep(ctx: &Context) -> Duration {
    let poll = ctx.settings.poll_interval;
    let now = ctx.clock.now();
    match ctx.store.next_wakeup(now).await {
        Ok(Some(at)) => at.since(now).min(poll),
        Ok(None) => poll,
        Err(e) => {
            tracing::warn!(error = %e, "reading the next due delivery failed");
            poll
        }
    }
}

async fn maintenance(ctx: &Context) {
    ctx.pacer.prune().await;
    ctx.circuits.prune();
    match ctx.store.promote_heads().await {
        Ok(0) => {}
        // The store un-queues the next message whenever one ends; finding any here means a path
        // missed it, and the message would otherwise have waited for ever.
        Ok(n) => tracing::warn!(
            count = n,
            "un-queued deliveries that had nothing left to wait for"
        ),
        Err(e) => tracing::warn!(error = %e, "checking the delivery queues failed"),
    }
    let retention = ctx.settings.failed_text_retention;
    if !retention.is_zero() {
        let before = ctx.clock.now().minus(retention);
        match ctx.store.erase_text_before(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                count = n,
                "erased the text of failed deliveries past their retention"
            ),
            Err(e) => tracing::warn!(error = %e, "erasing expired texts failed"),
        }
    }
}

async fn send_one(
    ctx: Arc<Context>,
    d: Delivery,
    claimed_at: Instant,
    permit: OwnedSemaphorePermit,
    stop: CancellationToken,
) {
    let span = tracing::info_span!(
        "delivery.send",
        delivery_id = %d.delivery_id,
        org_id = %d.org_id,
        message_id = %d.message_id,
        attempt = d.attempts + 1,
    );
    crate::trace::continue_trace(&span, &d.accepted_trace);
    async {
        let retry = &ctx.settings.retry;
        if retry.expired(d.window_started_at, ctx.clock.now()) {
            expire(&ctx, &d).await;
            return;
        }
        let probe = match ctx.circuits.admit(&d.org_id) {
            Admission::Go => false,
            Admission::Probe => {
                tracing::info!("probing whether Slack answers the organization again");
                true
            }
            Admission::Wait(wait) => {
                // Slack fails every call of this org: wait for the probe, no attempt counted.
                metrics::outcome("waiting_for_slack", None, None);
                release(&ctx, &d, ctx.clock.now().plus(wait)).await;
                return;
            }
        };
        let now = ctx.clock.now();
        let digest = digest_candidates(&ctx, &d, now).await;
        let outcome = ctx
            .sender
            .send(&d, &digest, now, call_deadline(&ctx.settings, claimed_at), &stop)
            .await;
        if ctx.circuits.observe(&d.org_id, outcome.health(), probe) == Transition::Closed {
            // What waited for this org's Slack may go now, at the pace the pacer allows.
            match ctx.store.wake_org(&d.org_id, ctx.clock.now()).await {
                Ok(n) => tracing::info!(count = n, "deliveries that waited for Slack are due again"),
                Err(e) => tracing::warn!(error = %e, "waking the organization's deliveries failed; they come back at their time"),
            }
            ctx.new_work.announce();
        }
        match outcome {
            SendOutcome::Sent {
                mode,
                channel,
                ts,
                language,
            } if !digest.is_empty() => {
                let outcome = Outcome::Sent {
                    mode,
                    channel,
                    ts,
                    revision: d.life.revision,
                    language,
                };
                record_digest(&ctx, &d, &digest, &outcome).await;
            }
            outcome => record(&ctx, &d, outcome).await,
        }
    }
    .instrument(span)
    .await;
    drop(permit);
}

/// The rows queued behind `d` that waited with it for the end of quiet hours, when there are
/// enough of them for a digest (empty otherwise, and whenever the outbox cannot say).
async fn digest_candidates(ctx: &Context, d: &Delivery, now: UnixMillis) -> Vec<Delivery> {
    let ended_quiet_hours = d.life.hold_reason == Some(HoldReason::QuietHours)
        && d.life.held_until.is_some_and(|until| until <= now);
    if !ended_quiet_hours {
        return Vec::new();
    }
    let limit = u32::try_from(DIGEST_MAX - 1).unwrap_or(u32::MAX);
    match ctx.store.queued_behind(d, limit).await {
        Ok(rows) if rows.len() + 1 >= DIGEST_MIN => rows,
        Ok(_) => Vec::new(),
        Err(e) => {
            tracing::warn!(error = %e, "reading what waited with the message failed; it goes alone");
            Vec::new()
        }
    }
}

/// A digest went out: the head and the rows it carried are SENT in one transaction.
async fn record_digest(ctx: &Context, d: &Delivery, members: &[Delivery], outcome: &Outcome) {
    let ids: Vec<DeliveryId> = members.iter().map(|m| m.delivery_id.clone()).collect();
    tracing::info!(count = ids.len() + 1, "delivered to Slack as one digest");
    for _ in 0..=ids.len() {
        metrics::outcome("sent", Some(DeliveryMode::BotDm), None);
    }
    let owner = ctx.worker_id.as_str();
    let store = &ctx.store;
    let result =
        persist(|| store.complete_digest(&d.delivery_id, owner, outcome, &ids, ctx.clock.now())).await;
    report_write(result);
}

/// The last moment a Slack call may start: the lease (which began no earlier than `claimed_at`)
/// must outlast the call's timeout, or another worker could take the row over and post it again.
/// The configuration guarantees a lease of at least twice the timeout plus the pacing wait.
pub(crate) fn call_deadline(settings: &WorkerSettings, claimed_at: Instant) -> Instant {
    let usable = settings
        .lease
        .saturating_sub(settings.slack_timeout)
        .saturating_sub(LEASE_MARGIN);
    claimed_at + usable
}

/// The retry window is over before this attempt: EXPIRED without calling Slack.
async fn expire(ctx: &Context, d: &Delivery) {
    let error = expired_reason(ctx.settings.retry.retry_for, &d.last_error);
    tracing::warn!(%error, "delivery EXPIRED");
    metrics::outcome("expired", d.mode, None);
    let outcome = Outcome::Expired {
        mode: d.mode,
        error,
        attempted: false,
        ambiguous: false,
    };
    let erase_failed = ctx.settings.failed_text_retention.is_zero();
    let owner = ctx.worker_id.as_str();
    let result = persist(|| {
        ctx.store
            .complete(&d.delivery_id, owner, &outcome, ctx.clock.now(), erase_failed)
    })
    .await;
    report_write(result);
}

async fn record(ctx: &Context, d: &Delivery, outcome: SendOutcome) {
    let store = &ctx.store;
    let owner = ctx.worker_id.as_str();
    let id = &d.delivery_id;
    let erase_failed = ctx.settings.failed_text_retention.is_zero();
    let result = match outcome {
        SendOutcome::Sent {
            mode,
            channel,
            ts,
            language,
        } => {
            tracing::info!(mode = mode.as_str(), channel = %channel, ts = %ts, "delivered to Slack");
            metrics::outcome("sent", Some(mode), None);
            metrics::sent_after(ctx.clock.now().since(d.created_at));
            let outcome = Outcome::Sent {
                mode,
                channel,
                ts,
                revision: d.life.revision,
                language,
            };
            persist(|| store.complete(id, owner, &outcome, ctx.clock.now(), erase_failed)).await
        }
        SendOutcome::Skipped(reason) => {
            tracing::info!(reason = reason.as_str(), "skipped at send time");
            metrics::outcome("skipped", None, Some(reason));
            let outcome = Outcome::Skipped(reason);
            persist(|| store.complete(id, owner, &outcome, ctx.clock.now(), erase_failed)).await
        }
        SendOutcome::Failed { mode, error } => {
            tracing::warn!(error = %error, "delivery failed permanently");
            metrics::outcome("failed", mode, None);
            let outcome = Outcome::Failed { mode, error };
            persist(|| store.complete(id, owner, &outcome, ctx.clock.now(), erase_failed)).await
        }
        SendOutcome::Retry {
            mode,
            error,
            ambiguous,
        } => {
            if ambiguous {
                // The rule (docs/product.md §2.3): a post Slack may have carried out is tried
                // again, because a lost message is worse than a repeated one; each such attempt
                // is counted on the delivery and in the metric, bounding the duplicates.
                tracing::warn!(error = %error, "Slack may have posted it; trying again (a possible duplicate, counted)");
                metrics::ambiguous(mode);
            }
            let attempts = d.attempts.saturating_add(1);
            let now = ctx.clock.now();
            let failure = Failure {
                attempts,
                window_started_at: d.window_started_at,
                now,
                slack_down: ctx.circuits.is_open(&d.org_id),
                unit: (ctx.jitter)(),
            };
            match ctx.settings.retry.decide(failure) {
                RetryDecision::RetryAfter(delay) => {
                    // While the org's circuit is open nothing goes before its probe anyway.
                    let delay = delay.max(ctx.circuits.wait_left(&d.org_id));
                    tracing::info!(error = %error, attempts, retry_in_ms = delay.as_millis(), "retrying later");
                    metrics::outcome("retried", mode, None);
                    let again = Again {
                        at: now.plus(delay),
                        mode,
                        error: &error,
                        ambiguous,
                    };
                    persist(|| store.reschedule(id, owner, &again, ctx.clock.now())).await
                }
                RetryDecision::Dead => {
                    tracing::warn!(error = %error, attempts, "retries ran out while Slack answered other calls: delivery is DEAD");
                    metrics::outcome("dead", mode, None);
                    let outcome = Outcome::Dead {
                        mode,
                        error,
                        ambiguous,
                    };
                    persist(|| store.complete(id, owner, &outcome, ctx.clock.now(), erase_failed)).await
                }
                RetryDecision::Expired => {
                    let error = expired_reason(ctx.settings.retry.retry_for, &error);
                    tracing::warn!(%error, attempts, "delivery EXPIRED");
                    metrics::outcome("expired", mode, None);
                    let outcome = Outcome::Expired {
                        mode,
                        error,
                        attempted: true,
                        ambiguous,
                    };
                    persist(|| store.complete(id, owner, &outcome, ctx.clock.now(), erase_failed)).await
                }
            }
        }
        SendOutcome::WorkspaceTokenRejected { error } => {
            metrics::outcome("failed", Some(DeliveryMode::BotDm), None);
            let outcome = Outcome::Failed {
                mode: Some(DeliveryMode::BotDm),
                error: error.clone(),
            };
            let mine = persist(|| store.complete(id, owner, &outcome, ctx.clock.now(), erase_failed)).await;
            // Every other pending delivery of the org would hit the same wall: end them now rather
            // than let each retry against Slack.
            match persist(|| store.fail_pending_for_org(&d.org_id, &error, ctx.clock.now(), erase_failed))
                .await
            {
                Ok(n) => {
                    tracing::warn!(failed = n, "the organization's pending deliveries failed with it");
                    metrics::outcomes("failed", None, None, n);
                }
                Err(e) => tracing::error!(error = %e, "failing the organization's pending deliveries failed"),
            }
            mine
        }
        SendOutcome::Deferred(wait) => {
            metrics::outcome("deferred", None, None);
            let at = ctx.clock.now().plus(wait);
            persist(|| store.release(id, owner, at)).await
        }
        SendOutcome::RateLimited(wait) => {
            metrics::outcome("rate_limited", None, None);
            let at = ctx.clock.now().plus(wait);
            persist(|| store.release(id, owner, at)).await
        }
        SendOutcome::Abandoned => {
            metrics::outcome("abandoned", None, None);
            persist(|| store.release(id, owner, ctx.clock.now())).await
        }
        SendOutcome::Held { until, reason } => {
            tracing::info!(
                held_until = until.as_millis(),
                reason = reason.as_str(),
                "held by a preference of the recipient"
            );
            metrics::outcome("held", None, None);
            persist(|| store.hold(id, owner, until, reason)).await
        }
    };
    report_write(result);
}

fn report_write(result: Result<bool, StoreError>) {
    match result {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "the lease ran out before the outcome was recorded; another worker owns the delivery now"
        ),
        Err(e) => {
            tracing::error!(error = %e, "recording the delivery's outcome failed; it comes back when its lease expires")
        }
    }
}

async fn release(ctx: &Context, d: &Delivery, not_before: UnixMillis) {
    if let Err(e) = ctx
        .store
        .release(&d.delivery_id, &ctx.worker_id, not_before)
        .await
    {
        tracing::warn!(delivery_id = %d.delivery_id, error = %e, "giving a delivery back failed");
    }
}

/// A write that must not be lost to a passing database hiccup (a message sent but not recorded
/// would be sent again once the lease expires): a few tries before giving up.
async fn persist<T, F, Fut>(mut write: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut delay = Duration::from_millis(100);
    let mut tries = 0;
    loop {
        match write().await {
            Ok(v) => return Ok(v),
            Err(e) if tries < 4 => {
                tries += 1;
                tracing::warn!(error = %e, tries, "a delivery store write failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}
