//! Slack's documented rate limits as token buckets.
//!
//! Slack: chat.postMessage allows about one message per second per channel with short bursts;
//! Tier 3 methods (conversations.open, users.lookupByEmail) 50+ per minute and Tier 4
//! (users.info) 100+ per minute, per method, per app, per workspace. Exceeding them yields
//! HTTP 429 with `Retry-After: <seconds>`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Rate limit settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct RateLimitConfig {
    #[serde(default)]
    pub enabled: bool,
    /// Multiplies every allowed rate and burst: 1.0 = Slack's documented numbers, 10.0 = ten
    /// times more permissive, 0.1 = ten times stricter.
    #[serde(default = "one")]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: false,
            scale: 1.0,
        }
    }
}

/// Which documented limit a call falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitClass {
    /// chat.postMessage: per channel.
    PostMessage,
    Tier3,
    Tier4,
}

impl LimitClass {
    /// (burst, tokens per second) at scale 1.0.
    fn base(self) -> (f64, f64) {
        match self {
            LimitClass::PostMessage => (3.0, 1.0),
            LimitClass::Tier3 => (50.0, 50.0 / 60.0),
            LimitClass::Tier4 => (100.0, 100.0 / 60.0),
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Buckets keyed by the caller-chosen key (workspace + app + method, or workspace + channel).
#[derive(Debug, Default)]
pub struct RateLimiter {
    pub config: RateLimitConfig,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            buckets: HashMap::new(),
        }
    }

    pub fn set_config(&mut self, config: RateLimitConfig) {
        self.config = config;
        self.buckets.clear();
    }

    /// Takes one token; `Err(retry_after)` when the bucket is empty (whole seconds, at least 1,
    /// as Slack's `Retry-After` is).
    pub fn check(&mut self, class: LimitClass, key: &str, now: Instant) -> Result<(), Duration> {
        if !self.config.enabled || self.config.scale.is_nan() || self.config.scale <= 0.0 {
            return Ok(());
        }
        let (burst, rate) = class.base();
        let capacity = (burst * self.config.scale).round().max(1.0);
        let rate = rate * self.config.scale;
        let bucket = self.buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / rate;
        let secs = wait.ceil().clamp(1.0, 3600.0);
        // `secs` is clamped to [1, 3600], so the cast cannot truncate.
        Err(Duration::from_secs(secs as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_limiter_never_limits() {
        let mut limiter = RateLimiter::default();
        let now = Instant::now();
        for _ in 0..1000 {
            assert!(limiter.check(LimitClass::PostMessage, "k", now).is_ok());
        }
    }

    #[test]
    fn post_message_allows_a_short_burst_then_one_per_second() {
        let mut limiter = RateLimiter::new(RateLimitConfig {
            enabled: true,
            scale: 1.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(LimitClass::PostMessage, "D1", t0).is_ok());
        }
        assert_eq!(
            limiter.check(LimitClass::PostMessage, "D1", t0),
            Err(Duration::from_secs(1))
        );
        // Another channel has its own bucket.
        assert!(limiter.check(LimitClass::PostMessage, "D2", t0).is_ok());
        let later = t0 + Duration::from_millis(1001);
        assert!(limiter.check(LimitClass::PostMessage, "D1", later).is_ok());
        assert!(limiter.check(LimitClass::PostMessage, "D1", later).is_err());
    }

    #[test]
    fn scale_makes_limits_stricter_and_retry_after_longer() {
        let mut limiter = RateLimiter::new(RateLimitConfig {
            enabled: true,
            scale: 0.1,
        });
        let t0 = Instant::now();
        // Tier 3 at scale 0.1: burst 5, 5 per minute => 12 s per token.
        for _ in 0..5 {
            assert!(
                limiter
                    .check(LimitClass::Tier3, "T1/A1/users.lookupByEmail", t0)
                    .is_ok()
            );
        }
        let retry = limiter
            .check(LimitClass::Tier3, "T1/A1/users.lookupByEmail", t0)
            .unwrap_err();
        assert_eq!(retry, Duration::from_secs(12));
    }
}
