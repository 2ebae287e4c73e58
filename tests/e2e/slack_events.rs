//! Hearing Slack (docs/product.md §2.2, "When Slack tells us"): the Connect app's Events endpoint
//! believes only what Slack signed within the last five minutes, acts on each event once however
//! often Slack delivers it, and turns what Slack says about a person into their link's state, before
//! any message needs the link.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ovice_slack_proto::v1::{
    ConnectionState, DeliveryMode, DeliveryStatus, GetSlackConnectionRequest, ListSlackConnectionsRequest,
    SkipReason, SlackConnection, WorkspaceStatus,
};
use ovice_slack_runtime::{
    db::Database,
    test_support::{Backend, eventually},
};
use rstest::rstest;
use serde_json::json;
use slack_emulator::{DEMO_SIGNING_SECRET, Fault, FaultKind, TokenKind, events::sign};

use crate::{
    account_linking::{ALICE, BOB, Fixture, org_workspace},
    delivery::{Office, connect, message, person, to},
    support::{Who, server::TEST_CLIENT_ID, tokens::authed},
};

const PATIENCE: Duration = Duration::from_secs(10);

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn connection(f: &mut Fixture, who: &Who) -> SlackConnection {
    let Who::Person { space, .. } = who else {
        unreachable!()
    };
    f.links
        .get_slack_connection(authed(
            GetSlackConnectionRequest {
                org_id: "org-1".into(),
                space_id: space.to_string(),
            },
            who,
        ))
        .await
        .unwrap()
        .into_inner()
}

