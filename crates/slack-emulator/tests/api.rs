//! The Web API methods over real HTTP: shapes, errors, scopes headers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::StatusCode;
use serde_json::json;
use slack_emulator::{BotTokenSeed, Fault, FaultKind, TokenKind};

#[tokio::test]
async fn auth_test_describes_a_bot_token_and_reports_its_scopes() {
    let h = common::start().await;
    let a = h.call("auth.test", Some("xoxb-acme-good"), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body,
        json!({"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "user": "ovice",
               "team_id": "T0ACME", "user_id": "U0ACMEBOT", "bot_id": "B0ACMEBOT", "app_id": "A0OVICE",
               "is_enterprise_install": false})
    );
    assert_eq!(
        a.header("x-oauth-scopes"),
        Some("users:read,users:read.email,chat:write")
    );
    assert_eq!(a.header("content-type"), Some("application/json; charset=utf-8"));
}

#[tokio::test]
async fn auth_test_accepts_the_token_as_a_form_argument_but_not_in_the_query_string() {
    let h = common::start().await;
    let a = h.call("auth.test", None, &[("token", "xoxb-globex-good")]).await;
    assert_eq!(a.body["team_id"], "T0GLOBEX");
    // Slack stopped reading tokens from the query string for apps made since February 2021.
    let resp = h
        .http
        .get(h.url("auth.test"))
        .query(&[("token", "xoxb-acme-good")])
        .send()
        .await
        .unwrap();
    assert_eq!(common::answer(resp).await.error(), Some("not_authed"));
}

#[tokio::test]
async fn token_errors_use_slack_codes_with_http_200() {
    let h = common::start().await;
    assert_eq!(h.call("auth.test", None, &[]).await.error(), Some("not_authed"));
    let a = h.call("auth.test", Some("xoxb-nope"), &[]).await;
    assert_eq!((a.status, a.error()), (StatusCode::OK, Some("invalid_auth")));
    assert!(h.slack.revoke_token("xoxb-acme-good"));
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.error(),
        Some("token_revoked")
    );
    assert!(h.slack.deactivate_token("xoxb-globex-good"));
    assert_eq!(
        h.call("auth.test", Some("xoxb-globex-good"), &[]).await.error(),
        Some("account_inactive")
    );
    assert!(!h.slack.revoke_token("xoxb-unknown"));
}

/// auth.revoke: the token revokes itself, after which Slack refuses it everywhere; `test=1` only
/// pretends. An unknown or missing token is refused like any other method.
#[tokio::test]
async fn auth_revoke_revokes_the_calling_token_and_test_mode_does_not() {
    let h = common::start().await;
    let pretend = h
        .call("auth.revoke", Some("xoxb-acme-good"), &[("test", "1")])
        .await;
    assert_eq!(pretend.body, json!({"ok": true, "revoked": false}));
    assert!(!h.slack.is_token_revoked("xoxb-acme-good"));
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.body["ok"],
        true
    );

    let revoked = h.call("auth.revoke", Some("xoxb-acme-good"), &[]).await;
    assert_eq!(revoked.body, json!({"ok": true, "revoked": true}));
    assert!(h.slack.is_token_revoked("xoxb-acme-good"));
    for method in ["auth.test", "auth.revoke"] {
        assert_eq!(
            h.call(method, Some("xoxb-acme-good"), &[]).await.error(),
            Some("token_revoked"),
            "{method}"
        );
    }
    // Another token of the same workspace is untouched.
    assert_eq!(
        h.call("auth.test", Some("xoxb-globex-good"), &[]).await.body["ok"],
        true
    );
    assert_eq!(h.call("auth.revoke", None, &[]).await.error(), Some("not_authed"));
    assert_eq!(
        h.call("auth.revoke", Some("xoxb-nope"), &[]).await.error(),
        Some("invalid_auth")
    );
}

