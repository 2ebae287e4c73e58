//! The client against the Slack emulator over real HTTP: every method's happy path and the
//! error classes a caller acts on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use slack_client::oauth::{AuthorizeParams, Pkce, random_state};
use slack_client::{
    OAuthAccessRequest, PostMessage, SlackClient, SlackClientConfig, SlackError, install_crypto_provider,
};
use slack_emulator::{
    Emulator, EmulatorHandle, Fault, FaultKind, OAuthAppSeed, REFRESH_GRACE, RateLimitConfig, Seed,
};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/slack/callback";

async fn setup() -> (EmulatorHandle, SlackClient) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    install_crypto_provider();
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    slack.add_redirect_uri("111.222", REDIRECT);
    let client = client_for(&slack, Duration::from_secs(5));
    (slack, client)
}

fn client_for(slack: &EmulatorHandle, timeout: Duration) -> SlackClient {
    SlackClient::new(SlackClientConfig {
        api_base_url: slack.api_url(),
        timeout,
    })
    .unwrap()
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// Neither Display nor Debug of an error may contain the token used.
fn assert_no_token(err: &SlackError, token: &str) {
    assert!(!err.to_string().contains(token), "{err}");
    assert!(!format!("{err:?}").contains(token), "{err:?}");
}

#[tokio::test]
async fn auth_test_reports_the_workspace_bot_and_scopes() {
    let (_slack, client) = setup().await;
    let me = client.auth_test(&secret("xoxb-acme-good")).await.unwrap();
    assert_eq!(me.url, "https://acme.slack.com/");
    assert_eq!((me.team.as_str(), me.team_id.as_str()), ("Acme", "T0ACME"));
    assert_eq!((me.user.as_str(), me.user_id.as_str()), ("ovice", "U0ACMEBOT"));
    assert_eq!(me.bot_id.as_deref(), Some("B0ACMEBOT"));
    assert_eq!(me.scopes, ["users:read", "users:read.email", "chat:write"]);
    let limited = client.auth_test(&secret("xoxb-acme-noemail")).await.unwrap();
    assert_eq!(limited.scopes, ["users:read", "chat:write"]);
}

#[tokio::test]
async fn a_revoked_token_is_refused_afterwards_and_a_second_revoke_says_so() {
    let (slack, client) = setup().await;
    let token = secret("xoxb-acme-good");
    assert!(client.auth_revoke(&token).await.unwrap());
    assert!(slack.is_token_revoked("xoxb-acme-good"));
    let err = client.auth_test(&token).await.unwrap_err();
    assert_eq!(err.code(), Some("token_revoked"));
    let again = client.auth_revoke(&token).await.unwrap_err();
    assert_eq!(
        (again.code(), again.method()),
        (Some("token_revoked"), Some("auth.revoke"))
    );
    assert_no_token(&again, "xoxb-acme-good");
}

#[tokio::test]
async fn rejected_tokens_are_named_and_never_echoed() {
    let (slack, client) = setup().await;
    let err = client.auth_test(&secret("xoxb-not-a-token")).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_auth"));
    assert_no_token(&err, "xoxb-not-a-token");

    slack.revoke_token("xoxb-acme-good");
    let err = client
        .chat_post_message(&secret("xoxb-acme-good"), &post("U0ALICE", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.method()),
        (Some("token_revoked"), Some("chat.postMessage"))
    );
    assert_no_token(&err, "xoxb-acme-good");

    slack.deactivate_token("xoxb-globex-good");
    let err = client.auth_test(&secret("xoxb-globex-good")).await.unwrap_err();
    assert_eq!(err.code(), Some("account_inactive"));
}

#[tokio::test]
async fn lookup_by_email_finds_users_and_names_failures() {
    let (_slack, client) = setup().await;
    let token = secret("xoxb-acme-good");
    let alice = client
        .users_lookup_by_email(&token, "alice@acme.test")
        .await
        .unwrap();
    assert_eq!(alice.id, "U0ALICE");
    assert_eq!(alice.team_id, "T0ACME");
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.real_name.as_deref(), Some("Alice Anderson"));
    assert_eq!(alice.email.as_deref(), Some("alice@acme.test"));
    assert!(!alice.deleted && !alice.is_bot);

    let err = client
        .users_lookup_by_email(&token, "nobody@acme.test")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("users_not_found"));

    let err = client
        .users_lookup_by_email(&secret("xoxb-acme-noemail"), "alice@acme.test")
        .await
        .unwrap_err();
    match &err {
        SlackError::Api {
            code,
            needed,
            provided,
            ..
        } => {
            assert_eq!(code, "missing_scope");
            assert_eq!(needed.as_deref(), Some("users:read.email"));
            assert_eq!(provided.as_deref(), Some("users:read,chat:write"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("needs scope users:read.email"));
}

fn post(channel: &str, text: &str) -> PostMessage {
    PostMessage {
        channel: channel.into(),
        text: text.into(),
        blocks: Vec::new(),
        unfurl_links: false,
        unfurl_media: false,
    }
}

#[tokio::test]
async fn bot_dm_by_user_id_lands_in_the_dm_channel() {
    let (slack, client) = setup().await;
    let text = "*Bob* in Lobby: &lt;hi&gt; <https://ovice.example/m/1|open>";
    let posted = client
        .chat_post_message(&secret("xoxb-acme-good"), &post("U0CAROL", text))
        .await
        .unwrap();
    assert!(posted.channel.starts_with('D'));
    assert!(!posted.ts.is_empty());
    let recorded = slack.messages();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].channel.as_str(), recorded[0].ts.as_str()),
        (posted.channel.as_str(), posted.ts.as_str())
    );
    assert_eq!(recorded[0].text, text);
    assert_eq!(recorded[0].unfurl_links, Some(false));
    assert!(recorded[0].is_bot);

    let err = client
        .chat_post_message(&secret("xoxb-acme-good"), &post("U0ALICE", ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("no_text"));
    let err = client
        .chat_post_message(&secret("xoxb-acme-good"), &post("U0DAVE", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("is_archived"));
}

/// Walks the consent screen the way the person would, returning the redirect's query.
async fn consent(slack: &EmulatorHandle, params: &AuthorizeParams, user: &str) -> reqwest::Url {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(params.to_url(&slack.authorize_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<option value=\"T0ACME\" selected>")
    );
    let form = [
        ("client_id", params.client_id.as_str()),
        ("redirect_uri", params.redirect_uri.as_str()),
        ("redirect_uri_given", "1"),
        ("state", params.state.as_str()),
        ("user_scope", &params.user_scopes.join(",")),
        ("code_challenge", params.code_challenge.as_deref().unwrap_or("")),
        ("team", params.team.as_deref().unwrap_or("")),
        ("user", user),
        ("decision", "allow"),
    ];
    let resp = http
        .post(slack.base_url().join("oauth/v2/authorize/decide").unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

fn query(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn oauth_exchange_with_pkce_gives_a_user_token_that_posts_as_the_user() {
    let (slack, client) = setup().await;
    let pkce = Pkce::generate();
    let params = AuthorizeParams {
        client_id: "111.222".into(),
        user_scopes: vec!["chat:write".into(), "im:write".into()],
        redirect_uri: REDIRECT.into(),
        state: random_state(),
        team: Some("T0ACME".into()),
        code_challenge: Some(pkce.challenge.clone()),
        ..Default::default()
    };
    let back = consent(&slack, &params, "U0BOB").await;
    assert_eq!(query(&back, "state").as_deref(), Some(params.state.as_str()));
    let request = OAuthAccessRequest {
        client_id: "111.222".into(),
        client_secret: secret("emulator-secret"),
        code: secret(&query(&back, "code").unwrap()),
        redirect_uri: REDIRECT.into(),
        code_verifier: Some(pkce.verifier.clone()),
    };
    let access = client.oauth_v2_access(&request).await.unwrap();
    assert_eq!(
        (access.team_id.as_str(), access.team_name.as_str()),
        ("T0ACME", "Acme")
    );
    assert_eq!(access.authed_user_id, "U0BOB");
    assert_eq!(access.authed_user_scopes, ["chat:write", "im:write"]);
    assert_eq!(access.app_id.as_deref(), Some("A0OVICE"));
    let token = access.authed_user_token.clone().unwrap();
    assert!(token.expose_secret().starts_with("xoxp-"));
    assert!(!format!("{access:?}").contains(token.expose_secret()));
    assert!(!format!("{request:?}").contains("emulator-secret"));

    let me = client.auth_test(&token).await.unwrap();
    assert_eq!((me.user_id.as_str(), me.bot_id), ("U0BOB", None));
    assert_eq!(me.scopes, ["chat:write", "im:write"]);
    let dm = client.conversations_open(&token, &["U0ALICE"]).await.unwrap();
    assert!(dm.starts_with('D'));
    assert_eq!(client.conversations_open(&token, &["U0ALICE"]).await.unwrap(), dm);
    let posted = client
        .chat_post_message(&token, &post(&dm, "hello from Bob"))
        .await
        .unwrap();
    assert_eq!(posted.channel, dm);
    let m = &slack.messages()[0];
    assert_eq!((m.user.as_str(), m.is_bot), ("U0BOB", false));

    // The code is spent.
    let err = client.oauth_v2_access(&request).await.unwrap_err();
    assert_eq!(err.code(), Some("code_already_used"));
    assert_no_token(&err, "emulator-secret");
}

#[tokio::test]
async fn oauth_exchange_with_a_wrong_verifier_or_secret_fails() {
    let (slack, client) = setup().await;
    let pkce = Pkce::generate();
    let params = AuthorizeParams {
        client_id: "111.222".into(),
        user_scopes: vec!["chat:write".into()],
        redirect_uri: REDIRECT.into(),
        state: random_state(),
        team: Some("T0ACME".into()),
        code_challenge: Some(pkce.challenge.clone()),
        ..Default::default()
    };
    let code = query(&consent(&slack, &params, "U0ALICE").await, "code").unwrap();
    let mut request = OAuthAccessRequest {
        client_id: "111.222".into(),
        client_secret: secret("wrong-secret"),
        code: secret(&code),
        redirect_uri: REDIRECT.into(),
        code_verifier: Some(Pkce::generate().verifier),
    };
    let err = client.oauth_v2_access(&request).await.unwrap_err();
    assert_eq!(err.code(), Some("bad_client_secret"));
    assert_no_token(&err, "wrong-secret");
    request.client_secret = secret("emulator-secret");
    let err = client.oauth_v2_access(&request).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_code"));
}

#[tokio::test]
async fn http_429_is_rate_limited_with_retry_after() {
    let (slack, client) = setup().await;
    let token = secret("xoxb-acme-good");
    slack.inject_fault(Fault::next(FaultKind::RateLimited {
        retry_after_secs: Some(7),
    }));
    let err = client.auth_test(&token).await.unwrap_err();
    assert_eq!(
        err,
        SlackError::RateLimited {
            method: "auth.test",
            retry_after: Duration::from_secs(7)
        }
    );
    slack.inject_fault(Fault::next(FaultKind::RateLimited {
        retry_after_secs: None,
    }));
    let err = client.auth_test(&token).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));

    // The emulator's own limiter: a short burst per channel, then 429 + Retry-After.
    slack.set_rate_limits(RateLimitConfig {
        enabled: true,
        scale: 1.0,
    });
    let mut limited = None;
    for _ in 0..5 {
        if let Err(e) = client.chat_post_message(&token, &post("U0BOB", "x")).await {
            limited = Some(e);
            break;
        }
    }
    let err = limited.expect("the fourth quick post is limited");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn server_failures_are_unavailable() {
    let (slack, client) = setup().await;
    let token = secret("xoxb-acme-good");
    // Whether Slack may have done the work: a 5xx, `internal_error`, `fatal_error` and a dropped
    // connection leave it open; `ratelimited` says it did not.
    for (kind, maybe_applied) in [
        (FaultKind::HttpStatus { status: 500 }, true),
        (FaultKind::HttpStatus { status: 503 }, true),
        (
            FaultKind::SlackError {
                error: "internal_error".into(),
            },
            true,
        ),
        (
            FaultKind::SlackError {
                error: "fatal_error".into(),
            },
            true,
        ),
        (
            FaultKind::SlackError {
                error: "ratelimited".into(),
            },
            false,
        ),
        (FaultKind::Drop, true),
    ] {
        slack.inject_fault(Fault::next(kind.clone()));
        let err = client.auth_test(&token).await.unwrap_err();
        assert!(
            matches!(err, SlackError::Unavailable { .. }),
            "{kind:?} gave {err:?}"
        );
        assert_eq!(err.maybe_applied(), maybe_applied, "{kind:?} gave {err:?}");
        assert_no_token(&err, "xoxb-acme-good");
    }
    assert_eq!(client.auth_test(&token).await.unwrap().team_id, "T0ACME");
}

#[tokio::test]
async fn timeouts_are_unavailable() {
    let (slack, _) = setup().await;
    let client = client_for(&slack, Duration::from_millis(200));
    slack.inject_fault(Fault::next(FaultKind::Delay { millis: 1_000 }));
    let err = client.auth_test(&secret("xoxb-acme-good")).await.unwrap_err();
    assert!(
        matches!(&err, SlackError::Unavailable { detail, .. } if detail.contains("timed out")),
        "{err:?}"
    );
    // The request was sent: Slack may have done it.
    assert!(err.maybe_applied(), "{err:?}");
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let (slack, client) = setup().await;
    slack.shutdown().await;
    let err = client.auth_test(&secret("xoxb-acme-good")).await.unwrap_err();
    assert!(
        matches!(&err, SlackError::Unavailable { detail, .. } if detail.contains("connect")),
        "{err:?}"
    );
    // Nothing reached Slack.
    assert!(!err.maybe_applied(), "{err:?}");
}

#[tokio::test]
async fn answers_that_are_not_slack_are_protocol_errors() {
    let (slack, _) = setup().await;
    // The emulator's root has no Web API: a 404 there is not something Slack would answer.
    let client = SlackClient::new(SlackClientConfig {
        api_base_url: slack.base_url().join("not-the-api/").unwrap(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let err = client.auth_test(&secret("xoxb-acme-good")).await.unwrap_err();
    assert!(
        matches!(&err, SlackError::Protocol { detail, .. } if detail.contains("404")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_client_is_cheap_to_share() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<SlackClient>();
    let (_slack, client) = setup().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.auth_test(&secret("xoxb-acme-good")).await.map(|a| a.team_id)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), "T0ACME");
    }
}

/// An app that rotates tokens, and its bot installed in Acme: (client, access token, refresh token).
async fn rotating_bot() -> (EmulatorHandle, SlackClient, String, String) {
    let (slack, client) = setup().await;
    slack.add_app(&OAuthAppSeed {
        client_id: "9.9".into(),
        client_secret: "own-secret".into(),
        redirect_uris: vec![],
        app_id: Some("A0OWN".into()),
        signing_secret: None,
        event_url: None,
        token_rotation: true,
    });
    let bot = slack
        .install_bot("9.9", "T0ACME", &["chat:write", "users:read"])
        .unwrap();
    (slack, client, bot.access_token, bot.refresh_token.unwrap())
}

#[tokio::test]
async fn a_renewal_whose_answer_is_lost_is_tried_again_with_the_same_refresh_token() {
    assert!(slack_client::REFRESH_WINDOW < REFRESH_GRACE);
    let (slack, client, _, refresh) = rotating_bot().await;
    // Slack renews, then the answer is a 503; then the next answer stalls past one attempt's deadline.
    slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .after_work()
            .on("oauth.v2.access"),
    );
    slack.inject_fault(
        Fault::next(FaultKind::Delay {
            millis: slack_client::REFRESH_ATTEMPT.as_millis() as u64 + 500,
        })
        .after_work()
        .on("oauth.v2.access"),
    );
    let started = std::time::Instant::now();
    let renewed = client
        .refresh_within_grace("9.9", &secret("own-secret"), &secret(&refresh))
        .await
        .unwrap();
    assert!(
        started.elapsed() < slack_client::REFRESH_WINDOW,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(renewed.token_type, "bot");
    // Three renewals reached Slack with the one refresh token, and the last token works.
    assert_eq!(slack.refreshes().len(), 3);
    let me = client.auth_test(&renewed.access_token).await.unwrap();
    assert_eq!(me.team_id, "T0ACME");
    // A refusal is not tried again.
    let before = slack.refreshes().len();
    let refused = client
        .refresh_within_grace("9.9", &secret("wrong-secret"), &renewed.rotation.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("bad_client_secret"));
    assert_eq!(slack.refreshes().len(), before);
}

#[tokio::test]
async fn a_renewal_slack_keeps_failing_gives_up_within_the_grace() {
    let (slack, client, _, refresh) = rotating_bot().await;
    let mut fault = Fault::next(FaultKind::HttpStatus { status: 503 }).on("oauth.v2.access");
    fault.count = 100;
    slack.inject_fault(fault);
    let started = std::time::Instant::now();
    let err = client
        .refresh_within_grace("9.9", &secret("own-secret"), &secret(&refresh))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::Unavailable { .. }), "{err:?}");
    assert!(
        started.elapsed() <= slack_client::REFRESH_WINDOW,
        "{:?}",
        started.elapsed()
    );
    assert!(slack.refreshes().is_empty());
}

/// A user token of `user` in Acme with chat:write and im:write, through Connect's consent.
async fn user_token(slack: &EmulatorHandle, client: &SlackClient, user: &str) -> SecretString {
    let pkce = Pkce::generate();
    let params = AuthorizeParams {
        client_id: "111.222".into(),
        user_scopes: vec!["chat:write".into(), "im:write".into()],
        redirect_uri: REDIRECT.into(),
        state: random_state(),
        team: Some("T0ACME".into()),
        code_challenge: Some(pkce.challenge.clone()),
        ..Default::default()
    };
    let back = consent(slack, &params, user).await;
    let request = OAuthAccessRequest {
        client_id: "111.222".into(),
        client_secret: secret("emulator-secret"),
        code: secret(&query(&back, "code").unwrap()),
        redirect_uri: REDIRECT.into(),
        code_verifier: Some(pkce.verifier.clone()),
    };
    let access = client.oauth_v2_access(&request).await.unwrap();
    access.authed_user_token.unwrap()
}

fn update(at: &slack_client::PostedMessage, text: &str) -> slack_client::UpdateMessage {
    slack_client::UpdateMessage {
        channel: at.channel.clone(),
        ts: at.ts.clone(),
        text: text.into(),
        blocks: Vec::new(),
    }
}

#[tokio::test]
async fn only_the_poster_updates_or_deletes_a_message_and_slack_shows_it_edited_or_gone() {
    let (slack, client) = setup().await;
    let bot = secret("xoxb-acme-good");
    let bob = user_token(&slack, &client, "U0BOB").await;
    let from_bot = client
        .chat_post_message(&bot, &post("U0BOB", "from the bot"))
        .await
        .unwrap();
    let dm = client.conversations_open(&bob, &["U0ALICE"]).await.unwrap();
    let from_bob = client
        .chat_post_message(&bob, &post(&dm, "from Bob"))
        .await
        .unwrap();

    // Each token changes only what it posted.
    let err = client
        .chat_update(&bob, &update(&from_bot, "hijacked"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("cant_update_message"));
    let err = client.chat_delete(&bob, &from_bot).await.unwrap_err();
    assert_eq!(err.code(), Some("cant_delete_message"));
    // The bot is not in Bob's DM with Alice.
    let err = client
        .chat_update(&bot, &update(&from_bob, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("channel_not_found"));
    // A user id is not a conversation for chat.update; an unknown ts is not a message; text is needed.
    let by_user_id = slack_client::UpdateMessage {
        channel: "U0BOB".into(),
        ..update(&from_bot, "x")
    };
    let err = client.chat_update(&bot, &by_user_id).await.unwrap_err();
    assert_eq!(err.code(), Some("channel_not_found"));
    let unknown = slack_client::PostedMessage {
        channel: from_bot.channel.clone(),
        ts: "1.000001".into(),
    };
    let err = client
        .chat_update(&bot, &update(&unknown, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("message_not_found"));
    let err = client
        .chat_update(&bot, &update(&from_bot, ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("no_text"));
    assert!(slack.changes().is_empty());

    // The poster's update changes the text in place and marks it edited.
    let updated = client
        .chat_update(&bot, &update(&from_bot, "edited by the bot"))
        .await
        .unwrap();
    assert_eq!(updated, from_bot);
    client
        .chat_update(&bob, &update(&from_bob, "edited by Bob"))
        .await
        .unwrap();
    let shown = slack.messages();
    let text_of = |ts: &str| {
        shown
            .iter()
            .find(|m| m.ts == ts)
            .map(|m| (m.text.clone(), m.edited_ts.is_some()))
    };
    assert_eq!(text_of(&from_bot.ts), Some(("edited by the bot".into(), true)));
    assert_eq!(text_of(&from_bob.ts), Some(("edited by Bob".into(), true)));
    let page = reqwest::get(slack.base_url().join("/client/T0ACME/U0ALICE").unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("edited by Bob") && page.contains("(edited / 編集済み)"),
        "{page}"
    );

    // The workspace's edit window closes updates, not deletes.
    slack.set_edit_window(Some(Duration::ZERO));
    let err = client
        .chat_update(&bob, &update(&from_bob, "too late"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("edit_window_closed"));
    slack.set_edit_window(None);

    client.chat_delete(&bot, &from_bot).await.unwrap();
    assert!(slack.messages().iter().all(|m| m.ts != from_bot.ts));
    let err = client.chat_delete(&bot, &from_bot).await.unwrap_err();
    assert_eq!(err.code(), Some("message_not_found"));
    let err = client
        .chat_update(&bot, &update(&from_bot, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("message_not_found"));
    let kinds: Vec<_> = slack
        .changes()
        .into_iter()
        .map(|c| (c.user, c.token_kind, c.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                "U0ACMEBOT".to_owned(),
                slack_emulator::TokenKind::Bot,
                slack_emulator::ChangeKind::Updated {
                    text: "edited by the bot".into(),
                    blocks: None
                }
            ),
            (
                "U0BOB".to_owned(),
                slack_emulator::TokenKind::User,
                slack_emulator::ChangeKind::Updated {
                    text: "edited by Bob".into(),
                    blocks: None
                }
            ),
            (
                "U0ACMEBOT".to_owned(),
                slack_emulator::TokenKind::Bot,
                slack_emulator::ChangeKind::Deleted
            ),
        ]
    );
}
