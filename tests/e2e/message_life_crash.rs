//! A message's life survives a crash: a delivery process killed (SIGKILL) while it brings a burst of
//! edits and deletes to Slack loses none of them once restarted, and applies none twice beyond the
//! one call whose answer the kill cut off (which Slack shows the same either way).

use std::{collections::HashMap, time::Duration};

use ovice_slack_proto::v1::{
    ChatMessageChangeOutcome, ChatMessageDelete, ChatMessageEdit, DeleteChatMessageRequest, Delivery,
    DeliveryStatus, Disposition, EditChatMessageRequest, GetDeliveryRequest, SlackChange,
    chat_event_service_client::ChatEventServiceClient, delivery_service_client::DeliveryServiceClient,
};
use ovice_slack_runtime::test_support::{Backend, fresh_postgres_database};
use rstest::rstest;
use secrecy::SecretString;
use slack_emulator::{ChangeKind, Emulator, Fault, FaultKind, TokenKind};
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::{
    delivery::{message, person, to},
    delivery_processes::{
        REDIRECT, SHORT_LEASE, common_args, publish_as_the_platform, recipient, seed, set_up_org, start,
        users,
    },
    support::{Who, process::channel, server::TEST_CLIENT_ID, tokens::authed},
};

/// Messages in the burst: even ones posted as Alice (connected), odd ones as the bot (Carol is not).
const MESSAGES: usize = 40;

/// Every third message is edited once, then deleted; the others get revisions 1, 3, 2 in that order.
fn deleted(i: usize) -> bool {
    i.is_multiple_of(3)
}

fn id(i: usize) -> String {
    format!("x{i:02}")
}

/// An edit or delete as the platform reports it; the per-org limit is waited out as its RetryInfo
/// says.
async fn report(
    gateway: &mut ChatEventServiceClient<Channel>,
    id: &str,
    revision: Option<i64>,
) -> ChatMessageChangeOutcome {
    loop {
        let answer = match revision {
            Some(revision) => {
                let edit = ChatMessageEdit {
                    org_id: "org-1".into(),
                    message_id: id.into(),
                    revision,
                    text: format!("[{id}] rev {revision}"),
                };
                gateway
                    .edit_chat_message(authed(
                        EditChatMessageRequest { edit: Some(edit) },
                        &Who::Platform,
                    ))
                    .await
                    .map(|r| r.into_inner().outcome)
            }
            None => {
                let delete = ChatMessageDelete {
                    org_id: "org-1".into(),
                    message_id: id.into(),
                };
                gateway
                    .delete_chat_message(authed(
                        DeleteChatMessageRequest { delete: Some(delete) },
                        &Who::Platform,
                    ))
                    .await
                    .map(|r| r.into_inner().outcome)
            }
        };
        match answer {
            Ok(outcome) => return outcome.expect("an outcome"),
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                let wait = status
                    .get_details_retry_info()
                    .and_then(|info| info.retry_delay)
                    .expect("the limit says when to retry");
                tokio::time::sleep(wait).await;
            }
            Err(status) => panic!("reporting a change of {id} failed: {status:?}"),
        }
    }
}

async fn delivery(deliveries: &mut DeliveryServiceClient<Channel>, id: &str) -> Delivery {
    deliveries
        .get_delivery(authed(
            GetDeliveryRequest {
                org_id: "org-1".into(),
                message_id: id.into(),
            },
            &Who::Operator,
        ))
        .await
        .unwrap()
        .into_inner()
}

