//! Scale-out: several delivery replicas on one PostgreSQL keep the one-process promises under
//! Slack's real limits. The publishes are spread over the replicas (as gRPC connections spread
//! over pods); the replicas share the outbox, hear of each other's work through the database, and
//! share the pacing lanes, so Slack never answers 429 however many replicas post.

use std::collections::{BTreeMap, HashMap};

use ovice_slack_proto::v1::{
    Disposition, PublishChatMessageRequest, chat_event_service_client::ChatEventServiceClient,
};
use ovice_slack_runtime::test_support::fresh_postgres_database;
use rstest::rstest;
use slack_emulator::{Emulator, RateLimitConfig};

use crate::{
    delivery::{message, person, to},
    delivery_processes::{
        REDIRECT, common_args, metric, posted_by_channel, recipient, scrape, seed, set_up_org, start, users,
        wait_delivered, with_default_pacing,
    },
    support::{Who, process::channel, server::TEST_CLIENT_ID, tokens::authed},
};

#[rstest]
#[case::two_replicas(2)]
#[case::four_replicas(4)]
#[tokio::test(flavor = "multi_thread")]
async fn replicas_share_the_work_and_slacks_limits(#[case] replicas: usize) {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let db = fresh_postgres_database().await.unwrap();
    let args = with_default_pacing(common_args(&db, &slack));
    let processes: Vec<_> = (0..replicas)
        .map(|_| start(&["--target", "all"], &args, &[]))
        .collect();
    set_up_org(&processes[0], &users(), true).await;
    slack.set_rate_limits(RateLimitConfig {
        enabled: true,
        scale: 1.0,
    });

    // Thirty messages from alice (connected: posted as her) into her DM with bob, and three hundred
    // bot DMs across the workspace (carol is not connected), fifteen to each of twenty people.
    let mut planned: Vec<(String, String, String)> = Vec::new();
    for k in 0..30 {
        planned.push(("alice".into(), "bob".into(), format!("dm{k:02}")));
    }
    for k in 0..300 {
        planned.push(("carol".into(), recipient(k), format!("ws{k:03}")));
    }
    let mut gateways = Vec::new();
    for p in &processes {
        gateways.push(ChatEventServiceClient::new(channel(&p.grpc_addr).await));
    }
    let mut per_recipient: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, (from, to_whom, id)) in planned.iter().enumerate() {
        let mut m = message(id, person(from), vec![to(to_whom)], &format!("[{id}] hi"));
        // Written in this order: the per-person order is the order of `sent_at`.
        m.sent_at = Some(prost_types::Timestamp {
            seconds: 1_790_000_000 + i as i64,
            nanos: 0,
        });
        let r = gateways[i % replicas]
            .publish_chat_message(authed(
                PublishChatMessageRequest {
                    message: Some(m),
                    change: None,
                },
                &Who::Platform,
            ))
            .await
            .unwrap();
        assert_eq!(r.get_ref().disposition, Disposition::Accepted as i32, "{id}");
        per_recipient.entry(to_whom.clone()).or_default().push(id.clone());
    }
    let ids: Vec<String> = planned.iter().map(|(_, _, id)| id.clone()).collect();
    // Slack's pace bounds it: thirty into one DM at about one a second.
    let counts = wait_delivered(&slack, &ids, std::time::Duration::from_secs(90)).await;
    assert!(counts.values().all(|c| *c == 1), "duplicates: {counts:?}");
    let limited = slack.calls().iter().filter(|c| c.status == 429).count();
    assert_eq!(limited, 0, "{replicas} replicas went past Slack's limits");

    // In order per recipient: each conversation holds its messages in the order they were written.
    let whose: HashMap<&str, &str> = planned
        .iter()
        .map(|(_, to_whom, id)| (id.as_str(), to_whom.as_str()))
        .collect();
    let by_channel = posted_by_channel(&slack);
    assert_eq!(
        by_channel.len(),
        per_recipient.len(),
        "one conversation per recipient"
    );
    for got in by_channel.into_values() {
        let whom = whose[got[0].as_str()];
        assert_eq!(got, per_recipient[whom], "{whom}'s messages out of order");
    }

    // Every replica sent part of it.
    let mut sent_by = Vec::new();
    for p in &processes {
        let scraped = scrape(p).await;
        sent_by.push(metric(
            &scraped,
            "ovice_slack_delivery_outcomes",
            &["outcome=\"sent\""],
        ));
    }
    eprintln!("{replicas} replicas: sent {sent_by:?}");
    assert_eq!(sent_by.iter().sum::<f64>(), ids.len() as f64);
    assert!(
        sent_by.iter().all(|n| *n > 0.0),
        "a replica sent nothing: {sent_by:?}"
    );
    for p in processes {
        p.stop();
    }
    slack.shutdown().await;
}
