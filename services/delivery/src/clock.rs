//! The delivery's "now": the system clock, which tests may move forward so that a pause's end or
//! quiet hours can be crossed without waiting for them. Every time the outbox stores or compares
//! (acceptance, claims, leases, holds, retries) comes from one clock, so a moved clock stays
//! consistent. Pacing keeps to the real clock: Slack's rate limits are real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use ovice_slack_model::UnixMillis;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> UnixMillis {
        let now = UnixMillis::now();
        UnixMillis::from_millis(
            now.as_millis()
                .saturating_add(self.offset_ms.load(Ordering::Relaxed)),
        )
    }

    /// Moves this clock (and every copy of it) forward by `by` (tests).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Moves this clock so that it reads `at` now (tests; only forward is meaningful for the outbox).
    pub fn set(&self, at: UnixMillis) {
        let offset = at.as_millis().saturating_sub(UnixMillis::now().as_millis());
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_the_moved_clock() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(Duration::from_secs(8 * 3600));
        let moved = copy.now().since(before);
        assert!(moved >= Duration::from_secs(8 * 3600) && moved < Duration::from_secs(8 * 3600 + 5));
        let target = UnixMillis::from_millis(2_000_000_000_000);
        clock.set(target);
        assert!(copy.now().since(target) < Duration::from_secs(5));
    }
}
