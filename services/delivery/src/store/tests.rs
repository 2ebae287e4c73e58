//! One suite, run on SQLite and on PostgreSQL.

use std::{collections::HashSet, time::Duration};

use ovice_slack_runtime::test_support::{Backend, TempDirGuard, fresh_database};
use rstest::rstest;

use super::*;
use crate::domain::{ChatMessage, Sender, SpaceRole, UserId};

const T0: UnixMillis = UnixMillis::from_millis(1_700_000_000_000);
const LEASE: Duration = Duration::from_secs(30);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn o(id: &str) -> OrgId {
    OrgId::new(id)
}

async fn store(backend: Backend) -> (Arc<dyn OutboxStore>, Option<TempDirGuard>) {
    let (db, guard) = fresh_database(backend).await.expect("test database");
    (open(&db).await.expect("migrations"), guard)
}

fn delivery(org: &str, message: &str, recipient: &str, sent_at: UnixMillis) -> Delivery {
    let m = ChatMessage {
        org_id: org.into(),
        space_id: "s1".into(),
        space_name: "Lobby".into(),
        message_id: message.into(),
        sent_at,
        sender: Sender {
            user_id: "alice".into(),
            display_name: "Alice".into(),
            role: SpaceRole::Member,
        },
        text: format!("text of {message}"),
        mentions: vec![],
        link_url: None,
    };
    Delivery::accept(
        DeliveryId::new(uuid::Uuid::now_v7().to_string()),
        &m,
        &UserId::new(recipient),
        T0,
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
    )
}

fn claim(worker: &str, now: UnixMillis, limit: u32) -> Claim<'_> {
    Claim {
        worker_id: worker,
        now,
        lease_until: now + LEASE,
        limit,
        per_org: 100,
    }
}

fn ids(rows: &[Delivery]) -> Vec<String> {
    rows.iter().map(|d| d.message_id.clone()).collect()
}

fn again(at: UnixMillis, mode: Option<DeliveryMode>, error: &str) -> Again<'_> {
    Again {
        at,
        mode,
        error,
        ambiguous: false,
    }
}

fn sent() -> Outcome {
    Outcome::Sent {
        mode: DeliveryMode::BotDm,
        channel: "D1".into(),
        ts: "1.000001".into(),
        revision: 0,
        language: crate::domain::Language::Japanese,
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn insert_is_idempotent_per_org_and_message(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let first = delivery("o1", "m1", "bob", T0);
    let (stored, inserted) = s.insert_if_absent(&first).await.unwrap();
    assert!(inserted);
    assert_eq!(stored, first);
    let again = delivery("o1", "m1", "carol", T0);
    let (stored, inserted) = s.insert_if_absent(&again).await.unwrap();
    assert!(!inserted);
    assert_eq!(stored, first, "the existing row is returned unchanged");
    // The same message id in another org is another message.
    assert!(
        s.insert_if_absent(&delivery("o2", "m1", "bob", T0))
            .await
            .unwrap()
            .1
    );
    assert_eq!(s.get(&o("o1"), "m1").await.unwrap(), Some(first.clone()));
    assert_eq!(s.get(&o("o1"), "nope").await.unwrap(), None);
    assert_eq!(s.get_by_id(&first.delivery_id).await.unwrap(), Some(first));
    assert_eq!(s.get_by_id(&"nope".into()).await.unwrap(), None);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn concurrent_duplicates_store_exactly_one_row(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.insert_if_absent(&delivery("o1", "m1", "bob", T0)).await })
        })
        .collect();
    let mut winners = 0;
    let mut seen = HashSet::new();
    for t in tasks {
        let (d, inserted) = t.await.unwrap().unwrap();
        winners += usize::from(inserted);
        seen.insert(d.delivery_id);
    }
    assert_eq!(winners, 1);
    assert_eq!(seen.len(), 1, "every caller is told the one delivery id");
    assert_eq!(s.list(&o("o1"), None, None, 50).await.unwrap().len(), 1);
}

