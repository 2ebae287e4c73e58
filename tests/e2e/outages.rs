//! Outages: Slack unreachable, or answering 503, for thirty minutes, then back — every accepted
//! message is delivered once, in order per person, none DEAD or EXPIRED, and the recovery stays
//! within Slack's rate limits. PostgreSQL restarted under load — the services recover on their own.

use std::{
    collections::{BTreeMap, HashMap},
    process::Command,
    time::{Duration, Instant},
};

use ovice_slack_proto::v1::{
    DeliveryStatus, Disposition, GetDeliveryRequest, PublishChatMessageRequest,
    chat_event_service_client::ChatEventServiceClient, delivery_service_client::DeliveryServiceClient,
};
use ovice_slack_runtime::test_support::eventually;
use secrecy::SecretString;
use slack_emulator::{Emulator, EmulatorHandle, Fault, FaultKind, RateLimitConfig};

use crate::{
    delivery::{message, person, to},
    delivery_processes::{
        REDIRECT, common_args, metric, posted_by_channel, recipient, scrape, seed, set_up_org, start, users,
        wait_delivered, with_default_pacing,
    },
    support::process::channel,
    support::{Who, server::TEST_CLIENT_ID, tokens::authed},
};

/// How long each Slack outage lasts: 30 minutes, as long as Slack's incidents run.
/// `OVICE_SLACK_OUTAGE_MINUTES` shortens it for a quick local run (e.g. 1).
fn outage_length() -> Duration {
    let minutes = std::env::var("OVICE_SLACK_OUTAGE_MINUTES")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|m| m.is_finite() && *m > 0.0)
        .unwrap_or(30.0);
    Duration::from_secs_f64(minutes * 60.0)
}

#[derive(Clone, Copy, Debug)]
enum Outage {
    /// Nothing listens at Slack's address: every call is refused.
    Unreachable,
    /// Slack answers every call with HTTP 503.
    ServiceUnavailable,
}

/// Both outages at once (each with its own Slack, process and database), so the test lasts one
/// outage, not two.
#[tokio::test(flavor = "multi_thread")]
async fn a_thirty_minute_slack_outage_loses_no_message_and_recovery_stays_within_slacks_limits() {
    let length = outage_length();
    tokio::join!(
        outage_then_recovery(Outage::Unreachable, length),
        outage_then_recovery(Outage::ServiceUnavailable, length),
    );
}

/// Every flag as a user runs it, but the retry cap (and so the longest wait between two probes)
/// at one minute instead of five, so recovery shows within the test.
fn default_pacing_args(db: &SecretString, slack: &EmulatorHandle) -> Vec<String> {
    let mut args = with_default_pacing(common_args(db, slack));
    args.extend(["--delivery-retry-cap", "60"].map(str::to_owned));
    args
}

