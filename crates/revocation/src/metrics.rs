//! Revocations by kind of token and outcome, on the process's meter (`/metrics`), so that tokens left
//! alive at Slack show on a dashboard, not only in the logs.

use std::sync::OnceLock;

use opentelemetry::{KeyValue, metrics::Counter};

use crate::TokenKind;

/// What became of a queued token (or of one attempt at it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Queued,
    Revoked,
    AlreadyDead,
    Retried,
    GaveUp,
    Unopenable,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Queued => "queued",
            Outcome::Revoked => "revoked",
            Outcome::AlreadyDead => "already_dead",
            Outcome::Retried => "retried",
            Outcome::GaveUp => "gave_up",
            Outcome::Unopenable => "unopenable",
        }
    }
}

// Built on first use, after the binary has installed its meter provider.
fn counter() -> &'static Counter<u64> {
    static COUNTER: OnceLock<Counter<u64>> = OnceLock::new();
    COUNTER.get_or_init(|| {
        ovice_slack_runtime::metrics::meter()
            .u64_counter("ovice_slack_token_revocations")
            .with_description(
                "Dropped Slack tokens by kind (user, bot) and outcome (queued, revoked, already_dead, retried, gave_up, unopenable)",
            )
            .build()
    })
}

pub(crate) fn record(kind: TokenKind, outcome: Outcome) {
    counter().add(
        1,
        &[
            KeyValue::new("kind", kind.as_str()),
            KeyValue::new("outcome", outcome.as_str()),
        ],
    );
}