/// A fault `after_work` answers 503 although the work was done: the token is revoked all the same.
#[tokio::test]
async fn a_fault_after_the_work_hides_that_the_work_was_done() {
    let h = common::start().await;
    h.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .on("auth.revoke")
            .after_work(),
    );
    let answer = h.call("auth.revoke", Some("xoxb-acme-good"), &[]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(h.slack.is_token_revoked("xoxb-acme-good"));
    let calls = h.slack.calls();
    let last = calls.last().unwrap();
    assert_eq!((last.method.as_str(), last.status), ("auth.revoke", 503));
    assert_eq!(
        h.call("auth.revoke", Some("xoxb-acme-good"), &[]).await.error(),
        Some("token_revoked")
    );
}

#[tokio::test]
async fn lookup_by_email_finds_the_user_of_the_tokens_workspace() {
    let h = common::start().await;
    let a = h
        .call(
            "users.lookupByEmail",
            Some("xoxb-acme-good"),
            &[("email", "Alice@Acme.test")],
        )
        .await;
    assert_eq!(a.body["ok"], true);
    let user = &a.body["user"];
    assert_eq!(user["id"], "U0ALICE");
    assert_eq!(user["team_id"], "T0ACME");
    assert_eq!(user["name"], "alice");
    assert_eq!(user["real_name"], "Alice Anderson");
    assert_eq!(user["deleted"], false);
    assert_eq!(user["is_bot"], false);
    assert_eq!(user["profile"]["email"], "alice@acme.test");
    assert_eq!(a.header("x-accepted-oauth-scopes"), Some("users:read.email"));
    // Same email, other workspace, other id.
    let g = h
        .call(
            "users.lookupByEmail",
            Some("xoxb-globex-good"),
            &[("email", "alice@acme.test")],
        )
        .await;
    assert_eq!(g.body["user"]["id"], "U0GALICE");
    let missing = h
        .call(
            "users.lookupByEmail",
            Some("xoxb-acme-good"),
            &[("email", "zed@globex.test")],
        )
        .await;
    assert_eq!(missing.error(), Some("users_not_found"));
}

#[tokio::test]
async fn lookup_by_email_without_the_scope_is_missing_scope_with_needed_and_provided() {
    let h = common::start().await;
    let a = h
        .call(
            "users.lookupByEmail",
            Some("xoxb-acme-noemail"),
            &[("email", "alice@acme.test")],
        )
        .await;
    assert_eq!(
        a.body,
        json!({"ok": false, "error": "missing_scope", "needed": "users:read.email",
               "provided": "users:read,chat:write"})
    );
    assert_eq!(a.header("x-oauth-scopes"), Some("users:read,chat:write"));
}