/// Accepts arriving together share a commit; one that the database refuses (PostgreSQL stores no
/// NUL in text, and aborts the transaction it was in) fails alone, and the others are stored.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_committed_together_fail_only_alone(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut d = delivery("o1", &format!("m{i:03}"), &format!("r{}", i % 7), T0);
                if i == 100 {
                    d.text = "a NUL \0 here".into();
                }
                s.insert_if_absent(&d).await
            })
        })
        .collect();
    let mut stored = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok((_, inserted)) => {
                assert!(inserted, "m{i:03} is new");
                stored += 1;
            }
            Err(e) => assert!(i == 100 && backend == Backend::Postgres, "m{i:03} failed: {e}"),
        }
    }
    let expected = if backend == Backend::Postgres { 199 } else { 200 };
    assert_eq!(stored, expected);
    assert_eq!(s.list(&o("o1"), None, None, 500).await.unwrap().len(), expected);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn list_is_newest_first_filtered_and_paged(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    for i in 0..5 {
        s.insert_if_absent(&delivery("o1", &format!("m{i}"), &format!("r{i}"), T0))
            .await
            .unwrap();
    }
    s.insert_if_absent(&delivery("o2", "x", "r", T0)).await.unwrap();
    let all = s.list(&o("o1"), None, None, 50).await.unwrap();
    assert_eq!(ids(&all), vec!["m4", "m3", "m2", "m1", "m0"]);
    let page1 = s.list(&o("o1"), None, None, 2).await.unwrap();
    assert_eq!(ids(&page1), vec!["m4", "m3"]);
    let page2 = s
        .list(&o("o1"), None, Some(&page1[1].delivery_id), 2)
        .await
        .unwrap();
    assert_eq!(ids(&page2), vec!["m2", "m1"]);
    let page3 = s
        .list(&o("o1"), None, Some(&page2[1].delivery_id), 2)
        .await
        .unwrap();
    assert_eq!(ids(&page3), vec!["m0"]);
    // Finish m1 and m3; filter by status.
    let claimed = s.claim_due(claim("w", T0, 10)).await.unwrap();
    for d in claimed
        .iter()
        .filter(|d| d.message_id == "m1" || d.message_id == "m3")
    {
        assert!(s.complete(&d.delivery_id, "w", &sent(), T0, true).await.unwrap());
    }
    let done = s
        .list(&o("o1"), Some(DeliveryStatus::Sent), None, 50)
        .await
        .unwrap();
    assert_eq!(ids(&done), vec!["m3", "m1"]);
    let pending = s
        .list(&o("o1"), Some(DeliveryStatus::Pending), None, 50)
        .await
        .unwrap();
    assert_eq!(ids(&pending), vec!["m4", "m2", "m0"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn claims_lease_due_rows_and_an_expired_lease_hands_them_over(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let due = delivery("o1", "due", "bob", T0);
    let mut later = delivery("o1", "later", "carol", T0);
    later.next_attempt_at = T0 + ms(60_000);
    s.insert_if_absent(&due).await.unwrap();
    s.insert_if_absent(&later).await.unwrap();

    let got = s.claim_due(claim("w1", T0, 10)).await.unwrap();
    assert_eq!(ids(&got), vec!["due"]);
    assert_eq!(got[0].lease_owner.as_deref(), Some("w1"));
    assert_eq!(got[0].lease_until, Some(T0 + LEASE));
    assert_eq!(got[0].status, DeliveryStatus::Pending);
    assert_eq!(got[0].text, "text of due");
    // Leased: nobody else gets it while the lease holds.
    assert!(
        s.claim_due(claim("w2", T0 + LEASE - ms(1), 10))
            .await
            .unwrap()
            .is_empty()
    );
    // w1 "crashed": once the lease expired, w2 takes the row over.
    let taken = s.claim_due(claim("w2", T0 + LEASE, 10)).await.unwrap();
    assert_eq!(ids(&taken), vec!["due"]);
    assert_eq!(taken[0].lease_owner.as_deref(), Some("w2"));
    // w1 can no longer change it; w2 can.
    assert!(
        !s.complete(&due.delivery_id, "w1", &sent(), T0, true)
            .await
            .unwrap()
    );
    assert!(
        !s.reschedule(&due.delivery_id, "w1", &again(T0, None, "x"), T0)
            .await
            .unwrap()
    );
    assert!(!s.release(&due.delivery_id, "w1", T0).await.unwrap());
    assert!(
        s.complete(&due.delivery_id, "w2", &sent(), T0 + ms(1), true)
            .await
            .unwrap()
    );
    // A finished row is never claimed again, and not changed by its former owner either.
    assert!(
        !s.complete(&due.delivery_id, "w2", &sent(), T0 + ms(2), true)
            .await
            .unwrap()
    );
    let later_claim = s.claim_due(claim("w3", T0 + ms(60_000), 10)).await.unwrap();
    assert_eq!(ids(&later_claim), vec!["later"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn one_recipient_gets_one_message_at_a_time_in_order(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    // Inserted out of order; sent_at decides.
    for (m, at) in [("m2", T0 + ms(2)), ("m0", T0), ("m1", T0 + ms(1))] {
        s.insert_if_absent(&delivery("o1", m, "bob", at)).await.unwrap();
    }
    s.insert_if_absent(&delivery("o1", "other", "carol", T0 + ms(5)))
        .await
        .unwrap();
    let mut order = vec![];
    for round in 0..3 {
        let got = s.claim_due(claim("w", T0 + ms(round), 10)).await.unwrap();
        let bob: Vec<_> = got.iter().filter(|d| d.recipient_user_id == "bob").collect();
        assert_eq!(bob.len(), 1, "round {round}: {got:?}");
        order.push(bob[0].message_id.clone());
        for d in &got {
            assert!(s.complete(&d.delivery_id, "w", &sent(), T0, true).await.unwrap());
        }
    }
    assert_eq!(order, vec!["m0", "m1", "m2"]);
    // A retry waiting for its time holds the line behind it.
    s.insert_if_absent(&delivery("o1", "n0", "dan", T0))
        .await
        .unwrap();
    s.insert_if_absent(&delivery("o1", "n1", "dan", T0 + ms(1)))
        .await
        .unwrap();
    let head = s.claim_due(claim("w", T0, 10)).await.unwrap();
    assert_eq!(ids(&head), vec!["n0"]);
    assert!(
        s.reschedule(
            &head[0].delivery_id,
            "w",
            &again(T0 + ms(5_000), None, "HTTP 503"),
            T0
        )
        .await
        .unwrap()
    );
    assert!(
        s.claim_due(claim("w", T0 + ms(1_000), 10))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(&s.claim_due(claim("w", T0 + ms(5_000), 10)).await.unwrap()),
        vec!["n0"]
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn organizations_take_turns(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    // A big backlog in o1, queued before o2's two messages.
    for i in 0..10 {
        s.insert_if_absent(&delivery(
            "o1",
            &format!("a{i}"),
            &format!("r{i}"),
            T0 - ms(100) + ms(i),
        ))
        .await
        .unwrap();
    }
    for i in 0..2 {
        s.insert_if_absent(&delivery("o2", &format!("b{i}"), &format!("r{i}"), T0))
            .await
            .unwrap();
    }
    let got = s.claim_due(claim("w", T0, 4)).await.unwrap();
    let per_org = |org: &str| got.iter().filter(|d| d.org_id == org).count();
    assert_eq!((per_org("o1"), per_org("o2")), (2, 2), "{got:?}");
    let capped = s
        .claim_due(Claim {
            per_org: 3,
            ..claim("w", T0, 50)
        })
        .await
        .unwrap();
    assert_eq!(
        capped.len(),
        3,
        "at most 3 of o1's remaining rows; o2 has none left"
    );
    assert!(capped.iter().all(|d| d.org_id == "o1"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn concurrent_claimers_never_get_the_same_row(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    const N: usize = 120;
    for i in 0..N {
        s.insert_if_absent(&delivery(
            &format!("o{}", i % 3),
            &format!("m{i}"),
            &format!("r{i}"),
            T0,
        ))
        .await
        .unwrap();
    }
    let claimers: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            tokio::spawn(async move {
                let worker = format!("w{w}");
                let mut mine = vec![];
                loop {
                    let got = s.claim_due(claim(&worker, T0, 7)).await.unwrap();
                    if got.is_empty() {
                        break;
                    }
                    for d in &got {
                        assert_eq!(d.lease_owner.as_deref(), Some(worker.as_str()));
                    }
                    mine.extend(got.into_iter().map(|d| d.delivery_id));
                    tokio::task::yield_now().await;
                }
                mine
            })
        })
        .collect();
    let mut all = vec![];
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a row was claimed twice");
    assert_eq!(all.len(), N, "every row was claimed");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn final_states_keep_the_slack_ids_and_erase_the_text(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    for m in ["sent", "skipped", "failed", "dead", "expired"] {
        s.insert_if_absent(&delivery("o1", m, m, T0)).await.unwrap();
    }
    let got = s.claim_due(claim("w", T0, 10)).await.unwrap();
    let by = |m: &str| {
        got.iter()
            .find(|d| d.message_id == m)
            .unwrap()
            .delivery_id
            .clone()
    };
    let now = T0 + ms(10);
    assert!(s.complete(&by("sent"), "w", &sent(), now, false).await.unwrap());
    assert!(
        s.complete(
            &by("skipped"),
            "w",
            &Outcome::Skipped(SkipReason::RecipientNotConnected),
            now,
            false
        )
        .await
        .unwrap()
    );
    let failed = Outcome::Failed {
        mode: Some(DeliveryMode::BotDm),
        error: "Slack chat.postMessage failed: is_archived".into(),
    };
    assert!(s.complete(&by("failed"), "w", &failed, now, false).await.unwrap());
    let dead = Outcome::Dead {
        mode: None,
        error: "HTTP 503".into(),
        ambiguous: true,
    };
    assert!(s.complete(&by("dead"), "w", &dead, now, true).await.unwrap());
    let expired = Outcome::Expired {
        mode: None,
        error: "not delivered within 6h".into(),
        attempted: false,
        ambiguous: false,
    };
    assert!(
        s.complete(&by("expired"), "w", &expired, now, false)
            .await
            .unwrap()
    );

    let d = s.get(&o("o1"), "sent").await.unwrap().unwrap();
    assert_eq!(d.status, DeliveryStatus::Sent);
    assert_eq!(
        (d.slack_channel_id.as_str(), d.slack_ts.as_str()),
        ("D1", "1.000001")
    );
    assert_eq!(d.mode, Some(DeliveryMode::BotDm));
    assert_eq!((d.attempts, d.updated_at), (1, now));
    // The text goes; the sender's name stays, to show an edit under it.
    assert_eq!((d.text.as_str(), d.sender_name.as_str()), ("", "Alice"));
    assert_eq!((d.lease_owner, d.lease_until), (None, None));
    let d = s.get(&o("o1"), "skipped").await.unwrap().unwrap();
    assert_eq!(d.status, DeliveryStatus::Skipped);
    assert_eq!(d.skip_reason, Some(SkipReason::RecipientNotConnected));
    assert_eq!((d.attempts, d.text.as_str()), (0, ""));
    // FAILED keeps its text (an operator may retry it) until the retention ends.
    let d = s.get(&o("o1"), "failed").await.unwrap().unwrap();
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert_eq!(d.last_error, "Slack chat.postMessage failed: is_archived");
    assert_eq!(d.text, "text of failed");
    let d = s.get(&o("o1"), "dead").await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.text.as_str(), d.mode),
        (DeliveryStatus::Dead, "", None)
    );
    assert_eq!((d.attempts, d.ambiguous_attempts), (1, 1));
    // Expiring before an attempt counts none.
    let d = s.get(&o("o1"), "expired").await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.attempts, d.ambiguous_attempts, d.last_error.as_str()),
        (DeliveryStatus::Expired, 0, 0, "not delivered within 6h")
    );
    assert_eq!(d.text, "text of expired");

    assert_eq!(s.erase_text_before(now).await.unwrap(), 0);
    assert_eq!(s.erase_text_before(now + ms(1)).await.unwrap(), 2);
    let d = s.get(&o("o1"), "failed").await.unwrap().unwrap();
    assert_eq!((d.text.as_str(), d.sender_name.as_str()), ("", ""));
    assert_eq!(d.last_error, "Slack chat.postMessage failed: is_archived");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn reschedule_counts_an_attempt_and_release_does_not(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let d = delivery("o1", "m1", "bob", T0);
    s.insert_if_absent(&d).await.unwrap();
    s.claim_due(claim("w", T0, 1)).await.unwrap();
    assert!(
        s.reschedule(
            &d.delivery_id,
            "w",
            &Again {
                ambiguous: true,
                ..again(T0 + ms(2_000), Some(DeliveryMode::AsSender), "HTTP 502")
            },
            T0 + ms(1)
        )
        .await
        .unwrap()
    );
    let r = s.get_by_id(&d.delivery_id).await.unwrap().unwrap();
    assert_eq!(
        (
            r.attempts,
            r.ambiguous_attempts,
            r.next_attempt_at,
            r.last_error.as_str()
        ),
        (1, 1, T0 + ms(2_000), "HTTP 502")
    );
    assert_eq!(
        (r.mode, r.lease_owner, r.updated_at),
        (Some(DeliveryMode::AsSender), None, T0 + ms(1))
    );
    assert_eq!(s.next_wakeup(T0).await.unwrap(), Some(T0 + ms(2_000)));
    assert!(
        s.claim_due(claim("w", T0 + ms(1_999), 1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.claim_due(claim("w", T0 + ms(2_000), 1)).await.unwrap().len(), 1);
    // While leased, the next wake-up is the lease's end.
    assert_eq!(
        s.next_wakeup(T0 + ms(2_000)).await.unwrap(),
        Some(T0 + ms(2_000) + LEASE)
    );
    // Released: no attempt counted, due no earlier than asked, claimable again.
    assert!(s.release(&d.delivery_id, "w", T0 + ms(3_000)).await.unwrap());
    let r = s.get_by_id(&d.delivery_id).await.unwrap().unwrap();
    assert_eq!(
        (r.attempts, r.next_attempt_at, r.lease_owner),
        (1, T0 + ms(3_000), None)
    );
    assert_eq!(
        s.claim_due(claim("w2", T0 + ms(3_000), 1)).await.unwrap().len(),
        1
    );
    assert!(s.release(&d.delivery_id, "w2", T0).await.unwrap());
    assert_eq!(
        s.get_by_id(&d.delivery_id)
            .await
            .unwrap()
            .unwrap()
            .next_attempt_at,
        T0 + ms(3_000),
        "a release never makes a row due earlier"
    );
    assert_eq!(s.next_wakeup(T0 + ms(3_000)).await.unwrap(), None);
    assert_eq!(s.pending_stats().await.unwrap(), (1, Some(T0)));
    s.claim_due(claim("w3", T0 + ms(3_000), 1)).await.unwrap();
    s.complete(&d.delivery_id, "w3", &sent(), T0 + ms(4_000), true)
        .await
        .unwrap();
    assert_eq!(s.pending_stats().await.unwrap(), (0, None));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_rejected_bot_token_fails_the_orgs_pending_rows(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    for (org, m, r) in [
        ("o1", "a", "r1"),
        ("o1", "b", "r2"),
        ("o1", "c", "r3"),
        ("o1", "d", "r4"),
        ("o2", "x", "r1"),
    ] {
        s.insert_if_absent(&delivery(org, m, r, T0)).await.unwrap();
    }
    // "a" is being sent by another worker; "b" is already sent.
    let got = s.claim_due(claim("w", T0, 10)).await.unwrap();
    let by = |m: &str| {
        got.iter()
            .find(|d| d.message_id == m)
            .unwrap()
            .delivery_id
            .clone()
    };
    assert!(s.complete(&by("b"), "w", &sent(), T0, true).await.unwrap());
    for m in ["c", "d", "x"] {
        assert!(s.release(&by(m), "w", T0).await.unwrap());
    }
    let n = s
        .fail_pending_for_org(
            &o("o1"),
            "the workspace's bot token was rejected: token_revoked",
            T0 + ms(5),
            true,
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    for m in ["c", "d"] {
        let d = s.get(&o("o1"), m).await.unwrap().unwrap();
        assert_eq!(d.status, DeliveryStatus::Failed);
        assert!(d.last_error.contains("token_revoked"));
        assert_eq!((d.text.as_str(), d.updated_at), ("", T0 + ms(5)));
    }
    assert_eq!(
        s.get(&o("o1"), "a").await.unwrap().unwrap().status,
        DeliveryStatus::Pending
    );
    assert_eq!(
        s.get(&o("o1"), "b").await.unwrap().unwrap().status,
        DeliveryStatus::Sent
    );
    assert_eq!(
        s.get(&o("o2"), "x").await.unwrap().unwrap().status,
        DeliveryStatus::Pending
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn retry_puts_failed_dead_and_expired_back_to_pending(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    for m in ["failed", "dead", "sent", "expired"] {
        s.insert_if_absent(&delivery("o1", m, m, T0)).await.unwrap();
    }
    let got = s.claim_due(claim("w", T0, 10)).await.unwrap();
    let by = |m: &str| {
        got.iter()
            .find(|d| d.message_id == m)
            .unwrap()
            .delivery_id
            .clone()
    };
    let failed = Outcome::Failed {
        mode: Some(DeliveryMode::BotDm),
        error: "user_disabled".into(),
    };
    s.complete(&by("failed"), "w", &failed, T0, false).await.unwrap();
    s.reschedule(&by("dead"), "w", &again(T0, None, "HTTP 500"), T0)
        .await
        .unwrap();
    let again = s.claim_due(claim("w", T0, 10)).await.unwrap();
    assert_eq!(ids(&again), vec!["dead"]);
    let dead = Outcome::Dead {
        mode: None,
        error: "HTTP 500".into(),
        ambiguous: false,
    };
    s.complete(&by("dead"), "w", &dead, T0, false).await.unwrap();
    s.complete(&by("sent"), "w", &sent(), T0, false).await.unwrap();
    let expired = Outcome::Expired {
        mode: None,
        error: "not delivered within 6h".into(),
        attempted: true,
        ambiguous: false,
    };
    s.complete(&by("expired"), "w", &expired, T0, false)
        .await
        .unwrap();

    for m in ["failed", "dead", "expired"] {
        let r = s.retry(&o("o1"), &by(m), T0 + ms(100)).await.unwrap().unwrap();
        assert_eq!(r.status, DeliveryStatus::Pending);
        assert_eq!(
            (r.attempts, r.next_attempt_at, r.last_error.as_str()),
            (0, T0 + ms(100), "")
        );
        // A retry opens a new window: the retried message may be tried as long as a new one.
        assert_eq!(r.window_started_at, T0 + ms(100));
        assert_eq!(r.text, format!("text of {m}"));
    }
    assert_eq!(s.retry(&o("o1"), &by("sent"), T0).await.unwrap(), None);
    assert_eq!(s.retry(&o("o2"), &by("failed"), T0).await.unwrap(), None);
    assert_eq!(s.retry(&o("o1"), &"nope".into(), T0).await.unwrap(), None);
    assert_eq!(s.claim_due(claim("w", T0 + ms(100), 10)).await.unwrap().len(), 3);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn waking_an_org_makes_its_unheld_rows_due_and_leaves_the_rest(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    for (org, m, to) in [
        ("o1", "a", "bob"),
        ("o1", "b", "carol"),
        ("o1", "c", "dan"),
        ("o2", "d", "bob"),
    ] {
        s.insert_if_absent(&delivery(org, m, to, T0)).await.unwrap();
    }
    let got = s.claim_due(claim("w", T0, 10)).await.unwrap();
    let by = |m: &str| {
        got.iter()
            .find(|d| d.message_id == m)
            .unwrap()
            .delivery_id
            .clone()
    };
    // a and d wait for a probe an hour away; b is still held; c backed off.
    let later = T0 + ms(3_600_000);
    assert!(s.release(&by("a"), "w", later).await.unwrap());
    assert!(s.release(&by("d"), "w", later).await.unwrap());
    assert!(
        s.reschedule(&by("c"), "w", &again(later, None, "HTTP 503"), T0)
            .await
            .unwrap()
    );
    let now = T0 + ms(5_000);
    assert_eq!(s.wake_org(&o("o1"), now).await.unwrap(), 2);
    let due = s.claim_due(claim("w2", now, 10)).await.unwrap();
    assert_eq!(ids(&due), vec!["a", "c"]);
    // Another org's rows keep their time.
    assert_eq!(
        s.get(&o("o2"), "d").await.unwrap().unwrap().next_attempt_at,
        later
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_long_queue_to_one_person_neither_blocks_others_nor_outlives_its_head(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    // 600 messages to bob (more than a claim reads as candidates), then one to carol.
    for i in 0..600 {
        s.insert_if_absent(&delivery("o1", &format!("b{i:03}"), "bob", T0 + ms(i)))
            .await
            .unwrap();
    }
    s.insert_if_absent(&delivery("o1", "c0", "carol", T0 + ms(1_000)))
        .await
        .unwrap();
    let got = s.claim_due(claim("w", T0 + ms(2_000), 10)).await.unwrap();
    assert_eq!(ids(&got), vec!["b000", "c0"]);
    let by = |m: &str| {
        got.iter()
            .find(|d| d.message_id == m)
            .unwrap()
            .delivery_id
            .clone()
    };

    // bob's first message is in flight when the org's token is rejected: the rest of bob's queue
    // fails, and a message accepted afterwards waits for the one in flight, then goes.
    assert!(s.complete(&by("c0"), "w", &sent(), T0, true).await.unwrap());
    assert_eq!(
        s.fail_pending_for_org(&o("o1"), "token_revoked", T0 + ms(3_000), true)
            .await
            .unwrap(),
        599
    );
    s.insert_if_absent(&delivery("o1", "b600", "bob", T0 + ms(4_000)))
        .await
        .unwrap();
    assert!(
        s.claim_due(claim("w", T0 + ms(5_000), 10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.complete(&by("b000"), "w", &sent(), T0 + ms(5_000), true)
            .await
            .unwrap()
    );
    assert_eq!(
        ids(&s.claim_due(claim("w", T0 + ms(5_000), 10)).await.unwrap()),
        vec!["b600"]
    );

    // A failed message an operator retries is claimable again, in its place in the order.
    let failed = s.get(&o("o1"), "b001").await.unwrap().unwrap();
    s.retry(&o("o1"), &failed.delivery_id, T0 + ms(6_000))
        .await
        .unwrap()
        .unwrap();
    s.insert_if_absent(&delivery("o1", "c1", "carol", T0 + ms(6_000)))
        .await
        .unwrap();
    let b600 = s.get(&o("o1"), "b600").await.unwrap().unwrap();
    assert!(s.release(&b600.delivery_id, "w", T0 + ms(6_000)).await.unwrap());
    let mut again = ids(&s.claim_due(claim("w", T0 + ms(7_000), 10)).await.unwrap());
    again.sort();
    assert_eq!(again, vec!["b001", "c1"]);
    // The store kept every queue's head claimable on its own: housekeeping finds nothing to fix.
    assert_eq!(s.promote_heads().await.unwrap(), 0);
}

/// Replicas on one PostgreSQL hear of each other's new deliveries at once; on SQLite (one process)
/// there is nobody to hear and listening ends at once.
#[tokio::test]
async fn an_announcement_wakes_the_replicas_that_listen() {
    use tokio::sync::Notify;
    use tokio_util::sync::CancellationToken;
    let within = Duration::from_secs(10);
    let (s, _g) = store(Backend::Postgres).await;
    let wake = Arc::new(Notify::new());
    let stop = CancellationToken::new();
    let listening = tokio::spawn({
        let (s, wake, stop) = (s.clone(), wake.clone(), stop.clone());
        async move { s.listen_for_new_work(wake, stop).await }
    });
    // On (re)connecting the listener wakes once: what was announced meanwhile is not lost.
    tokio::time::timeout(within, wake.notified()).await.unwrap();
    s.announce_new_work().await.unwrap();
    tokio::time::timeout(within, wake.notified()).await.unwrap();
    stop.cancel();
    tokio::time::timeout(within, listening).await.unwrap().unwrap();

    let (lite, _g) = store(Backend::Sqlite).await;
    lite.announce_new_work().await.unwrap();
    tokio::time::timeout(within, lite.listen_for_new_work(wake, CancellationToken::new()))
        .await
        .unwrap();
}

/// Replicas taking slots of one lane at the same moment share its rate: no slot is taken twice,
/// so the deployment as a whole keeps to it.
#[rstest]
#[case::memory(None)]
#[case::postgres(Some(Backend::Postgres))]
#[tokio::test]
async fn replicas_share_a_lanes_rate(#[case] backend: Option<Backend>) {
    use crate::domain::{Rate, Slot};
    use lanes::LaneStore;
    let (_outbox, _g, replicas): (_, _, Vec<Arc<dyn LaneStore>>) = match backend {
        None => {
            let one: Arc<dyn LaneStore> = Arc::new(lanes::MemoryLanes::default());
            (None, None, vec![one.clone(), one])
        }
        Some(b) => {
            let (db, g) = fresh_database(b).await.unwrap();
            let outbox = open(&db).await.unwrap();
            // Two replicas: two stores on the one database.
            (Some(outbox), g, vec![lanes::open(&db), lanes::open(&db)])
        }
    };
    let rate = Rate::new(1, Duration::from_secs(1), 2);
    let hour = Duration::from_secs(3600);
    let takes = (0..20).map(|i| {
        let lanes = replicas[i % 2].clone();
        tokio::spawn(async move { lanes.take("T1/post/D1", T0, rate, hour).await.unwrap() })
    });
    let mut waits: Vec<u64> = Vec::new();
    for t in takes {
        match t.await.unwrap() {
            Slot::Taken { wait, .. } => waits.push(wait.as_secs()),
            Slot::Busy(w) => panic!("busy {w:?}"),
        }
    }
    waits.sort_unstable();
    let expected: Vec<u64> = [0].into_iter().chain(0..19).collect();
    assert_eq!(waits, expected, "a burst of two, then one a second");
    // Too far off: nothing is taken.
    assert!(matches!(
        replicas[0].take("T1/post/D1", T0, rate, Duration::from_secs(5)).await.unwrap(),
        Slot::Busy(w) if w == Duration::from_secs(19)
    ));
    // A 429 closes the lane for every replica (its time moved on to T0 + 30 s: the first slot comes a
    // tolerance earlier); other lanes are untouched; idle lanes go.
    replicas[1].close("T1/post/D2", T0 + ms(30_000)).await.unwrap();
    assert!(matches!(
        replicas[0].take("T1/post/D2", T0, rate, hour).await.unwrap(),
        Slot::Taken { wait, .. } if wait == Duration::from_secs(29)
    ));
    assert!(matches!(
        replicas[0].take("T1/post/D3", T0, rate, hour).await.unwrap(),
        Slot::Taken { wait, .. } if wait.is_zero()
    ));
    assert_eq!(replicas[0].prune(T0 + ms(2_000)).await.unwrap(), 1);
}

/// Rows a plan read, from `EXPLAIN ANALYZE`'s text: each node's rows times its loops, plus the rows
/// its filters removed (shown per loop). Linear in the table for a sound plan, quadratic for a
/// join that rescans every pending row per candidate.
fn rows_read(plan: &[String]) -> u64 {
    let number_after = |line: &str, key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    let (mut read, mut loops) = (0, 1);
    for line in plan {
        if line.contains("actual time=") {
            loops = number_after(line, " loops=").unwrap_or(1);
            read += number_after(line, " rows=").unwrap_or(0) * loops;
        } else if line.contains("Rows Removed by") {
            read += number_after(line, ": ").unwrap_or(0) * loops;
        }
    }
    read
}

/// A table of sent messages is analysed while nothing is pending (PostgreSQL's usual view of an
/// outbox), then a burst arrives before the next analysis: the claim and the housekeeping that
/// un-queues heads still read each pending row a bounded number of times. With the planner left to
/// choose, the claim rescanned every pending row per candidate (279 s with 26,000 pending).
#[tokio::test]
async fn a_burst_the_statistics_have_not_seen_is_read_once() {
    use ovice_slack_runtime::db::Database;
    let (db, _g) = fresh_database(Backend::Postgres).await.unwrap();
    let _outbox = open(&db).await.unwrap();
    let Database::Postgres(pool) = &db else {
        unreachable!("a PostgreSQL database")
    };
    let insert = |status: &'static str, from: u32, to: u32| {
        // Two messages to each person: the first due, the second queued behind it.
        format!(
            "INSERT INTO deliveries (delivery_id, org_id, message_id, space_id, space_name, sender_user_id, \
             sender_name, sender_role, recipient_user_id, text, link_url, sent_at, status, next_attempt_at, \
             created_at, updated_at, queued) \
             SELECT lpad(i::text, 8, '0'), 'o1', 'm' || i, 's1', 'Lobby', 'alice', 'Alice', 'member', \
                    'u' || (i % {half}), 'x', '', i, '{status}', 0, 0, 0, \
                    CASE WHEN '{status}' = 'pending' AND i >= {from} + {half} THEN 1 ELSE 0 END \
             FROM generate_series({from}, {to}) i",
            half = (to + 1 - from) / 2
        )
    };
    for sql in [
        "ALTER TABLE deliveries SET (autovacuum_enabled = false)".to_owned(),
        insert("sent", 1, 2_000),
        "ANALYZE deliveries".to_owned(),
        insert("pending", 10_001, 14_000),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.unwrap();
    }
    let pending = 4_000;
    let explain = |sql: String| format!("EXPLAIN ANALYZE {sql}");
    let plan = |sql: String, text: &'static str, binds: Vec<i64>| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(text);
            for b in binds {
                q = q.bind(b);
            }
            let lines = q.fetch_all(&mut *tx).await.unwrap();
            tx.rollback().await.unwrap();
            lines
        }
    };
    let claim = plan(
        explain(sql::outbox_sql::<sqlx::Postgres>(sql::CLAIM_TEMPLATE)),
        "w1",
        vec![1, 1, 100, 10, sql::claim_candidates(10)],
    )
    .await;
    assert!(
        claim.iter().any(|l| l.contains("rows=10 ")),
        "the claim took 10 rows:\n{}",
        claim.join("\n")
    );
    assert!(
        rows_read(&claim) <= 4 * pending,
        "the claim read {} rows:\n{}",
        rows_read(&claim),
        claim.join("\n")
    );
    let promote = plan(
        explain(sql::outbox_sql::<sqlx::Postgres>(sql::PROMOTE_HEADS_TEMPLATE)),
        "",
        vec![],
    )
    .await;
    assert!(
        rows_read(&promote) <= 4 * pending,
        "un-queuing heads read {} rows:\n{}",
        rows_read(&promote),
        promote.join("\n")
    );
}

fn edit(org: &str, message: &str, revision: i64, text: &str) -> MessageChange {
    MessageChange {
        org_id: o(org),
        message_id: message.into(),
        kind: ovice_slack_model::message_change::ChangeKind::Edit {
            revision,
            text: text.into(),
        },
    }
}

fn delete(org: &str, message: &str) -> MessageChange {
    MessageChange {
        org_id: o(org),
        message_id: message.into(),
        kind: ovice_slack_model::message_change::ChangeKind::Delete,
    }
}

fn read(org: &str, message: &str, reader: &str) -> MessageChange {
    MessageChange {
        org_id: o(org),
        message_id: message.into(),
        kind: ovice_slack_model::message_change::ChangeKind::Read {
            reader: UserId::new(reader),
        },
    }
}

fn applied(result: ChangeApplied) -> Delivery {
    match result {
        ChangeApplied::Applied(d) => d,
        other => panic!("not applied: {other:?}"),
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn changes_before_the_send_shape_what_is_sent_or_end_it(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    for (id, at) in [("m1", 1), ("m2", 2), ("m3", 3)] {
        s.insert_if_absent(&delivery("o1", id, "bob", T0 + ms(at)))
            .await
            .unwrap();
    }
    assert_eq!(
        s.apply_change(&edit("o1", "nope", 1, "x"), T0).await.unwrap(),
        ChangeApplied::NoDelivery
    );
    // The highest revision wins; an older or repeated one changes nothing.
    let d = applied(s.apply_change(&edit("o1", "m1", 3, "third"), T0).await.unwrap());
    assert_eq!((d.text.as_str(), d.life.revision), ("third", 3));
    assert!(matches!(
        s.apply_change(&edit("o1", "m1", 2, "second"), T0).await.unwrap(),
        ChangeApplied::Unchanged(_)
    ));
    assert!(matches!(
        s.apply_change(&edit("o1", "m1", 3, "third"), T0).await.unwrap(),
        ChangeApplied::Unchanged(_)
    ));
    assert_eq!(s.get(&o("o1"), "m1").await.unwrap().unwrap().text, "third");
    // Deleting the head of Bob's queue ends it, keeps no text, and lets the next one go.
    let d = applied(s.apply_change(&delete("o1", "m1"), T0 + ms(5)).await.unwrap());
    assert_eq!(
        (d.status, d.skip_reason, d.text.as_str()),
        (DeliveryStatus::Skipped, Some(SkipReason::Deleted), "")
    );
    let stored = s.get(&o("o1"), "m1").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.text.as_str()),
        (DeliveryStatus::Skipped, "")
    );
    assert_eq!(stored.life.deleted_at, Some(T0 + ms(5)));
    let claimed = s.claim_due(claim("w1", T0 + ms(10), 10)).await.unwrap();
    assert_eq!(ids(&claimed), ["m2"]);
    assert_eq!(claimed[0].text, "text of m2");
    // A read by someone else counts for nothing; Bob's read of m3 ends it.
    assert!(matches!(
        s.apply_change(&read("o1", "m3", "carol"), T0).await.unwrap(),
        ChangeApplied::Unchanged(_)
    ));
    let d = applied(
        s.apply_change(&read("o1", "m3", "bob"), T0 + ms(6))
            .await
            .unwrap(),
    );
    assert_eq!(
        (d.status, d.skip_reason),
        (DeliveryStatus::Skipped, Some(SkipReason::Read))
    );
    assert_eq!(d.life.read_at, Some(T0 + ms(6)));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn changes_during_and_after_the_send_leave_slack_one_thing_to_do(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    s.insert_if_absent(&delivery("o1", "m1", "bob", T0))
        .await
        .unwrap();
    s.insert_if_absent(&delivery("o1", "m2", "carol", T0))
        .await
        .unwrap();
    let claimed = s.claim_due(claim("w1", T0, 10)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    // While the sends are under way: m1 is edited, m2 deleted; a held row is only marked.
    let d = applied(
        s.apply_change(&edit("o1", "m1", 1, "edited"), T0 + ms(1))
            .await
            .unwrap(),
    );
    assert_eq!(d.status, DeliveryStatus::Pending);
    let d = applied(s.apply_change(&delete("o1", "m2"), T0 + ms(1)).await.unwrap());
    assert_eq!(d.status, DeliveryStatus::Pending);
    for d in &claimed {
        let sent = Outcome::Sent {
            mode: DeliveryMode::BotDm,
            channel: "D1".into(),
            ts: format!("1.00000{}", d.message_id.len()),
            revision: d.life.revision,
            language: crate::domain::Language::English,
        };
        assert!(
            s.complete(&d.delivery_id, "w1", &sent, T0 + ms(2), true)
                .await
                .unwrap()
        );
    }
    // m1 went out with revision 0: Slack still needs revision 1, whose text is kept for it, and the
    // sender's name to show it under.
    let m1 = s.get(&o("o1"), "m1").await.unwrap().unwrap();
    assert_eq!(m1.status, DeliveryStatus::Sent);
    assert_eq!((m1.life.slack_revision, m1.life.revision), (0, 1));
    assert_eq!(m1.life.pending_change, Some(crate::domain::SlackChange::Update));
    assert_eq!((m1.text.as_str(), m1.sender_name.as_str()), ("edited", "Alice"));
    // m2 went out although it was deleted meanwhile: Slack must delete it; no text is kept.
    let m2 = s.get(&o("o1"), "m2").await.unwrap().unwrap();
    assert_eq!(m2.life.pending_change, Some(crate::domain::SlackChange::Delete));
    assert_eq!(m2.text, "");
    // After the send an edit asks for one update, and a delete replaces a waiting update.
    let d = applied(
        s.apply_change(&edit("o1", "m1", 2, "again"), T0 + ms(3))
            .await
            .unwrap(),
    );
    assert_eq!((d.text.as_str(), d.life.change_due_at), ("again", T0 + ms(3)));
    let d = applied(s.apply_change(&delete("o1", "m1"), T0 + ms(4)).await.unwrap());
    assert_eq!(d.life.pending_change, Some(crate::domain::SlackChange::Delete));
    let m1 = s.get(&o("o1"), "m1").await.unwrap().unwrap();
    assert_eq!((m1.text.as_str(), m1.life.deleted_at), ("", Some(T0 + ms(4))));
    // Nothing changes a deleted message any more.
    assert!(matches!(
        s.apply_change(&edit("o1", "m1", 9, "late"), T0 + ms(5))
            .await
            .unwrap(),
        ChangeApplied::Unchanged(_)
    ));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn slacks_changes_are_claimed_once_and_what_came_meanwhile_stays_to_do(#[case] backend: Backend) {
    use crate::domain::SlackChange;
    let (s, _g) = store(backend).await;
    s.insert_if_absent(&delivery("o1", "m1", "bob", T0))
        .await
        .unwrap();
    let claimed = s.claim_due(claim("w1", T0, 10)).await.unwrap();
    assert!(
        s.complete(&claimed[0].delivery_id, "w1", &sent(), T0, true)
            .await
            .unwrap()
    );
    assert!(s.claim_changes(claim("c1", T0, 10)).await.unwrap().is_empty());
    applied(
        s.apply_change(&edit("o1", "m1", 1, "one"), T0 + ms(1))
            .await
            .unwrap(),
    );
    // One claim at a time; not before it is due.
    assert!(s.claim_changes(claim("c1", T0, 10)).await.unwrap().is_empty());
    let got = s.claim_changes(claim("c1", T0 + ms(1), 10)).await.unwrap();
    assert_eq!((got.len(), got[0].text.as_str()), (1, "one"));
    assert!(
        s.claim_changes(claim("c2", T0 + ms(2), 10))
            .await
            .unwrap()
            .is_empty()
    );
    // Revision 2 comes while revision 1 is being sent: it stays to do, with its text.
    applied(
        s.apply_change(&edit("o1", "m1", 2, "two"), T0 + ms(2))
            .await
            .unwrap(),
    );
    let done = ChangeEnd::Done {
        change: SlackChange::Update,
        revision: 1,
    };
    assert!(
        !s.end_change(&got[0].delivery_id, "c2", &done, T0 + ms(3))
            .await
            .unwrap()
    );
    assert!(
        s.end_change(&got[0].delivery_id, "c1", &done, T0 + ms(3))
            .await
            .unwrap()
    );
    let d = s.get(&o("o1"), "m1").await.unwrap().unwrap();
    assert_eq!(
        (d.life.slack_revision, d.life.pending_change),
        (1, Some(SlackChange::Update))
    );
    assert_eq!(d.text, "two");
    // A transient failure waits; Slack's refusal clears the text and keeps the reason.
    let got = s.claim_changes(claim("c1", T0 + ms(3), 10)).await.unwrap();
    let again = ChangeEnd::Again {
        at: T0 + ms(100),
        error: Some("Slack is unavailable"),
        attempt: true,
    };
    let due_since = got[0].updated_at;
    assert!(
        s.end_change(&got[0].delivery_id, "c1", &again, T0 + ms(4))
            .await
            .unwrap()
    );
    assert!(
        s.claim_changes(claim("c1", T0 + ms(99), 10))
            .await
            .unwrap()
            .is_empty()
    );
    let got = s.claim_changes(claim("c1", T0 + ms(100), 10)).await.unwrap();
    assert_eq!(got[0].life.change_attempts, 1);
    // A pacing wait counts no attempt and keeps the last failure shown; the retry window still
    // counts from when the change became due.
    let paced = ChangeEnd::Again {
        at: T0 + ms(100),
        error: None,
        attempt: false,
    };
    assert!(
        s.end_change(&got[0].delivery_id, "c1", &paced, T0 + ms(100))
            .await
            .unwrap()
    );
    let got = s.claim_changes(claim("c1", T0 + ms(100), 10)).await.unwrap();
    assert_eq!(
        (
            got[0].life.change_attempts,
            got[0].life.change_error.as_str(),
            got[0].updated_at
        ),
        (1, "Slack is unavailable", due_since)
    );
    let refused = ChangeEnd::Refused {
        change: SlackChange::Update,
        error: "Slack chat.update failed: edit_window_closed",
    };
    assert!(
        s.end_change(&got[0].delivery_id, "c1", &refused, T0 + ms(101))
            .await
            .unwrap()
    );
    let d = s.get(&o("o1"), "m1").await.unwrap().unwrap();
    assert_eq!((d.life.pending_change, d.text.as_str()), (None, ""));
    assert!(d.life.change_error.contains("edit_window_closed"));
    // A delete still goes, and once done nothing is left to do.
    applied(s.apply_change(&delete("o1", "m1"), T0 + ms(102)).await.unwrap());
    let got = s.claim_changes(claim("c1", T0 + ms(102), 10)).await.unwrap();
    let deleted = ChangeEnd::Done {
        change: SlackChange::Delete,
        revision: 2,
    };
    assert!(
        s.end_change(&got[0].delivery_id, "c1", &deleted, T0 + ms(103))
            .await
            .unwrap()
    );
    let d = s.get(&o("o1"), "m1").await.unwrap().unwrap();
    assert!(d.life.removed_from_slack(d.status));
    assert!(
        s.claim_changes(claim("c1", T0 + ms(200), 10))
            .await
            .unwrap()
            .is_empty()
    );

    // A delete that comes while an update Slack then refuses is on its way still goes.
    s.insert_if_absent(&delivery("o1", "m2", "bob", T0))
        .await
        .unwrap();
    let claimed = s.claim_due(claim("w1", T0 + ms(300), 10)).await.unwrap();
    assert!(
        s.complete(&claimed[0].delivery_id, "w1", &sent(), T0 + ms(300), true)
            .await
            .unwrap()
    );
    applied(
        s.apply_change(&edit("o1", "m2", 1, "one"), T0 + ms(301))
            .await
            .unwrap(),
    );
    let got = s.claim_changes(claim("c1", T0 + ms(301), 10)).await.unwrap();
    applied(s.apply_change(&delete("o1", "m2"), T0 + ms(302)).await.unwrap());
    assert!(
        s.end_change(&got[0].delivery_id, "c1", &refused, T0 + ms(303))
            .await
            .unwrap()
    );
    let d = s.get(&o("o1"), "m2").await.unwrap().unwrap();
    assert_eq!(d.life.pending_change, Some(SlackChange::Delete));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_of_a_queued_row_while_its_head_ends_leaves_the_next_one_free(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    // Many conversations, each A (head, being sent) → B (queued) → C (queued): A's send ends while
    // B is deleted. Whatever the interleaving, C is free to go at once, not after housekeeping.
    const CONVERSATIONS: usize = 60;
    for k in 0..CONVERSATIONS {
        let who = format!("r{k}");
        for (m, at) in [("a", T0), ("b", T0 + ms(1)), ("c", T0 + ms(2))] {
            s.insert_if_absent(&delivery("o1", &format!("{m}{k}"), &who, at))
                .await
                .unwrap();
        }
    }
    let heads = s
        .claim_due(claim("w", T0 + ms(10), CONVERSATIONS as u32 * 3))
        .await
        .unwrap();
    assert_eq!(heads.len(), CONVERSATIONS);
    let mut tasks = tokio::task::JoinSet::new();
    for head in heads {
        let (s1, s2) = (s.clone(), s.clone());
        tasks.spawn(async move {
            s1.complete(&head.delivery_id, "w", &sent(), T0 + ms(11), true)
                .await
                .unwrap()
        });
        let queued = format!("b{}", head.message_id.trim_start_matches('a'));
        tasks.spawn(async move {
            applied(
                s2.apply_change(&delete("o1", &queued), T0 + ms(11))
                    .await
                    .unwrap(),
            );
            true
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(done.unwrap());
    }
    let next = s
        .claim_due(claim("w", T0 + ms(12), CONVERSATIONS as u32 * 3))
        .await
        .unwrap();
    let mut got = ids(&next);
    got.sort();
    let mut want: Vec<String> = (0..CONVERSATIONS).map(|k| format!("c{k}")).collect();
    want.sort();
    assert_eq!(got, want, "a C waits behind a message that is no longer pending");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn one_orgs_burst_of_changes_does_not_hold_back_anothers(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    // Org o1 edits 20 sent messages, then o2 edits one.
    let mut rows = Vec::new();
    for (org, n) in [("o1", 20), ("o2", 1)] {
        for k in 0..n {
            let d = delivery(org, &format!("{org}m{k}"), &format!("r{k}"), T0);
            s.insert_if_absent(&d).await.unwrap();
            rows.push((org, d.message_id.clone()));
        }
    }
    let claimed = s.claim_due(claim("w", T0, 100)).await.unwrap();
    assert_eq!(claimed.len(), 21);
    for d in &claimed {
        assert!(s.complete(&d.delivery_id, "w", &sent(), T0, true).await.unwrap());
    }
    for (i, (org, message)) in rows.iter().enumerate() {
        let at = T0 + ms(1 + i as u64);
        applied(s.apply_change(&edit(org, message, 1, "new"), at).await.unwrap());
    }
    let mut turn = claim("c", T0 + ms(100), 5);
    turn.per_org = 4;
    let got = s.claim_changes(turn).await.unwrap();
    let orgs: Vec<&str> = got.iter().map(|d| d.org_id.as_str()).collect();
    assert_eq!(got.len(), 5, "{orgs:?}");
    assert_eq!(orgs.iter().filter(|o| **o == "o2").count(), 1, "{orgs:?}");
    // The oldest of o1 go first.
    let mut o1: Vec<String> = got
        .iter()
        .filter(|d| d.org_id.as_str() == "o1")
        .map(|d| d.message_id.clone())
        .collect();
    o1.sort();
    assert_eq!(o1, ["o1m0", "o1m1", "o1m2", "o1m3"]);
}
