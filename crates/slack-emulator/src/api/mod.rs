//! The Web API at `/api/<method>`: request parsing the way Slack reads arguments, the common
//! answer shape (HTTP 200 + `ok:false` for API errors, `X-OAuth-Scopes` on authenticated calls),
//! faults, rate limits and call recording.

mod auth;
mod chat;
mod conversations;
mod oauth_access;

pub use oauth_access::install_bot;
mod users;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::faults::FaultKind;
use crate::limits::LimitClass;
use crate::record::RecordedCall;
use crate::state::{Shared, State, TokenInfo, TokenOwner, TokenStatus};

/// Largest request body read; Slack's own limits are far below this for these methods.
const MAX_BODY: usize = 1024 * 1024;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/api/{method}", any(handle))
}

/// A Web API request with its arguments gathered from the query string and the body.
#[derive(Debug, Default)]
pub struct ApiRequest {
    params: HashMap<String, String>,
    /// The `token` of a form body: Slack no longer reads a token from the query string (apps made
    /// since February 2021 get `not_authed`), so one there is ignored.
    body_token: Option<String>,
    /// Arguments that came in a JSON body; only methods that accept JSON read them.
    json: HashMap<String, String>,
    bearer: Option<String>,
    basic: Option<(String, String)>,
}

impl ApiRequest {
    /// An argument from the query string or a form body.
    pub fn form_arg(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// An argument from the query string, a form body or (for JSON-capable methods) a JSON body.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.json
            .get(name)
            .or_else(|| self.params.get(name))
            .map(String::as_str)
    }

    /// Slack takes the token from the Authorization header, or else a `token` argument of a form
    /// body (never the query string, never a JSON body: JSON requires the header).
    pub(crate) fn token(&self) -> Option<&str> {
        self.bearer
            .as_deref()
            .or(self.body_token.as_deref())
            .filter(|t| !t.is_empty())
    }

    pub fn basic_auth(&self) -> Option<(&str, &str)> {
        self.basic.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }
}

/// One answer of the Web API.
#[derive(Debug)]
pub struct ApiReply {
    status: StatusCode,
    body: Value,
    scopes: Option<String>,
    accepted_scopes: Option<String>,
    retry_after: Option<Duration>,
    error: Option<String>,
}

impl ApiReply {
    pub fn ok(fields: Value) -> ApiReply {
        let mut body = Map::new();
        body.insert("ok".into(), Value::Bool(true));
        if let Value::Object(extra) = fields {
            body.extend(extra);
        }
        ApiReply {
            status: StatusCode::OK,
            body: Value::Object(body),
            scopes: None,
            accepted_scopes: None,
            retry_after: None,
            error: None,
        }
    }

    /// `{"ok":false,"error":code}` with HTTP 200, as Slack answers API errors.
    pub fn err(code: &str) -> ApiReply {
        ApiReply {
            status: StatusCode::OK,
            body: json!({"ok": false, "error": code}),
            scopes: None,
            accepted_scopes: None,
            retry_after: None,
            error: Some(code.to_owned()),
        }
    }

    /// HTTP 429 with `Retry-After` and `{"ok":false,"error":"ratelimited"}`.
    pub fn rate_limited(retry_after: Option<Duration>) -> ApiReply {
        ApiReply {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after,
            ..ApiReply::err("ratelimited")
        }
    }

    /// Adds fields to the JSON body.
    pub fn with(mut self, fields: Value) -> ApiReply {
        if let (Value::Object(body), Value::Object(extra)) = (&mut self.body, fields) {
            body.extend(extra);
        }
        self
    }

