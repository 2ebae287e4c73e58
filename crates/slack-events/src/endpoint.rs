//! The HTTP side: `POST /slack/events`. Each request's signature and timestamp are checked first; a
//! request not believed gets 401 and changes nothing. A believed `url_verification` gets its
//! challenge back; a believed event is stored in the inbox and then answered 200, so Slack's 3-second
//! deadline covers one signature check and one insert, never the work the event asks for.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};

use ovice_slack_model::UnixMillis;

use crate::{
    Inbox, SigningSecret,
    event::Incoming,
    metrics::{self, Outcome},
    signature,
};

/// Where the Connect app's Request URL points.
pub const EVENTS_PATH: &str = "/slack/events";

/// Slack's event bodies are a few kilobytes (a `user_change` carries a whole profile); anything far
/// bigger is refused before its signature is even computed.
const MAX_BODY_BYTES: usize = 256 * 1024;

struct Endpoint {
    secret: SigningSecret,
    inbox: Inbox,
}

/// The Events endpoint of the app whose requests `secret` signs, storing into `inbox`.
pub fn routes(secret: SigningSecret, inbox: Inbox) -> Router {
    Router::new()
        .route(EVENTS_PATH, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(Endpoint { secret, inbox }))
}

/// The Events endpoint of a deployment without a signing secret: every request is told so (503),
/// rather than a bare 404 that reads like a wrong URL.
pub fn not_configured_routes() -> Router {
    Router::new().route(
        EVENTS_PATH,
        post(|| async {
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "this ovice-slack has no Slack signing secret (--slack-signing-secret), so it cannot \
                 believe events; ask its operator"
                    .into(),
            )
        }),
    )
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn receive(State(endpoint): State<Arc<Endpoint>>, headers: HeaderMap, body: Bytes) -> Response {
    let receiver = endpoint.inbox.receiver;
    let now_unix = UnixMillis::now().as_millis() / 1000;
    if let Err(e) = signature::verify(
        &endpoint.secret,
        header(&headers, "x-slack-request-timestamp"),
        header(&headers, "x-slack-signature"),
        &body,
        now_unix,
    ) {
        tracing::warn!(receiver, error = %e, "a request to the slack events endpoint was not believed");
        metrics::record(receiver, Outcome::Refused);
        return text(StatusCode::UNAUTHORIZED, e.to_string());
    }
    let incoming = match Incoming::parse(&body) {
        Ok(incoming) => incoming,
        Err(e) => {
            tracing::warn!(receiver, error = %e, "a signed request to the slack events endpoint is not an event");
            metrics::record(receiver, Outcome::Malformed);
            return text(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    match incoming {
        Incoming::UrlVerification { challenge } => {
            tracing::info!(receiver, "slack verified the events request url");
            text(StatusCode::OK, challenge)
        }
        Incoming::RateLimited { team_id, minute } => {
            // Slack held events back; what they would have said is learned by the health check and
            // at the next send instead.
            tracing::warn!(receiver, %team_id, minute, "slack is holding back this app's events (app_rate_limited)");
            StatusCode::OK.into_response()
        }
        Incoming::Unknown { kind } => {
            tracing::debug!(receiver, kind, "a slack request of a type not acted on");
            StatusCode::OK.into_response()
        }
        Incoming::Event(envelope) => {
            let retry = header(&headers, "x-slack-retry-num").unwrap_or("0");
            match endpoint.inbox.accept(None, &envelope).await {
                Ok(new) => {
                    tracing::info!(receiver, team_id = %envelope.team_id, event_id = %envelope.event_id, kind = envelope.event.kind(), retry, new, "slack event received");
                    metrics::record(receiver, if new { Outcome::Stored } else { Outcome::Duplicate });
                    StatusCode::OK.into_response()
                }
                Err(e) => {
                    // Not stored, so not acknowledged: Slack retries it.
                    tracing::error!(receiver, event_id = %envelope.event_id, error = %e, "could not store a slack event; slack will retry it");
                    metrics::record(receiver, Outcome::Unstored);
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the event could not be stored; send it again".into(),
                    )
                }
            }
        }
    }
}
