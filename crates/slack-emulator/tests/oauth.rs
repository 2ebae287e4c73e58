//! The OAuth v2 flow: authorize page, Allow/Cancel, and oauth.v2.access.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use slack_emulator::{TokenKind, pkce_s256};

const CLIENT: &str = "111.222";
const SECRET: &str = "emulator-secret";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

fn authorize_query(h: &common::Harness, team: &str, challenge: Option<&str>) -> reqwest::Url {
    let mut url = h.slack.authorize_url();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", CLIENT)
            .append_pair("user_scope", "chat:write,im:write")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("state", "st-123")
            .append_pair("team", team);
        if let Some(c) = challenge {
            q.append_pair("code_challenge", c)
                .append_pair("code_challenge_method", "S256");
        }
    }
    url
}

/// Posts the consent form the way a browser would after the person picked team and user.
async fn decide(
    h: &common::Harness,
    team: &str,
    user: &str,
    decision: &str,
    challenge: &str,
) -> reqwest::Response {
    let form = [
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("redirect_uri_given", "1"),
        ("state", "st-123"),
        ("scope", ""),
        ("user_scope", "chat:write,im:write"),
        ("code_challenge", challenge),
        ("team", team),
        ("user", user),
        ("decision", decision),
    ];
    let url = h.slack.base_url().join("oauth/v2/authorize/decide").unwrap();
    h.http.post(url).form(&form).send().await.unwrap()
}

fn location(resp: &reqwest::Response) -> reqwest::Url {
    assert_eq!(resp.status(), StatusCode::FOUND);
    reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

fn query(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn allow_code(h: &common::Harness, team: &str, user: &str, challenge: &str) -> String {
    let resp = decide(h, team, user, "allow", challenge).await;
    query(&location(&resp), "code").unwrap()
}

async fn exchange(h: &common::Harness, code: &str, verifier: Option<&str>, redirect: &str) -> common::Answer {
    let mut form = vec![("code", code), ("redirect_uri", redirect)];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let resp = h
        .http
        .post(h.url("oauth.v2.access"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    common::answer(resp).await
}

#[tokio::test]
async fn authorize_page_offers_workspace_and_user_pickers_and_the_buttons() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    let resp = h
        .http
        .get(authorize_query(&h, "T0GLOBEX", Some("abc")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<select id=\"team\" name=\"team\">"));
    assert!(html.contains("<option value=\"T0GLOBEX\" selected>Globex (globex.slack.com)</option>"));
    assert!(html.contains("<option value=\"T0ACME\">Acme (acme.slack.com)</option>"));
    assert!(html.contains("Signed in as"));
    assert!(html.contains("<select id=\"user\" name=\"user\">"));
    assert!(html.contains("value=\"U0ALICE\""));
    assert!(html.contains("value=\"U0GZED\""));
    assert!(
        !html.contains("value=\"U0DAVE\""),
        "deactivated users cannot sign in"
    );
    assert!(!html.contains("value=\"U0ACMEBOT\""), "bots cannot sign in");
    assert!(html.contains("<li>chat:write</li><li>im:write</li>"));
    assert!(html.contains("<button id=\"allow\""));
    assert!(html.contains("<button id=\"cancel\""));
    assert!(html.contains("action=\"/oauth/v2/authorize/decide\""));
}

#[tokio::test]
async fn authorize_refuses_unknown_clients_and_unregistered_redirects_without_redirecting() {
    let h = common::start().await;
    let resp = h
        .http
        .get(authorize_query(&h, "T0ACME", None))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("data-error=\"bad_redirect_uri\"")
    );
    let mut url = h.slack.authorize_url();
    url.query_pairs_mut()
        .append_pair("client_id", "999.999")
        .append_pair("user_scope", "chat:write");
    let resp = h.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("invalid_client_id"));
}

#[tokio::test]
async fn allow_then_exchange_with_pkce_yields_a_working_user_token() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    let challenge = pkce_s256(VERIFIER);
    let resp = decide(&h, "T0ACME", "U0BOB", "allow", &challenge).await;
    let back = location(&resp);
    assert_eq!(back.as_str().split('?').next(), Some(REDIRECT));
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
    let code = query(&back, "code").unwrap();

    let a = exchange(&h, &code, Some(VERIFIER), REDIRECT).await;
    assert_eq!(a.body["ok"], true, "{:?}", a.body);
    assert_eq!(a.body["app_id"], "A0OVICE");
    assert_eq!(
        a.body["team"],
        serde_json::json!({"id": "T0ACME", "name": "Acme"})
    );
    assert_eq!(a.body["enterprise"], Value::Null);
    assert_eq!(a.body["is_enterprise_install"], false);
    assert!(
        a.body.get("access_token").is_none(),
        "user-scope-only install has no bot token"
    );
    let user = &a.body["authed_user"];
    assert_eq!(user["id"], "U0BOB");
    assert_eq!(user["scope"], "chat:write,im:write");
    assert_eq!(user["token_type"], "user");
    let token = user["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("xoxp-"));

    // The user token acts as Bob: auth.test, conversations.open, chat.postMessage.
    let me = h.call("auth.test", Some(&token), &[]).await;
    assert_eq!(
        (me.body["user_id"].as_str(), me.body["user"].as_str()),
        (Some("U0BOB"), Some("bob"))
    );
    assert!(me.body.get("bot_id").is_none());
    assert_eq!(me.header("x-oauth-scopes"), Some("chat:write,im:write"));
    let dm = h
        .call("conversations.open", Some(&token), &[("users", "U0ALICE")])
        .await;
    let channel = dm.body["channel"]["id"].as_str().unwrap().to_owned();
    let post = h
        .call(
            "chat.postMessage",
            Some(&token),
            &[("channel", &channel), ("text", "hello Alice")],
        )
        .await;
    assert_eq!(post.body["ok"], true, "{:?}", post.body);
    assert_eq!(post.body["message"]["user"], "U0BOB");
    let m = &h.slack.messages()[0];
    assert_eq!(
        (m.user.as_str(), m.is_bot, m.token_kind),
        ("U0BOB", false, TokenKind::User)
    );
    // Bob's token cannot read users: it was not granted.
    let denied = h
        .call(
            "users.lookupByEmail",
            Some(&token),
            &[("email", "alice@acme.test")],
        )
        .await;
    assert_eq!(denied.error(), Some("missing_scope"));
    // Carol is not part of Bob's DM with Alice.
    let carol = h
        .call(
            "chat.postMessage",
            Some("xoxb-acme-good"),
            &[("channel", &channel), ("text", "x")],
        )
        .await;
    assert_eq!(carol.error(), Some("channel_not_found"));
    // A deactivated user's token stops working.
    h.slack.set_user_deleted("T0ACME", "U0BOB", true);
    assert_eq!(
        h.call("auth.test", Some(&token), &[]).await.error(),
        Some("account_inactive")
    );
}

#[tokio::test]
async fn codes_are_single_use() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    let code = allow_code(&h, "T0ACME", "U0ALICE", "").await;
    assert_eq!(exchange(&h, &code, None, REDIRECT).await.body["ok"], true);
    assert_eq!(
        exchange(&h, &code, None, REDIRECT).await.error(),
        Some("code_already_used")
    );
}

