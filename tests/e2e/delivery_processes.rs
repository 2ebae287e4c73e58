//! Delivery as operators run it: real `ovice-slack` processes. One trace from the gateway to the Slack
//! call, metrics that count what happened, two delivery processes sharing one PostgreSQL outbox, and
//! a SIGKILL in the middle of a run that loses nothing.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use ovice_slack_proto::v1::{
    ChatMessage, DeliveryStatus, Disposition, GetDeliveryRequest, PublishChatMessageRequest,
    PublishChatMessageResponse, PutSlackWorkspaceRequest, chat_event_service_client::ChatEventServiceClient,
    delivery_service_client::DeliveryServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::{
    auth::SpaceRole,
    test_support::{Backend, eventually, fresh_postgres_database},
};
use rstest::rstest;
use secrecy::{ExposeSecret, SecretString};
use slack_emulator::{Emulator, EmulatorHandle, Fault, FaultKind, Seed, UserSeed};
use tonic_types::StatusExt;

use crate::{
    delivery::{message, person, to},
    support::process::channel,
    support::{
        Who,
        consent::{Consent, Decision},
        otlp::OtlpReceiver,
        process::ServeProcess,
        server::{TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_ENCRYPTION_KEYS},
        tokens::{PROCESS_KEYS, TEST_JWT_SECRET, authed},
    },
};

pub const REDIRECT: &str = "http://callback.ovice-slack.test/oauth/slack/callback";
const RECIPIENTS: usize = 20;

/// The demo workspace plus `RECIPIENTS` people `user00…`, so deliveries run in parallel streams.
pub fn seed() -> Seed {
    let mut seed = Seed::demo();
    for i in 0..RECIPIENTS {
        seed.workspaces[0].users.push(UserSeed {
            id: format!("U0USER{i:02}"),
            name: format!("user{i:02}"),
            real_name: None,
            email: Some(format!("user{i:02}@acme.test")),
            deleted: false,
            is_bot: false,
        });
    }
    seed
}

pub fn recipient(i: usize) -> String {
    format!("user{:02}", i % RECIPIENTS)
}

/// Flags every process of a test shares.
pub fn common_args(db: &SecretString, slack: &EmulatorHandle) -> Vec<String> {
    [
        "--database-url",
        db.expose_secret(),
        "--jwt-secret",
        TEST_JWT_SECRET,
        "--service-keys-file",
        &PROCESS_KEYS.key_set(),
        "--encryption-keys",
        TEST_ENCRYPTION_KEYS,
        "--api-base-url",
        slack.api_url().as_str(),
        "--authorize-url",
        slack.authorize_url().as_str(),
        "--slack-client-id",
        TEST_CLIENT_ID,
        "--slack-client-secret",
        TEST_CLIENT_SECRET,
        "--oauth-redirect-url",
        REDIRECT,
        // Pacing per channel stays on, loosened so a thousand messages take seconds, not minutes.
        "--delivery-post-rate",
        "200",
        "--delivery-post-burst",
        "50",
        "--delivery-poll-interval",
        "0.2",
    ]
    .map(str::to_owned)
    .to_vec()
}

pub fn start(extra: &[&str], common: &[String], env: &[(&str, &str)]) -> ServeProcess {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(common.iter().map(String::as_str));
    ServeProcess::start_with_env(&args, env)
}

/// A short lease, so a killed process's claims come back within a test: a lease must outlast two
/// Slack calls and the pacing wait (2 × 1 s + 1 s + 1 s).
pub const SHORT_LEASE: [&str; 6] = [
    "--delivery-lease",
    "4",
    "--slack-timeout",
    "1",
    "--delivery-pacing-max-wait",
    "1",
];

/// A delivery-only process whose peers (integration-config, account-links) are `main`'s.
pub fn start_delivery_beside(main: &ServeProcess, common: &[String]) -> ServeProcess {
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
}

