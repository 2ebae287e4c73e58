//! A recipient's preferences at send time (docs/product.md §2.4): a pause skips, quiet hours hold
//! (the outbox's clock is moved, not waited for), and the frame is in their language.

use std::time::Duration;

use chrono::DateTime;
use delivery::domain::{Language, QuietHours, SlackPreferences};
use ovice_slack_model::UnixMillis;
use ovice_slack_proto::v1::{self as pb, DeliveryStatus as St};
use ovice_slack_runtime::test_support::Backend;
use rstest::rstest;

use crate::harness::*;

fn at(rfc3339: &str) -> UnixMillis {
    UnixMillis::from_millis(DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis())
}

async fn with_bob(backend: Backend, preferences: SlackPreferences) -> Harness {
    let h = Harness::start(backend, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.directory.set_preferences(ORG, "bob", preferences);
    h
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_paused_person_gets_nothing_and_each_skipped_delivery_says_paused(#[case] backend: Backend) {
    let paused = SlackPreferences {
        paused: Some(None),
        ..SlackPreferences::default()
    };
    let h = with_bob(backend, paused).await;
    for id in ["m1", "m2", "m3"] {
        h.accepted(message(id, "alice", &["bob"], "are you there?")).await;
    }
    for id in ["m1", "m2", "m3"] {
        let d = h.wait_for(id, St::Skipped).await;
        assert_eq!(d.skip_reason(), pb::SkipReason::Paused, "{id}");
        assert_eq!(d.attempts, 0);
    }
    assert_eq!(h.slack.messages().len(), 0);
    assert_eq!(h.calls("chat.postMessage"), 0);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_pause_until_a_time_ends_by_itself(#[case] backend: Backend) {
    let now = at("2026-12-05T10:00:00Z");
    let until = at("2026-12-05T12:00:00Z");
    let paused = SlackPreferences {
        paused: SlackPreferences::pause_from(true, Some(until), now).unwrap(),
        ..SlackPreferences::default()
    };
    let h = with_bob(backend, paused).await;
    h.clock.set(now);
    h.accepted(message("m1", "alice", &["bob"], "during the pause"))
        .await;
    assert_eq!(
        h.wait_for("m1", St::Skipped).await.skip_reason(),
        pb::SkipReason::Paused
    );
    // Two hours later the pause is over, with nothing changed by anyone.
    h.clock.set(until.plus(Duration::from_secs(1)));
    h.accepted(message("m2", "alice", &["bob"], "after the pause"))
        .await;
    h.wait_for("m2", St::Sent).await;
    let sent = h.slack.messages();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("after the pause"), "{}", sent[0].text);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn quiet_hours_in_tokyo_hold_a_message_sent_at_23_and_release_it_at_7(#[case] backend: Backend) {
    let quiet = SlackPreferences {
        quiet_hours: Some(QuietHours::parse("22:00", "07:00", "Asia/Tokyo").unwrap()),
        ..SlackPreferences::default()
    };
    let h = with_bob(backend, quiet).await;
    h.clock.set(at("2026-12-05T23:00:00+09:00"));
    h.accepted(message("m1", "alice", &["bob"], "see you tomorrow"))
        .await;
    let seven = at("2026-12-06T07:00:00+09:00");
    let held =
        ovice_slack_runtime::test_support::eventually("m1 is held", Duration::from_secs(20), || async {
            let d = h.delivery("m1").await;
            d.held_until.is_some().then_some(d)
        })
        .await;
    assert_eq!(held.status(), St::Pending);
    assert_eq!(held.hold_reason(), pb::HoldReason::QuietHours);
    assert_eq!(held.held_until, Some(seven.to_proto()));
    assert_eq!(held.attempts, 0);
    // 06:59:59 in Tokyo: still quiet. The claim loop polls every 100 ms; give it several turns.
    h.clock.set(seven.minus(Duration::from_secs(1)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.delivery("m1").await.status(), St::Pending);
    assert_eq!(h.slack.messages().len(), 0);
    // 07:00: out it goes, and the delivery still says why it waited.
    h.clock.set(seven);
    let d = h.wait_for("m1", St::Sent).await;
    assert_eq!(d.hold_reason(), pb::HoldReason::QuietHours);
    assert_eq!(h.slack.messages().len(), 1);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_frame_is_in_the_recipients_language_and_edits_keep_it(#[case] backend: Backend) {
    let japanese = SlackPreferences {
        language: Some(Language::Japanese),
        ..SlackPreferences::default()
    };
    let h = with_bob(backend, japanese).await;
    h.link("carol", "U0CAROL", false).await;
    h.accepted(message("m1", "alice", &["bob"], "明日 <!here> 10時に"))
        .await;
    h.accepted(message("m2", "alice", &["carol"], "明日 <!here> 10時に"))
        .await;
    h.wait_for("m1", St::Sent).await;
    h.wait_for("m2", St::Sent).await;
    let sent = h.slack.messages();
    let to = |channel_member: &str| {
        sent.iter()
            .find(|m| h.slack.dm_members(&m.channel).iter().any(|u| u == channel_member))
            .cloned()
            .unwrap()
    };
    let (ja, en) = (to("U0BOB"), to("U0CAROL"));
    let blocks = |m: &slack_emulator::RecordedMessage| serde_json::to_string(&m.blocks).unwrap();
    assert!(blocks(&ja).contains("ovice で開く"), "{}", blocks(&ja));
    assert!(
        blocks(&ja).contains("Design Roomの *alice (ovice)*"),
        "{}",
        blocks(&ja)
    );
    assert!(blocks(&en).contains("Open in ovice"), "{}", blocks(&en));
    assert!(
        blocks(&en).contains("*alice (ovice)* in Design Room"),
        "{}",
        blocks(&en)
    );
    assert_eq!(ja.text, "Design Roomのalice (ovice)：明日 &lt;!here&gt; 10時に");
    assert_eq!(en.text, "alice (ovice) in Design Room: 明日 &lt;!here&gt; 10時に");
    for m in [&ja, &en] {
        assert_eq!(m.alerts, Vec::<String>::new(), "nothing in it notifies anyone");
        assert_eq!((m.unfurl_links, m.unfurl_media), (Some(false), Some(false)));
    }
    // The section is the same in both: only the frame differs.
    let section = |m: &slack_emulator::RecordedMessage| {
        m.blocks
            .as_ref()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "section")
            .cloned()
            .unwrap()
    };
    assert_eq!(section(&ja), section(&en));
    // Bob switches to English; an edit of the sent message keeps the Japanese frame it was posted in.
    h.directory
        .set_preferences(ORG, "bob", SlackPreferences::default());
    h.edit("m1", 1, "明後日 10時に").await;
    let updated =
        ovice_slack_runtime::test_support::eventually("m1 updated", Duration::from_secs(20), || async {
            h.slack
                .messages()
                .into_iter()
                .find(|m| m.ts == ja.ts && m.edited_ts.is_some())
        })
        .await;
    assert!(blocks(&updated).contains("ovice で開く"), "{}", blocks(&updated));
    assert!(blocks(&updated).contains("明後日 10時に"), "{}", blocks(&updated));
}

fn quiet_in_tokyo() -> SlackPreferences {
    SlackPreferences {
        quiet_hours: Some(QuietHours::parse("22:00", "07:00", "Asia/Tokyo").unwrap()),
        ..SlackPreferences::default()
    }
}

/// Publishes `ids` at 23:00 in Tokyo and waits until the first is held (the others queue behind it).
async fn held_overnight(h: &Harness, ids: &[&str]) -> UnixMillis {
    h.clock.set(at("2026-12-05T23:00:00+09:00"));
    for (i, id) in ids.iter().enumerate() {
        h.accepted(message(
            id,
            if i % 2 == 0 { "alice" } else { "carol" },
            &["bob"],
            &format!("night note {i}"),
        ))
        .await;
    }
    ovice_slack_runtime::test_support::eventually("the first is held", Duration::from_secs(20), || async {
        h.delivery(ids[0]).await.held_until.is_some().then_some(())
    })
    .await;
    at("2026-12-06T07:00:00+09:00")
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn five_messages_held_by_quiet_hours_arrive_as_one_digest(#[case] backend: Backend) {
    let h = with_bob(backend, quiet_in_tokyo()).await;
    let ids = ["m1", "m2", "m3", "m4", "m5"];
    let seven = held_overnight(&h, &ids).await;
    assert_eq!(h.slack.messages().len(), 0);
    h.clock.set(seven);
    let mut ts = Vec::new();
    for id in ids {
        let d = h.wait_for(id, St::Sent).await;
        assert!(d.in_digest, "{id}");
        assert_eq!(d.hold_reason(), pb::HoldReason::QuietHours, "{id}");
        assert_eq!(d.mode(), pb::DeliveryMode::BotDm, "{id}");
        ts.push(d.slack_ts);
    }
    assert!(ts.iter().all(|t| *t == ts[0]), "one Slack message: {ts:?}");
    let sent = h.slack.messages();
    assert_eq!(sent.len(), 1, "one digest, not five pings");
    assert_eq!(sent[0].text, "5 messages arrived during your quiet hours");
    let blocks = sent[0].blocks.clone().unwrap();
    assert_eq!(
        blocks.len(),
        1 + 2 * 5,
        "a title, then who and where and a button for each"
    );
    let json = serde_json::to_string(&blocks).unwrap();
    assert!(!json.contains("night note"), "a digest shows no text: {json}");
    assert!(json.contains("*carol (ovice)* in Design Room"), "{json}");
    for id in ids {
        assert!(
            json.contains(&format!("https://ovice.example/spaces/1/messages/{id}")),
            "{id}: {json}"
        );
    }
    assert_eq!(sent[0].alerts, Vec::<String>::new());
    // No text is kept for any of them.
    for id in ids {
        assert_eq!(h.stored(id).await.unwrap().text, "", "{id}");
    }

    // An edit changes nothing a digest shows: no Slack call.
    h.edit("m2", 1, "edited at night").await;
    // A delete shows the digest again without it; deleting the rest deletes the digest.
    h.delete("m3").await;
    let shown_again = ovice_slack_runtime::test_support::eventually(
        "the digest without m3",
        Duration::from_secs(20),
        || async {
            let m = h.slack.messages().into_iter().next()?;
            (m.edited_ts.is_some()).then_some(m)
        },
    )
    .await;
    let json = serde_json::to_string(&shown_again.blocks).unwrap();
    assert_eq!(shown_again.text, "4 messages arrived during your quiet hours");
    assert!(!json.contains("messages/m3"), "{json}");
    assert!(json.contains("messages/m2"), "{json}");
    ovice_slack_runtime::test_support::eventually("m3 removed", Duration::from_secs(20), || async {
        h.delivery("m3").await.removed_from_slack.then_some(())
    })
    .await;
    for id in ["m1", "m2", "m4", "m5"] {
        h.delete(id).await;
    }
    ovice_slack_runtime::test_support::eventually("the digest deleted", Duration::from_secs(20), || async {
        h.slack.messages().is_empty().then_some(())
    })
    .await;
    let changes = h.slack.changes();
    let updates = changes
        .iter()
        .filter(|c| matches!(c.kind, slack_emulator::ChangeKind::Updated { .. }))
        .count();
    let deletes = changes
        .iter()
        .filter(|c| c.kind == slack_emulator::ChangeKind::Deleted)
        .count();
    assert_eq!(deletes, 1, "{changes:?}");
    assert!(
        (1..=5).contains(&updates),
        "the edit made none, each delete at most one: {changes:?}"
    );
    for id in ids {
        ovice_slack_runtime::test_support::eventually(
            &format!("{id} removed"),
            Duration::from_secs(20),
            || async { h.delivery(id).await.removed_from_slack.then_some(()) },
        )
        .await;
    }
    let deletes = h
        .slack
        .changes()
        .iter()
        .filter(|c| c.kind == slack_emulator::ChangeKind::Deleted)
        .count();
    assert_eq!(deletes, 1, "the digest is deleted once");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn three_messages_held_by_quiet_hours_go_one_by_one(#[case] backend: Backend) {
    let h = with_bob(backend, quiet_in_tokyo()).await;
    let ids = ["m1", "m2", "m3"];
    let seven = held_overnight(&h, &ids).await;
    h.clock.set(seven);
    for id in ids {
        let d = h.wait_for(id, St::Sent).await;
        assert!(!d.in_digest, "{id}");
    }
    let sent = h.slack.messages();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|m| m.text.contains("night note")), "{sent:?}");
}
