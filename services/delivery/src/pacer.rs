//! Pacing under Slack's rate limits, so workers wait for a slot instead of provoking 429s:
//! chat.postMessage about one per second per channel with a short burst, and the Tier 3 methods
//! (conversations.open) per workspace. A 429's `Retry-After` closes its lane until it has elapsed.
//!
//! The rule is `domain::pacing` (GCRA); the lanes' times live in a `LaneStore`, the database when
//! several replicas share the outbox, so the limits hold for the deployment and not per process.
//! A worker waits for a lane only briefly; a longer wait hands the delivery back (without counting
//! an attempt) so the worker can serve other orgs meanwhile.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use ovice_slack_model::UnixMillis;
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{Rate, Slot, closed_until},
    store::lanes::LaneStore,
};

/// The rates to keep to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacingConfig {
    /// chat.postMessage per channel per second.
    pub post_per_second: NonZeroU32,
    /// chat.postMessage burst per channel.
    pub post_burst: NonZeroU32,
    /// conversations.open (Tier 3) per workspace per minute.
    pub tier3_per_minute: NonZeroU32,
    /// Longer waits hand the delivery back instead of holding a worker.
    pub max_wait: Duration,
}

/// A rate-limited lane of Slack calls.
#[derive(Clone, Copy, Debug)]
pub enum Lane<'a> {
    /// chat.postMessage into one conversation (`channel`: a `D…` id, or the recipient's user id for
    /// a bot DM).
    Post { team_id: &'a str, channel: &'a str },
    /// A Tier 3 method of one workspace.
    Tier3 { team_id: &'a str, method: &'static str },
}

impl Lane<'_> {
    fn key(&self) -> String {
        match self {
            Lane::Post { team_id, channel } => format!("{team_id}/post/{channel}"),
            Lane::Tier3 { team_id, method } => format!("{team_id}/{method}"),
        }
    }
}

/// What a worker should do about a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    Go,
    /// Busy for this long: hand the delivery back.
    Defer(Duration),
    /// Shutting down while waiting.
    Cancelled,
}

/// How long a delivery waits when the lanes cannot be read (the database is away): no call goes
/// out unpaced.
const LANES_UNAVAILABLE_WAIT: Duration = Duration::from_secs(1);

/// Lanes idle this long are forgotten.
const IDLE_LANE: Duration = Duration::from_secs(600);

pub struct Pacer {
    lanes: Arc<dyn LaneStore>,
    post: Rate,
    tier3: Rate,
    max_wait: Duration,
}

impl Pacer {
    pub fn new(config: PacingConfig, lanes: Arc<dyn LaneStore>) -> Self {
        // One slot of each burst stays in reserve: a call that was held up on its way reaches
        // Slack later than we paced it, the next one may not, and at Slack's exact rate that pair
        // would meet an empty bucket and a 429 (the benchmark's bursts saw a few).
        Self {
            lanes,
            post: Rate::new(
                config.post_per_second.get(),
                Duration::from_secs(1),
                config.post_burst.get() - 1,
            ),
            tier3: Rate::new(
                config.tier3_per_minute.get(),
                Duration::from_secs(60),
                config.tier3_per_minute.get() - 1,
            ),
            max_wait: config.max_wait,
        }
    }

    fn rate(&self, lane: Lane<'_>) -> Rate {
        match lane {
            Lane::Post { .. } => self.post,
            Lane::Tier3 { .. } => self.tier3,
        }
    }

    /// Waits (briefly) until `lane` has a slot and takes it.
    pub async fn acquire(&self, lane: Lane<'_>, cancel: &CancellationToken) -> Pace {
        let taken = self
            .lanes
            .take(&lane.key(), UnixMillis::now(), self.rate(lane), self.max_wait)
            .await;
        let wait = match taken {
            Ok(Slot::Taken { wait, .. }) => wait,
            Ok(Slot::Busy(wait)) => return Pace::Defer(wait),
            Err(e) => {
                tracing::warn!(error = %e, "reading a pacing lane failed; the delivery waits");
                return Pace::Defer(LANES_UNAVAILABLE_WAIT);
            }
        };
        if wait.is_zero() {
            return Pace::Go;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => Pace::Go,
            () = cancel.cancelled() => Pace::Cancelled,
        }
    }

