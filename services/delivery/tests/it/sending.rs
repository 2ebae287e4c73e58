//! Sending to Slack (the emulator over HTTP), docs/product.md §2.3.

use std::time::Duration;

use delivery::{
    DeliveryConfig,
    directory::{ConnectionState, Report},
    store::Claim,
};
use ovice_slack_model::UnixMillis;
use ovice_slack_proto::v1::{self as pb, DeliveryStatus as St};
use ovice_slack_runtime::test_support::{Backend, eventually};
use rstest::rstest;
use slack_emulator::{BotTokenSeed, Fault, FaultKind, RateLimitConfig, TokenKind};

use crate::harness::*;

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_sender_without_slack_reaches_the_recipient_by_bot_dm_as_literal_text(#[case] backend: Backend) {
    let h = Harness::start(backend, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.accepted(message(
        "m1",
        "alice",
        &["bob"],
        "ping <!channel> <!here> <@U123> & co",
    ))
    .await;
    let d = h.wait_for("m1", St::Sent).await;
    assert_eq!(d.mode(), pb::DeliveryMode::BotDm);
    assert_eq!(d.attempts, 1);
    let sent = h.slack.messages();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.token_kind, TokenKind::Bot);
    assert_eq!(
        (m.channel.as_str(), m.ts.as_str()),
        (d.slack_channel_id.as_str(), d.slack_ts.as_str())
    );
    // The notification text, and the blocks Slack shows: who and where, the text, the button.
    assert_eq!(
        m.text,
        "alice (ovice) in Design Room: ping &lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &amp; co"
    );
    assert_eq!(
        m.blocks,
        Some(vec![
            serde_json::json!({"type": "context", "elements": [{"type": "mrkdwn", "text": "*alice (ovice)* in Design Room", "verbatim": true}]}),
            serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "verbatim": true,
                "text": "ping &lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &amp; co"}}),
            serde_json::json!({"type": "actions", "elements": [{"type": "button", "action_id": "open_in_ovice",
                "text": {"type": "plain_text", "text": "Open in ovice", "emoji": true},
                "url": "https://ovice.example/spaces/1/messages/m1"}]}),
        ])
    );
    assert_eq!(m.alerts, Vec::<String>::new());
    assert_eq!((m.unfurl_links, m.unfurl_media), (Some(false), Some(false)));
    // The text is private: gone from the store once sent; channel and ts stay, and the sender's
    // name, to show an edit under it.
    let stored = h.stored("m1").await.unwrap();
    assert_eq!(
        (stored.text.as_str(), stored.sender_name.as_str()),
        ("", "alice (ovice)")
    );
    assert_eq!(stored.slack_ts, d.slack_ts);
}

