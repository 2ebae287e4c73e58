//! A circuit per organization's Slack workspace, so that an outage costs one probe per wait rather
//! than an attempt of every waiting message.
//!
//! ```text
//! CLOSED ── `opens_after` transient failures in a row ──► OPEN (wait, doubling to `max_wait`)
//!    ▲                                                     │ the wait is over
//!    │                                                     ▼
//!    └──────── a call Slack answered ◄──────────── one PROBE delivery is let through
//!                                                          │ it fails too: OPEN, a longer wait
//! ```
//!
//! Any answer from Slack (sent, refused, rate-limited) closes the circuit: Slack is up. The state
//! is per process; each replica learns of an outage by itself and probes on its own.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitPolicy {
    /// Transient failures in a row that open the circuit.
    pub opens_after: u32,
    /// The wait of the first open round; each failed probe doubles it.
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// How long the others wait while a probe is out (a Slack call's timeout and a margin).
    pub probe_wait: Duration,
}

/// May a delivery of this org call Slack now?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Go,
    /// Go, as the probe: its outcome decides whether the circuit closes.
    Probe,
    /// Not before this long; no attempt is counted.
    Wait(Duration),
}

/// What a call to Slack told about Slack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Slack answered (whatever it said).
    Answered,
    /// A transient failure: unreachable, 5xx, timeout, reset.
    Failed,
    /// No call reached Slack (pacing, a peer service down, shutdown).
    Untested,
}

/// What an observation changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    None,
    Opened,
    Closed,
}

#[derive(Clone, Debug, Default)]
pub struct Circuit {
    failures_in_row: u32,
    open: Option<Open>,
}

#[derive(Clone, Copy, Debug)]
struct Open {
    until: Instant,
    round: u32,
    probing: bool,
}

impl Circuit {
    pub fn admit(&mut self, now: Instant, policy: &CircuitPolicy) -> Admission {
        let Some(open) = &mut self.open else {
            return Admission::Go;
        };
        if now < open.until {
            return Admission::Wait(open.until - now);
        }
        if open.probing {
            return Admission::Wait(policy.probe_wait);
        }
        open.probing = true;
        Admission::Probe
    }

    /// `unit` in `[0, 1)` spreads the waits of many orgs apart.
    pub fn observe(
        &mut self,
        health: Health,
        probe: bool,
        now: Instant,
        policy: &CircuitPolicy,
        unit: f64,
    ) -> Transition {
        match health {
            Health::Answered => {
                self.failures_in_row = 0;
                if self.open.take().is_some() {
                    Transition::Closed
                } else {
                    Transition::None
                }
            }
            Health::Failed => {
                self.failures_in_row = self.failures_in_row.saturating_add(1);
                match &mut self.open {
                    Some(open) if probe => {
                        open.round = open.round.saturating_add(1);
                        open.until = now + wait(policy, open.round, unit);
                        open.probing = false;
                        Transition::None
                    }
                    // A call that began before the circuit opened: already counted as open.
                    Some(_) => Transition::None,
                    None if self.failures_in_row >= policy.opens_after.max(1) => {
                        self.open = Some(Open {
                            until: now + wait(policy, 0, unit),
                            round: 0,
                            probing: false,
                        });
                        Transition::Opened
                    }
                    None => Transition::None,
                }
            }
            Health::Untested => {
                if probe && let Some(open) = &mut self.open {
                    // The probe never reached Slack: the next delivery probes instead.
                    open.probing = false;
                }
                Transition::None
            }
        }
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// How long until the next probe may go (zero when closed or due).
    pub fn wait_left(&self, now: Instant) -> Duration {
        self.open
            .map_or(Duration::ZERO, |o| o.until.saturating_duration_since(now))
    }
}

/// Half the bound plus a random half: waits grow, and orgs do not probe in step.
fn wait(policy: &CircuitPolicy, round: u32, unit: f64) -> Duration {
    let bound = policy
        .first_wait
        .saturating_mul(1u32 << round.min(30))
        .min(policy.max_wait);
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    bound / 2 + (bound / 2).mul_f64(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: CircuitPolicy = CircuitPolicy {
        opens_after: 3,
        first_wait: Duration::from_secs(2),
        max_wait: Duration::from_secs(16),
        probe_wait: Duration::from_secs(11),
    };

    fn fail(c: &mut Circuit, probe: bool, now: Instant) -> Transition {
        c.observe(Health::Failed, probe, now, &POLICY, 0.999_999)
    }

    #[test]
    fn failures_in_a_row_open_it_and_an_answer_in_between_does_not() {
        let t = Instant::now();
        let mut c = Circuit::default();
        assert_eq!(fail(&mut c, false, t), Transition::None);
        assert_eq!(fail(&mut c, false, t), Transition::None);
        assert_eq!(
            c.observe(Health::Answered, false, t, &POLICY, 0.5),
            Transition::None
        );
        assert_eq!(fail(&mut c, false, t), Transition::None);
        assert_eq!(fail(&mut c, false, t), Transition::None);
        assert_eq!(c.admit(t, &POLICY), Admission::Go);
        assert_eq!(fail(&mut c, false, t), Transition::Opened);
        assert!(
            matches!(c.admit(t, &POLICY), Admission::Wait(w) if w <= Duration::from_secs(2) && w >= Duration::from_secs(1))
        );
    }

    #[test]
    fn one_probe_at_a_time_and_its_failure_doubles_the_wait() {
        let t = Instant::now();
        let mut c = Circuit::default();
        for _ in 0..3 {
            fail(&mut c, false, t);
        }
        let due = t + Duration::from_secs(2);
        assert_eq!(c.admit(due, &POLICY), Admission::Probe);
        assert_eq!(c.admit(due, &POLICY), Admission::Wait(POLICY.probe_wait));
        // A call that was in flight when it opened changes nothing.
        assert_eq!(fail(&mut c, false, due), Transition::None);
        assert_eq!(c.admit(due, &POLICY), Admission::Wait(POLICY.probe_wait));
        assert_eq!(fail(&mut c, true, due), Transition::None);
        let left = c.wait_left(due);
        assert!(
            left > Duration::from_secs(3) && left <= Duration::from_secs(4),
            "{left:?}"
        );
        // Rounds double up to the cap.
        let mut now = due;
        for _ in 0..10 {
            now += c.wait_left(now);
            assert_eq!(c.admit(now, &POLICY), Admission::Probe);
            fail(&mut c, true, now);
        }
        assert!(c.wait_left(now) <= Duration::from_secs(16));
        assert!(c.wait_left(now) >= Duration::from_secs(15));
    }

    #[test]
    fn an_answer_closes_it_and_an_untested_probe_hands_the_turn_on() {
        let t = Instant::now();
        let mut c = Circuit::default();
        for _ in 0..3 {
            fail(&mut c, false, t);
        }
        let due = t + Duration::from_secs(2);
        assert_eq!(c.admit(due, &POLICY), Admission::Probe);
        assert_eq!(
            c.observe(Health::Untested, true, due, &POLICY, 0.5),
            Transition::None
        );
        assert_eq!(c.admit(due, &POLICY), Admission::Probe);
        assert_eq!(
            c.observe(Health::Answered, true, due, &POLICY, 0.5),
            Transition::Closed
        );
        assert!(!c.is_open());
        assert_eq!(c.admit(due, &POLICY), Admission::Go);
        assert_eq!(c.wait_left(due), Duration::ZERO);
    }
}
