//! The chaos soak: messages through the gateway, two processes delivering from one PostgreSQL outbox,
//! random SIGKILLs and restarts, and a Slack with its real rate limits that fails 5 % of calls with
//! 503, answers bursts of 429 and adds up to 200 ms latency. Nothing accepted may be lost; each
//! message lands in its recipient's DM, from the bot, in order; duplicates are counted once the
//! outbox has drained and are at most one per kill.
//! CI runs 1,000 messages and 5 kills; `OVICE_SLACK_LONG_TESTS=1` runs 10,000 and 20.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ovice_slack_proto::v1::{
    DeliveryStatus, Disposition, ListDeliveriesRequest, PublishChatMessageRequest,
    chat_event_service_client::ChatEventServiceClient, delivery_service_client::DeliveryServiceClient,
};
use ovice_slack_runtime::test_support::{eventually, fresh_postgres_database};
use rand::Rng;
use slack_emulator::{Chaos, Emulator, Fault, FaultKind, RateLimitConfig};
use tonic::transport::Channel;

use crate::{
    delivery::{message, person, to},
    delivery_processes::{
        REDIRECT, SHORT_LEASE, common_args, metric, recipient, scrape, seed, set_up_org, start,
        start_delivery_beside, users, wait_delivered, with_default_pacing,
    },
    support::{Who, process::ServeProcess, server::TEST_CLIENT_ID, tokens::authed},
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
            let mut m = message(
                id,
                person("carol"),
                vec![to(&recipient(i))],
                &format!("[{id}] hi"),
            );
            // Written in this order: each recipient's messages go out in it.
            m.sent_at = Some(prost_types::Timestamp {
                seconds: 1_790_000_000 + i as i64,
                nanos: 0,
            });
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

/// The delivery processes and what each incarnation sent before it was killed.
struct Fleet {
    common: Vec<String>,
    /// Every target (the gateway the platform calls, and delivery).
    main: ServeProcess,
    /// Delivery only, its peers at `main`.
    second: ServeProcess,
    sent_by_main: f64,
    sent_by_second: f64,
}

impl Fleet {
    fn start_main(common: &[String]) -> ServeProcess {
        start(&["--target", "all"], common, &[])
    }

    fn start_second(common: &[String], main: &ServeProcess) -> ServeProcess {
        start_delivery_beside(main, common)
    }

    async fn sent(p: &ServeProcess) -> f64 {
        metric(
            &scrape(p).await,
            "ovice_slack_delivery_outcomes",
            &["outcome=\"sent\""],
        )
    }

    /// SIGKILLs main and restarts it at a new address; the second process points to main, so it
    /// is restarted with the new address too (as a Deployment's pods would follow a Service).
    async fn kill_main(&mut self) {
        self.sent_by_main += Self::sent(&self.main).await;
        self.main.kill();
        self.main = Self::start_main(&self.common);
        self.sent_by_second += Self::sent(&self.second).await;
        let old = std::mem::replace(&mut self.second, Self::start_second(&self.common, &self.main));
        old.stop();
    }

    async fn kill_second(&mut self) {
        self.sent_by_second += Self::sent(&self.second).await;
        self.second.kill();
        self.second = Self::start_second(&self.common, &self.main);
    }

    async fn totals(&self) -> (f64, f64) {
        (
            self.sent_by_main + Self::sent(&self.main).await,
            self.sent_by_second + Self::sent(&self.second).await,
        )
    }
}

/// Waits until no delivery of org-1 is PENDING (asking `process` as an operator).
async fn wait_drained(process: &ServeProcess, within: Duration) {
    let deliveries = DeliveryServiceClient::new(process.channel().await);
    eventually("the outbox is drained", within, || {
        let mut deliveries = deliveries.clone();
        async move {
            let pending = deliveries
                .list_deliveries(authed(
                    ListDeliveriesRequest {
                        org_id: "org-1".into(),
                        status: DeliveryStatus::Pending.into(),
                        page_size: 1,
                        ..Default::default()
                    },
                    &Who::Operator,
                ))
                .await
                .ok()?
                .into_inner();
            pending.deliveries.is_empty().then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_soak_loses_no_accepted_message() {
    let long = std::env::var("OVICE_SLACK_LONG_TESTS").is_ok_and(|v| v == "1");
    let (messages, kills) = if long { (10_000, 20) } else { (1_000, 5) };
    let lease = Duration::from_secs(4);
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let db = fresh_postgres_database().await.unwrap();
    // Pacing at the defaults: Slack's limits are on below.
    let mut common = with_default_pacing(common_args(&db, &slack));
    common.extend(SHORT_LEASE.map(str::to_owned));
    common.extend(["--delivery-retry-base", "0.2", "--delivery-retry-cap", "2"].map(str::to_owned));
    let main = Fleet::start_main(&common);
    let second = Fleet::start_second(&common, &main);
    let mut fleet = Fleet {
        common,
        main,
        second,
        sent_by_main: 0.0,
        sent_by_second: 0.0,
    };
    set_up_org(&fleet.main, &users(), true).await;
    // Slack's own limits (one post a second per DM, fifty per recipient here: under a minute of
    // pacing), 5 % of calls failing with 503, and up to 200 ms of latency.
    slack.set_rate_limits(RateLimitConfig {
        enabled: true,
        scale: 1.0,
    });
    slack.set_chaos(Chaos {
        error_percent: 5.0,
        max_extra_latency_ms: 200,
    });

    let addr: GatewayAddr = Arc::new(Mutex::new(fleet.main.grpc_addr.clone()));
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
            fleet.kill_main().await;
            *addr.lock().unwrap() = fleet.main.grpc_addr.clone();
        } else {
            fleet.kill_second().await;
        }
        eprintln!(
            "chaos: kill {} at {:?}, {} in Slack",
            kill + 1,
            started.elapsed(),
            slack.messages().len()
        );
    }
    let retries = publisher.await.unwrap();
    let within = Duration::from_secs(if long { 1_200 } else { 240 });
    wait_delivered(&slack, &ids, within).await;
    // Count only once nothing can be posted any more: every delivery final, and one lease past, so
    // no claim of a killed process can still come back.
    wait_drained(&fleet.main, within).await;
    tokio::time::sleep(lease).await;
    let posted = slack.messages();
    let elapsed = started.elapsed();

    // Per message id: the recipient's bot DM, posted by the bot (carol is not connected), and
    // every recipient's messages first appear in the order they were written.
    let mut copies: HashMap<&str, usize> = HashMap::new();
    let mut channel_of: HashMap<String, String> = HashMap::new();
    let mut first_seen: HashMap<String, Vec<usize>> = HashMap::new();
    let mut in_order: Vec<_> = posted.iter().collect();
    in_order.sort_by(|a, b| a.ts.cmp(&b.ts));
    for m in in_order {
        let i: usize = m
            .text
            .split_once("[c")
            .and_then(|(_, rest)| rest.split_once(']'))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("a message that was not sent: {:?}", m.text));
        let to_whom = recipient(i);
        assert!(
            m.is_bot && m.user == "U0ACMEBOT",
            "c{i:05} posted as {} (bot: {})",
            m.user,
            m.is_bot
        );
        let channel = channel_of
            .entry(to_whom.clone())
            .or_insert_with(|| m.channel.clone());
        assert_eq!(*channel, m.channel, "c{i:05} landed outside {to_whom}'s DM");
        let n = copies.entry(ids[i].as_str()).or_default();
        *n += 1;
        if *n == 1 {
            first_seen.entry(to_whom).or_default().push(i);
        }
    }
    assert_eq!(copies.len(), messages, "every accepted message is in Slack");
    for (whom, order) in &first_seen {
        assert!(
            order.is_sorted(),
            "{whom}'s messages arrived out of order: {order:?}"
        );
    }
    let duplicates: usize = copies.values().map(|c| c - 1).sum();
    let served_429 = slack.calls().iter().filter(|c| c.status == 429).count();
    let served_5xx = slack.calls().iter().filter(|c| c.status >= 500).count();
    let (by_main, by_second) = fleet.totals().await;
    eprintln!(
        "chaos: {messages} messages, {kills} kills, {retries} publish retries, {served_5xx} 5xx and {served_429} 429 \
         served, all delivered and drained in {elapsed:?}, {duplicates} duplicates; sent by the main \
         process {by_main}, by the second {by_second}",
    );
    assert!(
        by_main > 0.0 && by_second > 0.0,
        "both processes deliver: {by_main} and {by_second}"
    );
    // Only a post that Slack made just before its process was killed, before the outcome was
    // committed, is sent again once the lease has passed: the window is the answer's way back and
    // one commit, so at most one of a process's sends in flight falls into it at a kill.
    assert!(duplicates <= kills, "{duplicates} duplicates for {kills} kills");
    fleet.main.stop();
    fleet.second.stop();
    slack.shutdown().await;
}