/// Waits (bounded) until every delivery satisfies `done`; returns them by message id.
async fn wait_all(
    deliveries: &mut DeliveryServiceClient<Channel>,
    what: &str,
    within: Duration,
    done: impl Fn(&Delivery) -> bool,
) -> HashMap<String, Delivery> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut all = HashMap::new();
        let mut waiting = Vec::new();
        for i in 0..MESSAGES {
            let d = delivery(deliveries, &id(i)).await;
            if !done(&d) {
                waiting.push(d.clone());
            }
            all.insert(id(i), d);
        }
        if waiting.is_empty() {
            return all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {MESSAGES} deliveries are not {what}: {:?}",
            waiting.len(),
            waiting.first()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_a_burst_of_edits_and_deletes_loses_none_and_applies_none_twice(
    #[case] backend: Backend,
) {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let data = tempfile::tempdir().unwrap();
    let db = match backend {
        Backend::Sqlite => SecretString::from(format!("sqlite://{}/ovice-slack.db", data.path().display())),
        Backend::Postgres => fresh_postgres_database().await.unwrap(),
    };
    let mut common = common_args(&db, &slack);
    common.extend(SHORT_LEASE.map(str::to_owned));
    // chat.update and chat.delete stay paced per workspace, loosened so the burst takes seconds.
    common.extend(["--delivery-tier3-per-minute", "600"].map(str::to_owned));
    let mut process = start(&["--target", "all"], &common, &[]);
    set_up_org(&process, &users(), true).await;

    let mut gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    for i in 0..MESSAGES {
        let sender = if i.is_multiple_of(2) { "alice" } else { "carol" };
        let m = message(
            &id(i),
            person(sender),
            vec![to(&recipient(i))],
            &format!("[{}] rev 0", id(i)),
        );
        let r = publish_as_the_platform(&mut gateway, m).await;
        assert_eq!(r.disposition, Disposition::Accepted as i32, "{r:?}");
    }
    let mut deliveries = DeliveryServiceClient::new(channel(&process.grpc_addr).await);
    let sent = wait_all(&mut deliveries, "SENT", Duration::from_secs(60), |d| {
        d.status == DeliveryStatus::Sent as i32
    })
    .await;
    assert_eq!(slack.messages().len(), MESSAGES);

    // Slack makes each change at once but answers slowly: the kill lands while some are done and
    // unrecorded, and most are still to do.
    for method in ["chat.update", "chat.delete"] {
        slack.inject_fault(
            Fault::next(FaultKind::Delay { millis: 300 })
                .on(method)
                .times(10_000)
                .after_work(),
        );
    }
    for round in 0..3 {
        for i in 0..MESSAGES {
            let (revision, expect) = match (deleted(i), round) {
                (true, 0) => (Some(1), Disposition::Accepted),
                (true, 1) => (None, Disposition::Accepted),
                (true, _) => (Some(2), Disposition::Duplicate),
                (false, 0) => (Some(1), Disposition::Accepted),
                (false, 1) => (Some(3), Disposition::Accepted),
                (false, _) => (Some(2), Disposition::Duplicate),
            };
            let outcome = report(&mut gateway, &id(i), revision).await;
            assert_eq!(
                outcome.disposition(),
                expect,
                "{} round {round}: {outcome:?}",
                id(i)
            );
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while slack.changes().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Slack was not being changed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    process.kill();
    let at_kill = slack.changes().len();
    let needed = MESSAGES; // at least one change per message
    assert!(
        at_kill < needed,
        "the burst was over before the kill; the test proves nothing"
    );

    // Restarted on the same database, it finishes every change it had accepted.
    let restarted = start(&["--target", "all"], &common, &[]);
    let mut deliveries = DeliveryServiceClient::new(channel(&restarted.grpc_addr).await);
    let after = wait_all(
        &mut deliveries,
        "up to date in Slack",
        Duration::from_secs(90),
        |d| d.pending_change == SlackChange::Unspecified as i32,
    )
    .await;

    let messages = slack.messages();
    let changes = slack.changes();
    let mut applied_twice = 0;
    for i in 0..MESSAGES {
        let key = id(i);
        let d = &after[&key];
        let ts = &sent[&key].slack_ts;
        assert_eq!(d.change_error, "", "{key}: {d:?}");
        assert_eq!(d.status(), DeliveryStatus::Sent, "{key}");
        let (user, kind) = if i.is_multiple_of(2) {
            ("U0ALICE", TokenKind::User)
        } else {
            ("U0ACMEBOT", TokenKind::Bot)
        };
        let of_this: Vec<_> = changes.iter().filter(|c| &c.ts == ts).collect();
        assert!(
            of_this.iter().all(|c| c.user == user && c.token_kind == kind),
            "{key} changed with another token: {of_this:?}"
        );
        let shown: Vec<_> = messages
            .iter()
            .filter(|m| m.text.contains(&format!("[{key}]")))
            .collect();
        let updates: Vec<&str> = of_this
            .iter()
            .filter_map(|c| match &c.kind {
                ChangeKind::Updated { text, .. } => Some(text.as_str()),
                ChangeKind::Deleted => None,
            })
            .collect();
        let deletes = of_this.iter().filter(|c| c.kind == ChangeKind::Deleted).count();
        // Revisions only ever go forward in Slack.
        let revisions: Vec<u32> = updates
            .iter()
            .map(|t| {
                let after = t.split_once("] rev ").map_or("", |(_, rest)| rest);
                let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap_or_else(|_| panic!("no revision in {t:?}"))
            })
            .collect();
        assert!(
            revisions.windows(2).all(|w| w[0] <= w[1]),
            "{key}: revisions {revisions:?}"
        );
        applied_twice += revisions.windows(2).filter(|w| w[0] == w[1]).count();
        if deleted(i) {
            assert!(shown.is_empty(), "{key} is still in Slack: {shown:?}");
            assert_eq!(deletes, 1, "{key} deleted {deletes} times");
            assert!(d.removed_from_slack && d.deleted_at.is_some(), "{key}: {d:?}");
            assert!(revisions.iter().all(|r| *r == 1), "{key}: {revisions:?}");
        } else {
            assert_eq!(shown.len(), 1, "{key} is in Slack {} times", shown.len());
            assert!(shown[0].text.contains("rev 3"), "{key} shows {}", shown[0].text);
            assert_eq!((d.revision, d.slack_revision), (3, 3), "{key}");
            assert_eq!(deletes, 0);
            assert_eq!(revisions.last(), Some(&3), "{key}: {revisions:?}");
        }
    }
    eprintln!(
        "sigkill during changes: {at_kill} of {} Slack changes made at the kill, {applied_twice} applied twice after the restart",
        changes.len()
    );
    // The change loop calls Slack one row at a time: at most the one call in flight at the kill is
    // made again (an update to the same revision, shown the same).
    assert!(applied_twice <= 1, "{applied_twice} changes applied twice");
    restarted.stop();
    slack.shutdown().await;
}
