//! The worker against the Slack emulator over HTTP: revoked once, retried through an answer that
//! hid the work, given up after the last attempt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ovice_slack_model::OrgId;
use ovice_slack_revocation::{RetryPolicy, Revocations, RevokeReason, TokenKind, WorkerConfig};
use ovice_slack_runtime::test_support::{Backend, TempDirGuard, eventually, fresh_database};
use ovice_slack_secrets::{KeyRing, TokenCipher};
use secrecy::SecretString;
use slack_client::{SlackClient, SlackClientConfig};
use slack_emulator::{Emulator, EmulatorHandle, Fault, FaultKind, Seed};
use tokio_util::sync::CancellationToken;

struct Setup {
    slack: EmulatorHandle,
    queue: Revocations,
    stop: CancellationToken,
    _db: Option<TempDirGuard>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn setup(max_attempts: u32) -> Setup {
    let _ = rustls::crypto::ring::default_provider().install_default();
    slack_client::install_crypto_provider();
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let client = SlackClient::new(SlackClientConfig {
        api_base_url: slack.api_url(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let (db, guard) = fresh_database(Backend::Sqlite).await.unwrap();
    let cipher = TokenCipher::new(KeyRing::parse(&KeyRing::generate_entry("k1")).unwrap());
    let queue = Revocations::open(&db, cipher, TokenKind::Bot).await.unwrap();
    let stop = CancellationToken::new();
    let config = WorkerConfig {
        poll: Duration::from_millis(50),
        retry: RetryPolicy {
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_attempts,
        },
    };
    queue.spawn_worker(client, config, stop.clone());
    Setup {
        slack,
        queue,
        stop,
        _db: guard,
    }
}

fn revoke_calls(slack: &EmulatorHandle) -> Vec<(u16, Option<String>)> {
    slack
        .calls()
        .into_iter()
        .filter(|c| c.method == "auth.revoke")
        .map(|c| (c.status, c.error))
        .collect()
}

async fn enqueue(s: &Setup, token: &str, reason: RevokeReason) {
    s.queue
        .enqueue(
            &OrgId::new("org-1"),
            &SecretString::from(token.to_owned()),
            reason,
        )
        .await
        .unwrap();
}

async fn drained(s: &Setup) {
    eventually("the queue is empty", Duration::from_secs(10), async || {
        (s.queue.pending().await.unwrap() == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_queued_token_is_revoked_once() {
    let s = setup(3).await;
    enqueue(&s, "xoxb-acme-good", RevokeReason::WorkspaceRemoved).await;
    drained(&s).await;
    assert!(s.slack.is_token_revoked("xoxb-acme-good"));
    assert_eq!(revoke_calls(&s.slack), [(200, None)]);
}

/// Slack revoked the token but the answer was a 503: the retry hears `token_revoked` and is done.
#[tokio::test]
async fn a_failure_after_the_work_is_retried_and_ends_on_token_revoked() {
    let s = setup(3).await;
    s.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 503 })
            .on("auth.revoke")
            .after_work(),
    );
    enqueue(&s, "xoxb-globex-good", RevokeReason::WorkspaceReplaced).await;
    drained(&s).await;
    assert!(s.slack.is_token_revoked("xoxb-globex-good"));
    assert_eq!(
        revoke_calls(&s.slack),
        [(503, None), (200, Some("token_revoked".into()))]
    );
}

/// An outage longer than the attempts: given up (and logged) after exactly the last attempt, so the
/// queue cannot grow without bound.
#[tokio::test]
async fn an_outage_is_given_up_after_the_last_attempt() {
    let s = setup(3).await;
    s.slack.inject_fault(
        Fault::next(FaultKind::HttpStatus { status: 502 })
            .on("auth.revoke")
            .times(10),
    );
    enqueue(&s, "xoxb-acme-good", RevokeReason::WorkspaceRemoved).await;
    drained(&s).await;
    assert!(!s.slack.is_token_revoked("xoxb-acme-good"));
    assert_eq!(revoke_calls(&s.slack), vec![(502, None); 3]);
}

/// A 429 is obeyed: the retry comes no sooner than Slack's Retry-After.
#[tokio::test]
async fn a_rate_limit_is_waited_out() {
    let s = setup(3).await;
    s.slack.inject_fault(
        Fault::next(FaultKind::RateLimited {
            retry_after_secs: Some(1),
        })
        .on("auth.revoke"),
    );
    enqueue(&s, "xoxb-acme-good", RevokeReason::WorkspaceRemoved).await;
    drained(&s).await;
    let calls: Vec<_> = s
        .slack
        .calls()
        .into_iter()
        .filter(|c| c.method == "auth.revoke")
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].status, calls[1].status), (429, 200));
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(s.slack.is_token_revoked("xoxb-acme-good"));
}
