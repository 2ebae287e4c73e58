//! Outages: Slack unreachable for a while, then back — every delivery completes, retries back off,
//! and the recovery is not a thundering herd. PostgreSQL restarted under load — the services recover
//! on their own. `OVICE_SLACK_LONG_TESTS=1` makes the Slack outage last three minutes.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use ovice_slack_proto::v1::{
    DeliveryStatus, Disposition, GetDeliveryRequest, PublishChatMessageRequest,
    chat_event_service_client::ChatEventServiceClient, delivery_service_client::DeliveryServiceClient,
};
use ovice_slack_runtime::test_support::eventually;
use secrecy::SecretString;
use slack_emulator::Emulator;

use crate::{
    delivery::{message, person, to},
    delivery_processes::{REDIRECT, common_args, recipient, seed, set_up_org, start, users, wait_delivered},
    support::process::channel,
    support::{Who, server::TEST_CLIENT_ID, tokens::authed},
};

fn long_tests() -> bool {
    std::env::var("OVICE_SLACK_LONG_TESTS").is_ok_and(|v| v == "1")
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_down_then_back_every_delivery_completes_without_a_herd() {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let addr = slack.local_addr();
    let dir = tempfile::tempdir().unwrap();
    let db = SecretString::from(format!("sqlite://{}/ovice-slack.db", dir.path().display()));
    let mut common = common_args(&db, &slack);
    common.extend(
        [
            "--delivery-retry-base",
            "0.5",
            "--delivery-retry-cap",
            "10",
            "--delivery-max-attempts",
            "100",
        ]
        .map(str::to_owned),
    );
    let process = start(&["--target", "all"], &common, &[]);
    set_up_org(&process, &users(), true).await;

    // Slack goes away; the platform keeps publishing (bot DMs: the bot token survives Slack's restart).
    slack.shutdown().await;
    let mut gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    let ids: Vec<String> = (0..100).map(|i| format!("o{i:03}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let m = message(
            id,
            person("carol"),
            vec![to(&recipient(i))],
            &format!("[{id}] hi"),
        );
        let r = gateway
            .publish_chat_message(authed(
                PublishChatMessageRequest { message: Some(m) },
                &Who::Platform,
            ))
            .await;
        assert_eq!(r.unwrap().get_ref().disposition, Disposition::Accepted as i32);
    }
    let outage = if long_tests() {
        Duration::from_secs(180)
    } else {
        Duration::from_secs(8)
    };
    // The outage itself: there is no condition to wait for, only time to let pass.
    tokio::time::sleep(outage).await;

    let slack = Emulator::bind(seed(), addr).await.unwrap();
    let back = Instant::now();
    let counts = wait_delivered(&slack, &ids, Duration::from_secs(60)).await;
    assert!(
        counts.values().all(|c| *c == 1),
        "duplicates after an outage: {counts:?}"
    );

    // Backoff was bounded: with a 0.5 s base, a 10 s cap and full jitter (waits average a quarter to a
    // half of the cap once grown), attempts grow with the outage divided by a few seconds — never one
    // per 0.2 s poll, which would be 40 for the short outage and 900 for the long one.
    let deliveries = DeliveryServiceClient::new(channel(&process.grpc_addr).await);
    let bound = 6 + outage.as_secs().div_ceil(2) as i32 + 1;
    let mut max_attempts = 0;
    for id in &ids {
        // Slack has a message a moment before the outbox records SENT: wait for the record.
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
                (d.status == DeliveryStatus::Sent as i32).then_some(d)
            }
        })
        .await;
        max_attempts = max_attempts.max(d.attempts);
    }
    assert!(
        max_attempts <= bound,
        "{max_attempts} attempts for a {outage:?} outage (bound {bound})"
    );

    // No thundering herd: jittered retries spread the recovery out.
    let posts: Vec<Duration> = slack
        .calls()
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .map(|c| c.at.saturating_duration_since(back))
        .collect();
    let busiest = posts
        .iter()
        .map(|t| {
            posts
                .iter()
                .filter(|u| **u >= *t && **u < *t + Duration::from_millis(100))
                .count()
        })
        .max()
        .unwrap_or(0);
    eprintln!(
        "outage {outage:?}: max attempts {max_attempts}, busiest 100 ms after recovery {busiest} posts"
    );
    assert!(
        busiest <= 40,
        "{busiest} of 100 posts in one 100 ms window after recovery"
    );
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
                        PublishChatMessageRequest { message: Some(m) },
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