/// Waits until `who`'s connection is in `state`, and returns it.
async fn connection_becomes(f: &mut Fixture, who: &Who, state: ConnectionState) -> SlackConnection {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let c = connection(f, who).await;
        if c.state == state as i32 {
            return c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {c:?}, waiting for {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The rows of the inbox: (event id, attempts, done).
async fn inbox(db: &Database) -> Vec<(String, i64, bool)> {
    let sql = "SELECT event_id, attempts, done_at IS NOT NULL FROM slack_events ORDER BY received_at";
    match db {
        Database::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Database::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    }
}

/// A request to the Events endpoint, signed (or not) as the test says.
async fn post_signed(f: &Fixture, body: &str, timestamp: i64, signature: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/slack/events", f.server.http_addr))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn alice_revoked(event_id: &str) -> String {
    json!({
        "token": "x", "team_id": "T0ACME", "api_app_id": "A0OVICE", "type": "event_callback",
        "event_id": event_id, "event_time": now_unix(),
        "event": {"type": "tokens_revoked", "tokens": {"oauth": ["U0ALICE"], "bot": []}},
    })
    .to_string()
}

/// A forged signature, a stale timestamp and a replayed body are refused with 401 and change nothing;
/// Slack's `url_verification` gets its challenge back.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn only_what_slack_signed_in_the_last_five_minutes_is_believed(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    connect(&mut f, &ALICE, "U0ALICE").await;
    let body = alice_revoked("EvFORGED");
    let now = now_unix();

    let forged = sign("not the app's secret", now, body.as_bytes());
    let (status, said) = post_signed(&f, &body, now, &forged).await;
    assert_eq!(
        (status, said.as_str()),
        (
            401,
            "the signature does not match the body under this app's signing secret"
        )
    );

    // Signed by the app, but six minutes ago: a capture played again later.
    let stale_at = now - 6 * 60;
    let stale = sign(DEMO_SIGNING_SECRET, stale_at, body.as_bytes());
    let (status, said) = post_signed(&f, &body, stale_at, &stale).await;
    assert_eq!(status, 401);
    assert!(said.contains("5 minutes"), "{said}");

    // That capture's signature with a fresh timestamp: the timestamp is part of what was signed.
    let (status, _) = post_signed(&f, &body, now, &stale).await;
    assert_eq!(status, 401);
    // And a valid signature over another body does not cover this one.
    let other = sign(DEMO_SIGNING_SECRET, now, alice_revoked("EvOTHER").as_bytes());
    let (status, _) = post_signed(&f, &body, now, &other).await;
    assert_eq!(status, 401);
    let (status, _) = post_signed(&f, &body, now, "").await;
    assert_eq!(status, 401);

    assert_eq!(
        connection(&mut f, &ALICE).await.state,
        ConnectionState::Connected as i32
    );
    assert!(inbox(&f.server.database().await).await.is_empty());

    let challenge = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let signed = sign(DEMO_SIGNING_SECRET, now, challenge.as_bytes());
    assert_eq!(
        post_signed(&f, challenge, now, &signed).await,
        (200, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into())
    );
    // Signed, but not what Slack sends: 400 with the reason, nothing stored.
    let junk = r#"{"type":"event_callback","team_id":"T0ACME","event":{"type":"app_uninstalled"}}"#;
    let signed = sign(DEMO_SIGNING_SECRET, now, junk.as_bytes());
    let (status, said) = post_signed(&f, junk, now, &signed).await;
    assert_eq!(
        (status, said.as_str()),
        (400, "a Slack event_callback request needs `event_id`")
    );
    assert!(inbox(&f.server.database().await).await.is_empty());
    f.stop().await;
}

/// Alice removes the app's access in Slack; Slack delivers `tokens_revoked` three times (its own
/// retries). Her link is NEEDS_RECONNECT once, with the reason; after she connects again, the third
/// delivery changes nothing: it was the same event.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_same_event_delivered_three_times_acts_once(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    connect(&mut f, &ALICE, "U0ALICE").await;
    connect(&mut f, &BOB, "U0BOB").await;

    let first = f
        .slack
        .revoke_user_access(TEST_CLIENT_ID, "T0ACME", "U0ALICE")
        .await
        .unwrap()
        .expect("the app has a Request URL");
    assert!(first.acknowledged(), "{first:?}");
    let c = connection_becomes(&mut f, &ALICE, ConnectionState::NeedsReconnect).await;
    assert_eq!(c.state_reason, "tokens_revoked");
    assert!(
        c.state_message
            .starts_with("Slack no longer accepts ovice's access"),
        "{c:?}"
    );
    let second = f.slack.redeliver_event(&first.event_id).await.unwrap();
    assert!(second.acknowledged() && second.retry_num == 1, "{second:?}");

    // She connects again; Slack's last retry of the old event must not undo that.
    connect(&mut f, &ALICE, "U0ALICE").await;
    assert_eq!(
        connection(&mut f, &ALICE).await.state,
        ConnectionState::Connected as i32
    );
    let third = f.slack.redeliver_event(&first.event_id).await.unwrap();
    assert!(third.acknowledged() && third.retry_num == 2, "{third:?}");
    let db = f.server.database().await;
    let rows = eventually("the event is done", PATIENCE, async || {
        let rows = inbox(&db).await;
        rows.iter().all(|r| r.2).then_some(rows)
    })
    .await;
    assert_eq!(rows, vec![(first.event_id.clone(), 1, true)]);
    let c = connection(&mut f, &ALICE).await;
    assert_eq!(
        (c.state, c.state_reason.as_str()),
        (ConnectionState::Connected as i32, "")
    );
    assert_eq!(
        connection(&mut f, &BOB).await.state,
        ConnectionState::Connected as i32
    );
    f.stop().await;
}

/// `tokens_revoked` for a connected sender: their next message goes as a bot DM at once, with no
/// attempt against Slack with the dead token first.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_sender_who_removed_the_app_is_sent_as_a_bot_dm_without_a_failed_attempt(#[case] backend: Backend) {
    let mut o = Office::start(backend).await;
    o.f.slack
        .revoke_user_access(TEST_CLIENT_ID, "T0ACME", "U0ALICE")
        .await
        .unwrap()
        .expect("the app has a Request URL");
    let c = connection_becomes(&mut o.f, &ALICE, ConnectionState::NeedsReconnect).await;
    assert_eq!(c.state_reason, "tokens_revoked");
    o.f.slack.clear_calls();

    o.publish(message("m1", person("alice"), vec![to("bob")], "Still there?"))
        .await;
    let d = o.settled("m1").await;
    assert_eq!(
        (d.status, d.mode),
        (DeliveryStatus::Sent as i32, DeliveryMode::BotDm as i32),
        "{d:?}"
    );
    let posts: Vec<_> =
        o.f.slack
            .calls()
            .into_iter()
            .filter(|c| c.method == "chat.postMessage" || c.method == "conversations.open")
            .collect();
    assert_eq!(posts.len(), 1, "one post, none refused first: {posts:?}");
    assert_eq!((posts[0].status, posts[0].error.as_deref()), (200, None));
    let sent = o.f.slack.messages();
    assert_eq!((sent.len(), sent[0].token_kind), (1, TokenKind::Bot));
    o.stop().await;
}