#[tokio::test]
async fn a_connected_sender_posts_as_themself_into_the_dm_and_the_dm_is_opened_once() {
    let h = Harness::start(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.link("alice", "U0ALICE", true).await;
    h.accepted(message("m1", "alice", &["bob"], "first")).await;
    let first = h.wait_for("m1", St::Sent).await;
    h.accepted(message("m2", "alice", &["bob"], "second")).await;
    let second = h.wait_for("m2", St::Sent).await;
    for d in [&first, &second] {
        assert_eq!(d.mode(), pb::DeliveryMode::AsSender);
    }
    assert_eq!(first.slack_channel_id, second.slack_channel_id);
    let sent = h.slack.messages();
    assert_eq!(sent.len(), 2);
    for m in &sent {
        assert_eq!(
            (m.token_kind, m.user.as_str(), m.is_bot),
            (TokenKind::User, "U0ALICE", false)
        );
    }
    assert_eq!(h.calls("conversations.open"), 1, "the DM id is cached");
}

#[tokio::test]
async fn a_visitor_is_never_posted_as_and_is_marked_as_a_visitor() {
    let h = Harness::start(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.link("alice", "U0ALICE", true).await;
    let mut m = message("m1", "alice", &["bob"], "hello");
    m.sender.as_mut().unwrap().role = pb::SpaceRole::Visitor.into();
    h.accepted(m).await;
    let d = h.wait_for("m1", St::Sent).await;
    assert_eq!(d.mode(), pb::DeliveryMode::BotDm);
    let sent = h.slack.messages();
    assert_eq!(sent[0].token_kind, TokenKind::Bot);
    assert!(
        sent[0]
            .text
            .starts_with("alice (ovice) (visitor) in Design Room:"),
        "{}",
        sent[0].text
    );
}

#[tokio::test]
async fn a_revoked_sender_token_falls_back_to_the_bot_dm_and_flags_the_sender() {
    let h = Harness::start(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    let token = h.link("alice", "U0ALICE", true).await.unwrap();
    assert!(h.slack.revoke_token(&token));
    h.accepted(message("m1", "alice", &["bob"], "hello")).await;
    let d = h.wait_for("m1", St::Sent).await;
    assert_eq!((d.mode(), d.attempts), (pb::DeliveryMode::BotDm, 1));
    assert_eq!(h.slack.messages()[0].token_kind, TokenKind::Bot);
    assert_eq!(
        h.directory.reports(),
        vec![Report::UserTokenInvalid {
            org_id: ORG.into(),
            user_id: "alice".into(),
            reason: "token_revoked".into()
        }]
    );
    assert_eq!(
        h.directory.user_state(ORG, "alice"),
        ConnectionState::NeedsReconnect
    );
}

#[tokio::test]
async fn a_rate_limited_burst_arrives_complete_in_order_and_never_early() {
    let h = Harness::start(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    // Slack's limits at ten times the documented rate: a burst of 30, then 10 per second, then 429
    // with Retry-After. Our own pacing is set far above that, so the 429s do happen.
    h.slack.set_rate_limits(RateLimitConfig {
        enabled: true,
        scale: 10.0,
    });
    const N: usize = 50;
    for i in 0..N {
        let mut m = message(&format!("m{i:02}"), "alice", &["bob"], &format!("message {i:02}"));
        m.sent_at = Some(prost_types::Timestamp {
            seconds: 1_700_000_000 + i as i64,
            nanos: 0,
        });
        h.accepted(m).await;
    }
    let sent = eventually("all 50 arrive", Duration::from_secs(60), || async {
        let sent = h.slack.messages();
        (sent.len() >= N).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), N, "nothing arrives twice");
    let texts: Vec<String> = sent
        .iter()
        .map(|m| m.text.split(": ").nth(1).unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..N).map(|i| format!("message {i:02}")).collect();
    assert_eq!(texts, expected, "in order");
    let posts: Vec<_> = h
        .slack
        .calls()
        .into_iter()
        .filter(|c| c.method == "chat.postMessage")
        .collect();
    let limited: Vec<_> = posts.iter().filter(|c| c.status == 429).collect();
    assert!(!limited.is_empty(), "the burst was rate limited");
    for c in &limited {
        // At this scale Slack's wait is under 100 ms, which Retry-After rounds up to 1 s.
        let reopen = c.at + Duration::from_secs(1);
        for later in posts.iter().filter(|p| p.at > c.at) {
            assert!(
                later.at >= reopen,
                "a request came {:?} after a 429",
                later.at - c.at
            );
        }
    }
}

/// The failure table's `missing_scope` row, against the emulator's real scope check: a bot token
/// without `chat:write` fails the delivery with what an owner must do, and the workspace stays
/// ACTIVE (the token is fine; reinstalling with the scope fixes it, then an operator retries).
#[tokio::test]
async fn a_bot_without_chat_write_fails_with_what_an_owner_must_do_and_keeps_the_workspace() {
    let h = Harness::start(Backend::Sqlite, fast_config()).await;
    assert!(h.slack.add_bot_token(
        TEAM,
        BotTokenSeed {
            token: "xoxb-acme-readonly".into(),
            scopes: vec!["users:read".into(), "users:read.email".into()],
            bot_user_id: "U0ACMEBOT".into(),
            bot_id: None,
            app_id: None,
            bot_name: None,
        }
    ));
    h.directory.set_workspace(ORG, TEAM, "xoxb-acme-readonly");
    h.link("bob", "U0BOB", false).await;
    h.accepted(message("m1", "alice", &["bob"], "hi")).await;
    let d = h.wait_for("m1", St::Failed).await;
    assert!(
        d.last_error.contains("chat:write") && d.last_error.contains("reinstalls"),
        "{}",
        d.last_error
    );
    assert_eq!(d.attempts, 1, "no retries of what cannot work");
    assert_eq!(h.directory.workspace_active(ORG), Some(true));
    assert!(h.directory.reports().is_empty(), "{:?}", h.directory.reports());
    assert!(h.slack.messages().is_empty());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_revoked_bot_token_fails_the_orgs_pending_deliveries_without_a_retry_storm(
    #[case] backend: Backend,
) {
    let config = DeliveryConfig {
        workers: 1,
        ..fast_config()
    };
    let mut h = Harness::idle(backend, config).await;
    for (ovice, slack) in [("alice", "U0ALICE"), ("bob", "U0BOB"), ("carol", "U0CAROL")] {
        h.link(ovice, slack, false).await;
    }
    let mut ids = vec![];
    for (i, to) in ["alice", "bob", "carol", "alice", "bob", "carol"]
        .iter()
        .enumerate()
    {
        let id = format!("m{i}");
        h.accepted(message(&id, "dan", &[to], "hi")).await;
        ids.push(id);
    }
    assert!(h.slack.revoke_token(BOT_TOKEN));
    h.spawn_workers();
    for id in &ids {
        let d = h.wait_for(id, St::Failed).await;
        assert!(d.last_error.contains("token_revoked"), "{}", d.last_error);
    }
    assert_eq!(h.calls("chat.postMessage"), 1, "one refusal stops the org");
    assert_eq!(h.directory.workspace_active(ORG), Some(false));
    assert!(matches!(
        h.directory.reports().as_slice(),
        [Report::WorkspaceTokenInvalid { reason, team_id, .. }] if reason == "token_revoked" && team_id == TEAM
    ));
    // New messages are skipped right away.
    let r = h.enqueue(message("later", "dan", &["bob"], "hi")).await.unwrap();
    assert_eq!(
        (r.disposition(), r.skip_reason()),
        (pb::Disposition::Skipped, pb::SkipReason::WorkspaceTokenInvalid)
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn publishing_twice_even_concurrently_sends_one_message(#[case] backend: Backend) {
    let h = Harness::start(backend, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = h.service();
            tokio::spawn(async move {
                let mut client = client;
                client
                    .enqueue_direct_message(pb::EnqueueDirectMessageRequest {
                        message: Some(message("m1", "alice", &["bob"], "once")),
                    })
                    .await
                    .unwrap()
                    .into_inner()
            })
        })
        .collect();
    let mut answers = vec![];
    for c in calls {
        answers.push(c.await.unwrap());
    }
    let accepted = answers
        .iter()
        .filter(|a| a.disposition() == pb::Disposition::Accepted)
        .count();
    assert_eq!(accepted, 1);
    assert!(answers.iter().all(|a| a.delivery_id == answers[0].delivery_id));
    h.wait_for("m1", St::Sent).await;
    let again = h.enqueue(message("m1", "alice", &["bob"], "once")).await.unwrap();
    assert_eq!(again.disposition(), pb::Disposition::Duplicate);
    assert_eq!(again.delivery_id, answers[0].delivery_id);
    assert_eq!(h.slack.messages().len(), 1);
}

/// A 429 whose `Retry-After` no clock can hold (99,999,999,999 s) neither panics the worker nor
/// parks the message for ages: the lane waits an hour (`slack_client::MAX_RETRY_AFTER`), and other
/// conversations go on.
#[tokio::test]
async fn an_absurd_retry_after_neither_panics_nor_stops_other_conversations() {
    let mut h = Harness::idle(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.link("carol", "U0CAROL", false).await;
    h.slack.inject_fault(
        Fault::next(FaultKind::RateLimited {
            retry_after_secs: Some(99_999_999_999),
        })
        .on("chat.postMessage"),
    );
    h.accepted(message("m1", "alice", &["bob"], "to bob")).await;
    let before = UnixMillis::now();
    h.spawn_workers();
    eventually("the 429 is answered", Duration::from_secs(10), || async {
        h.slack.calls().iter().any(|c| c.status == 429).then_some(())
    })
    .await;
    h.accepted(message("m2", "alice", &["carol"], "to carol")).await;
    h.wait_for("m2", St::Sent).await;
    let held = eventually("m1 is handed back", Duration::from_secs(10), || async {
        h.stored("m1").await.filter(|d| d.lease_owner.is_none())
    })
    .await;
    assert_eq!(held.status, delivery::domain::DeliveryStatus::Pending);
    let wait = held.next_attempt_at.since(before);
    assert!(
        wait >= Duration::from_secs(3_590) && wait <= Duration::from_secs(3_610),
        "due again in {wait:?}, not in an hour"
    );
    assert_eq!(h.slack.messages().len(), 1, "only carol's message went out");
}

#[tokio::test]
async fn server_errors_are_retried_until_the_message_is_sent() {
    let h = Harness::idle(Backend::Sqlite, fast_config()).await;
    let mut h = h;
    h.link("bob", "U0BOB", false).await;
    h.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .on("chat.postMessage")
            .times(2),
    );
    h.slack
        .inject_fault(Fault::next(FaultKind::Drop).on("chat.postMessage"));
    h.accepted(message("m1", "alice", &["bob"], "persist")).await;
    h.spawn_workers();
    let d = h.wait_for("m1", St::Sent).await;
    assert_eq!(d.attempts, 4);
    assert_eq!(h.slack.messages().len(), 1);
    let statuses: Vec<u16> = h.slack.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![503, 503, 0, 200]);
    // From outside, a 5xx or a dropped connection may follow a post Slack made: each is reported
    // as a possible duplicate (here none was: the emulator failed before posting).
    assert_eq!(d.ambiguous_attempts, 3);
}

/// Slack posts the message, then the answer is lost: a 5xx, a dropped connection, or a stall past
/// the client's timeout. The rule: tried again (a lost message is worse than a repeated one) and
/// counted, so the duplicates in Slack equal the ambiguous attempts the delivery reports.
#[rstest]
#[case::server_error_after_posting(FaultKind::HttpStatus { status: 500 })]
#[case::connection_dropped_after_posting(FaultKind::Drop)]
#[case::stall_past_the_timeout_after_posting(FaultKind::Delay {
    millis: u64::try_from(SLACK_TIMEOUT.as_millis()).unwrap() + 1_500,
})]
#[tokio::test]
async fn a_post_slack_made_but_did_not_confirm_is_retried_and_reported(#[case] kind: FaultKind) {
    let mut h = Harness::idle(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.slack
        .inject_fault(Fault::next(kind).on("chat.postMessage").after_work());
    h.accepted(message("m1", "alice", &["bob"], "maybe twice")).await;
    h.spawn_workers();
    let d = h.wait_for("m1", St::Sent).await;
    let copies = h
        .slack
        .messages()
        .iter()
        .filter(|m| m.text.contains("maybe twice"))
        .count();
    assert_eq!(copies, 2, "Slack kept the first post");
    assert_eq!(
        (d.attempts, d.ambiguous_attempts),
        (2, 1),
        "one duplicate, one ambiguous attempt reported"
    );
    assert!(
        d.last_error.is_empty() || d.last_error.contains("may have"),
        "{}",
        d.last_error
    );
}

/// A 429 says Slack did not post: no retry is ambiguous, no copy appears.
#[tokio::test]
async fn a_refusal_is_never_counted_as_ambiguous() {
    let mut h = Harness::idle(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.slack.inject_fault(
        Fault::next(FaultKind::RateLimited {
            retry_after_secs: Some(1),
        })
        .on("chat.postMessage"),
    );
    h.accepted(message("m1", "alice", &["bob"], "once")).await;
    h.spawn_workers();
    let d = h.wait_for("m1", St::Sent).await;
    assert_eq!((d.attempts, d.ambiguous_attempts), (1, 0));
    assert_eq!(h.slack.messages().len(), 1);
}

/// Slack fails every call for a while: the org's circuit opens after a few failures, the backlog
/// waits for one probe at a time instead of spending each message's attempts, nothing ends DEAD
/// (though every message could have run out of attempts many times over), and once Slack answers
/// the backlog goes out at once.
#[tokio::test]
async fn an_outage_costs_one_probe_per_wait_and_no_message() {
    let config = DeliveryConfig {
        max_attempts: 2,
        circuit_failures: 3,
        retry_base: Duration::from_millis(200),
        retry_cap: Duration::from_millis(400),
        ..fast_config()
    };
    let mut h = Harness::idle(Backend::Sqlite, config).await;
    let people: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
    for (i, p) in people.iter().enumerate() {
        h.link(p, &format!("U0P{i:02}"), false).await;
    }
    h.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .on("chat.postMessage")
            .times(100_000),
    );
    for p in &people {
        h.accepted(message(&format!("m-{p}"), "alice", &[p], "through the outage"))
            .await;
    }
    h.spawn_workers();
    let outage = Duration::from_secs(4);
    // The outage itself: nothing to await but time.
    tokio::time::sleep(outage).await;
    let during = h.calls("chat.postMessage");
    eprintln!("{during} posts during the outage");
    h.slack.clear_faults();
    for p in &people {
        h.wait_for(&format!("m-{p}"), St::Sent).await;
    }
    // Without the circuit each of the 20 would retry every 0.2 s: about 400 calls. With it: the
    // three failures that open it, then one probe per wait (0.1–0.2 s, then 0.2–0.4 s); 17 here.
    assert!(
        during <= 3 + outage.as_millis() as usize / 150,
        "{during} posts during a {outage:?} outage"
    );
    assert_eq!(h.slack.messages().len(), people.len());
    let dead = h
        .operator()
        .list_deliveries(pb::ListDeliveriesRequest {
            org_id: ORG.into(),
            status: St::Dead.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(dead.deliveries.is_empty());
}

/// A message that cannot be delivered within its retry window ends EXPIRED with the reason; an
/// operator's retry opens a new window.
#[tokio::test]
async fn a_message_past_its_window_expires_with_the_reason_and_a_retry_reopens_it() {
    let config = DeliveryConfig {
        retry_for: Duration::from_secs(2),
        ..fast_config()
    };
    let h = Harness::start(Backend::Sqlite, config).await;
    h.link("bob", "U0BOB", false).await;
    h.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .on("chat.postMessage")
            .times(100_000),
    );
    let id = h.accepted(message("m1", "alice", &["bob"], "late")).await;
    let expired = h.wait_for("m1", St::Expired).await;
    assert!(
        expired
            .last_error
            .starts_with("not delivered within 2s of being accepted; the last failure: ")
            && expired.last_error.contains("HTTP 503"),
        "{}",
        expired.last_error
    );
    assert!(h.slack.messages().is_empty());
    h.slack.clear_faults();
    let retried = h
        .operator()
        .retry_delivery(pb::RetryDeliveryRequest {
            org_id: ORG.into(),
            delivery_id: id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.status(), St::Pending);
    h.wait_for("m1", St::Sent).await;
    assert_eq!(h.slack.messages().len(), 1);
}

#[tokio::test]
async fn exhausted_retries_end_dead_and_an_operator_retry_sends_the_message() {
    let config = DeliveryConfig {
        max_attempts: 3,
        ..fast_config()
    };
    let h = Harness::start(Backend::Sqlite, config).await;
    h.link("bob", "U0BOB", false).await;
    h.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 502 })
            .on("chat.postMessage")
            .times(3),
    );
    let id = h.accepted(message("m1", "alice", &["bob"], "eventually")).await;
    let dead = h.wait_for("m1", St::Dead).await;
    assert_eq!(dead.attempts, 3);
    assert!(dead.last_error.contains("502"), "{}", dead.last_error);
    assert!(h.slack.messages().is_empty());
    let retried = h
        .operator()
        .retry_delivery(pb::RetryDeliveryRequest {
            org_id: ORG.into(),
            delivery_id: id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((retried.status(), retried.attempts), (St::Pending, 0));
    let sent = h.wait_for("m1", St::Sent).await;
    assert_eq!(sent.attempts, 1);
    let messages = h.slack.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].text.ends_with(": eventually"),
        "the text was kept for the retry"
    );
}

#[tokio::test]
async fn a_recipient_who_disconnected_after_accept_is_skipped_at_send_time() {
    let mut h = Harness::idle(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.accepted(message("m1", "alice", &["bob"], "hi")).await;
    h.directory.unlink_user(ORG, "bob");
    h.spawn_workers();
    let d = h.wait_for("m1", St::Skipped).await;
    assert_eq!(d.skip_reason(), pb::SkipReason::RecipientNotConnected);
    assert_eq!(d.attempts, 0);
    assert!(h.slack.calls().is_empty());
}

#[tokio::test]
async fn a_crashed_workers_deliveries_are_taken_over_when_the_lease_expires() {
    let mut h = Harness::idle(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.accepted(message("m1", "alice", &["bob"], "hi")).await;
    // Another process claimed it and died.
    let now = UnixMillis::now();
    let claimed = h
        .store
        .claim_due(Claim {
            worker_id: "crashed-process",
            now,
            lease_until: now.plus(Duration::from_millis(700)),
            limit: 10,
            per_org: 10,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    h.spawn_workers();
    let d = h.wait_for("m1", St::Sent).await;
    assert_eq!(d.attempts, 1);
    assert!(
        UnixMillis::now().since(now) >= Duration::from_millis(700),
        "not before the lease expired"
    );
    assert_eq!(h.slack.messages().len(), 1);
}

#[tokio::test]
async fn stopping_finishes_sends_in_flight_and_gives_back_the_rest() {
    let config = DeliveryConfig {
        tier3_per_minute: 1.try_into().unwrap(),
        pacing_max_wait: Duration::from_secs(120),
        // A lease must outlast the pacing wait and two Slack calls.
        lease: Duration::from_secs(130),
        ..fast_config()
    };
    let mut h = Harness::start(Backend::Sqlite, config).await;
    h.link("bob", "U0BOB", false).await;
    h.link("carol", "U0CAROL", false).await;
    h.link("alice", "U0ALICE", true).await;
    h.accepted(message("m1", "alice", &["bob"], "first")).await;
    h.wait_for("m1", St::Sent).await;
    // A second DM needs conversations.open, whose one-per-minute slot is used up: the worker waits.
    h.accepted(message("m2", "alice", &["carol"], "second")).await;
    eventually("m2 is claimed", Duration::from_secs(10), || async {
        let d = h.stored("m2").await.unwrap();
        d.lease_owner.is_some().then_some(())
    })
    .await;
    let stopping = tokio::time::Instant::now();
    h.stop_workers().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stop does not wait for the pacing"
    );
    let d = h.stored("m2").await.unwrap();
    assert_eq!(d.status, delivery::domain::DeliveryStatus::Pending);
    assert_eq!(
        (d.lease_owner, d.attempts),
        (None, 0),
        "given back, no attempt counted"
    );
    assert_eq!(h.slack.messages().len(), 1);
}
