//! Fault injection, rate limits, shutdown and the HTTP control API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use slack_emulator::{Chaos, Fault, FaultKind, RateLimitConfig};

#[tokio::test]
async fn injected_http_errors_apply_to_the_next_calls_of_a_method() {
    let h = common::start().await;
    h.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .on("chat.postMessage")
            .times(2),
    );
    h.slack
        .inject_fault(Fault::next(FaultKind::HttpStatus { status: 500 }).on("auth.test"));
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.status,
        StatusCode::OK
    );
    let form = [("channel", "U0ALICE"), ("text", "hi")];
    assert_eq!(
        h.call("chat.postMessage", Some("xoxb-acme-good"), &form)
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        h.call("chat.postMessage", Some("xoxb-acme-good"), &form)
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        h.call("chat.postMessage", Some("xoxb-acme-good"), &form)
            .await
            .body["ok"],
        true
    );
    assert_eq!(h.slack.messages().len(), 1, "failed calls post nothing");
}

#[tokio::test]
async fn injected_slack_errors_and_429s_look_like_slack() {
    let h = common::start().await;
    h.slack.inject_fault(Fault::next(FaultKind::SlackError {
        error: "internal_error".into(),
    }));
    let a = h.call("auth.test", Some("xoxb-acme-good"), &[]).await;
    assert_eq!(
        (a.status, a.body.clone()),
        (StatusCode::OK, json!({"ok": false, "error": "internal_error"}))
    );
    h.slack.inject_fault(Fault::next(FaultKind::RateLimited {
        retry_after_secs: Some(7),
    }));
    let b = h.call("auth.test", Some("xoxb-acme-good"), &[]).await;
    assert_eq!(b.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(b.header("retry-after"), Some("7"));
    assert_eq!(b.error(), Some("ratelimited"));
    let calls = h.slack.calls();
    assert_eq!(calls[1].status, 429);
}

#[tokio::test]
async fn delay_and_dropped_connection() {
    let h = common::start().await;
    h.slack
        .inject_fault(Fault::next(FaultKind::Delay { millis: 300 }));
    let started = Instant::now();
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.body["ok"],
        true
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    h.slack.inject_fault(Fault::next(FaultKind::Drop));
    let err = h
        .http
        .post(h.url("auth.test"))
        .bearer_auth("xoxb-acme-good")
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(h.slack.calls().last().unwrap().status, 0);
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.body["ok"],
        true
    );
}

#[tokio::test]
async fn chaos_at_one_hundred_percent_fails_every_call() {
    let h = common::start().await;
    h.slack.set_chaos(Chaos {
        error_percent: 100.0,
        max_extra_latency_ms: 5,
    });
    for _ in 0..5 {
        assert_eq!(
            h.call("auth.test", Some("xoxb-acme-good"), &[]).await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    h.slack.clear_faults();
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.status,
        StatusCode::OK
    );
}

/// The failures that cause real duplicates: Slack posts the message, then the caller sees a 5xx,
/// a dropped connection, or no answer before its timeout.
#[tokio::test]
async fn faults_after_the_work_leave_the_message_posted() {
    let h = common::start().await;
    let form = [("channel", "U0ALICE"), ("text", "posted anyway")];
    h.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 500 })
            .on("chat.postMessage")
            .after_work(),
    );
    let answer = h.call("chat.postMessage", Some("xoxb-acme-good"), &form).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(h.slack.messages().len(), 1);

    h.slack
        .inject_fault(Fault::next(FaultKind::Drop).on("chat.postMessage").after_work());
    let send = h
        .http
        .post(h.url("chat.postMessage"))
        .bearer_auth("xoxb-acme-good")
        .form(&form)
        .send()
        .await;
    assert!(send.is_err(), "{send:?}");
    assert_eq!(h.slack.messages().len(), 2);

    h.slack.inject_fault(
        Fault::next(FaultKind::Delay { millis: 1_500 })
            .on("chat.postMessage")
            .after_work(),
    );
    let started = Instant::now();
    let timed_out = h
        .http
        .post(h.url("chat.postMessage"))
        .bearer_auth("xoxb-acme-good")
        .form(&form)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(timed_out.is_timeout(), "{timed_out:?}");
    assert!(started.elapsed() < Duration::from_millis(1_000));
    // Posted at once, before the stalled answer.
    assert_eq!(h.slack.messages().len(), 3);
    // A fault before the work posts nothing.
    h.slack
        .inject_fault(Fault::next(FaultKind::HttpStatus { status: 503 }).on("chat.postMessage"));
    let refused = h.call("chat.postMessage", Some("xoxb-acme-good"), &form).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h.slack.messages().len(), 3);
}