/// What Slack holds, by conversation: the message ids (`[id]` in each text) in the order posted.
pub fn posted_by_channel(slack: &EmulatorHandle) -> BTreeMap<String, Vec<String>> {
    let mut by_channel: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for m in slack.messages() {
        let id = m
            .text
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(id, _)| id.to_owned())
            .unwrap_or_default();
        by_channel.entry(m.channel).or_default().push((m.ts, id));
    }
    by_channel
        .into_iter()
        .map(|(channel, mut posted)| {
            posted.sort();
            (channel, posted.into_iter().map(|(_, id)| id).collect())
        })
        .collect()
}

/// `common` with delivery's pacing at the defaults a user runs (common_args loosens it for the
/// tests that are not about it).
pub fn with_default_pacing(common: Vec<String>) -> Vec<String> {
    let mut args = Vec::new();
    let mut flags = common.into_iter();
    while let Some(flag) = flags.next() {
        let Some(value) = flags.next() else {
            args.push(flag);
            break;
        };
        if !flag.starts_with("--delivery-post-") {
            args.extend([flag, value]);
        }
    }
    args
}

/// Puts the Acme workspace for org-1 (through `process`'s IntegrationConfigService).
pub async fn put_workspace(process: &ServeProcess) {
    IntegrationConfigServiceClient::new(process.channel().await)
        .put_slack_workspace(authed(
            PutSlackWorkspaceRequest {
                org_id: "org-1".into(),
                access_token: "xoxb-acme-good".into(),
                workspace_domain: "acme".into(),
                ..Default::default()
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap();
}

/// Puts the workspace (when `put` is set) and connects `users` (ovice id, Slack id) through the
/// consent flow of `process`'s callback.
pub async fn set_up_org(process: &ServeProcess, users: &[(String, String)], put: bool) {
    if put {
        put_workspace(process).await;
    }
    let mut links = ovice_slack_proto::v1::account_link_service_client::AccountLinkServiceClient::new(
        process.channel().await,
    );
    let consent = Consent::new();
    for (user, slack_id) in users {
        let email: &'static str = Box::leak(format!("{user}@acme.test").into_boxed_str());
        let user: &'static str = Box::leak(user.clone().into_boxed_str());
        let who = Who::Person {
            org: "org-1",
            user,
            email,
            space: "space-1",
            role: SpaceRole::Member,
        };
        let url = links
            .begin_slack_connect(authed(
                ovice_slack_proto::v1::BeginSlackConnectRequest {
                    org_id: "org-1".into(),
                    space_id: "space-1".into(),
                },
                &who,
            ))
            .await
            .unwrap()
            .into_inner()
            .authorize_url;
        let redirected = consent
            .decide(
                &url,
                Decision::Allow {
                    team: "T0ACME",
                    user: slack_id,
                },
            )
            .await;
        let callback = url::Url::parse(&format!(
            "http://{}/oauth/slack/callback?{}",
            process.http_addr,
            redirected.query().unwrap()
        ))
        .unwrap();
        assert_eq!(consent.open(&callback).await.outcome, "connected");
    }
}

pub fn users() -> Vec<(String, String)> {
    let mut users = vec![
        ("alice".to_owned(), "U0ALICE".to_owned()),
        ("bob".to_owned(), "U0BOB".to_owned()),
    ];
    users.extend((0..RECIPIENTS).map(|i| (format!("user{i:02}"), format!("U0USER{i:02}"))));
    users
}

/// How often each message id appears in what Slack received (ids are written into the texts).
fn delivered_counts(slack: &EmulatorHandle, ids: &[String]) -> HashMap<String, usize> {
    let texts: Vec<String> = slack.messages().into_iter().map(|m| m.text).collect();
    ids.iter()
        .map(|id| {
            (
                id.clone(),
                texts.iter().filter(|t| t.contains(&format!("[{id}]"))).count(),
            )
        })
        .collect()
}

/// Waits (bounded) until every id is in Slack at least once.
pub async fn wait_delivered(
    slack: &EmulatorHandle,
    ids: &[String],
    within: Duration,
) -> HashMap<String, usize> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let counts = delivered_counts(slack, ids);
        let missing = counts.values().filter(|c| **c == 0).count();
        if missing == 0 {
            return counts;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} of {} accepted messages never reached Slack",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn scrape(process: &ServeProcess) -> String {
    slack_client::install_crypto_provider();
    reqwest::get(format!("http://{}/metrics", process.http_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The sum of the samples of `name` whose labels include all of `labels`, in Prometheus text.
pub fn metric(scraped: &str, name: &str, labels: &[&str]) -> f64 {
    scraped
        .lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|lab| l.contains(lab)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_spans_gateway_delivery_and_the_slack_call() {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let collector = OtlpReceiver::start().await;
    let data = tempfile::tempdir().unwrap();
    let db = SecretString::from(format!("sqlite://{}/ovice-slack.db", data.path().display()));
    let process = start(
        &["--target", "all"],
        &common_args(&db, &slack),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    set_up_org(&process, &users()[..2], true).await;

    let mut gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    let m = message("m1", person("alice"), vec![to("bob")], "[m1] hello");
    let r = gateway
        .publish_chat_message(authed(
            PublishChatMessageRequest {
                message: Some(m),
                change: None,
            },
            &Who::Platform,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.disposition, Disposition::Accepted as i32);
    wait_delivered(&slack, &["m1".to_owned()], Duration::from_secs(20)).await;

    // The spans arrive in batches; wait (bounded) for the whole path to be exported.
    let wanted = [
        "ovice.slack.v1.ChatEventService/PublishChatMessage",
        "ovice.slack.v1.DeliveryService/EnqueueDirectMessage",
        "chat.postMessage",
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let trace = loop {
        let spans = collector.spans();
        let publish = spans
            .iter()
            .find(|s| s.name == wanted[0])
            .map(|s| s.trace_id.clone());
        if let Some(trace) = publish {
            let names: Vec<_> = spans
                .iter()
                .filter(|s| s.trace_id == trace)
                .map(|s| s.name.as_str())
                .collect();
            if wanted.iter().all(|w| names.contains(w)) {
                break trace;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "spans so far: {:#?}",
            collector.spans()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(trace.len(), 32);
    assert!(
        collector
            .spans()
            .iter()
            .all(|s| s.service.contains("ovice-slack"))
    );

    // The metrics endpoint counts the scenario just run.
    let scraped = scrape(&process).await;
    assert_eq!(
        metric(
            &scraped,
            "ovice_slack_delivery_enqueued",
            &[r#"disposition="accepted""#]
        ),
        1.0,
        "{scraped}"
    );
    assert_eq!(
        metric(&scraped, "ovice_slack_delivery_outcomes", &[r#"outcome="sent""#]),
        1.0,
        "{scraped}"
    );
    assert!(
        metric(
            &scraped,
            "ovice_slack_slack_calls",
            &[r#"method="chat.postMessage""#, r#"outcome="ok""#]
        ) >= 1.0
    );
    assert!(scraped.contains("ovice_slack_delivery_latency"), "{scraped}");
    process.stop();
    slack.shutdown().await;
}

/// Publishes as the platform does: a RESOURCE_EXHAUSTED from the per-org limit is waited out as its
/// RetryInfo says, then the message is published again.
pub async fn publish_as_the_platform(
    gateway: &mut ChatEventServiceClient<tonic::transport::Channel>,
    m: ChatMessage,
) -> PublishChatMessageResponse {
    loop {
        match gateway
            .publish_chat_message(authed(
                PublishChatMessageRequest {
                    message: Some(m.clone()),
                    change: None,
                },
                &Who::Platform,
            ))
            .await
        {
            Ok(r) => return r.into_inner(),
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                let wait = status
                    .get_details_retry_info()
                    .and_then(|info| info.retry_delay)
                    .expect("the limit says when to retry");
                tokio::time::sleep(wait).await;
            }
            Err(status) => panic!("publishing failed: {status:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_delivery_processes_deliver_a_thousand_messages_once_each() {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let db = fresh_postgres_database().await.unwrap();
    let common = common_args(&db, &slack);
    let main = start(&["--target", "all"], &common, &[]);
    let second = start_delivery_beside(&main, &common);
    set_up_org(&main, &users(), true).await;

    let gateway = ChatEventServiceClient::new(channel(&main.grpc_addr).await);
    let ids: Vec<String> = (0..1000).map(|i| format!("msg{i:04}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in ids.chunks(125) {
        let mut gateway = gateway.clone();
        let chunk = chunk.to_vec();
        tasks.spawn(async move {
            for (i, id) in chunk.iter().enumerate() {
                let m = message(
                    id,
                    person("carol"),
                    vec![to(&recipient(i))],
                    &format!("[{id}] hi"),
                );
                let r = publish_as_the_platform(&mut gateway, m).await;
                assert_eq!(r.disposition, Disposition::Accepted as i32, "{r:?}");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let counts = wait_delivered(&slack, &ids, Duration::from_secs(120)).await;
    let duplicated: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(duplicated.is_empty(), "sent more than once: {duplicated:?}");
    assert_eq!(slack.messages().len(), 1000);

    // Both processes did part of the work.
    let by_main = metric(
        &scrape(&main).await,
        "ovice_slack_delivery_outcomes",
        &[r#"outcome="sent""#],
    );
    let by_second = metric(
        &scrape(&second).await,
        "ovice_slack_delivery_outcomes",
        &[r#"outcome="sent""#],
    );
    assert_eq!(by_main + by_second, 1000.0);
    assert!(
        by_main > 0.0 && by_second > 0.0,
        "main sent {by_main}, second sent {by_second}"
    );
    second.stop();
    main.stop();
    slack.shutdown().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_loses_no_accepted_message(#[case] backend: Backend) {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let data = tempfile::tempdir().unwrap();
    let db = match backend {
        Backend::Sqlite => SecretString::from(format!("sqlite://{}/ovice-slack.db", data.path().display())),
        Backend::Postgres => fresh_postgres_database().await.unwrap(),
    };
    let mut common = common_args(&db, &slack);
    common.extend(SHORT_LEASE.map(str::to_owned));
    let mut process = start(&["--target", "all"], &common, &[]);
    set_up_org(&process, &users(), true).await;
    // Slack answers slowly, so deliveries are in flight and pending when the process dies.
    slack.inject_fault(
        Fault::next(FaultKind::Delay { millis: 200 })
            .on("chat.postMessage")
            .times(1000),
    );

    let mut gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    let mut accepted = Vec::new();
    for i in 0..300 {
        let id = format!("k{i:03}");
        let m = message(
            &id,
            person("carol"),
            vec![to(&recipient(i))],
            &format!("[{id}] hi"),
        );
        let r = publish_as_the_platform(&mut gateway, m).await;
        assert_eq!(r.disposition, Disposition::Accepted as i32);
        accepted.push(id);
    }
    // Some went out, most did not: kill it now.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while slack.messages().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing was being delivered"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    process.kill();
    let before_restart = slack.messages().len();
    assert!(
        before_restart < 300,
        "everything was delivered before the kill; the test proves nothing"
    );

    // Restarted on the same database, it delivers every message it had accepted.
    let restarted = start(&["--target", "all"], &common, &[]);
    let counts = wait_delivered(&slack, &accepted, Duration::from_secs(120)).await;
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "sigkill: {before_restart} of 300 in Slack at the kill, {duplicates} sent twice after the restart"
    );
    // A send in flight at the kill may have reached Slack without being recorded: at most one per
    // worker (8) may be sent again after the restart.
    assert!(duplicates <= 8, "{duplicates} duplicates after one kill");
    // Slack has the message a moment before the outbox records SENT (the post comes first, then
    // the write): wait for the record rather than read it once.
    let deliveries = DeliveryServiceClient::new(channel(&restarted.grpc_addr).await);
    eventually("k299 is recorded SENT", Duration::from_secs(10), || {
        let mut deliveries = deliveries.clone();
        async move {
            let d = deliveries
                .get_delivery(authed(
                    GetDeliveryRequest {
                        org_id: "org-1".into(),
                        message_id: "k299".into(),
                    },
                    &Who::Operator,
                ))
                .await
                .unwrap()
                .into_inner();
            (d.status == DeliveryStatus::Sent as i32).then_some(())
        }
    })
    .await;
    restarted.stop();
    slack.shutdown().await;
}
