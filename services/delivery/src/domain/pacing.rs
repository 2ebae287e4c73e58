//! The pacing rule, one for every replica and every store: GCRA (the generic cell rate algorithm).
//! A lane keeps one time, its theoretical arrival time (TAT): when the lane would be idle again
//! had every call gone at exactly the rate. A call may go once `TAT − (burst − 1) × interval` has
//! come; taking the slot moves the TAT on by one interval. The state is a single time, so it can live
//! in the database the replicas share and be updated in one locked row.
//!
//! A worker that would wait longer than it may reserves nothing: it hands the delivery back.

use std::time::Duration;

use ovice_slack_model::UnixMillis;

/// One call per `interval`, up to `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub interval: Duration,
    pub burst: u32,
}

impl Rate {
    /// `calls` per `period`, `burst` at once (at least one). Held at one call per millisecond at
    /// most: the lanes keep milliseconds.
    pub fn new(calls: u32, period: Duration, burst: u32) -> Self {
        let interval = (period / calls.max(1)).max(Duration::from_millis(1));
        Self {
            interval,
            burst: burst.max(1),
        }
    }

    /// How far ahead of now the TAT may be while a call still goes at once.
    fn tolerance(&self) -> Duration {
        self.interval.saturating_mul(self.burst - 1)
    }
}

/// The answer for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The slot is taken: go after `wait`; the lane's TAT becomes `tat`.
    Taken { wait: Duration, tat: UnixMillis },
    /// Not within `max_wait`: the earliest slot is this far away; nothing was taken.
    Busy(Duration),
}

/// Takes the next slot of a lane whose TAT is `tat` (`None`: never used), if it comes within
/// `max_wait` of `now`.
pub fn take_slot(tat: Option<UnixMillis>, now: UnixMillis, rate: Rate, max_wait: Duration) -> Slot {
    let tat = tat.map_or(now, |t| t.max(now));
    let wait = tat.minus(rate.tolerance()).since(now);
    if wait > max_wait {
        return Slot::Busy(wait);
    }
    Slot::Taken {
        wait,
        tat: tat.plus(rate.interval),
    }
}

/// The TAT that keeps a lane closed until `until` (Slack answered 429 with `Retry-After`): the
/// first call after it may go then, and the burst is not refilled before.
pub fn closed_until(until: UnixMillis, rate: Rate) -> UnixMillis {
    until.plus(rate.tolerance())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMillis = UnixMillis::from_millis(1_000_000);
    const SEC: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Takes slots one after another at `now`, as calls that arrive together.
    fn burst(tat: &mut Option<UnixMillis>, now: UnixMillis, rate: Rate, n: usize) -> Vec<Duration> {
        (0..n)
            .map(|_| match take_slot(*tat, now, rate, Duration::from_secs(3600)) {
                Slot::Taken { wait, tat: next } => {
                    *tat = Some(next);
                    wait
                }
                Slot::Busy(w) => panic!("busy {w:?}"),
            })
            .collect()
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let rate = Rate::new(1, SEC, 2);
        let mut tat = None;
        assert_eq!(
            burst(&mut tat, T0, rate, 4),
            vec![ms(0), ms(0), ms(1_000), ms(2_000)]
        );
        // Idle for long enough, the burst is back.
        assert_eq!(burst(&mut tat, T0.plus(ms(10_000)), rate, 2), vec![ms(0), ms(0)]);
    }

    #[test]
    fn a_wait_beyond_the_limit_takes_nothing() {
        let rate = Rate::new(50, Duration::from_secs(60), 1);
        let tat = Some(T0.plus(ms(5_000)));
        assert_eq!(take_slot(tat, T0, rate, SEC), Slot::Busy(ms(5_000)));
        assert_eq!(
            take_slot(tat, T0.plus(ms(4_500)), rate, SEC),
            Slot::Taken {
                wait: ms(500),
                tat: T0.plus(ms(6_200))
            }
        );
    }

    #[test]
    fn a_closed_lane_opens_when_slack_said() {
        let rate = Rate::new(1, SEC, 3);
        let tat = Some(closed_until(T0.plus(ms(30_000)), rate));
        assert_eq!(take_slot(tat, T0, rate, SEC), Slot::Busy(ms(30_000)));
        let mut tat = tat;
        // Then one at a time: the burst was not refilled while closed.
        assert_eq!(
            burst(&mut tat, T0.plus(ms(30_000)), rate, 2),
            vec![ms(0), ms(1_000)]
        );
    }

    #[test]
    fn rates_are_held_to_what_milliseconds_can_keep() {
        assert_eq!(Rate::new(50, Duration::from_secs(60), 50).interval, ms(1_200));
        assert_eq!(Rate::new(5_000, SEC, 0).interval, ms(1));
        assert_eq!(
            Rate::new(0, SEC, 0),
            Rate {
                interval: SEC,
                burst: 1
            }
        );
    }
}
