//! Slack calls by method and outcome, and their latency, on the process's OpenTelemetry meter.

use std::{sync::OnceLock, time::Duration};

use opentelemetry::{
    KeyValue, global,
    metrics::{Counter, Histogram},
};

use crate::SlackError;

struct Instruments {
    calls: Counter<u64>,
    rate_limited: Counter<u64>,
    duration: Histogram<f64>,
}

// Built on first use, after the binary has installed its meter provider.
fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = global::meter("ovice-slack");
        Instruments {
            calls: meter
                .u64_counter("ovice_slack_slack_calls")
                .with_description("Slack Web API calls by method and outcome (ok, a Slack error code, rate_limited, unavailable)")
                .build(),
            rate_limited: meter
                .u64_counter("ovice_slack_slack_rate_limited")
                .with_description("HTTP 429 answers from Slack, by method")
                .build(),
            duration: meter
                .f64_histogram("ovice_slack_slack_call_duration")
                .with_unit("s")
                .with_description("Duration of Slack Web API calls")
                .build(),
        }
    })
}

pub(crate) fn record<T>(method: &'static str, result: &Result<T, SlackError>, elapsed: Duration) {
    let outcome = match result {
        Ok(_) => "ok".to_owned(),
        Err(SlackError::Api { code, .. }) => code.clone(),
        Err(SlackError::RateLimited { .. }) => "rate_limited".to_owned(),
        Err(SlackError::Unavailable { .. }) => "unavailable".to_owned(),
        Err(SlackError::Protocol { .. }) => "protocol_error".to_owned(),
        Err(SlackError::Config(_)) => "config_error".to_owned(),
    };
    let i = instruments();
    let method_kv = KeyValue::new("method", method);
    i.calls
        .add(1, &[method_kv.clone(), KeyValue::new("outcome", outcome)]);
    if matches!(result, Err(SlackError::RateLimited { .. })) {
        i.rate_limited.add(1, std::slice::from_ref(&method_kv));
    }
    i.duration.record(elapsed.as_secs_f64(), &[method_kv]);
}
