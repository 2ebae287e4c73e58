//! A message's life after it is published (docs/product.md §2.3), through the gateway against the
//! emulator on both databases: what the platform reports before the send decides what the single
//! Slack message says, or that there is none.

use std::time::Duration;

use ovice_slack_proto::v1::{
    ChatMessageChangeOutcome, ChatMessageDelete, ChatMessageEdit, ChatMessageRead, DeleteChatMessageRequest,
    DeliveryStatus, Disposition, EditChatMessageRequest, MarkChatMessageReadRequest,
    PublishChatMessageRequest, SkipReason, publish_chat_message_request::Change,
};
use ovice_slack_runtime::test_support::Backend;
use rstest::rstest;
use slack_emulator::{Fault, FaultKind};

use crate::{
    delivery::{Office, message, person, to},
    support::{Who, tokens::authed},
};

impl Office {
    pub async fn edit(&mut self, message_id: &str, revision: i64, text: &str) -> ChatMessageChangeOutcome {
        let edit = ChatMessageEdit {
            org_id: "org-1".into(),
            message_id: message_id.into(),
            revision,
            text: text.into(),
        };
        let request = authed(EditChatMessageRequest { edit: Some(edit) }, &Who::Platform);
        self.gateway
            .edit_chat_message(request)
            .await
            .unwrap()
            .into_inner()
            .outcome
            .unwrap()
    }

    pub async fn delete(&mut self, message_id: &str) -> ChatMessageChangeOutcome {
        let delete = ChatMessageDelete {
            org_id: "org-1".into(),
            message_id: message_id.into(),
        };
        let request = authed(DeleteChatMessageRequest { delete: Some(delete) }, &Who::Platform);
        self.gateway
            .delete_chat_message(request)
            .await
            .unwrap()
            .into_inner()
            .outcome
            .unwrap()
    }

    pub async fn read(&mut self, message_id: &str, reader: &str) -> ChatMessageChangeOutcome {
        let read = ChatMessageRead {
            org_id: "org-1".into(),
            message_id: message_id.into(),
            reader_user_id: reader.into(),
        };
        let request = authed(MarkChatMessageReadRequest { read: Some(read) }, &Who::Platform);
        self.gateway
            .mark_chat_message_read(request)
            .await
            .unwrap()
            .into_inner()
            .outcome
            .unwrap()
    }
}