    /// Slack answered 429: nothing goes into `lane` before `retry_after` has elapsed.
    pub async fn close(&self, lane: Lane<'_>, retry_after: Duration) {
        let tat = closed_until(UnixMillis::now().plus(retry_after), self.rate(lane));
        if let Err(e) = self.lanes.close(&lane.key(), tat).await {
            tracing::warn!(error = %e, "closing a pacing lane failed; the delivery itself still waits");
        }
    }

    /// Forgets lanes that are idle again, so they do not grow with every channel ever used.
    pub async fn prune(&self) {
        if let Err(e) = self.lanes.prune(UnixMillis::now().minus(IDLE_LANE)).await {
            tracing::warn!(error = %e, "forgetting idle pacing lanes failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::lanes::MemoryLanes;

    fn pacer(max_wait: Duration) -> Pacer {
        Pacer::new(
            PacingConfig {
                post_per_second: NonZeroU32::new(20).unwrap(),
                post_burst: NonZeroU32::new(3).unwrap(),
                tier3_per_minute: NonZeroU32::new(2).unwrap(),
                max_wait,
            },
            Arc::new(MemoryLanes::default()),
        )
    }

    const POST: Lane<'static> = Lane::Post {
        team_id: "T1",
        channel: "D1",
    };

    #[tokio::test]
    async fn a_burst_then_the_rate() {
        let p = pacer(Duration::from_secs(1));
        let cancel = CancellationToken::new();
        let started = Instant::now();
        for _ in 0..4 {
            assert_eq!(p.acquire(POST, &cancel).await, Pace::Go);
        }
        // Two of the four waited for a slot at 20/s (one of the burst of three is the reserve).
        assert!(
            started.elapsed() >= Duration::from_millis(90),
            "{:?}",
            started.elapsed()
        );
        // Other channels are lanes of their own.
        let other = Lane::Post {
            team_id: "T1",
            channel: "D2",
        };
        let started = Instant::now();
        assert_eq!(p.acquire(other, &cancel).await, Pace::Go);
        assert!(started.elapsed() < Duration::from_millis(40));
    }

    #[tokio::test]
    async fn long_waits_are_deferred_and_cancellation_ends_a_wait() {
        let p = pacer(Duration::from_millis(100));
        let cancel = CancellationToken::new();
        let open = Lane::Tier3 {
            team_id: "T1",
            method: "conversations.open",
        };
        assert_eq!(p.acquire(open, &cancel).await, Pace::Go);
        assert!(matches!(p.acquire(open, &cancel).await, Pace::Defer(d) if d > Duration::from_secs(25)));
        let p = pacer(Duration::from_secs(60));
        p.close(POST, Duration::from_secs(30)).await;
        cancel.cancel();
        assert_eq!(p.acquire(POST, &cancel).await, Pace::Cancelled);
    }

    #[tokio::test]
    async fn a_closed_lane_opens_after_retry_after() {
        let p = pacer(Duration::from_secs(5));
        let cancel = CancellationToken::new();
        p.close(POST, Duration::from_millis(300)).await;
        let started = Instant::now();
        assert_eq!(p.acquire(POST, &cancel).await, Pace::Go);
        assert!(started.elapsed() >= Duration::from_millis(290));
        // A shorter Retry-After never reopens a lane early.
        p.close(POST, Duration::from_secs(40)).await;
        p.close(POST, Duration::from_secs(1)).await;
        assert!(matches!(p.acquire(POST, &cancel).await, Pace::Defer(d) if d > Duration::from_secs(30)));
        p.prune().await;
        assert!(
            matches!(p.acquire(POST, &cancel).await, Pace::Defer(_)),
            "closed lanes survive a prune"
        );
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_clock_closes_the_lane_without_a_panic() {
        let p = pacer(Duration::from_secs(5));
        let cancel = CancellationToken::new();
        p.close(POST, Duration::MAX).await;
        assert!(matches!(p.acquire(POST, &cancel).await, Pace::Defer(d) if d > Duration::from_secs(3600)));
    }
}
