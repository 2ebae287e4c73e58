//! SIGTERM while the platform is publishing: the process stops within its drain time, every message it
//! accepted is delivered (after a restart if need be), nothing a publisher saw fail is lost once the
//! publisher retries, and claims are handed back rather than left to expire.

use std::{
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ovice_slack_proto::v1::{
    Disposition, PublishChatMessageRequest, chat_event_service_client::ChatEventServiceClient,
};
use secrecy::SecretString;
use slack_emulator::{Emulator, Fault, FaultKind};

use crate::{
    delivery::{message, person, to},
    delivery_processes::{REDIRECT, common_args, recipient, seed, set_up_org, start, users, wait_delivered},
    support::process::channel,
    support::{Who, server::TEST_CLIENT_ID, tokens::authed},
};

#[derive(Default)]
struct Outcomes {
    accepted: Vec<String>,
    failed: Vec<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_loses_nothing_and_hands_back_claims() {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let dir = tempfile::tempdir().unwrap();
    let db = SecretString::from(format!("sqlite://{}/ovice-slack.db", dir.path().display()));
    let mut common = common_args(&db, &slack);
    common.extend(["--shutdown-grace", "10"].map(str::to_owned));
    let process = start(&["--target", "all"], &common, &[]);
    set_up_org(&process, &users(), true).await;
    // Slack is slow, so a backlog is pending and sends are in flight at the SIGTERM.
    slack.inject_fault(
        Fault::next(FaultKind::Delay { millis: 150 })
            .on("chat.postMessage")
            .times(10_000),
    );

    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    let mut publishers = tokio::task::JoinSet::new();
    for p in 0..4 {
        let mut gateway = gateway.clone();
        let outcomes = outcomes.clone();
        publishers.spawn(async move {
            for n in 0.. {
                let id = format!("p{p}-{n:04}");
                let m = message(
                    &id,
                    person("carol"),
                    vec![to(&recipient(n))],
                    &format!("[{id}] hi"),
                );
                let r = gateway
                    .publish_chat_message(authed(
                        PublishChatMessageRequest {
                            message: Some(m),
                            change: None,
                        },
                        &Who::Platform,
                    ))
                    .await;
                let mut o = outcomes.lock().unwrap();
                match r {
                    Ok(a) if a.get_ref().disposition == Disposition::Accepted as i32 => o.accepted.push(id),
                    Ok(a) => panic!("unexpected answer {a:?}"),
                    Err(_) => {
                        // The platform retries what failed; the publisher stops at the first error.
                        o.failed.push(id);
                        return;
                    }
                }
            }
        });
    }
    // Let a backlog build up, then ask the process to stop.
    let deadline = Instant::now() + Duration::from_secs(20);
    while outcomes.lock().unwrap().accepted.len() < 200 {
        assert!(Instant::now() < deadline, "publishing is too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = process.child.id().to_string();
    let stopping = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    process.wait_success();
    let drain = stopping.elapsed();
    assert!(
        drain < Duration::from_secs(12),
        "took {drain:?} to stop, the grace is 10 s"
    );
    while publishers.join_next().await.is_some() {}
    let (accepted, failed) = {
        let o = outcomes.lock().unwrap();
        (o.accepted.clone(), o.failed.clone())
    };
    let delivered_at_stop = slack.messages().len();
    assert!(
        delivered_at_stop < accepted.len(),
        "the backlog was gone before the SIGTERM: the test proves nothing"
    );

    // Restarted: everything accepted is delivered well before the 60 s lease of a claim could have
    // expired — the stopping process handed its claims back.
    let restarted = start(&["--target", "all"], &common, &[]);
    let mut gateway = ChatEventServiceClient::new(channel(&restarted.grpc_addr).await);
    for id in &failed {
        let n: usize = id.rsplit('-').next().unwrap().parse().unwrap();
        let m = message(
            id,
            person("carol"),
            vec![to(&recipient(n))],
            &format!("[{id}] hi"),
        );
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
        assert!(
            [Disposition::Accepted as i32, Disposition::Duplicate as i32].contains(&r.get_ref().disposition),
            "{r:?}"
        );
    }
    slack.clear_faults();
    let all: Vec<String> = accepted.iter().chain(&failed).cloned().collect();
    let counts = wait_delivered(&slack, &all, Duration::from_secs(30)).await;
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "sigterm: {} accepted, {} failed and re-published, {delivered_at_stop} in Slack at the stop, drained in {drain:?}, {duplicates} duplicates",
        accepted.len(),
        failed.len()
    );
    assert_eq!(duplicates, 0, "a graceful stop must not send anything twice");
    restarted.stop();
    slack.shutdown().await;
}
