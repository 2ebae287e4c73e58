//! Every Slack error the failure table names (docs/product.md §3), answered by the emulator on request,
//! once with the bot's token and once with a sender's: each gets its own outcome, and exactly one
//! message reaches Slack when one can.

use ovice_slack_proto::v1::{ConnectionState, DeliveryMode, DeliveryStatus, WorkspaceStatus};
use ovice_slack_runtime::test_support::Backend;
use rstest::rstest;
use slack_emulator::{Fault, FaultKind, TokenKind};

use crate::{
    account_linking::{ALICE, org_workspace},
    delivery::{Office, message, person, to},
};

fn refuse(code: &str, method: &str) -> Fault {
    Fault::next(FaultKind::SlackError { error: code.into() }).on(method)
}

async fn workspace_status(o: &mut Office) -> (i32, String) {
    let ws = org_workspace(&mut o.f.config).await;
    (ws.status, ws.status_reason)
}

/// A bot DM (Carol is not connected) that Slack refuses with `code`: FAILED with the code in the
/// reason; the workspace stays ACTIVE unless the code says the token is unusable.
#[rstest]
#[case::messages_tab_disabled("messages_tab_disabled", "Messages Tab", false)]
#[case::user_not_visible("user_not_visible", "user_not_visible", false)]
#[case::invalid_user_combination("invalid_user_combination", "invalid_user_combination", false)]
#[case::restricted_action("restricted_action", "restricted_action", false)]
#[case::ekm_access_denied("ekm_access_denied", "ekm_access_denied", false)]
#[case::channel_not_found("channel_not_found", "channel_not_found", false)]
#[case::team_access_not_granted("team_access_not_granted", "team_access_not_granted", true)]
#[case::not_allowed_token_type("not_allowed_token_type", "not_allowed_token_type", true)]
#[case::token_expired("token_expired", "token_expired", true)]
#[tokio::test(flavor = "multi_thread")]
async fn each_error_for_the_bot_has_its_own_answer(
    #[case] code: &str,
    #[case] reason_names: &str,
    #[case] token_unusable: bool,
) {
    let mut o = Office::start(Backend::Sqlite).await;
    o.f.slack.inject_fault(refuse(code, "chat.postMessage"));
    o.publish(message("m1", person("carol"), vec![to("bob")], "hello"))
        .await;
    let d = o.settled("m1").await;
    assert_eq!(d.status, DeliveryStatus::Failed as i32, "{d:?}");
    assert!(d.last_error.contains(reason_names), "{code}: {}", d.last_error);
    let expected = if token_unusable {
        (WorkspaceStatus::TokenInvalid as i32, code.to_owned())
    } else {
        (WorkspaceStatus::Active as i32, String::new())
    };
    assert_eq!(workspace_status(&mut o).await, expected, "{code}");
    assert!(o.f.slack.messages().is_empty());
    o.stop().await;
}

/// Alice (connected) writes to Bob and Slack refuses her token's call with `code`: the same attempt
/// sends the bot DM instead, exactly one message reaches Slack, and where the code says her token is
/// unusable her link becomes NEEDS_RECONNECT with it.
#[rstest]
#[case::user_not_visible("user_not_visible", "conversations.open", false)]
#[case::invalid_user_combination("invalid_user_combination", "conversations.open", false)]
#[case::ekm_access_denied("ekm_access_denied", "conversations.open", false)]
#[case::restricted_action("restricted_action", "chat.postMessage", false)]
#[case::team_access_not_granted("team_access_not_granted", "conversations.open", true)]
#[case::not_allowed_token_type("not_allowed_token_type", "chat.postMessage", true)]
#[case::token_expired("token_expired", "chat.postMessage", true)]
#[case::token_revoked("token_revoked", "chat.postMessage", true)]
#[tokio::test(flavor = "multi_thread")]
async fn each_error_for_a_senders_token_falls_back_to_one_bot_dm(
    #[case] code: &str,
    #[case] method: &str,
    #[case] token_unusable: bool,
) {
    let mut o = Office::start(Backend::Sqlite).await;
    o.f.slack.inject_fault(refuse(code, method));
    o.publish(message("m1", person("alice"), vec![to("bob")], "hello"))
        .await;
    let d = o.settled("m1").await;
    assert_eq!(
        (d.status, d.mode),
        (DeliveryStatus::Sent as i32, DeliveryMode::BotDm as i32),
        "{code}: {d:?}"
    );
    let sent = o.f.slack.messages();
    assert_eq!(sent.len(), 1, "{code}: {sent:?}");
    assert_eq!(sent[0].token_kind, TokenKind::Bot);
    let refused =
        o.f.slack
            .calls()
            .iter()
            .filter(|c| c.error.as_deref() == Some(code))
            .count();
    assert_eq!(refused, 1, "{code}");
    let expected = if token_unusable {
        ConnectionState::NeedsReconnect
    } else {
        ConnectionState::Connected
    };
    assert_eq!(o.f.state_of(&ALICE).await, expected, "{code}");
    o.stop().await;
}

/// A DM id remembered from Alice's first message is no longer found by Slack: the entry is dropped,
/// the conversation opened again and the post tried once more in the same attempt, still as Alice.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_cached_dm_is_opened_again_and_posted_once() {
    let mut o = Office::start(Backend::Sqlite).await;
    o.publish(message("m1", person("alice"), vec![to("bob")], "first"))
        .await;
    assert_eq!(o.settled("m1").await.mode, DeliveryMode::AsSender as i32);
    o.f.slack.clear_calls();
    o.f.slack
        .inject_fault(refuse("channel_not_found", "chat.postMessage"));
    o.publish(message("m2", person("alice"), vec![to("bob")], "second"))
        .await;
    let d = o.settled("m2").await;
    assert_eq!(
        (d.status, d.mode, d.attempts),
        (DeliveryStatus::Sent as i32, DeliveryMode::AsSender as i32, 1),
        "{d:?}"
    );
    let calls: Vec<(String, Option<String>)> =
        o.f.slack
            .calls()
            .into_iter()
            .map(|c| (c.method, c.error))
            .collect();
    assert_eq!(
        calls,
        vec![
            ("chat.postMessage".into(), Some("channel_not_found".into())),
            ("conversations.open".into(), None),
            ("chat.postMessage".into(), None),
        ]
    );
    let sent = o.f.slack.messages();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .all(|m| m.token_kind == TokenKind::User && m.user == "U0ALICE")
    );
    o.stop().await;
}
