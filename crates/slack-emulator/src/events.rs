//! The Events API from Slack's side: an app with a Request URL gets each event as a signed POST
//! (`X-Slack-Signature: v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` under the app's signing secret,
//! `X-Slack-Request-Timestamp`), wrapped in an `event_callback` envelope with a unique `event_id`.
//! Slack waits 3 seconds for a 2xx; a redelivery carries the same `event_id` and body, newly signed,
//! with `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`. Here each delivery is one call a test makes
//! (Slack's own retries come a minute and five minutes apart, which no test waits for): the answer
//! it got is returned, and [`redeliver`] is Slack's retry.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::state::{Shared, TokenOwner, TokenStatus, random_hex};

/// How long Slack waits for an app to answer an event.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// Slack's `v0=` signature of `body` sent at `timestamp` (Unix seconds) under `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One event as the emulator sent it, kept so it can be delivered again.
#[derive(Debug, Clone)]
pub struct SentEvent {
    pub event_id: String,
    pub client_id: String,
    pub body: String,
    pub deliveries: u32,
}

/// What the app answered to one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventDelivery {
    pub event_id: String,
    /// The HTTP status; `None` when the app did not answer within [`ANSWER_WITHIN`] or could not be
    /// reached.
    pub status: Option<u16>,
    pub body: String,
    /// 0 for the first delivery, then Slack's `X-Slack-Retry-Num`.
    pub retry_num: u32,
}

impl EventDelivery {
    /// A 2xx within 3 seconds: what Slack counts as received.
    pub fn acknowledged(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("unknown app (client id) `{0}`")]
    UnknownApp(String),
    #[error("the app has no Request URL (set one first)")]
    NoRequestUrl,
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
}

/// Wraps `event` for `client_id`'s app in `team_id` and delivers it once.
pub async fn send(
    shared: &Arc<Shared>,
    client_id: &str,
    team_id: &str,
    event: Value,
) -> Result<EventDelivery, EventError> {
    let event_id = format!("Ev{}", random_hex(5).to_uppercase());
    let body = {
        let mut state = shared.lock();
        let app = state
            .app(client_id)
            .ok_or_else(|| EventError::UnknownApp(client_id.to_owned()))?;
        if app.event_url.is_none() {
            return Err(EventError::NoRequestUrl);
        }
        let body = json!({
            "token": "emulator-verification-token",
            "team_id": team_id,
            "api_app_id": app.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": now_unix(),
            "authorizations": [],
            "is_ext_shared_channel": false,
        })
        .to_string();
        state.events.push(SentEvent {
            event_id: event_id.clone(),
            client_id: client_id.to_owned(),
            body: body.clone(),
            deliveries: 0,
        });
        body
    };
    deliver(shared, &event_id, &body, client_id, 0).await
}

/// Slack's retry of an event already sent: same id and body, signed anew, with the retry headers.
pub async fn redeliver(shared: &Arc<Shared>, event_id: &str) -> Result<EventDelivery, EventError> {
    let (body, client_id, retry) = {
        let mut state = shared.lock();
        let sent = state
            .events
            .iter_mut()
            .find(|e| e.event_id == event_id)
            .ok_or_else(|| EventError::UnknownEvent(event_id.to_owned()))?;
        sent.deliveries += 1;
        (sent.body.clone(), sent.client_id.clone(), sent.deliveries)
    };
    deliver(shared, event_id, &body, &client_id, retry).await
}

async fn deliver(
    shared: &Arc<Shared>,
    event_id: &str,
    body: &str,
    client_id: &str,
    retry_num: u32,
) -> Result<EventDelivery, EventError> {
    let (url, secret) = {
        let state = shared.lock();
        let app = state
            .app(client_id)
            .ok_or_else(|| EventError::UnknownApp(client_id.to_owned()))?;
        let url = app.event_url.clone().ok_or(EventError::NoRequestUrl)?;
        (url, app.signing_secret.clone())
    };
    let timestamp = now_unix();
    let mut request = http_client()
        .post(url)
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", sign(&secret, timestamp, body.as_bytes()))
        .body(body.to_owned());
    if retry_num > 0 {
        request = request
            .header("x-slack-retry-num", retry_num.to_string())
            .header("x-slack-retry-reason", "http_timeout");
    }
    let (status, answer) = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (Some(status), response.text().await.unwrap_or_default())
        }
        Err(e) => (None, e.to_string()),
    };
    Ok(EventDelivery {
        event_id: event_id.to_owned(),
        status,
        body: answer,
        retry_num,
    })
}

fn http_client() -> reqwest::Client {
    // Request URLs in tests are plain http; a TLS provider is installed only in case one is not.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap_or_default()
}

