//! The HTTP side: `POST /slack/events`. Each request's signature and timestamp are checked first; a
//! request not believed gets 401 and changes nothing. A believed `url_verification` gets its
//! challenge back; a believed event is stored in the inbox and then answered 200, so Slack's 3-second
//! deadline covers one signature check and one insert, never the work the event asks for.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};

use ovice_slack_model::{OrgId, UnixMillis, publish::MAX_ID};

use crate::{
    Inbox, SigningSecret,
    event::Incoming,
    metrics::{self, Outcome},
    signature::{self, SignatureError},
};

/// Where the Connect app's Request URL points.
pub const EVENTS_PATH: &str = "/slack/events";

/// Where an org's own app's Request URL points: `/slack/events/orgs/<org id>`.
pub const ORG_EVENTS_PATH: &str = "/slack/events/orgs/{org_id}";

/// The signing secrets of orgs' own apps.
#[async_trait::async_trait]
pub trait OrgSecrets: Send + Sync + 'static {
    /// The org's app's signing secret; `Ok(None)` when the org has none (or no settings at all).
    async fn signing_secret(&self, org_id: &OrgId) -> Result<Option<SigningSecret>, String>;
}

/// Slack's event bodies are a few kilobytes (a `user_change` carries a whole profile); anything far
/// bigger is refused before its signature is even computed.
const MAX_BODY_BYTES: usize = 256 * 1024;

struct Endpoint {
    secret: SigningSecret,
    inbox: Inbox,
}

struct OrgEndpoint {
    secrets: Arc<dyn OrgSecrets>,
    inbox: Inbox,
    /// Checked against when the org has no secret, so that such a request is refused exactly as a
    /// forged one is: the answer does not tell which orgs exist or have events set up.
    decoy: SigningSecret,
}

/// The Events endpoints of orgs' own apps: each request is checked against its org's signing secret.
pub fn org_routes(secrets: Arc<dyn OrgSecrets>, inbox: Inbox) -> Router {
    Router::new()
        .route(ORG_EVENTS_PATH, post(receive_for_org))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(OrgEndpoint {
            secrets,
            inbox,
            decoy: SigningSecret::random(),
        }))
}

async fn receive_for_org(
    State(endpoint): State<Arc<OrgEndpoint>>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let receiver = endpoint.inbox.receiver;
    // What costs nothing is checked before the org's secret is read and decrypted.
    let now_unix = UnixMillis::now().as_millis() / 1000;
    if let Err(e) = signature::check_headers(
        header(&headers, "x-slack-request-timestamp"),
        header(&headers, "x-slack-signature"),
        now_unix,
    ) {
        tracing::warn!(receiver, error = %e, "a request to an org's slack events endpoint was not believed");
        metrics::record(receiver, Outcome::Refused);
        return text(StatusCode::UNAUTHORIZED, e.to_string());
    }
    if org_id.is_empty() || org_id.len() > MAX_ID || org_id.chars().any(char::is_control) {
        metrics::record(receiver, Outcome::Refused);
        return text(StatusCode::UNAUTHORIZED, SignatureError::Mismatch.to_string());
    }
    let org_id = OrgId::new(org_id);
    let secret = match endpoint.secrets.signing_secret(&org_id).await {
        Ok(secret) => secret,
        Err(e) => {
            tracing::error!(%org_id, error = %e, "could not read an org's slack signing secret; slack will retry");
            metrics::record(endpoint.inbox.receiver, Outcome::Unstored);
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the request cannot be checked right now; send it again".into(),
            );
        }
    };
    let secret = secret.as_ref().unwrap_or(&endpoint.decoy);
    answer(secret, &endpoint.inbox, Some(&org_id), &headers, &body).await
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
    answer(&endpoint.secret, &endpoint.inbox, None, &headers, &body).await
}

/// One request to an events endpoint whose app signs with `secret`.
async fn answer(
    secret: &SigningSecret,
    inbox: &Inbox,
    org_id: Option<&OrgId>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let receiver = inbox.receiver;
    let now_unix = UnixMillis::now().as_millis() / 1000;
    if let Err(e) = signature::verify(
        secret,
        header(headers, "x-slack-request-timestamp"),
        header(headers, "x-slack-signature"),
        body,
        now_unix,
    ) {
        tracing::warn!(receiver, error = %e, "a request to the slack events endpoint was not believed");
        metrics::record(receiver, Outcome::Refused);
        return text(StatusCode::UNAUTHORIZED, e.to_string());
    }
    let incoming = match Incoming::parse(body) {
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
            let retry = header(headers, "x-slack-retry-num").unwrap_or("0");
            match inbox.accept(org_id, &envelope).await {
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
