//! Events by endpoint and outcome, on the process's meter (`/metrics`), so that a forged flood, a
//! stuck event or a wrong signing secret shows on a dashboard, not only in the logs.

use std::sync::OnceLock;

use opentelemetry::{KeyValue, metrics::Counter};

/// What became of a request to an Events endpoint, or of one attempt at an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored, new.
    Stored,
    /// Already stored: a retry of Slack's, acknowledged and not acted on again.
    Duplicate,
    /// Not believed (signature or timestamp): 401.
    Refused,
    /// Signed, but not a body Slack sends: 400.
    Malformed,
    /// Could not be stored: 503, Slack retries.
    Unstored,
    Acted,
    Retried,
    GaveUp,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::Refused => "refused",
            Outcome::Malformed => "malformed",
            Outcome::Unstored => "unstored",
            Outcome::Acted => "acted",
            Outcome::Retried => "retried",
            Outcome::GaveUp => "gave_up",
        }
    }
}

// Built on first use, after the binary has installed its meter provider.
fn counter() -> &'static Counter<u64> {
    static COUNTER: OnceLock<Counter<u64>> = OnceLock::new();
    COUNTER.get_or_init(|| {
        ovice_slack_runtime::metrics::meter()
            .u64_counter("ovice_slack_events")
            .with_description(
                "Slack Events API requests and events by endpoint (connect, org) and outcome (stored, duplicate, refused, malformed, unstored, acted, retried, gave_up)",
            )
            .build()
    })
}

pub(crate) fn record(receiver: &'static str, outcome: Outcome) {
    counter().add(
        1,
        &[
            KeyValue::new("endpoint", receiver),
            KeyValue::new("outcome", outcome.as_str()),
        ],
    );
}
