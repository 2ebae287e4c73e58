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
        blocks(&ja).contains("*alice (ovice)*（Design Room）"),
        "{}",
        blocks(&ja)
    );
    assert!(blocks(&en).contains("Open in ovice"), "{}", blocks(&en));
    assert!(
        blocks(&en).contains("*alice (ovice)* in Design Room"),
        "{}",
        blocks(&en)
    );
    assert_eq!(ja.text, "alice (ovice)（Design Room）: 明日 &lt;!here&gt; 10時に");
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