/// The Connect app uninstalled from the team: every link there needs a reconnect, with the reason,
/// in the org's list too.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn an_uninstalled_connect_app_leaves_every_link_of_the_team_waiting_for_a_reconnect(
    #[case] backend: Backend,
) {
    let mut f = Fixture::start(backend).await;
    connect(&mut f, &ALICE, "U0ALICE").await;
    connect(&mut f, &BOB, "U0BOB").await;
    let sent = f.slack.uninstall_app(TEST_CLIENT_ID, "T0ACME").await.unwrap();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|d| d.acknowledged()), "{sent:?}");
    for who in [&ALICE, &BOB] {
        let c = connection_becomes(&mut f, who, ConnectionState::NeedsReconnect).await;
        assert!(
            ["app_uninstalled", "tokens_revoked"].contains(&c.state_reason.as_str()),
            "{c:?}"
        );
    }
    let listed = f
        .links
        .list_slack_connections(authed(
            ListSlackConnectionsRequest {
                org_id: "org-1".into(),
                page_size: 0,
                page_token: String::new(),
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap()
        .into_inner()
        .connections;
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|c| c.state == ConnectionState::NeedsReconnect as i32 && !c.state_reason.is_empty()),
        "{listed:?}"
    );
    f.stop().await;
}

/// `user_change`: a Slack email that no longer matches the ovice account → NEEDS_RECONNECT with the
/// reason; an email change back to the matched one, or another profile change, does nothing; a
/// deactivated account → the link is removed.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_email_or_a_deactivated_account_is_reflected_in_the_link(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    connect(&mut f, &ALICE, "U0ALICE").await;
    connect(&mut f, &BOB, "U0BOB").await;

    // The same address in another case is the same address.
    let same = f
        .slack
        .change_user_email("T0ACME", "U0ALICE", "Alice@Acme.test")
        .await
        .unwrap();
    assert!(same.len() == 1 && same[0].acknowledged(), "{same:?}");
    let db = f.server.database().await;
    eventually("the first user_change is done", PATIENCE, async || {
        inbox(&db).await.iter().all(|r| r.2).then_some(())
    })
    .await;
    assert_eq!(
        connection(&mut f, &ALICE).await.state,
        ConnectionState::Connected as i32
    );

    let moved = f
        .slack
        .change_user_email("T0ACME", "U0ALICE", "alice@elsewhere.test")
        .await
        .unwrap();
    assert!(moved[0].acknowledged(), "{moved:?}");
    let c = connection_becomes(&mut f, &ALICE, ConnectionState::NeedsReconnect).await;
    assert_eq!(c.state_reason, "slack_email_changed");
    // What the item tells Alice, in the language of her ovice.
    let in_japanese = f
        .links
        .get_slack_connection(crate::support::tokens::authed_in(
            GetSlackConnectionRequest {
                org_id: "org-1".into(),
                space_id: "space-1".into(),
            },
            &ALICE,
            "ja",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        in_japanese
            .state_message
            .starts_with("Slack アカウントのメールアドレスが変わったため"),
        "{in_japanese:?}"
    );

    let gone = f.slack.deactivate_user("T0ACME", "U0BOB").await.unwrap();
    assert!(gone[0].acknowledged(), "{gone:?}");
    connection_becomes(&mut f, &BOB, ConnectionState::NotConnected).await;
    assert_eq!(f.linked_users().await, vec!["alice".to_string()]);
    f.stop().await;
}

