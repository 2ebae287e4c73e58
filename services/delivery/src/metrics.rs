//! Deliveries by outcome and skip reason, accept-to-Slack latency, outbox depth and the age of the
//! oldest pending delivery, on the process's OpenTelemetry meter (Prometheus text on `/metrics`,
//! OTLP when configured). Slack calls by method and status are counted by the Slack client.

use std::sync::OnceLock;

use opentelemetry::{
    KeyValue, global,
    metrics::{Counter, Gauge, Histogram},
};

use crate::domain::{DeliveryMode, SkipReason};

struct Instruments {
    enqueued: Counter<u64>,
    outcomes: Counter<u64>,
    latency: Histogram<f64>,
    pending: Gauge<u64>,
    oldest_pending: Gauge<f64>,
    ambiguous: Counter<u64>,
    circuit: Counter<u64>,
    circuits_open: Gauge<u64>,
    changes: Counter<u64>,
    slack_changes: Counter<u64>,
}

// Built on first use, after the binary has installed its meter provider.
fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = global::meter("ovice-slack");
        Instruments {
            slack_changes: meter
                .u64_counter("ovice_slack_slack_message_changes")
                .with_description(
                    "Updates and deletes of sent messages in Slack, by change (update, delete) and outcome (done, refused, retried, gave_up)",
                )
                .build(),
            changes: meter
                .u64_counter("ovice_slack_message_changes")
                .with_description(
                    "Changes to published messages reported by the platform, by kind (edit, delete, read) and result (applied, unchanged, no_delivery)",
                )
                .build(),
            enqueued: meter
                .u64_counter("ovice_slack_delivery_enqueued")
                .with_description("Chat messages enqueued, by disposition (accepted, duplicate, skipped) and skip reason")
                .build(),
            outcomes: meter
                .u64_counter("ovice_slack_delivery_outcomes")
                .with_description(
                    "Delivery attempts by outcome (sent, skipped, failed, dead, expired, retried, deferred, waiting_for_slack, abandoned), mode and skip reason",
                )
                .build(),
            latency: meter
                .f64_histogram("ovice_slack_delivery_latency")
                .with_unit("s")
                .with_description("Time from accepting a message to its arrival in Slack")
                .build(),
            pending: meter
                .u64_gauge("ovice_slack_outbox_pending")
                .with_description("Deliveries waiting to be sent")
                .build(),
            oldest_pending: meter
                .f64_gauge("ovice_slack_outbox_oldest_pending_age")
                .with_unit("s")
                .with_description("Age of the oldest delivery waiting to be sent")
                .build(),
            ambiguous: meter
                .u64_counter("ovice_slack_delivery_ambiguous_posts")
                .with_description(
                    "Posts Slack may have carried out although the call failed (5xx, reset or timeout after sending), by mode: each may be a duplicate",
                )
                .build(),
            circuit: meter
                .u64_counter("ovice_slack_delivery_circuit_transitions")
                .with_description("Organizations' Slack circuits opened (every call failing) and closed (Slack answers again)")
                .build(),
            circuits_open: meter
                .u64_gauge("ovice_slack_delivery_circuits_open")
                .with_description("Organizations whose deliveries wait for Slack to answer again (this process)")
                .build(),
        }
    })
}

pub(crate) fn slack_change(change: &'static str, outcome: &'static str) {
    instruments().slack_changes.add(
        1,
        &[KeyValue::new("change", change), KeyValue::new("outcome", outcome)],
    );
}

pub(crate) fn change(kind: &'static str, result: &'static str) {
    instruments()
        .changes
        .add(1, &[KeyValue::new("kind", kind), KeyValue::new("result", result)]);
}

pub(crate) fn enqueued(disposition: &'static str, skip: Option<SkipReason>) {
    instruments().enqueued.add(
        1,
        &[
            KeyValue::new("disposition", disposition),
            KeyValue::new("skip_reason", skip.map_or("", SkipReason::as_str)),
        ],
    );
}

pub(crate) fn outcome(outcome: &'static str, mode: Option<DeliveryMode>, skip: Option<SkipReason>) {
    outcomes(outcome, mode, skip, 1);
}

pub(crate) fn outcomes(
    outcome: &'static str,
    mode: Option<DeliveryMode>,
    skip: Option<SkipReason>,
    count: u64,
) {
    instruments().outcomes.add(
        count,
        &[
            KeyValue::new("outcome", outcome),
            KeyValue::new("mode", mode.map_or("", DeliveryMode::as_str)),
            KeyValue::new("skip_reason", skip.map_or("", SkipReason::as_str)),
        ],
    );
}

/// How long after it was accepted a message reached Slack.
pub(crate) fn sent_after(waited: std::time::Duration) {
    instruments().latency.record(waited.as_secs_f64(), &[]);
}

pub(crate) fn outbox(pending: u64, oldest_age: std::time::Duration) {
    let i = instruments();
    i.pending.record(pending, &[]);
    i.oldest_pending.record(oldest_age.as_secs_f64(), &[]);
}

/// A post whose outcome Slack left unknown.
pub(crate) fn ambiguous(mode: Option<DeliveryMode>) {
    instruments()
        .ambiguous
        .add(1, &[KeyValue::new("mode", mode.map_or("", DeliveryMode::as_str))]);
}

pub(crate) fn circuit(transition: &'static str) {
    instruments()
        .circuit
        .add(1, &[KeyValue::new("transition", transition)]);
}

pub(crate) fn circuits_open(count: u64) {
    instruments().circuits_open.record(count, &[]);
}
