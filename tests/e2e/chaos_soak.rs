//! The chaos soak: messages through the gateway, two processes delivering from one PostgreSQL outbox,
//! random SIGKILLs and restarts, and a Slack that fails 5 % of calls with 5xx, answers bursts of 429
//! and adds up to 200 ms latency. Nothing accepted may be lost; duplicates are counted.
//! CI runs 1,000 messages and 4 kills; `OVICE_SLACK_LONG_TESTS=1` runs 10,000 and 20.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ovice_slack_proto::v1::{
    Disposition, PublishChatMessageRequest, chat_event_service_client::ChatEventServiceClient,
};
use ovice_slack_runtime::test_support::fresh_postgres_database;
use rand::Rng;
use slack_emulator::{Chaos, Emulator, Fault, FaultKind};
use tonic::transport::Channel;

use crate::{
    delivery::{message, person, to},
    delivery_processes::{REDIRECT, common_args, recipient, seed, set_up_org, start, users, wait_delivered},
    support::{
        Who,
        process::ServeProcess,
        server::TEST_CLIENT_ID,
        tokens::{PROCESS_KEYS, authed},
    },
};

/// The gateway's current address: it changes when its process is killed and restarted.
type GatewayAddr = Arc<Mutex<String>>;

async fn connect(addr: &GatewayAddr) -> Option<ChatEventServiceClient<Channel>> {
    let addr = addr.lock().unwrap().clone();
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .ok()
        .map(ChatEventServiceClient::new)
}

/// Publishes every id, retrying each until it is accepted (as the platform does).
async fn publish_all(ids: Vec<String>, addr: GatewayAddr) -> usize {
    let mut retries = 0;
    let mut client = None;
    for (i, id) in ids.iter().enumerate() {
        loop {
            if client.is_none() {
                client = connect(&addr).await;
            }
            let Some(gateway) = client.as_mut() else {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let m = message(
                id,
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
                Ok(r) => {
                    let d = r.get_ref().disposition;
                    assert!(
                        d == Disposition::Accepted as i32 || d == Disposition::Duplicate as i32,
                        "{r:?}"
                    );
                    break;
                }
                Err(_) => {
                    retries += 1;
                    client = None;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    retries
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_soak_loses_no_accepted_message() {
    let long = std::env::var("OVICE_SLACK_LONG_TESTS").is_ok_and(|v| v == "1");
    let (messages, kills) = if long { (10_000, 20) } else { (1_000, 4) };
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let db = fresh_postgres_database().await.unwrap();
    let mut common = common_args(&db, &slack);
    common.extend(
        [
            "--delivery-lease",
            "4",
            "--slack-timeout",
            "1",
            "--delivery-pacing-max-wait",
            "1",
            "--delivery-retry-base",
            "0.2",
            "--delivery-retry-cap",
            "2",
        ]
        .map(str::to_owned),
    );
    let main_args = |common: &[String]| start(&["--target", "all"], common, &[]);
    let mut main = main_args(&common);
    let second_args = |common: &[String], main: &ServeProcess| {
        let peer = format!("http://{}", main.grpc_addr);
        start(
            &[
                "--target",
                "delivery",
                "--service-key-file",
                &PROCESS_KEYS.key("delivery"),
                "--integration-config-addr",
                &peer,
                "--account-links-addr",
                &peer,
            ],
            common,
            &[],
        )
    };
    let mut second = second_args(&common, &main);
    set_up_org(&main, &users(), true).await;
    slack.set_chaos(Chaos {
        error_percent: 5.0,
        max_extra_latency_ms: 200,
    });

    let addr: GatewayAddr = Arc::new(Mutex::new(main.grpc_addr.clone()));
    let ids: Vec<String> = (0..messages).map(|i| format!("c{i:05}")).collect();
    let publisher = tokio::spawn(publish_all(ids.clone(), addr.clone()));

    let started = Instant::now();
    let mut rng = rand::rng();
    for kill in 0..kills {
        // Let some work happen, then a burst of 429s and a SIGKILL of a random process.
        let target = slack.messages().len() + (messages / (kills + 1)).min(messages / 4);
        let deadline = Instant::now() + Duration::from_secs(120);
        while slack.messages().len() < target.min(messages - 1) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        slack.inject_fault(
            Fault::next(FaultKind::RateLimited {
                retry_after_secs: Some(1),
            })
            .on("chat.postMessage")
            .times(10),
        );
        if rng.random_bool(0.5) {
            main.kill();
            main = main_args(&common);
            *addr.lock().unwrap() = main.grpc_addr.clone();
        } else {
            second.kill();
            second = second_args(&common, &main);
        }
        eprintln!(
            "chaos: kill {} at {:?}, {} in Slack",
            kill + 1,
            started.elapsed(),
            slack.messages().len()
        );
    }
    let retries = publisher.await.unwrap();
    let counts = wait_delivered(&slack, &ids, Duration::from_secs(if long { 900 } else { 240 })).await;
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    let served_429 = slack.calls().iter().filter(|c| c.status == 429).count();
    let served_5xx = slack.calls().iter().filter(|c| c.status >= 500).count();
    eprintln!(
        "chaos: {messages} messages, {kills} kills, {retries} publish retries, {served_5xx} 5xx and {served_429} 429 served, \
         all delivered in {:?}, {duplicates} duplicates",
        started.elapsed()
    );
    // The provable bound: only a send in flight at a kill can be repeated, and a process has at most
    // 8 (its worker count) in flight.
    assert!(
        duplicates <= kills * 8,
        "{duplicates} duplicates for {kills} kills"
    );
    main.stop();
    second.stop();
    slack.shutdown().await;
}