/// The app is uninstalled from the team while messages wait for Slack (which answers 503): the org
/// is TOKEN_INVALID within a second of the event, each pending delivery ends SKIPPED with that
/// reason, and Slack is not called for the org afterwards. Here the org's bot is the Connect app's
/// own (the demo's), so the Connect app's events carry it.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn an_uninstalled_app_stops_the_org_within_a_second_and_ends_what_was_pending(
    #[case] backend: Backend,
) {
    let mut o = Office::start(backend).await;
    o.f.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .on("chat.postMessage")
            .times(10_000),
    );
    for i in 1..=3 {
        o.publish(message(
            &format!("m{i}"),
            person("carol"),
            vec![to("bob")],
            "still up?",
        ))
        .await;
    }
    eventually("Slack refused a post", PATIENCE, async || {
        o.f.slack
            .calls()
            .iter()
            .any(|c| c.method == "chat.postMessage" && c.status == 503)
            .then_some(())
    })
    .await;

    let event_at = tokio::time::Instant::now();
    let sent = o.f.slack.uninstall_app(TEST_CLIENT_ID, "T0ACME").await.unwrap();
    assert!(sent.iter().all(|d| d.acknowledged()), "{sent:?}");
    let mut config = o.f.config.clone();
    let ws = eventually("the org is TOKEN_INVALID", PATIENCE, async || {
        let ws = org_workspace(&mut config).await;
        (ws.status == WorkspaceStatus::TokenInvalid as i32).then_some(ws)
    })
    .await;
    let invalid_at = std::time::Instant::now();
    let took = event_at.elapsed();
    assert!(
        took <= Duration::from_secs(1),
        "TOKEN_INVALID {took:?} after the event"
    );
    assert!(
        ["token_revoked", "tokens_revoked"].contains(&ws.status_reason.as_str()),
        "{ws:?}"
    );

    for i in 1..=3 {
        let d = o.settled(&format!("m{i}")).await;
        assert_eq!(
            (d.status, d.skip_reason),
            (
                DeliveryStatus::Skipped as i32,
                SkipReason::WorkspaceTokenInvalid as i32
            ),
            "{d:?}"
        );
    }
    let late: Vec<_> =
        o.f.slack
            .calls()
            .into_iter()
            .filter(|c| c.at > invalid_at && c.method != "auth.test")
            .collect();
    assert!(
        late.is_empty(),
        "Slack was called after the org became TOKEN_INVALID: {late:?}"
    );
    assert!(o.f.slack.messages().is_empty());
    o.stop().await;
}

