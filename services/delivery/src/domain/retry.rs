//! When a failed send is tried again: exponential backoff with full jitter (the delay is uniformly
//! random between zero and the exponential bound, which spreads retries of many deliveries apart),
//! and at most `max_attempts` attempts.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The bound of the first retry.
    pub base: Duration,
    /// The largest bound.
    pub cap: Duration,
    /// Attempts (the first included) before a delivery is DEAD.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            max_attempts: 10,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    RetryAfter(Duration),
    GiveUp,
}

impl RetryPolicy {
    /// After `attempts` failed attempts (counting the one that just failed). `unit` is a random
    /// number in `[0, 1)`; passing it in keeps the policy deterministic under test. (Slack's
    /// `Retry-After` never reaches here: a 429 defers without counting an attempt.)
    pub fn decide(&self, attempts: u32, unit: f64) -> RetryDecision {
        if attempts >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let exponent = attempts.saturating_sub(1).min(30);
        let bound = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let jittered = bound.mul_f64(unit);
        RetryDecision::RetryAfter(jittered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_bound_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let top = 0.999_999_9;
        let bounds: Vec<u64> = (1..=9)
            .map(|a| match p.decide(a, top) {
                RetryDecision::RetryAfter(d) => d.as_secs_f64().round() as u64,
                RetryDecision::GiveUp => 0,
            })
            .collect();
        assert_eq!(bounds, vec![1, 2, 4, 8, 16, 32, 64, 128, 256]);
        let capped = RetryPolicy {
            max_attempts: 100,
            ..p
        };
        assert_eq!(capped.decide(50, 1.0), RetryDecision::RetryAfter(secs(300)));
    }

    #[test]
    fn full_jitter_spans_zero_to_the_bound() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(3, 0.0), RetryDecision::RetryAfter(Duration::ZERO));
        assert_eq!(p.decide(3, 0.5), RetryDecision::RetryAfter(secs(2)));
        // Garbage from a random source cannot produce garbage delays.
        assert_eq!(p.decide(3, f64::NAN), RetryDecision::RetryAfter(Duration::ZERO));
        assert_eq!(p.decide(3, 7.0), RetryDecision::RetryAfter(secs(4)));
    }

    #[test]
    fn attempts_run_out() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..Default::default()
        };
        assert!(matches!(p.decide(2, 0.1), RetryDecision::RetryAfter(_)));
        assert_eq!(p.decide(3, 0.1), RetryDecision::GiveUp);
        assert_eq!(p.decide(4, 0.1), RetryDecision::GiveUp);
    }
}