#[tokio::test]
async fn lookup_by_email_ignores_a_json_body_like_slack() {
    let h = common::start().await;
    let a = h
        .call_json(
            "users.lookupByEmail",
            "xoxb-acme-good",
            json!({"email": "alice@acme.test"}),
        )
        .await;
    assert_eq!(a.error(), Some("invalid_arguments"));
    // The query string still works alongside.
    let resp = h
        .http
        .get(h.url("users.lookupByEmail"))
        .bearer_auth("xoxb-acme-good")
        .query(&[("email", "bob@acme.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(common::answer(resp).await.body["user"]["id"], "U0BOB");
}

#[tokio::test]
async fn users_info_shows_email_only_with_users_read_email() {
    let h = common::start().await;
    let a = h
        .call("users.info", Some("xoxb-acme-good"), &[("user", "U0BOB")])
        .await;
    assert_eq!(a.body["user"]["profile"]["email"], "bob@acme.test");
    let b = h
        .call("users.info", Some("xoxb-acme-noemail"), &[("user", "U0BOB")])
        .await;
    assert_eq!(b.body["user"]["id"], "U0BOB");
    assert!(b.body["user"]["profile"].get("email").is_none());
    let c = h
        .call("users.info", Some("xoxb-acme-good"), &[("user", "U0GZED")])
        .await;
    assert_eq!(c.error(), Some("user_not_found"));
    let d = h
        .call("users.info", Some("xoxb-acme-good"), &[("user", "U0DAVE")])
        .await;
    assert_eq!(d.body["user"]["deleted"], true);
}

#[tokio::test]
async fn email_changes_through_the_handle_are_seen() {
    let h = common::start().await;
    assert!(
        h.slack
            .set_user_email("T0ACME", "U0CAROL", Some("carol.new@acme.test"))
    );
    let a = h
        .call(
            "users.lookupByEmail",
            Some("xoxb-acme-good"),
            &[("email", "carol.new@acme.test")],
        )
        .await;
    assert_eq!(a.body["user"]["id"], "U0CAROL");
    let old = h
        .call(
            "users.lookupByEmail",
            Some("xoxb-acme-good"),
            &[("email", "carol@acme.test")],
        )
        .await;
    assert_eq!(old.error(), Some("users_not_found"));
}

#[tokio::test]
async fn conversations_open_needs_im_write_and_returns_a_stable_dm() {
    let h = common::start().await;
    let denied = h
        .call(
            "conversations.open",
            Some("xoxb-acme-good"),
            &[("users", "U0ALICE")],
        )
        .await;
    assert_eq!(denied.error(), Some("missing_scope"));
    assert_eq!(denied.body["needed"], "im:write");
    h.slack.add_bot_token(
        "T0ACME",
        BotTokenSeed {
            token: "xoxb-acme-im".into(),
            scopes: vec!["im:write".into(), "chat:write".into()],
            bot_user_id: "U0ACMEBOT".into(),
            bot_id: Some("B0ACMEBOT".into()),
            app_id: Some("A0OVICE".into()),
            bot_name: None,
        },
    );
    let first = h
        .call(
            "conversations.open",
            Some("xoxb-acme-im"),
            &[("users", "U0ALICE")],
        )
        .await;
    let id = first.body["channel"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with('D'));
    assert!(first.body.get("already_open").is_none());
    let again = h
        .call(
            "conversations.open",
            Some("xoxb-acme-im"),
            &[("users", "U0ALICE")],
        )
        .await;
    assert_eq!(again.body["channel"]["id"], id.as_str());
    assert_eq!(again.body["already_open"], true);
    let json = h
        .call_json("conversations.open", "xoxb-acme-im", json!({"users": "U0ALICE"}))
        .await;
    assert_eq!(json.body["channel"]["id"], id.as_str());
    // The bot's DM with Alice is the one chat.postMessage to U0ALICE uses.
    let post = h
        .call(
            "chat.postMessage",
            Some("xoxb-acme-good"),
            &[("channel", "U0ALICE"), ("text", "hi")],
        )
        .await;
    assert_eq!(post.body["channel"], id.as_str());
    let unknown = h
        .call(
            "conversations.open",
            Some("xoxb-acme-im"),
            &[("users", "U0NOBODY")],
        )
        .await;
    assert_eq!(unknown.error(), Some("user_not_found"));
    let disabled = h
        .call("conversations.open", Some("xoxb-acme-im"), &[("users", "U0DAVE")])
        .await;
    assert_eq!(disabled.error(), Some("user_disabled"));
    let bot = h
        .call(
            "conversations.open",
            Some("xoxb-acme-im"),
            &[("users", "U0ACMEBOT2")],
        )
        .await;
    assert_eq!(bot.error(), Some("cannot_dm_bot"));
    let none = h.call("conversations.open", Some("xoxb-acme-im"), &[]).await;
    assert_eq!(none.error(), Some("users_list_not_supplied"));
}

#[tokio::test]
async fn bot_post_to_a_user_id_lands_in_the_dm_and_is_recorded_verbatim() {
    let h = common::start().await;
    let text = "From <https://ovice.example/x|Bob> &amp; *bold* `@here`";
    let a = h
        .call(
            "chat.postMessage",
            Some("xoxb-acme-good"),
            &[("channel", "U0CAROL"), ("text", text), ("unfurl_links", "false")],
        )
        .await;
    assert_eq!(a.body["ok"], true);
    let channel = a.body["channel"].as_str().unwrap();
    assert!(channel.starts_with('D'));
    let ts = a.body["ts"].as_str().unwrap();
    assert_eq!(a.body["message"]["text"], text);
    assert_eq!(a.body["message"]["user"], "U0ACMEBOT");
    assert_eq!(a.body["message"]["bot_id"], "B0ACMEBOT");
    assert_eq!(a.body["message"]["ts"], ts);
    let b = h
        .call_json(
            "chat.postMessage",
            "xoxb-acme-good",
            json!({"channel": channel, "text": "second"}),
        )
        .await;
    assert!(b.body["ts"].as_str().unwrap() > ts);
    let messages = h.slack.messages();
    assert_eq!(messages.len(), 2);
    let m = &messages[0];
    assert_eq!(
        (m.team_id.as_str(), m.channel.as_str(), m.user.as_str()),
        ("T0ACME", channel, "U0ACMEBOT")
    );
    assert_eq!(m.text, text);
    assert!(m.is_bot);
    assert_eq!(m.token_kind, TokenKind::Bot);
    assert_eq!(m.unfurl_links, Some(false));
    assert_eq!(m.ts, ts);
}

#[tokio::test]
async fn post_message_errors() {
    let h = common::start().await;
    let post = |channel: &'static str, text: &'static str| {
        let h = &h;
        async move {
            h.call(
                "chat.postMessage",
                Some("xoxb-acme-good"),
                &[("channel", channel), ("text", text)],
            )
            .await
        }
    };
    assert_eq!(post("U0ALICE", "").await.error(), Some("no_text"));
    assert_eq!(post("", "hi").await.error(), Some("channel_not_found"));
    assert_eq!(post("U0GZED", "hi").await.error(), Some("channel_not_found"));
    assert_eq!(post("C0GENERAL", "hi").await.error(), Some("channel_not_found"));
    assert_eq!(post("DNOTMINE", "hi").await.error(), Some("channel_not_found"));
    assert_eq!(post("U0DAVE", "hi").await.error(), Some("is_archived"));
    let long = "x".repeat(40_001);
    let a = h
        .call(
            "chat.postMessage",
            Some("xoxb-acme-good"),
            &[("channel", "U0ALICE"), ("text", &long)],
        )
        .await;
    assert_eq!(a.error(), Some("msg_too_long"));
    h.slack.add_bot_token(
        "T0ACME",
        BotTokenSeed {
            token: "xoxb-acme-readonly".into(),
            scopes: vec!["users:read".into()],
            bot_user_id: "U0ACMEBOT".into(),
            bot_id: None,
            app_id: None,
            bot_name: None,
        },
    );
    let denied = h
        .call(
            "chat.postMessage",
            Some("xoxb-acme-readonly"),
            &[("channel", "U0ALICE"), ("text", "x")],
        )
        .await;
    assert_eq!(denied.error(), Some("missing_scope"));
    assert_eq!(denied.body["needed"], "chat:write");
    assert!(h.slack.messages().is_empty());
}

#[tokio::test]
async fn update_keeps_the_blocks_it_is_not_given_and_caps_the_text_at_4000() {
    let h = common::start().await;
    let section = |t: &str| json!([{"type": "section", "text": {"type": "mrkdwn", "text": t}}]).to_string();
    let posted = h
        .call(
            "chat.postMessage",
            Some("xoxb-acme-good"),
            &[
                ("channel", "U0ALICE"),
                ("text", "v1"),
                ("blocks", &section("v1 shown")),
            ],
        )
        .await;
    let channel = posted.body["channel"].as_str().unwrap().to_owned();
    let ts = posted.body["ts"].as_str().unwrap().to_owned();
    let update = |args: Vec<(&'static str, String)>| {
        let (h, channel, ts) = (&h, channel.clone(), ts.clone());
        async move {
            let mut all = vec![("channel", channel), ("ts", ts)];
            all.extend(args);
            let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            h.call("chat.update", Some("xoxb-acme-good"), &borrowed).await
        }
    };
    let blocks_now = || h.slack.messages()[0].blocks.clone();
    // Text alone: Slack keeps (and keeps showing) the old blocks.
    assert_eq!(update(vec![("text", "v2".into())]).await.body["ok"], true);
    assert_eq!(h.slack.messages()[0].text, "v2");
    assert_eq!(
        blocks_now(),
        Some(serde_json::from_str::<Vec<serde_json::Value>>(&section("v1 shown")).unwrap())
    );
    // New blocks replace them; `[]` removes them.
    update(vec![("text", "v3".into()), ("blocks", section("v3 shown"))]).await;
    assert_eq!(
        blocks_now(),
        Some(serde_json::from_str::<Vec<serde_json::Value>>(&section("v3 shown")).unwrap())
    );
    update(vec![("text", "v4".into()), ("blocks", "[]".into())]).await;
    assert_eq!(blocks_now(), None);
    assert_eq!(
        update(vec![("text", "x".repeat(4_001))]).await.error(),
        Some("msg_too_long")
    );
    assert_eq!(
        update(vec![("text", String::new()), ("blocks", "[]".into())])
            .await
            .error(),
        Some("no_text")
    );
    assert_eq!(h.slack.messages()[0].text, "v4");
    for (attachments, error) in [
        ("[]", Some("no_text")),
        ("nope", Some("invalid_attachments")),
        ("[1]", Some("invalid_attachments")),
    ] {
        let a = update(vec![
            ("text", String::new()),
            ("blocks", "[]".into()),
            ("attachments", attachments.into()),
        ])
        .await;
        assert_eq!(a.error(), error, "{attachments}");
    }
    // Once Alice is deactivated her DM is archived, whichever id names it.
    assert!(h.slack.set_user_deleted("T0ACME", "U0ALICE", true));
    let by_dm_id = h
        .call(
            "chat.postMessage",
            Some("xoxb-acme-good"),
            &[("channel", channel.as_str()), ("text", "hi")],
        )
        .await;
    assert_eq!(by_dm_id.error(), Some("is_archived"));
    assert_eq!(
        update(vec![("text", "v5".into())]).await.error(),
        Some("is_inactive")
    );
}

#[tokio::test]
async fn unknown_methods_and_bad_bodies() {
    let h = common::start().await;
    let a = h.call("chat.meMessage", Some("xoxb-acme-good"), &[]).await;
    assert_eq!(a.error(), Some("unknown_method"));
    let resp = h
        .http
        .post(h.url("auth.test"))
        .bearer_auth("xoxb-acme-good")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(common::answer(resp).await.error(), Some("invalid_json"));
    for (content_type, error) in [
        (None, "missing_post_type"),
        (Some("text/plain"), "invalid_post_type"),
    ] {
        let mut post = h
            .http
            .post(h.url("auth.test"))
            .bearer_auth("xoxb-acme-good")
            .body("x=1");
        if let Some(t) = content_type {
            post = post.header("content-type", t);
        }
        let resp = post.send().await.unwrap();
        assert_eq!(common::answer(resp).await.error(), Some(error));
    }
}

#[tokio::test]
async fn every_call_is_recorded_with_its_status_and_error() {
    let h = common::start().await;
    h.call("auth.test", Some("xoxb-acme-good"), &[]).await;
    h.call("users.info", Some("xoxb-acme-good"), &[("user", "nobody")])
        .await;
    let calls = h.slack.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (
            calls[0].method.as_str(),
            calls[0].status,
            calls[0].error.as_deref()
        ),
        ("auth.test", 200, None)
    );
    assert_eq!(calls[1].error.as_deref(), Some("user_not_found"));
    assert!(calls[1].at >= calls[0].at);
}