/// The org's own app (not the Connect app), with token rotation off.
const OWN_APP: &str = "7100.7101";
const OWN_APP_SIGNING_SECRET: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// An owner whose bot is their own app, with its Request URL set to the org's events endpoint and
/// its signing secret given: an uninstall of that app stops the org within a second, ends what was
/// pending, and no Slack call is made for the org afterwards. A request for an org without a
/// signing secret is refused exactly like a forged one.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn an_orgs_own_app_uninstalled_stops_the_org_within_a_second(#[case] backend: Backend) {
    let mut o = Office::start(backend).await;
    let events_url = format!("http://{}/slack/events/orgs/org-1", o.f.server.http_addr);
    o.f.slack.add_app(&slack_emulator::OAuthAppSeed {
        client_id: OWN_APP.into(),
        client_secret: "own-app-secret".into(),
        redirect_uris: vec![],
        app_id: Some("A0ACMEOWN".into()),
        signing_secret: Some(OWN_APP_SIGNING_SECRET.into()),
        event_url: Some(events_url.clone()),
        token_rotation: false,
    });
    let bot =
        o.f.slack
            .install_bot(
                OWN_APP,
                "T0ACME",
                &["chat:write", "users:read", "users:read.email"],
            )
            .unwrap();
    // A token pasted as the signing secret is refused, naming the field and not repeating it.
    let mut config = o.f.config.clone();
    let put = |signing_secret: &str| {
        authed(
            ovice_slack_proto::v1::PutSlackWorkspaceRequest {
                org_id: "org-1".into(),
                access_token: bot.access_token.clone(),
                workspace_domain: "acme".into(),
                signing_secret: signing_secret.into(),
                ..Default::default()
            },
            &Who::Owner("org-1"),
        )
    };
    let refused = config
        .put_slack_workspace(put(&bot.access_token))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("signing_secret"),
        "{}",
        refused.message()
    );
    assert!(!refused.message().contains(&bot.access_token));
    let ws = config
        .put_slack_workspace(put(OWN_APP_SIGNING_SECRET))
        .await
        .unwrap()
        .into_inner();
    assert!(ws.events_enabled);

    // Signed with another secret, and for an org with no secret: the same refusal.
    let body = json!({
        "token": "x", "team_id": "T0ACME", "api_app_id": "A0ACMEOWN", "type": "event_callback",
        "event_id": "EvForged", "event_time": now_unix(), "event": {"type": "app_uninstalled"},
    })
    .to_string();
    let post = async |org: &str, secret: &str| {
        let ts = now_unix();
        let response = reqwest::Client::new()
            .post(format!("http://{}/slack/events/orgs/{org}", o.f.server.http_addr))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", sign(secret, ts, body.as_bytes()))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let forged = post("org-1", DEMO_SIGNING_SECRET).await;
    assert_eq!(forged.0, 401);
    assert_eq!(post("org-unknown", OWN_APP_SIGNING_SECRET).await, forged);
    assert_eq!(
        org_workspace(&mut config).await.status,
        WorkspaceStatus::Active as i32
    );

    o.f.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .on("chat.postMessage")
            .times(10_000),
    );
    for i in 1..=3 {
        o.publish(message(
            &format!("own{i}"),
            person("carol"),
            vec![to("bob")],
            "still up?",
        ))
        .await;
    }
    eventually("Slack refused a post", PATIENCE, async || {
        o.f.slack
            .calls()
            .iter()
            .any(|c| c.method == "chat.postMessage" && c.status == 503)
            .then_some(())
    })
    .await;

    let event_at = tokio::time::Instant::now();
    let sent = o.f.slack.uninstall_app(OWN_APP, "T0ACME").await.unwrap();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|d| d.acknowledged()), "{sent:?}");
    let ws = eventually("the org is TOKEN_INVALID", PATIENCE, async || {
        let ws = org_workspace(&mut config).await;
        (ws.status == WorkspaceStatus::TokenInvalid as i32).then_some(ws)
    })
    .await;
    let invalid_at = std::time::Instant::now();
    let took = event_at.elapsed();
    assert!(
        took <= Duration::from_secs(1),
        "TOKEN_INVALID {took:?} after the event"
    );
    assert!(
        ["app_uninstalled", "tokens_revoked"].contains(&ws.status_reason.as_str()),
        "{ws:?}"
    );
    for i in 1..=3 {
        let d = o.settled(&format!("own{i}")).await;
        assert_eq!(
            (d.status, d.skip_reason),
            (
                DeliveryStatus::Skipped as i32,
                SkipReason::WorkspaceTokenInvalid as i32
            ),
            "{d:?}"
        );
    }
    let late: Vec<_> =
        o.f.slack
            .calls()
            .into_iter()
            .filter(|c| c.at > invalid_at && !["auth.test", "auth.revoke"].contains(&c.method.as_str()))
            .collect();
    assert!(
        late.is_empty(),
        "Slack was called after the org became TOKEN_INVALID: {late:?}"
    );
    assert!(o.f.slack.messages().is_empty());
    o.stop().await;
}