    fn scoped(mut self, info: &TokenInfo, accepted: &[&str]) -> ApiReply {
        self.scopes = Some(info.scopes_header());
        if !accepted.is_empty() {
            self.accepted_scopes = Some(accepted.join(","));
        }
        self
    }

    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Some(v) = self.scopes.and_then(|s| HeaderValue::from_str(&s).ok()) {
            headers.insert("x-oauth-scopes", v);
        }
        if let Some(v) = self.accepted_scopes.and_then(|s| HeaderValue::from_str(&s).ok()) {
            headers.insert("x-accepted-oauth-scopes", v);
        }
        if let Some(d) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(d.as_secs()));
        }
        response
    }
}

/// The authenticated caller of a method.
pub struct Caller {
    pub info: TokenInfo,
}

impl Caller {
    /// Adds the token's scope headers to an answer.
    pub fn reply(&self, reply: ApiReply, accepted: &[&str]) -> ApiReply {
        reply.scoped(&self.info, accepted)
    }
}

/// Checks the token, its scopes and the method's rate limit. `needed` is what a `missing_scope`
/// answer names; `accepted` lists every scope that grants the method.
pub fn authenticate(
    state: &mut State,
    req: &ApiRequest,
    needed: Option<&str>,
    accepted: &[&str],
    limit: Option<(LimitClass, &str)>,
    now: Instant,
) -> Result<Caller, Box<ApiReply>> {
    let Some(token) = req.token() else {
        return Err(Box::new(ApiReply::err("not_authed")));
    };
    let Some(info) = state.tokens.get(token).cloned() else {
        return Err(Box::new(ApiReply::err("invalid_auth")));
    };
    match info.status {
        TokenStatus::Active => {}
        TokenStatus::Revoked => return Err(Box::new(ApiReply::err("token_revoked"))),
        TokenStatus::Inactive => return Err(Box::new(ApiReply::err("account_inactive"))),
    }
    if info.expires_at.is_some_and(|at| now >= at) {
        return Err(Box::new(ApiReply::err("token_expired")));
    }
    // A user token dies with its user (Slack: account_inactive for deactivated accounts).
    if let TokenOwner::User { user_id, .. } = &info.owner
        && state.user(&info.team_id, user_id).is_none_or(|u| u.deleted)
    {
        return Err(Box::new(ApiReply::err("account_inactive")));
    }
    let caller = Caller { info };
    if let Some(needed) = needed
        && !caller.info.has_any_scope(accepted)
    {
        let reply = ApiReply::err("missing_scope")
            .with(json!({"needed": needed, "provided": caller.info.scopes_header()}));
        return Err(Box::new(caller.reply(reply, accepted)));
    }
    if let Some((class, method)) = limit {
        let key = format!("{}/{}/{}", caller.info.team_id, caller.info.app_id(), method);
        if let Err(retry) = state.limiter.check(class, &key, now) {
            return Err(Box::new(
                caller.reply(ApiReply::rate_limited(Some(retry)), accepted),
            ));
        }
    }
    Ok(caller)
}

/// `invalid_arguments` the way current Slack reports a missing required argument.
pub fn missing_argument(name: &str) -> ApiReply {
    ApiReply::err("invalid_arguments")
        .with(json!({"response_metadata": {"messages": [format!("[ERROR] missing required field: {name}")]}}))
}

/// Slack booleans arrive as `true`/`false` or `1`/`0`.
pub fn parse_bool(value: Option<&str>) -> Option<bool> {
    match value?.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(method): Path<String>,
    req: Request,
) -> Response {
    let at = Instant::now();
    let decision = shared.lock().faults.decide(&method);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let fault = decision.kind.and_then(fault_response);
    let fault = match fault {
        Some((response, status, error)) if !decision.after_work => {
            record(&shared, &method, status, error, at);
            return response;
        }
        other => other,
    };
    let reply = match parse_request(req).await {
        Ok(api_req) => dispatch(&mut shared.lock(), &method, &api_req, at),
        Err(reply) => reply,
    };
    if let Some((response, status, error)) = fault {
        // The work above is done; the caller only sees the failure.
        record(&shared, &method, status, error, at);
        return response;
    }
    if !decision.delay_after_work.is_zero() {
        // Done, but the answer stalls (the caller may give up first).
        tokio::time::sleep(decision.delay_after_work).await;
    }
    record(&shared, &method, reply.status.as_u16(), reply.error.clone(), at);
    tracing::debug!(
        method,
        status = reply.status.as_u16(),
        error = reply.error.as_deref(),
        "api call"
    );
    reply.into_response()
}

