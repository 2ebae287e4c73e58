//! The emulator's own control API under `/_emulator/…` (JSON), mirroring `EmulatorHandle` for
//! the standalone binary and for tests that drive it over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::events::{self, EventError};
use crate::faults::{Chaos, Fault};
use crate::limits::RateLimitConfig;
use crate::record::RecordedCallView;
use crate::seed::BotTokenSeed;
use crate::state::{Shared, TokenStatus};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/_emulator/messages", get(messages).delete(clear_messages))
        .route("/_emulator/calls", get(calls).delete(clear_calls))
        .route("/_emulator/tokens/revoke", post(revoke_token))
        .route("/_emulator/tokens/deactivate", post(deactivate_token))
        .route("/_emulator/tokens/bot", post(add_bot_token))
        .route("/_emulator/users/email", post(set_user_email))
        .route("/_emulator/users/deleted", post(set_user_deleted))
        .route("/_emulator/oauth/redirect_uris", post(add_redirect_uri))
        .route(
            "/_emulator/faults",
            get(faults).post(inject_fault).delete(clear_faults),
        )
        .route("/_emulator/chaos", post(set_chaos))
        .route("/_emulator/rate_limits", get(rate_limits).post(set_rate_limits))
        .route("/_emulator/events/url", post(set_event_url))
        .route("/_emulator/events", post(send_event))
        .route("/_emulator/events/redeliver", post(redeliver_event))
        .route("/_emulator/apps/uninstall", post(uninstall_app))
        .route("/_emulator/users/revoke_access", post(revoke_user_access))
        .route("/_emulator/apps/install_bot", post(install_bot))
        .route("/_emulator/tokens/lifetime", post(set_token_lifetime))
        .route("/_emulator/tokens/expire", post(expire_tokens))
        .route("/_emulator/tokens/refreshes", get(refreshes))
        .route("/_emulator/messages/changes", get(changes))
        .route("/_emulator/messages/edit_window", post(set_edit_window))
}

#[derive(Deserialize)]
struct InstallBotBody {
    client_id: String,
    team_id: String,
    scopes: Vec<String>,
}

async fn install_bot(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<InstallBotBody>) -> Response {
    let scopes: Vec<&str> = b.scopes.iter().map(String::as_str).collect();
    let installed = crate::api::install_bot(&mut s.lock(), &b.client_id, &b.team_id, &scopes, Instant::now());
    match installed {
        Some(bot) => Json(bot).into_response(),
        None => done(false),
    }
}

#[derive(Deserialize)]
struct LifetimeBody {
    seconds: u64,
}

async fn set_token_lifetime(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<LifetimeBody>) -> Response {
    s.lock().token_lifetime = Duration::from_secs(b.seconds.max(1));
    done(true)
}

async fn expire_tokens(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    let expired = s.lock().expire_rotating_tokens(Instant::now());
    Json(json!({"ok": true, "expired": expired})).into_response()
}

async fn refreshes(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    Json(s.lock().refreshes.clone()).into_response()
}

async fn changes(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    Json(s.lock().changes.clone()).into_response()
}

#[derive(Deserialize)]
struct EditWindowBody {
    /// Seconds after posting a message may still be updated; absent or null: no limit.
    #[serde(default)]
    seconds: Option<u64>,
}

async fn set_edit_window(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<EditWindowBody>) -> Response {
    s.lock().edit_window = b.seconds.map(Duration::from_secs);
    done(true)
}

fn event_answer<T: serde::Serialize>(result: Result<T, EventError>) -> Response {
    match result {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "error": e.to_string()})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct EventUrlBody {
    client_id: String,
    url: String,
}

async fn set_event_url(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<EventUrlBody>) -> Response {
    let mut state = s.lock();
    let app = state.apps.iter_mut().find(|a| a.client_id == b.client_id);
    let found = app.is_some();
    if let Some(app) = app {
        app.event_url = Some(b.url);
    }
    done(found)
}

#[derive(Deserialize)]
struct EventBody {
    client_id: String,
    team_id: String,
    event: serde_json::Value,
}

async fn send_event(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<EventBody>) -> Response {
    event_answer(events::send(&s, &b.client_id, &b.team_id, b.event).await)
}