async fn outage_then_recovery(kind: Outage, length: Duration) {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let addr = slack.local_addr();
    let dir = tempfile::tempdir().unwrap();
    let db = SecretString::from(format!("sqlite://{}/ovice-slack.db", dir.path().display()));
    let process = start(&["--target", "all"], &default_pacing_args(&db, &slack), &[]);
    set_up_org(&process, &users(), true).await;
    // Slack's own limits from here on: the recovery must not burst past them.
    let limits = RateLimitConfig {
        enabled: true,
        scale: 1.0,
    };
    slack.set_rate_limits(limits);

    // Thirty messages to one person (paced at one a second into one DM) and five to each of twelve
    // others, all bot DMs (the bot token is the seed's, so it survives the emulator's restart).
    let mut per_person: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ids = Vec::new();
    for k in 0..30 {
        ids.push((recipient(0), format!("a{k:02}")));
    }
    for k in 0..5 {
        for r in 1..=12 {
            ids.push((recipient(r), format!("b{r:02}-{k}")));
        }
    }
    let slack = match kind {
        Outage::Unreachable => {
            slack.shutdown().await;
            None
        }
        Outage::ServiceUnavailable => {
            slack.inject_fault(Fault::next(FaultKind::HttpStatus { status: 503 }).times(u32::MAX));
            Some(slack)
        }
    };
    let mut gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    let (first, second) = ids.split_at(ids.len() / 2);
    let half = length / 2;
    for (batch, wait_after) in [(first, half), (second, length - half)] {
        for (to_whom, id) in batch {
            let m = message(id, person("carol"), vec![to(to_whom)], &format!("[{id}] hi"));
            let r = gateway
                .publish_chat_message(authed(
                    PublishChatMessageRequest {
                        message: Some(m),
                        change: None,
                    },
                    &Who::Platform,
                ))
                .await
                .unwrap();
            assert_eq!(r.get_ref().disposition, Disposition::Accepted as i32);
            per_person.entry(to_whom.clone()).or_default().push(id.clone());
        }
        // The outage itself: there is no condition to wait for, only time to let pass.
        tokio::time::sleep(wait_after).await;
    }
    let probes = slack.as_ref().map_or(0, |s| {
        s.calls()
            .iter()
            .filter(|c| c.method == "chat.postMessage")
            .count()
    });

    // Slack is back.
    let slack = match slack {
        None => {
            let slack = Emulator::bind(seed(), addr).await.unwrap();
            slack.set_rate_limits(limits);
            slack
        }
        Some(slack) => {
            slack.clear_faults();
            slack.clear_calls();
            slack
        }
    };
    let back = Instant::now();
    let all: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    // One probe wait (at most a minute) and thirty messages into one DM at one a second.
    let counts = wait_delivered(&slack, &all, Duration::from_secs(60 + 30 + 60)).await;
    let drained = back.elapsed();
    assert!(
        counts.values().all(|c| *c == 1),
        "{kind:?}: duplicates: {counts:?}"
    );
    let limited = slack.calls().iter().filter(|c| c.status == 429).count();
    assert_eq!(limited, 0, "{kind:?}: the recovery went past Slack's limits");

    // In order per person: each DM holds one person's messages, in the order they were published.
    let whose: HashMap<&str, &str> = ids.iter().map(|(p, id)| (id.as_str(), p.as_str())).collect();
    let by_channel = posted_by_channel(&slack);
    assert_eq!(by_channel.len(), per_person.len(), "{kind:?}: one DM per person");
    for got in by_channel.into_values() {
        let person = whose[got[0].as_str()];
        assert_eq!(
            got, per_person[person],
            "{kind:?}: {person}'s messages out of order"
        );
    }

    // None ended DEAD or EXPIRED; every delivery is recorded SENT.
    let deliveries = DeliveryServiceClient::new(channel(&process.grpc_addr).await);
    let mut max_attempts = 0;
    for id in &all {
        let d = eventually(&format!("{id} is recorded SENT"), Duration::from_secs(10), || {
            let mut deliveries = deliveries.clone();
            async move {
                let d = deliveries
                    .get_delivery(authed(
                        GetDeliveryRequest {
                            org_id: "org-1".into(),
                            message_id: id.clone(),
                        },
                        &Who::Operator,
                    ))
                    .await
                    .unwrap()
                    .into_inner();
                assert!(
                    d.status != DeliveryStatus::Dead as i32 && d.status != DeliveryStatus::Expired as i32,
                    "{kind:?}: {id} ended {:?}: {}",
                    d.status(),
                    d.last_error
                );
                (d.status == DeliveryStatus::Sent as i32).then_some(d)
            }
        })
        .await;
        max_attempts = max_attempts.max(d.attempts);
    }
    // The circuit opened and closed; the outage cost probes, not every message's attempts.
    let scraped = scrape(&process).await;
    let opened = metric(&scraped, "ovice_slack_delivery_circuit_transitions", &["opened"]);
    let closed = metric(&scraped, "ovice_slack_delivery_circuit_transitions", &["closed"]);
    assert!(
        opened >= 1.0 && closed >= 1.0,
        "{kind:?}: circuit opened {opened}, closed {closed}"
    );
    eprintln!(
        "{kind:?} for {length:?}: {} messages delivered {drained:?} after recovery, {probes} posts \
         during the outage, most attempts of one delivery {max_attempts}",
        all.len()
    );
    if let Outage::ServiceUnavailable = kind {
        // Five failures open it, then one probe per wait (half to all of 1 s, 2 s … 60 s): about
        // one a minute once grown. Without the circuit, 13 conversations would each retry about
        // every 30 s: 26 calls a minute.
        let bound = 5 + 12 + (length.as_secs() / 30) as usize;
        assert!(
            probes <= bound,
            "{probes} posts during a {length:?} outage (bound {bound})"
        );
    }
    process.stop();
    slack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_under_load_recovers_on_its_own() {
    // A PostgreSQL of this test's own, so restarting it disturbs no other test.
    let pg_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/postgres.sh");
    let started = Command::new(script)
        .args(["start", pg_dir.path().to_str().unwrap(), &port.to_string()])
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let pg_bin = || {
        let out = Command::new("sh")
            .args(["-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let pg_ctl = |action: &str| {
        let data = pg_dir.path().join("data");
        let status = Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                &format!("{}/pg_ctl", pg_bin()),
                "-D",
                data.to_str().unwrap(),
                "-w",
                "-m",
                "fast",
                action,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl {action}");
    };

    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let db = SecretString::from(format!("postgres://postgres@127.0.0.1:{port}/postgres"));
    let process = start(&["--target", "all"], &common_args(&db, &slack), &[]);
    set_up_org(&process, &users(), true).await;

    let gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    let publisher = tokio::spawn(async move {
        let mut gateway = gateway;
        let mut ids = Vec::new();
        let mut refused = 0;
        for i in 0..300 {
            let id = format!("r{i:03}");
            // The platform retries what fails; here, until it is accepted.
            loop {
                let m = message(
                    &id,
                    person("carol"),
                    vec![to(&recipient(i))],
                    &format!("[{id}] hi"),
                );
                match gateway
                    .publish_chat_message(authed(
                        PublishChatMessageRequest {
                            message: Some(m),
                            change: None,
                        },
                        &Who::Platform,
                    ))
                    .await
                {
                    Ok(r) if r.get_ref().disposition != Disposition::Skipped as i32 => break,
                    Ok(r) => panic!("{r:?}"),
                    Err(s) => {
                        assert_eq!(s.code(), tonic::Code::Unavailable, "{s:?}");
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            ids.push(id);
        }
        (ids, refused)
    });
    // Restart PostgreSQL in the middle of the publishing.
    let deadline = Instant::now() + Duration::from_secs(20);
    while slack.messages().len() < 20 {
        assert!(Instant::now() < deadline, "nothing delivered before the restart");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pg_ctl("restart");
    let (ids, refused) = publisher.await.unwrap();
    let counts = wait_delivered(&slack, &ids, Duration::from_secs(60)).await;
    eprintln!(
        "postgres restart: {refused} publishes refused (UNAVAILABLE) during the restart, all 300 delivered"
    );
    assert!(counts.values().all(|c| *c == 1), "{counts:?}");
    process.stop();
    pg_ctl("stop");
    slack.shutdown().await;
}
