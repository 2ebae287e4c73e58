//! Fault injection: the next N calls (optionally of one method) misbehave in a chosen way, plus a
//! probabilistic "chaos" mode for soak tests.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// How a call misbehaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this HTTP status (e.g. 500, 502, 503) and a small non-Slack body.
    HttpStatus { status: u16 },
    /// HTTP 200 with `{"ok":false,"error":<error>}`, e.g. `internal_error`, `fatal_error`.
    SlackError { error: String },
    /// HTTP 429 with `Retry-After: <retry_after_secs>`; `None` leaves the header out.
    RateLimited {
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Wait this long, then answer normally. With `after_work` the work is done at once and only
    /// the answer waits: a stall past the client's timeout leaves the message posted unseen.
    Delay { millis: u64 },
    /// Close the connection without answering.
    Drop,
}

/// One injected fault: applies to the next `count` calls of `method` (any method when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default = "one")]
    pub count: u32,
    pub kind: FaultKind,
    /// Do the call's work first (post the message, revoke the token…), then fail: the answer a
    /// client gets says nothing of what Slack did, as with a real 5xx, reset or timeout.
    #[serde(default)]
    pub after_work: bool,
}

fn one() -> u32 {
    1
}

impl Fault {
    pub fn next(kind: FaultKind) -> Fault {
        Fault {
            method: None,
            count: 1,
            kind,
            after_work: false,
        }
    }

    /// The fault hits after the work is done (see [`Fault::after_work`]).
    pub fn after_work(mut self) -> Fault {
        self.after_work = true;
        self
    }

    pub fn times(mut self, count: u32) -> Fault {
        self.count = count;
        self
    }

    pub fn on(mut self, method: &str) -> Fault {
        self.method = Some(method.to_owned());
        self
    }
}

/// Probabilistic misbehaviour for soak tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Chaos {
    /// Percentage (0–100) of calls answered with HTTP 503.
    #[serde(default)]
    pub error_percent: f64,
    /// Each call waits a uniformly random 0..=max milliseconds first.
    #[serde(default)]
    pub max_extra_latency_ms: u64,
}

/// The pending faults and the chaos setting.
#[derive(Debug, Default)]
pub struct FaultPlan {
    queue: Vec<Fault>,
    pub chaos: Chaos,
}

/// What to do with one call: wait first, then maybe misbehave.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FaultDecision {
    pub delay: Duration,
    pub kind: Option<FaultKind>,
    /// Misbehave only after the call's work is done.
    pub after_work: bool,
    /// Wait this long after the work, before answering (a `Delay` fault `after_work`).
    pub delay_after_work: Duration,
}

impl FaultPlan {
    pub fn push(&mut self, fault: Fault) {
        if fault.count > 0 {
            self.queue.push(fault);
        }
    }

    pub fn clear(&mut self) {
        self.queue.clear();
        self.chaos = Chaos::default();
    }

    pub fn pending(&self) -> &[Fault] {
        &self.queue
    }

    /// Consumes the first fault matching `method` (queued faults before chaos).
    pub fn decide(&mut self, method: &str) -> FaultDecision {
        let mut decision = FaultDecision::default();
        if let Some(pos) = self
            .queue
            .iter()
            .position(|f| f.method.as_deref().is_none_or(|m| m == method))
        {
            let fault = &mut self.queue[pos];
            fault.count = fault.count.saturating_sub(1);
            let kind = fault.kind.clone();
            decision.after_work = fault.after_work;
            if fault.count == 0 {
                self.queue.remove(pos);
            }
            match kind {
                FaultKind::Delay { millis } if decision.after_work => {
                    decision.delay_after_work = Duration::from_millis(millis);
                }
                FaultKind::Delay { millis } => decision.delay = Duration::from_millis(millis),
                other => decision.kind = Some(other),
            }
        }
        let chaos = self.chaos;
        let mut rng = rand::rng();
        if chaos.max_extra_latency_ms > 0 {
            decision.delay += Duration::from_millis(rng.random_range(0..=chaos.max_extra_latency_ms));
        }
        if decision.kind.is_none()
            && chaos.error_percent > 0.0
            && rng.random_range(0.0..100.0) < chaos.error_percent
        {
            decision.kind = Some(FaultKind::HttpStatus { status: 503 });
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_to_matching_methods_in_order_and_run_out() {
        let mut plan = FaultPlan::default();
        plan.push(
            Fault::next(FaultKind::HttpStatus { status: 500 })
                .on("chat.postMessage")
                .times(2),
        );
        plan.push(Fault::next(FaultKind::Drop));
        assert_eq!(plan.decide("auth.test").kind, Some(FaultKind::Drop));
        assert_eq!(plan.decide("auth.test").kind, None);
        assert_eq!(
            plan.decide("chat.postMessage").kind,
            Some(FaultKind::HttpStatus { status: 500 })
        );
        assert_eq!(
            plan.decide("chat.postMessage").kind,
            Some(FaultKind::HttpStatus { status: 500 })
        );
        assert_eq!(plan.decide("chat.postMessage").kind, None);
    }

    #[test]
    fn delay_fault_delays_without_failing() {
        let mut plan = FaultPlan::default();
        plan.push(Fault::next(FaultKind::Delay { millis: 250 }));
        assert_eq!(
            plan.decide("x"),
            FaultDecision {
                delay: Duration::from_millis(250),
                kind: None,
                after_work: false,
                delay_after_work: Duration::ZERO,
            }
        );
        // After the work: the call is done at once, its answer stalls.
        plan.push(Fault::next(FaultKind::Delay { millis: 900 }).after_work());
        assert_eq!(
            plan.decide("x"),
            FaultDecision {
                delay: Duration::ZERO,
                kind: None,
                after_work: true,
                delay_after_work: Duration::from_millis(900),
            }
        );
    }

    #[test]
    fn full_chaos_fails_every_call() {
        let mut plan = FaultPlan {
            chaos: Chaos {
                error_percent: 100.0,
                max_extra_latency_ms: 0,
            },
            ..Default::default()
        };
        for _ in 0..20 {
            assert_eq!(plan.decide("x").kind, Some(FaultKind::HttpStatus { status: 503 }));
        }
    }

    #[test]
    fn fault_json_shape() {
        let fault: Fault = serde_json::from_str(
            r#"{"method":"users.info","count":3,"kind":{"type":"rate_limited","retry_after_secs":7}}"#,
        )
        .unwrap();
        assert_eq!(
            fault,
            Fault::next(FaultKind::RateLimited {
                retry_after_secs: Some(7)
            })
            .on("users.info")
            .times(3)
        );
    }
}
