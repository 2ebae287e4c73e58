//! Pacing under Slack's rate limits, so workers wait for a slot instead of provoking 429s:
//! chat.postMessage about one per second per channel with a short burst, and the Tier 3 methods
//! (conversations.open) per workspace. A 429's `Retry-After` closes its lane until it has elapsed.
//!
//! A worker waits for a lane only briefly; a longer wait hands the delivery back (without counting
//! an attempt) so the worker can serve other orgs meanwhile.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};
use tokio_util::sync::CancellationToken;

type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

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

pub struct Pacer {
    posts: KeyedLimiter,
    tier3: KeyedLimiter,
    clock: DefaultClock,
    /// Lanes closed by a 429 until the instant given.
    closed: Mutex<HashMap<String, Instant>>,
    max_wait: Duration,
}

impl Pacer {
    pub fn new(config: PacingConfig) -> Self {
        let clock = DefaultClock::default();
        // One slot of each burst stays in reserve: a call that was held up on its way reaches
        // Slack later than we paced it, the next one may not, and at Slack's exact rate that pair
        // would meet an empty bucket and a 429 (the benchmark's bursts saw a few).
        let post_quota = Quota::per_second(config.post_per_second).allow_burst(less_one(config.post_burst));
        let tier3_quota =
            Quota::per_minute(config.tier3_per_minute).allow_burst(less_one(config.tier3_per_minute));
        Self {
            posts: RateLimiter::dashmap_with_clock(post_quota, clock.clone()),
            tier3: RateLimiter::dashmap_with_clock(tier3_quota, clock.clone()),
            clock,
            closed: Mutex::new(HashMap::new()),
            max_wait: config.max_wait,
        }
    }

    /// Waits (briefly) until `lane` has a slot and takes it.
    pub async fn acquire(&self, lane: Lane<'_>, cancel: &CancellationToken) -> Pace {
        let key = lane.key();
        let limiter = match lane {
            Lane::Post { .. } => &self.posts,
            Lane::Tier3 { .. } => &self.tier3,
        };
        loop {
            let closed_for = self.closed_for(&key);
            let wait = if !closed_for.is_zero() {
                closed_for
            } else {
                match limiter.check_key(&key) {
                    Ok(()) => return Pace::Go,
                    Err(not_until) => not_until.wait_time_from(self.clock.now()),
                }
            };
            if wait > self.max_wait {
                return Pace::Defer(wait);
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => return Pace::Cancelled,
            }
        }
    }

    /// Slack answered 429: nothing goes into `lane` before `retry_after` has elapsed.
    pub fn close(&self, lane: Lane<'_>, retry_after: Duration) {
        // Whatever a peer claims, the deadline must fit the clock (adding could overflow and panic).
        let now = Instant::now();
        let until = now
            .checked_add(retry_after)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
        let mut closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        let entry = closed.entry(lane.key()).or_insert(until);
        *entry = (*entry).max(until);
    }

    fn closed_for(&self, key: &str) -> Duration {
        let closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        closed.get(key).map_or(Duration::ZERO, |until| {
            until.saturating_duration_since(Instant::now())
        })
    }

    /// Forgets lanes that are idle again, so memory does not grow with every channel ever used.
    pub fn prune(&self) {
        self.posts.retain_recent();
        self.tier3.retain_recent();
        let now = Instant::now();
        self.closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, until| *until > now);
    }
}

fn less_one(n: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(n.get() - 1).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer(max_wait: Duration) -> Pacer {
        Pacer::new(PacingConfig {
            post_per_second: NonZeroU32::new(20).unwrap(),
            post_burst: NonZeroU32::new(2).unwrap(),
            tier3_per_minute: NonZeroU32::new(1).unwrap(),
            max_wait,
        })
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
        // Three of the four waited for a slot at 20/s (one of the burst of two is the reserve).
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
        assert_eq!(p.acquire(other, &cancel).await, Pace::Go);
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
        assert!(matches!(p.acquire(open, &cancel).await, Pace::Defer(d) if d > Duration::from_secs(50)));
        let p = pacer(Duration::from_secs(60));
        p.close(POST, Duration::from_secs(30));
        cancel.cancel();
        assert_eq!(p.acquire(POST, &cancel).await, Pace::Cancelled);
    }

    #[tokio::test]
    async fn a_closed_lane_opens_after_retry_after() {
        let p = pacer(Duration::from_secs(5));
        let cancel = CancellationToken::new();
        p.close(POST, Duration::from_millis(300));
        let started = Instant::now();
        assert_eq!(p.acquire(POST, &cancel).await, Pace::Go);
        assert!(started.elapsed() >= Duration::from_millis(300));
        // A shorter Retry-After never reopens a lane early.
        p.close(POST, Duration::from_secs(40));
        p.close(POST, Duration::from_secs(1));
        assert!(matches!(p.acquire(POST, &cancel).await, Pace::Defer(d) if d > Duration::from_secs(30)));
        p.prune();
        assert!(
            matches!(p.acquire(POST, &cancel).await, Pace::Defer(_)),
            "closed lanes survive a prune"
        );
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_clock_closes_the_lane_without_a_panic() {
        let p = pacer(Duration::from_secs(5));
        let cancel = CancellationToken::new();
        p.close(POST, Duration::MAX);
        assert!(matches!(p.acquire(POST, &cancel).await, Pace::Defer(d) if d > Duration::from_secs(3600)));
    }
}
