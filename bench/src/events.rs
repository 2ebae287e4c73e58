//! `ovice-slack-bench events`: does `POST /slack/events` answer within Slack's 3 seconds when Slack
//! sends a lot at once? A closed loop of signed `tokens_revoked` events (each a new event id, so each
//! is checked, parsed and stored, and the worker acts on it meanwhile) against the baseline measured
//! in the same run on the same server: the same requests with a wrong signature, which cost the HTTP
//! stack and the HMAC but no parse, no insert and no work.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use futures::FutureExt;
use secrecy::{ExposeSecret, SecretString};
use slack_emulator::{DEMO_SIGNING_SECRET, events::sign};

use crate::{
    load::{CallFn, closed_loop},
    office::{self, ServeConfig},
    slack::{self, SlackProcess},
};

/// Slack's deadline for an answer.
const SLACK_WAITS: Duration = Duration::from_secs(3);

pub struct Experiment {
    pub postgres: bool,
    pub concurrency: usize,
    pub measure: Duration,
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn caller(url: String, round: &'static str, secret: &'static str, expect: u16) -> CallFn {
    let client = reqwest::Client::new();
    Arc::new(move |n| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let body = serde_json::json!({
                "token": "x", "team_id": "T0ACME", "api_app_id": "A0OVICE", "type": "event_callback",
                "event_id": format!("Ev{round}{n:09}"), "event_time": unix_now(),
                "event": {"type": "tokens_revoked", "tokens": {"oauth": [format!("U{n:08}")], "bot": []}},
            })
            .to_string();
            let at = unix_now();
            let answer = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-slack-request-timestamp", at.to_string())
                .header("x-slack-signature", sign(secret, at, body.as_bytes()))
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = answer.status().as_u16();
            if status == expect {
                Ok(())
            } else {
                Err(format!("HTTP {status}"))
            }
        }
        .boxed()
    })
}

pub async fn run(bin: &std::path::Path, e: Experiment) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("ovice-slack-events-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work)?;
    let result = run_in(bin, &e, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn run_in(bin: &std::path::Path, e: &Experiment, work: &std::path::Path) -> anyhow::Result<()> {
    let slack = SlackProcess::start(&slack::binary_beside(bin), &office::seed(10), work).await?;
    let url = if e.postgres {
        ovice_slack_runtime::test_support::fresh_postgres_database().await?
    } else {
        SecretString::from(format!("sqlite://{}/ovice-slack.db", work.display()))
    };
    let config = ServeConfig {
        bin: bin.to_owned(),
        dir: work.to_owned(),
        database_url: url.expose_secret().to_owned(),
        // The defaults otherwise; the signing secret is the emulator's demo app's.
        extra: vec!["--slack-signing-secret".into(), DEMO_SIGNING_SECRET.into()],
    };
    let server = office::start_server(&config, &slack, "events").await?;
    let endpoint = format!("http://{}/slack/events", server.http);
    let backend = if e.postgres { "PostgreSQL" } else { "SQLite" };
    println!(
        "POST /slack/events, {} requests in flight, {backend}",
        e.concurrency
    );
    for (label, secret, expect) in [
        ("baseline: refused (401)", "not the signing secret", 401),
        ("signed and stored (200)", DEMO_SIGNING_SECRET, 200),
    ] {
        let round = if expect == 200 { "S" } else { "R" };
        let call = caller(endpoint.clone(), round, secret, expect);
        let m = closed_loop(call, e.concurrency, Duration::from_secs(1), e.measure).await;
        let over = m.latency.count_between(
            u64::try_from(SLACK_WAITS.as_micros()).unwrap_or(u64::MAX),
            u64::MAX,
        );
        println!(
            "{label:>24}: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, over 3 s: {over}, errors {:?}",
            m.rate(),
            m.ms(0.5),
            m.ms(0.99),
            m.latency.max() as f64 / 1000.0,
            m.errors
        );
    }
    let pending = server
        .metric("ovice_slack_events_total", Some("outcome=\"stored\""))
        .await
        .context("reading /metrics")?;
    println!("events stored: {pending:.0}");
    server.process.kill();
    slack.stop().await;
    Ok(())
}