/// The app is removed from the workspace, as an admin does it: every token of it there stops working
/// (`token_revoked`), then Slack sends `app_uninstalled` and `tokens_revoked` naming the people and
/// bot users whose tokens went. Returns both deliveries (none without a Request URL).
pub async fn uninstall(
    shared: &Arc<Shared>,
    client_id: &str,
    team_id: &str,
) -> Result<Vec<EventDelivery>, EventError> {
    let (people, bots, has_url) = {
        let mut state = shared.lock();
        let app = state
            .app(client_id)
            .ok_or_else(|| EventError::UnknownApp(client_id.to_owned()))?;
        let (app_id, has_url) = (app.app_id.clone(), app.event_url.is_some());
        let (mut people, mut bots) = (Vec::new(), Vec::new());
        for info in state.tokens.values_mut() {
            if info.team_id != team_id || info.app_id() != app_id || info.status != TokenStatus::Active {
                continue;
            }
            info.status = TokenStatus::Revoked;
            match &info.owner {
                TokenOwner::User { user_id, .. } => people.push(user_id.clone()),
                TokenOwner::Bot { bot_user_id, .. } => bots.push(bot_user_id.clone()),
            }
        }
        state.drop_refresh_tokens(team_id, &app_id, None);
        people.sort();
        people.dedup();
        bots.sort();
        bots.dedup();
        (people, bots, has_url)
    };
    if !has_url {
        return Ok(vec![]);
    }
    let uninstalled = send(shared, client_id, team_id, json!({"type": "app_uninstalled"})).await?;
    let revoked = send(
        shared,
        client_id,
        team_id,
        json!({"type": "tokens_revoked", "tokens": {"oauth": people, "bot": bots}}),
    )
    .await?;
    Ok(vec![uninstalled, revoked])
}

/// A person removes the app's access to their account: their tokens of the app stop working and
/// Slack sends `tokens_revoked` naming them.
pub async fn revoke_user_access(
    shared: &Arc<Shared>,
    client_id: &str,
    team_id: &str,
    user_id: &str,
) -> Result<Option<EventDelivery>, EventError> {
    let has_url = {
        let mut state = shared.lock();
        let app = state
            .app(client_id)
            .ok_or_else(|| EventError::UnknownApp(client_id.to_owned()))?;
        let (app_id, has_url) = (app.app_id.clone(), app.event_url.is_some());
        for info in state.tokens.values_mut() {
            let theirs = matches!(&info.owner, TokenOwner::User { user_id: u, .. } if u == user_id);
            if theirs && info.team_id == team_id && info.app_id() == app_id {
                info.status = TokenStatus::Revoked;
            }
        }
        state.drop_refresh_tokens(team_id, &app_id, Some(user_id));
        has_url
    };
    if !has_url {
        return Ok(None);
    }
    let event = json!({"type": "tokens_revoked", "tokens": {"oauth": [user_id], "bot": []}});
    send(shared, client_id, team_id, event).await.map(Some)
}

/// `user_change` for a user, as Slack sends it to each app with a Request URL that holds a token in
/// the team with `users:read` (the scope the event needs): the whole user object, the email only to
/// a token that also has `users:read.email`.
pub async fn user_changed(shared: &Arc<Shared>, team_id: &str, user_id: &str) -> Vec<EventDelivery> {
    let targets: Vec<(String, Value)> = {
        let state = shared.lock();
        let Some(user) = state.user(team_id, user_id) else {
            return vec![];
        };
        state
            .apps
            .iter()
            .filter(|app| app.event_url.is_some())
            .filter_map(|app| {
                let tokens: Vec<_> = state
                    .tokens
                    .values()
                    .filter(|t| {
                        t.team_id == team_id && t.app_id() == app.app_id && t.status == TokenStatus::Active
                    })
                    .collect();
                if !tokens.iter().any(|t| t.has_any_scope(&["users:read"])) {
                    return None;
                }
                let sees_email = tokens.iter().any(|t| t.has_any_scope(&["users:read.email"]));
                let mut profile = json!({"real_name": user.real_name, "display_name": user.name});
                if sees_email && let Some(email) = &user.email {
                    profile["email"] = json!(email);
                }
                let event = json!({"type": "user_change", "user": {
                    "id": user.id, "team_id": team_id, "name": user.name, "deleted": user.deleted,
                    "is_bot": user.is_bot, "profile": profile,
                }, "event_ts": format!("{}.000100", now_unix())});
                Some((app.client_id.clone(), event))
            })
            .collect()
    };
    let mut deliveries = Vec::new();
    for (client_id, event) in targets {
        if let Ok(d) = send(shared, &client_id, team_id, event).await {
            deliveries.push(d);
        }
    }
    deliveries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_slacks_own_example() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            sign("8f742231b10e8888abcd99yyyzzz85a5", 1_531_420_618, body.as_bytes()),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }
}