#[tokio::test]
async fn post_message_is_limited_per_channel_with_retry_after() {
    let h = common::start().await;
    h.slack.set_rate_limits(RateLimitConfig {
        enabled: true,
        scale: 1.0,
    });
    let form = [("channel", "U0ALICE"), ("text", "hi")];
    for _ in 0..3 {
        assert_eq!(
            h.call("chat.postMessage", Some("xoxb-acme-good"), &form)
                .await
                .body["ok"],
            true
        );
    }
    let limited = h.call("chat.postMessage", Some("xoxb-acme-good"), &form).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(limited.error(), Some("ratelimited"));
    // Another channel is not affected.
    let other = [("channel", "U0BOB"), ("text", "hi")];
    assert_eq!(
        h.call("chat.postMessage", Some("xoxb-acme-good"), &other)
            .await
            .body["ok"],
        true
    );
    assert_eq!(h.slack.messages().len(), 4);
    let served_429 = h.slack.calls().iter().filter(|c| c.status == 429).count();
    assert_eq!(served_429, 1);
}

#[tokio::test]
async fn tier3_methods_are_limited_per_workspace() {
    let h = common::start().await;
    // Scale 0.1: a burst of 5, then one every 12 s.
    h.slack.set_rate_limits(RateLimitConfig {
        enabled: true,
        scale: 0.1,
    });
    let form = [("email", "alice@acme.test")];
    for _ in 0..5 {
        assert_eq!(
            h.call("users.lookupByEmail", Some("xoxb-acme-good"), &form)
                .await
                .body["ok"],
            true
        );
    }
    let limited = h.call("users.lookupByEmail", Some("xoxb-acme-good"), &form).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.header("retry-after"), Some("12"));
    // Globex has its own budget.
    let g = h
        .call("users.lookupByEmail", Some("xoxb-globex-good"), &form)
        .await;
    assert_eq!(g.body["ok"], true);
}

#[tokio::test]
async fn shutdown_refuses_later_connections() {
    let h = common::start().await;
    let url = h.url("auth.test");
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.status,
        StatusCode::OK
    );
    let common::Harness { slack, http } = h;
    slack.shutdown().await;
    let fresh = reqwest::Client::new();
    let err = fresh.post(url.clone()).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(http.post(url).send().await.is_err());
}

#[tokio::test]
async fn control_api_over_http() {
    let h = common::start().await;
    let ctl = |path: &str| h.slack.base_url().join(path).unwrap();
    let ok = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::OK);
    };
    ok(h.http.get(ctl("_emulator/health")).send().await.unwrap()).await;
    let fault = json!({"method": "auth.test", "count": 1, "kind": {"type": "http_status", "status": 502}});
    ok(h.http
        .post(ctl("_emulator/faults"))
        .json(&fault)
        .send()
        .await
        .unwrap())
    .await;
    let pending: serde_json::Value = h
        .http
        .get(ctl("_emulator/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending["pending"][0]["kind"]["status"], 502);
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.status,
        StatusCode::BAD_GATEWAY
    );

    ok(h.http
        .post(ctl("_emulator/tokens/revoke"))
        .json(&json!({"token": "xoxb-acme-good"}))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(
        h.call("auth.test", Some("xoxb-acme-good"), &[]).await.error(),
        Some("token_revoked")
    );
    let missing = h
        .http
        .post(ctl("_emulator/tokens/revoke"))
        .json(&json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let body = json!({"team_id": "T0ACME", "user_id": "U0BOB", "email": "robert@acme.test"});
    ok(h.http
        .post(ctl("_emulator/users/email"))
        .json(&body)
        .send()
        .await
        .unwrap())
    .await;
    let bot = json!({"team_id": "T0ACME", "token": "xoxb-new", "scopes": ["users:read.email", "chat:write"],
                     "bot_user_id": "U0ACMEBOT"});
    ok(h.http
        .post(ctl("_emulator/tokens/bot"))
        .json(&bot)
        .send()
        .await
        .unwrap())
    .await;
    let found = h
        .call(
            "users.lookupByEmail",
            Some("xoxb-new"),
            &[("email", "robert@acme.test")],
        )
        .await;
    assert_eq!(found.body["user"]["id"], "U0BOB");

    h.call(
        "chat.postMessage",
        Some("xoxb-new"),
        &[("channel", "U0BOB"), ("text", "via http")],
    )
    .await;
    let messages: serde_json::Value = h
        .http
        .get(ctl("_emulator/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages[0]["text"], "via http");
    assert_eq!(messages[0]["token_kind"], "bot");
    let calls: serde_json::Value = h
        .http
        .get(ctl("_emulator/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls[0]["status"], 502);
    assert!(calls[0]["at_ms"].is_u64());

    let limits = json!({"enabled": true, "scale": 2.0});
    ok(h.http
        .post(ctl("_emulator/rate_limits"))
        .json(&limits)
        .send()
        .await
        .unwrap())
    .await;
    let redirect = json!({"client_id": "111.222", "uri": "http://127.0.0.1:1/cb"});
    ok(h.http
        .post(ctl("_emulator/oauth/redirect_uris"))
        .json(&redirect)
        .send()
        .await
        .unwrap())
    .await;
    ok(h.http.delete(ctl("_emulator/messages")).send().await.unwrap()).await;
    assert!(h.slack.messages().is_empty());
}