#[derive(Deserialize)]
struct RedeliverBody {
    event_id: String,
}

async fn redeliver_event(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<RedeliverBody>) -> Response {
    event_answer(events::redeliver(&s, &b.event_id).await)
}

#[derive(Deserialize)]
struct UninstallBody {
    client_id: String,
    team_id: String,
}

async fn uninstall_app(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<UninstallBody>) -> Response {
    event_answer(events::uninstall(&s, &b.client_id, &b.team_id).await)
}

#[derive(Deserialize)]
struct RevokeAccessBody {
    client_id: String,
    team_id: String,
    user_id: String,
}

async fn revoke_user_access(
    AxumState(s): AxumState<Arc<Shared>>,
    Json(b): Json<RevokeAccessBody>,
) -> Response {
    event_answer(events::revoke_user_access(&s, &b.client_id, &b.team_id, &b.user_id).await)
}

fn done(found: bool) -> Response {
    if found {
        Json(json!({"ok": true})).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "error": "not_found"})),
        )
            .into_response()
    }
}

async fn messages(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    Json(s.lock().messages.clone()).into_response()
}

async fn clear_messages(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    s.lock().messages.clear();
    done(true)
}

async fn calls(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    let views: Vec<RecordedCallView> = s.lock().calls.iter().map(|c| c.view(s.started)).collect();
    Json(views).into_response()
}

async fn clear_calls(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    s.lock().calls.clear();
    done(true)
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn revoke_token(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<TokenBody>) -> Response {
    done(s.lock().set_token_status(&b.token, TokenStatus::Revoked))
}

async fn deactivate_token(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<TokenBody>) -> Response {
    done(s.lock().set_token_status(&b.token, TokenStatus::Inactive))
}

#[derive(Deserialize)]
struct BotTokenBody {
    team_id: String,
    #[serde(flatten)]
    bot: BotTokenSeed,
}

async fn add_bot_token(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<BotTokenBody>) -> Response {
    done(s.lock().add_bot_token(&b.team_id, &b.bot))
}

#[derive(Deserialize)]
struct EmailBody {
    team_id: String,
    user_id: String,
    email: Option<String>,
}

async fn set_user_email(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<EmailBody>) -> Response {
    let mut state = s.lock();
    let user = state.user_mut(&b.team_id, &b.user_id);
    let found = user.is_some();
    if let Some(u) = user {
        u.email = b.email;
    }
    done(found)
}

#[derive(Deserialize)]
struct DeletedBody {
    team_id: String,
    user_id: String,
    deleted: bool,
}

async fn set_user_deleted(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<DeletedBody>) -> Response {
    let mut state = s.lock();
    let user = state.user_mut(&b.team_id, &b.user_id);
    let found = user.is_some();
    if let Some(u) = user {
        u.deleted = b.deleted;
    }
    done(found)
}

#[derive(Deserialize)]
struct RedirectBody {
    client_id: String,
    uri: String,
}

async fn add_redirect_uri(AxumState(s): AxumState<Arc<Shared>>, Json(b): Json<RedirectBody>) -> Response {
    done(crate::server::add_redirect_uri(
        &mut s.lock(),
        &b.client_id,
        &b.uri,
    ))
}

async fn faults(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    let state = s.lock();
    Json(json!({"pending": state.faults.pending(), "chaos": state.faults.chaos})).into_response()
}

async fn inject_fault(AxumState(s): AxumState<Arc<Shared>>, Json(f): Json<Fault>) -> Response {
    s.lock().faults.push(f);
    done(true)
}

async fn clear_faults(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    s.lock().faults.clear();
    done(true)
}

async fn set_chaos(AxumState(s): AxumState<Arc<Shared>>, Json(c): Json<Chaos>) -> Response {
    s.lock().faults.chaos = c;
    done(true)
}

async fn rate_limits(AxumState(s): AxumState<Arc<Shared>>) -> Response {
    Json(s.lock().limiter.config).into_response()
}

async fn set_rate_limits(AxumState(s): AxumState<Arc<Shared>>, Json(c): Json<RateLimitConfig>) -> Response {
    s.lock().limiter.set_config(c);
    done(true)
}
