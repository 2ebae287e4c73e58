//! This process's circuits, one per organization (see `domain::circuit`), and their metrics.

use std::{collections::HashMap, sync::Mutex, time::Instant};

use ovice_slack_model::OrgId;

use crate::{
    domain::{Admission, Circuit, CircuitPolicy, Health, Transition},
    metrics,
};

pub struct Circuits {
    policy: CircuitPolicy,
    by_org: Mutex<HashMap<OrgId, Circuit>>,
}

impl Circuits {
    pub fn new(policy: CircuitPolicy) -> Self {
        Self {
            policy,
            by_org: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, org: &OrgId, f: impl FnOnce(&mut Circuit) -> T) -> T {
        // A panic elsewhere cannot leave a circuit half-changed: every change is one assignment.
        let mut map = self.by_org.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(org.clone()).or_default())
    }

    pub fn admit(&self, org: &OrgId) -> Admission {
        self.with(org, |c| c.admit(Instant::now(), &self.policy))
    }

    pub fn observe(&self, org: &OrgId, health: Health, probe: bool) -> Transition {
        let unit = rand::random::<f64>();
        let transition = self.with(org, |c| {
            c.observe(health, probe, Instant::now(), &self.policy, unit)
        });
        match transition {
            Transition::Opened => {
                tracing::warn!(%org, "Slack fails every call of the organization: its deliveries wait for a probe");
                metrics::circuit("opened");
            }
            Transition::Closed => {
                tracing::info!(%org, "Slack answers again: the organization's deliveries resume");
                metrics::circuit("closed");
            }
            Transition::None => {}
        }
        transition
    }

    pub fn is_open(&self, org: &OrgId) -> bool {
        self.with(org, |c| c.is_open())
    }

    pub fn wait_left(&self, org: &OrgId) -> std::time::Duration {
        self.with(org, |c| c.wait_left(Instant::now()))
    }

    /// Forgets closed circuits (housekeeping) and reports how many are open.
    pub fn prune(&self) {
        let mut map = self.by_org.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, c| c.is_open());
        metrics::circuits_open(map.len() as u64);
    }
}
