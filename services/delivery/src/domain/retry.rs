//! When a failed send is tried again, and when a delivery stops trying.
//!
//! The wait is exponential backoff with full jitter (uniformly random between zero and the bound,
//! which spreads retries of many deliveries apart). A delivery stops:
//! - EXPIRED once its retry window (`retry_for`, from acceptance or an operator's retry) would be
//!   over before the next attempt, however the attempts went. Only time ends a delivery while
//!   Slack or the network is down.
//! - DEAD after `max_attempts` transient failures, but only while Slack answers the org's other
//!   calls (its circuit is closed): then the failure is this message's, not an outage.

use std::time::Duration;

use ovice_slack_model::UnixMillis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The bound of the first retry.
    pub base: Duration,
    /// The largest bound.
    pub cap: Duration,
    /// Failed attempts (the first included) before a delivery is DEAD, when Slack is otherwise up.
    pub max_attempts: u32,
    /// How long after its window started a delivery may still be tried.
    pub retry_for: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            max_attempts: 10,
            retry_for: Duration::from_secs(6 * 3600),
        }
    }
}

/// One transient failure, as the policy needs to see it.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    /// Failed attempts so far, counting this one.
    pub attempts: u32,
    /// When the delivery's retry window started.
    pub window_started_at: UnixMillis,
    pub now: UnixMillis,
    /// Slack is failing every call of the org (its circuit is open).
    pub slack_down: bool,
    /// A random number in `[0, 1)` for the jitter; passed in so the policy is deterministic.
    pub unit: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    RetryAfter(Duration),
    Dead,
    Expired,
}

impl RetryPolicy {
    /// What follows a transient failure. (Slack's `Retry-After` never reaches here: a 429 defers
    /// without counting an attempt.)
    pub fn decide(&self, f: Failure) -> RetryDecision {
        let exponent = f.attempts.saturating_sub(1).min(30);
        let bound = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        let unit = if f.unit.is_finite() {
            f.unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let wait = bound.mul_f64(unit);
        if f.now.plus(wait) >= self.window_ends(f.window_started_at) {
            return RetryDecision::Expired;
        }
        if !f.slack_down && f.attempts >= self.max_attempts {
            return RetryDecision::Dead;
        }
        RetryDecision::RetryAfter(wait)
    }

    /// Whether a delivery whose window started then may no longer be tried at `now`.
    pub fn expired(&self, window_started_at: UnixMillis, now: UnixMillis) -> bool {
        now >= self.window_ends(window_started_at)
    }

    fn window_ends(&self, window_started_at: UnixMillis) -> UnixMillis {
        window_started_at.plus(self.retry_for)
    }
}

/// The reason an EXPIRED delivery shows (`last_error`), in English as every stored error is.
pub fn expired_reason(retry_for: Duration, last_error: &str) -> String {
    let window = humantime::format_duration(retry_for);
    if last_error.is_empty() {
        format!("not delivered within {window} of being accepted; it was never tried with Slack")
    } else {
        format!("not delivered within {window} of being accepted; the last failure: {last_error}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    const T0: UnixMillis = UnixMillis::from_millis(1_000_000_000);

    fn failure(attempts: u32, unit: f64) -> Failure {
        Failure {
            attempts,
            window_started_at: T0,
            now: T0.plus(secs(60)),
            slack_down: false,
            unit,
        }
    }

    fn wait(d: RetryDecision) -> u64 {
        match d {
            RetryDecision::RetryAfter(d) => d.as_secs_f64().round() as u64,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_bound_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        let top = 0.999_999_9;
        let bounds: Vec<u64> = (1..=11).map(|a| wait(p.decide(failure(a, top)))).collect();
        assert_eq!(bounds, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn full_jitter_spans_zero_to_the_bound() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(failure(3, 0.0)),
            RetryDecision::RetryAfter(Duration::ZERO)
        );
        assert_eq!(p.decide(failure(3, 0.5)), RetryDecision::RetryAfter(secs(2)));
        // Garbage from a random source cannot produce garbage delays.
        assert_eq!(
            p.decide(failure(3, f64::NAN)),
            RetryDecision::RetryAfter(Duration::ZERO)
        );
        assert_eq!(p.decide(failure(3, 7.0)), RetryDecision::RetryAfter(secs(4)));
    }

    #[test]
    fn attempts_end_a_delivery_only_while_slack_is_up() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..Default::default()
        };
        assert!(matches!(p.decide(failure(2, 0.1)), RetryDecision::RetryAfter(_)));
        assert_eq!(p.decide(failure(3, 0.1)), RetryDecision::Dead);
        // An outage: a hundred failed attempts end nothing.
        let down = Failure {
            slack_down: true,
            ..failure(100, 0.1)
        };
        assert!(matches!(p.decide(down), RetryDecision::RetryAfter(_)));
    }

    #[test]
    fn the_window_ends_every_delivery_down_or_not() {
        let p = RetryPolicy {
            retry_for: secs(3600),
            ..Default::default()
        };
        let late = Failure {
            now: T0.plus(secs(3599)),
            slack_down: true,
            ..failure(2, 0.9)
        };
        // The next attempt would fall after the window: expire now rather than wait for nothing.
        assert_eq!(p.decide(late), RetryDecision::Expired);
        assert!(!p.expired(T0, T0.plus(secs(3599))));
        assert!(p.expired(T0, T0.plus(secs(3600))));
    }

    #[test]
    fn the_reason_names_the_window_and_the_last_failure() {
        assert_eq!(
            expired_reason(
                secs(6 * 3600),
                "Slack is unavailable for chat.postMessage: HTTP 503"
            ),
            "not delivered within 6h of being accepted; the last failure: Slack is unavailable for \
             chat.postMessage: HTTP 503"
        );
        assert!(expired_reason(secs(90), "").contains("1m 30s"));
    }
}