fn dispatch(state: &mut State, method: &str, req: &ApiRequest, now: Instant) -> ApiReply {
    match method {
        "auth.test" => auth::test(state, req, now),
        "auth.revoke" => auth::revoke(state, req, now),
        "users.info" => users::info(state, req, now),
        "users.lookupByEmail" => users::lookup_by_email(state, req, now),
        "conversations.open" => conversations::open(state, req, now),
        "chat.postMessage" => chat::post_message(state, req, now),
        "chat.update" => chat::update(state, req, now),
        "chat.delete" => chat::delete(state, req, now),
        "oauth.v2.access" => oauth_access::access(state, req, now),
        _ => ApiReply::err("unknown_method").with(json!({"req_method": method})),
    }
}

fn record(shared: &Shared, method: &str, status: u16, error: Option<String>, at: Instant) {
    shared.lock().calls.push(RecordedCall {
        method: method.to_owned(),
        status,
        error,
        at,
    });
}

/// The misbehaving answer, with the status and error to record; `None` answers normally.
fn fault_response(kind: FaultKind) -> Option<(Response, u16, Option<String>)> {
    let answer = match kind {
        FaultKind::HttpStatus { status } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = format!("emulated HTTP {}", code.as_u16());
            ((code, body).into_response(), code.as_u16(), None)
        }
        FaultKind::SlackError { error } => {
            let reply = ApiReply::err(&error);
            (reply.into_response(), 200, Some(error))
        }
        FaultKind::RateLimited { retry_after_secs } => {
            let reply = ApiReply::rate_limited(retry_after_secs.map(Duration::from_secs));
            (reply.into_response(), 429, Some("ratelimited".into()))
        }
        // The plan turns a delay into a wait before the call; it never reaches here as a kind.
        FaultKind::Delay { .. } => return None,
        FaultKind::Drop => {
            // A body that fails before its first byte makes hyper abort the connection without
            // writing a response, which the client sees as a connection closed mid-request.
            let stream = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("emulated dropped connection"))
            });
            (Response::new(Body::from_stream(stream)), 0, None)
        }
    };
    Some(answer)
}

async fn parse_request(req: Request) -> Result<ApiRequest, ApiReply> {
    let (parts, body) = req.into_parts();
    let mut api = ApiRequest::default();
    if let Some(query) = parts.uri.query() {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| ApiReply::err("invalid_arguments"))?;
        api.params.extend(pairs);
    }
    read_authorization(&parts.headers, &mut api);
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiReply::err("invalid_form_data"))?;
    if bytes.is_empty() {
        return Ok(api);
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    match content_type.as_str() {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&bytes).map_err(|_| ApiReply::err("invalid_form_data"))?;
            api.body_token = pairs.iter().find(|(k, _)| k == "token").map(|(_, v)| v.clone());
            api.params.extend(pairs);
        }
        "application/json" => {
            let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&bytes) else {
                return Err(ApiReply::err("invalid_json"));
            };
            api.json = map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect();
        }
        // A body without a Content-Type is `missing_post_type`; any other type `invalid_post_type`.
        "" => return Err(ApiReply::err("missing_post_type")),
        _ => return Err(ApiReply::err("invalid_post_type")),
    }
    Ok(api)
}

fn read_authorization(headers: &HeaderMap, api: &mut ApiRequest) {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        api.bearer = Some(rest.trim().to_owned());
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
            api.basic = Some((user.to_owned(), pass.to_owned()));
        }
    }
}