fn disposition(o: &ChatMessageChangeOutcome) -> (Disposition, SkipReason) {
    (o.disposition(), o.skip_reason())
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn changes_before_the_send_make_the_one_slack_message_the_newest_or_none(#[case] backend: Backend) {
    let mut o = Office::start(backend).await;
    // Slack holds Alice's first message to Bob back for three seconds (a 429); her next three wait
    // behind it, in order, and no Slack call is made for them meanwhile.
    o.f.slack.inject_fault(
        Fault::next(FaultKind::RateLimited {
            retry_after_secs: Some(3),
        })
        .on("chat.postMessage"),
    );
    for (id, text) in [
        ("m1", "[m1] first"),
        ("m2", "[m2] draft"),
        ("m3", "[m3] sent by mistake"),
        ("m4", "[m4] seen already"),
    ] {
        let r = o
            .publish(message(id, person("alice"), vec![to("bob")], text))
            .await;
        assert_eq!(r.disposition(), Disposition::Accepted, "{r:?}");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !o
        .f
        .slack
        .calls()
        .iter()
        .any(|c| c.method == "chat.postMessage" && c.status == 429)
    {
        assert!(tokio::time::Instant::now() < deadline, "Slack was never asked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Edits: the highest revision wins, whatever the order; a repeat changes nothing.
    assert_eq!(
        disposition(&o.edit("m2", 3, "[m2] final").await).0,
        Disposition::Accepted
    );
    assert_eq!(
        disposition(&o.edit("m2", 2, "[m2] older").await).0,
        Disposition::Duplicate
    );
    assert_eq!(
        disposition(&o.edit("m2", 3, "[m2] final").await).0,
        Disposition::Duplicate
    );
    // A delete and a read before the send: never sent, each with its reason, no text kept.
    assert_eq!(disposition(&o.delete("m3").await).0, Disposition::Accepted);
    assert_eq!(disposition(&o.delete("m3").await).0, Disposition::Duplicate);
    assert_eq!(
        disposition(&o.read("m4", "carol").await).0,
        Disposition::Duplicate
    );
    assert_eq!(disposition(&o.read("m4", "bob").await).0, Disposition::Accepted);
    // A message that has no delivery (never published, or not a direct message).
    assert_eq!(
        disposition(&o.edit("never-published", 1, "x").await),
        (Disposition::Skipped, SkipReason::NotForwarded)
    );

    for id in ["m1", "m2"] {
        let d = o.settled(id).await;
        assert_eq!(d.status, DeliveryStatus::Sent as i32, "{d:?}");
    }
    let m2 = o.delivery("m2").await;
    assert_eq!((m2.revision, m2.slack_revision, m2.pending_change), (3, 3, 0));
    for (id, reason) in [("m3", SkipReason::Deleted), ("m4", SkipReason::Read)] {
        let d = o.delivery(id).await;
        assert_eq!(
            (d.status(), d.skip_reason(), d.attempts),
            (DeliveryStatus::Skipped, reason, 0),
            "{d:?}"
        );
    }
    assert!(o.delivery("m3").await.deleted_at.is_some());
    assert!(o.delivery("m4").await.read_at.is_some());
    // Slack got two messages, the second in its final wording, and was never asked to change one.
    let texts: Vec<String> = o.f.slack.messages().into_iter().map(|m| m.text).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("[m1] first"), "{texts:?}");
    assert!(texts[1].contains("[m2] final"), "{texts:?}");
    assert!(o.f.slack.changes().is_empty());
    o.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_carries_a_message_and_its_changes_in_order(#[case] backend: Backend) {
    let mut o = Office::start(backend).await;
    // Held back as above, so that the changes come before the send.
    o.f.slack.inject_fault(
        Fault::next(FaultKind::RateLimited {
            retry_after_secs: Some(2),
        })
        .on("chat.postMessage"),
    );
    let publish = |id: &str, text: &str| PublishChatMessageRequest {
        message: Some(message(id, person("alice"), vec![to("bob")], text)),
        change: None,
    };
    let change = |change: Change| PublishChatMessageRequest {
        message: None,
        change: Some(change),
    };
    let edit = |id: &str, revision: i64, text: &str| {
        change(Change::Edit(ChatMessageEdit {
            org_id: "org-1".into(),
            message_id: id.into(),
            revision,
            text: text.into(),
        }))
    };
    let requests = vec![
        publish("s1", "[s1] hello"),
        publish("s2", "[s2] draft"),
        // Each change right behind its publish: carried out after it, never before.
        edit("s2", 1, "[s2] edited"),
        publish("s3", "[s3] oops"),
        change(Change::Delete(ChatMessageDelete {
            org_id: "org-1".into(),
            message_id: "s3".into(),
        })),
        // Both at once is refused, the stream goes on.
        PublishChatMessageRequest {
            message: Some(message("s4", person("alice"), vec![to("bob")], "x")),
            change: Some(Change::Delete(ChatMessageDelete {
                org_id: "org-1".into(),
                message_id: "s4".into(),
            })),
        },
    ];
    let mut answers = o
        .gateway
        .stream_chat_messages(authed(
            tonic::codegen::tokio_stream::iter(requests),
            &Who::Platform,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    while let Some(answer) = answers.message().await.unwrap() {
        got.push((answer.message_id.clone(), answer.disposition(), answer.error_code));
    }
    assert_eq!(
        got,
        vec![
            ("s1".to_owned(), Disposition::Accepted, 0),
            ("s2".to_owned(), Disposition::Accepted, 0),
            ("s2".to_owned(), Disposition::Accepted, 0),
            ("s3".to_owned(), Disposition::Accepted, 0),
            ("s3".to_owned(), Disposition::Accepted, 0),
            (
                "s4".to_owned(),
                Disposition::Unspecified,
                tonic::Code::InvalidArgument as i32
            ),
        ]
    );
    for id in ["s1", "s2"] {
        assert_eq!(o.settled(id).await.status(), DeliveryStatus::Sent);
    }
    assert_eq!(o.delivery("s3").await.skip_reason(), SkipReason::Deleted);
    let texts: Vec<String> = o.f.slack.messages().into_iter().map(|m| m.text).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("[s2] edited")), "{texts:?}");
    assert!(
        !texts.iter().any(|t| t.contains("draft") || t.contains("[s3]")),
        "{texts:?}"
    );
    o.stop().await;
}

impl Office {
    /// Waits until Slack has nothing left to do for the delivery (bounded).
    pub async fn changed(&mut self, message_id: &str) -> ovice_slack_proto::v1::Delivery {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let d = self.delivery(message_id).await;
            if d.pending_change == 0 {
                return d;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{message_id} still waits for Slack: {d:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn after_the_send_edits_update_and_deletes_remove_the_slack_message_with_the_token_that_posted_it(
    #[case] backend: Backend,
) {
    let mut o = Office::start(backend).await;
    // Alice is connected: posted as her. Carol is not: the org's bot DMs Bob.
    o.publish(message(
        "a1",
        person("alice"),
        vec![to("bob")],
        "[a1] lunch at 12",
    ))
    .await;
    o.publish(message("c1", person("carol"), vec![to("bob")], "[c1] call me"))
        .await;
    let a1 = o.settled("a1").await;
    let c1 = o.settled("c1").await;
    let shown =
        |slack: &slack_emulator::EmulatorHandle, ts: &str| slack.messages().into_iter().find(|m| m.ts == ts);

    // Revisions 3, 2, 3 of Alice's message: Slack shows 3, updated once, with Alice's token.
    assert_eq!(
        o.edit("a1", 3, "[a1] lunch at 1").await.disposition(),
        Disposition::Accepted
    );
    assert_eq!(
        o.edit("a1", 2, "[a1] lunch at 12:30").await.disposition(),
        Disposition::Duplicate
    );
    assert_eq!(
        o.edit("a1", 3, "[a1] lunch at 1").await.disposition(),
        Disposition::Duplicate
    );
    let d = o.changed("a1").await;
    assert_eq!(
        (d.revision, d.slack_revision, d.change_error.as_str()),
        (3, 3, "")
    );
    let m = shown(&o.f.slack, &a1.slack_ts).unwrap();
    assert!(
        m.text.contains("[a1] lunch at 1") && !m.text.contains("12"),
        "{}",
        m.text
    );
    assert!(m.edited_ts.is_some());
    // The bot's DM is updated with the bot's token.
    assert_eq!(
        o.edit("c1", 1, "[c1] call me at 3").await.disposition(),
        Disposition::Accepted
    );
    o.changed("c1").await;
    assert!(
        shown(&o.f.slack, &c1.slack_ts)
            .unwrap()
            .text
            .contains("[c1] call me at 3")
    );
    let changes = o.f.slack.changes();
    let by = |ts: &str| -> Vec<(String, slack_emulator::TokenKind)> {
        changes
            .iter()
            .filter(|c| c.ts == ts)
            .map(|c| (c.user.clone(), c.token_kind))
            .collect()
    };
    assert_eq!(
        by(&a1.slack_ts),
        vec![("U0ALICE".to_owned(), slack_emulator::TokenKind::User)]
    );
    assert_eq!(
        by(&c1.slack_ts),
        vec![("U0ACMEBOT".to_owned(), slack_emulator::TokenKind::Bot)]
    );

    // Past the workspace's edit window: the reason is shown and nothing is reposted.
    o.f.slack.set_edit_window(Some(Duration::ZERO));
    o.edit("a1", 4, "[a1] too late").await;
    let d = o.changed("a1").await;
    assert!(d.change_error.contains("edit_window_closed"), "{d:?}");
    assert_eq!((d.revision, d.slack_revision), (4, 3));
    assert_eq!(o.f.slack.messages().len(), 2);
    o.f.slack.set_edit_window(None);

    // A delete removes each from Slack, with the token that posted it.
    assert_eq!(o.delete("a1").await.disposition(), Disposition::Accepted);
    assert_eq!(o.delete("c1").await.disposition(), Disposition::Accepted);
    for id in ["a1", "c1"] {
        let d = o.changed(id).await;
        assert!(d.removed_from_slack && d.deleted_at.is_some(), "{d:?}");
        assert_eq!(d.status(), DeliveryStatus::Sent);
    }
    assert!(o.f.slack.messages().is_empty(), "{:?}", o.f.slack.messages());
    let deletes: Vec<_> =
        o.f.slack
            .changes()
            .into_iter()
            .filter(|c| c.kind == slack_emulator::ChangeKind::Deleted)
            .map(|c| (c.ts, c.token_kind))
            .collect();
    assert_eq!(deletes.len(), 2, "{deletes:?}");
    assert!(deletes.contains(&(a1.slack_ts.clone(), slack_emulator::TokenKind::User)));
    assert!(deletes.contains(&(c1.slack_ts.clone(), slack_emulator::TokenKind::Bot)));
    o.stop().await;
}

/// Bob's own Slack preferences, as he sets them in Personal Integration Settings.
async fn set_hold(o: &mut Office, who: &Who, seconds: i32) -> Result<i32, tonic::Status> {
    let request = ovice_slack_proto::v1::UpdateSlackPreferencesRequest {
        org_id: "org-1".into(),
        space_id: "space-1".into(),
        preferences: Some(ovice_slack_proto::v1::SlackPreferences {
            hold_unread_seconds: seconds,
            ..Default::default()
        }),
    };
    o.f.links
        .update_slack_preferences(authed(request, who))
        .await
        .map(|r| r.into_inner().hold_unread_seconds)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_hold_for_unread_messages_forwards_only_what_is_still_unread_after_it(#[case] backend: Backend) {
    use crate::account_linking::BOB;
    let mut o = Office::start(backend).await;
    // Visitors cannot connect, so they have no preferences either; a hold beyond an hour is refused.
    let visitor = Who::Person {
        org: "org-1",
        user: "vera",
        email: "vera@acme.test",
        space: "space-1",
        role: ovice_slack_runtime::auth::SpaceRole::Visitor,
    };
    let refused = set_hold(&mut o, &visitor, 30).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let refused = set_hold(&mut o, &BOB, 3601).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("preferences.hold_unread_seconds"),
        "{refused:?}"
    );
    assert_eq!(set_hold(&mut o, &BOB, 30).await.unwrap(), 30);
    let shown =
        o.f.links
            .get_slack_connection(authed(
                ovice_slack_proto::v1::GetSlackConnectionRequest {
                    org_id: "org-1".into(),
                    space_id: "space-1".into(),
                },
                &BOB,
            ))
            .await
            .unwrap()
            .into_inner();
    assert_eq!(shown.preferences.map(|p| p.hold_unread_seconds), Some(30));

    let accepted_at = std::time::SystemTime::now();
    o.publish(message(
        "r1",
        person("alice"),
        vec![to("bob")],
        "[r1] read in ovice",
    ))
    .await;
    o.publish(message(
        "r2",
        person("alice"),
        vec![to("bob")],
        "[r2] still unread",
    ))
    .await;
    // Bob reads the first in ovice five seconds later: it never reaches Slack.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let held = o.delivery("r1").await;
    assert_eq!(held.status(), DeliveryStatus::Pending, "{held:?}");
    assert!(held.held_until.is_some(), "{held:?}");
    assert_eq!(o.read("r1", "bob").await.disposition(), Disposition::Accepted);
    let r1 = o.delivery("r1").await;
    assert_eq!(
        (r1.status(), r1.skip_reason()),
        (DeliveryStatus::Skipped, SkipReason::Read)
    );
    // The second, unread, goes once its thirty seconds are over, and not before.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    let r2 = loop {
        let d = o.delivery("r2").await;
        if d.status() != DeliveryStatus::Pending {
            break d;
        }
        assert!(tokio::time::Instant::now() < deadline, "{d:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(r2.status(), DeliveryStatus::Sent, "{r2:?}");
    let waited = accepted_at.elapsed().unwrap();
    assert!(waited >= Duration::from_secs(30), "sent after {waited:?}");
    let texts: Vec<String> = o.f.slack.messages().into_iter().map(|m| m.text).collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("[r2] still unread"), "{texts:?}");
    o.stop().await;
}

/// Bob's whole preferences, as Personal Integration Settings sends them.
async fn set_preferences(
    o: &mut Office,
    who: &Who,
    org_id: &str,
    preferences: ovice_slack_proto::v1::SlackPreferences,
) -> Result<ovice_slack_proto::v1::SlackPreferences, tonic::Status> {
    let request = ovice_slack_proto::v1::UpdateSlackPreferencesRequest {
        org_id: org_id.into(),
        space_id: "space-1".into(),
        preferences: Some(preferences),
    };
    o.f.links
        .update_slack_preferences(authed(request, who))
        .await
        .map(tonic::Response::into_inner)
}

/// Through every process: Bob pauses and sets quiet hours and Japanese in his settings; a DM while
/// paused ends SKIPPED (paused) without reaching Slack; after he resumes, the next DM reaches him with
/// a Japanese frame. Visitors and other organizations are refused; each wrong field is named.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn preferences_set_in_personal_settings_decide_what_reaches_slack(#[case] backend: Backend) {
    use crate::account_linking::BOB;
    use ovice_slack_proto::v1::{QuietHours, SlackPreferences};
    let mut o = Office::start(backend).await;
    let paused_japanese = SlackPreferences {
        paused: true,
        quiet_hours: Some(QuietHours {
            start: "22:00".into(),
            end: "07:00".into(),
            time_zone: "Asia/Tokyo".into(),
        }),
        language: "ja".into(),
        ..Default::default()
    };
    let visitor = Who::Person {
        org: "org-1",
        user: "vera",
        email: "vera@acme.test",
        space: "space-1",
        role: ovice_slack_runtime::auth::SpaceRole::Visitor,
    };
    let refused = set_preferences(&mut o, &visitor, "org-1", paused_japanese.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    {
        use tonic_types::StatusExt;
        let told = refused.get_details_localized_message().unwrap();
        assert!(told.message.starts_with("You cannot do this here"), "{told:?}");
    }
    let refused = set_preferences(&mut o, &BOB, "org-2", paused_japanese.clone())
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::PermissionDenied,
        "another org: {refused:?}"
    );
    let wrong = SlackPreferences {
        paused: false,
        paused_until: Some(prost_types::Timestamp { seconds: 1, nanos: 0 }),
        quiet_hours: Some(QuietHours {
            start: "22:00".into(),
            end: "7am".into(),
            time_zone: "Tokyo".into(),
        }),
        language: "fr".into(),
        ..Default::default()
    };
    let refused = set_preferences(&mut o, &BOB, "org-1", wrong.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    for field in [
        "preferences.paused_until",
        "preferences.quiet_hours.end",
        "preferences.language",
    ] {
        assert!(refused.message().contains(field), "{field}: {refused:?}");
    }
    // What Bob reads, in the language of his ovice (`locale: ja`): a LocalizedMessage beside the
    // English message.
    use tonic_types::StatusExt;
    let english = refused.get_details_localized_message().unwrap();
    assert_eq!(english.locale, "en");
    assert!(
        english
            .message
            .starts_with("Some settings are not valid: the end of the pause, the end of quiet hours, the time zone of quiet hours, the language."),
        "{english:?}"
    );
    let request = ovice_slack_proto::v1::UpdateSlackPreferencesRequest {
        org_id: "org-1".into(),
        space_id: "space-1".into(),
        preferences: Some(wrong),
    };
    let refused_ja =
        o.f.links
            .update_slack_preferences(crate::support::tokens::authed_in(request, &BOB, "ja"))
            .await
            .unwrap_err();
    let japanese = refused_ja.get_details_localized_message().unwrap();
    assert_eq!(japanese.locale, "ja");
    assert!(
        japanese
            .message
            .starts_with("無効な設定があります：一時停止の終了日時、おやすみ時間の終了時刻、おやすみ時間のタイムゾーン、言語。"),
        "{japanese:?}"
    );
    assert_eq!(
        refused_ja.message(),
        refused.message(),
        "operators read the same English message"
    );
    let stored = set_preferences(&mut o, &BOB, "org-1", paused_japanese.clone())
        .await
        .unwrap();
    assert_eq!(
        stored,
        SlackPreferences {
            effective_language: "ja".into(),
            ..paused_japanese
        }
    );
    let shown =
        o.f.links
            .get_slack_connection(authed(
                ovice_slack_proto::v1::GetSlackConnectionRequest {
                    org_id: "org-1".into(),
                    space_id: "space-1".into(),
                },
                &BOB,
            ))
            .await
            .unwrap()
            .into_inner();
    assert_eq!(shown.preferences, Some(stored));

    o.publish(message("p1", person("alice"), vec![to("bob")], "while paused"))
        .await;
    let p1 = o.settled("p1").await;
    assert_eq!(
        (p1.status(), p1.skip_reason()),
        (DeliveryStatus::Skipped, SkipReason::Paused)
    );
    assert!(o.f.slack.messages().is_empty());

    // Resumed, quiet hours off: the next one goes, framed in Japanese.
    set_preferences(
        &mut o,
        &BOB,
        "org-1",
        SlackPreferences {
            language: "ja".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    o.publish(message("p2", person("alice"), vec![to("bob")], "after the pause"))
        .await;
    let p2 = o.settled("p2").await;
    assert_eq!(p2.status(), DeliveryStatus::Sent, "{p2:?}");
    let sent = o.f.slack.messages();
    assert_eq!(sent.len(), 1);
    let blocks = serde_json::to_string(&sent[0].blocks).unwrap_or_default();
    assert!(blocks.contains("ovice で開く"), "{blocks}");
    assert_eq!(sent[0].text, "Tokyo OfficeのAlice：after the pause");
    o.stop().await;
}