#[tokio::test]
async fn exchange_errors_follow_slack() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    h.slack.add_redirect_uri(CLIENT, "http://127.0.0.1:9/other");
    let challenge = pkce_s256(VERIFIER);

    let code = allow_code(&h, "T0ACME", "U0ALICE", &challenge).await;
    assert_eq!(
        exchange(&h, &code, Some("wrong-verifier"), REDIRECT)
            .await
            .error(),
        Some("invalid_code")
    );
    // The failed attempt spent the code.
    assert_eq!(
        exchange(&h, &code, Some(VERIFIER), REDIRECT).await.error(),
        Some("code_already_used")
    );

    let code = allow_code(&h, "T0ACME", "U0ALICE", &challenge).await;
    assert_eq!(
        exchange(&h, &code, None, REDIRECT).await.error(),
        Some("invalid_code")
    );

    let code = allow_code(&h, "T0ACME", "U0ALICE", "").await;
    assert_eq!(
        exchange(&h, &code, None, "http://127.0.0.1:9/other")
            .await
            .error(),
        Some("bad_redirect_uri")
    );

    assert_eq!(
        exchange(&h, "no-such-code", None, REDIRECT).await.error(),
        Some("invalid_code")
    );

    let code = allow_code(&h, "T0ACME", "U0ALICE", "").await;
    let form = [
        ("client_id", "999.999"),
        ("client_secret", SECRET),
        ("code", code.as_str()),
    ];
    let resp = h
        .http
        .post(h.url("oauth.v2.access"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(common::answer(resp).await.error(), Some("invalid_client_id"));
    let form = [
        ("client_id", CLIENT),
        ("client_secret", "nope"),
        ("code", code.as_str()),
    ];
    let resp = h
        .http
        .post(h.url("oauth.v2.access"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(common::answer(resp).await.error(), Some("bad_client_secret"));
    // Credentials as form arguments work as well as HTTP Basic.
    let form = [
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let resp = h
        .http
        .post(h.url("oauth.v2.access"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(common::answer(resp).await.body["authed_user"]["id"], "U0ALICE");
}

#[tokio::test]
async fn expired_codes_are_invalid() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    h.slack.set_code_ttl(Duration::from_millis(50));
    let code = allow_code(&h, "T0ACME", "U0ALICE", "").await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        exchange(&h, &code, None, REDIRECT).await.error(),
        Some("invalid_code")
    );
}

#[tokio::test]
async fn cancel_redirects_with_access_denied_and_state() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    let back = location(&decide(&h, "T0ACME", "U0ALICE", "cancel", "").await);
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
    assert!(query(&back, "code").is_none());
}

#[tokio::test]
async fn allow_refuses_a_user_of_another_workspace() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    let resp = decide(&h, "T0ACME", "U0GZED", "allow", "").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("not a member of Acme"));
}

#[tokio::test]
async fn the_team_chosen_in_the_form_is_the_team_of_the_token() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    let code = allow_code(&h, "T0GLOBEX", "U0GALICE", "").await;
    let a = exchange(&h, &code, None, REDIRECT).await;
    assert_eq!(a.body["team"]["id"], "T0GLOBEX");
    assert_eq!(a.body["authed_user"]["id"], "U0GALICE");
}

/// Like Slack, a second consent by the same user returns the token they already have; once that is
/// revoked, a consent mints a new one.
#[tokio::test]
async fn a_second_consent_returns_the_same_user_token_until_it_is_revoked() {
    let h = common::start().await;
    h.slack.add_redirect_uri(CLIENT, REDIRECT);
    let challenge = pkce_s256(VERIFIER);
    let grant = async || {
        let code = allow_code(&h, "T0ACME", "U0BOB", &challenge).await;
        let a = exchange(&h, &code, Some(VERIFIER), REDIRECT).await;
        a.body["authed_user"]["access_token"].as_str().unwrap().to_owned()
    };
    let first = grant().await;
    assert_eq!(grant().await, first);
    assert!(h.slack.revoke_token(&first));
    let third = grant().await;
    assert_ne!(third, first);
    assert_eq!(
        h.call("auth.test", Some(&third), &[]).await.body["user_id"],
        "U0BOB"
    );
}
