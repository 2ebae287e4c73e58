//! The HTTP side: one `call` that sends a method, and the typed methods on top of it.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{MAYBE_APPLIED, SlackError, TRANSIENT};
use crate::types::{
    AuthRevokeBody, AuthTest, AuthTestBody, OAuthAccessRequest, OAuthBody, OAuthV2Access, OpenBody,
    PostMessage, PostedMessage, RefreshBody, RefreshedToken, Rotation, SlackUser, UpdateMessage,
    UserEnvelope, split_scopes,
};

/// Where Slack is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct SlackClientConfig {
    /// The Web API base; default `https://slack.com/api` (the emulator's `api_url()` in tests).
    pub api_base_url: Url,
    /// Whole-request timeout.
    pub timeout: Duration,
}

/// Slack's production Web API base.
pub const SLACK_API_BASE_URL: &str = "https://slack.com/api/";

impl Default for SlackClientConfig {
    fn default() -> Self {
        #[allow(clippy::expect_used)] // a constant, checked by a unit test
        let api_base_url = Url::parse(SLACK_API_BASE_URL).expect("constant URL parses");
        SlackClientConfig {
            api_base_url,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A Slack Web API client; cheap to clone, safe to share across tasks.
#[derive(Debug, Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
}

/// How a call authenticates.
enum Auth<'a> {
    Bearer(&'a SecretString),
    Basic {
        client_id: &'a str,
        secret: &'a SecretString,
    },
}

/// A request body: form arguments, or JSON where Slack accepts it.
enum Body<'a> {
    Form(&'a [(&'a str, &'a str)]),
    Json(Vec<u8>),
}

/// The first fields of every Slack answer.
#[derive(Deserialize)]
struct Head {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    needed: Option<String>,
    #[serde(default)]
    provided: Option<String>,
}

impl SlackClient {
    pub fn new(config: SlackClientConfig) -> Result<SlackClient, SlackError> {
        let mut base = config.api_base_url;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(SlackError::Config(format!(
                "api_base_url must be an http(s) URL, got {base}"
            )));
        }
        // `join` replaces the last path segment unless the base ends with '/'.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        if config.timeout.is_zero() {
            return Err(SlackError::Config("timeout must be greater than zero".into()));
        }
        // reqwest is built without a crypto provider and panics without one.
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("ovice-slack/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(SlackClient {
            http,
            base,
            timeout: config.timeout,
        })
    }

    /// The longest a call can take before it fails (callers that hold a lease plan with it).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `auth.test`, with the granted scopes from `X-OAuth-Scopes`.
    pub async fn auth_test(&self, token: &SecretString) -> Result<AuthTest, SlackError> {
        const METHOD: &str = "auth.test";
        let (headers, bytes) = self.call(METHOD, Auth::Bearer(token), Body::Form(&[])).await?;
        let body: AuthTestBody = parse(METHOD, &bytes)?;
        let scopes = headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(split_scopes)
            .unwrap_or_default();
        Ok(AuthTest {
            url: body.url,
            team: body.team,
            team_id: body.team_id,
            user: body.user,
            user_id: body.user_id,
            bot_id: body.bot_id,
            scopes,
        })
    }

    /// `auth.revoke`: the token revokes itself. `Ok(true)` once Slack says it is revoked; a token Slack
    /// already refuses (`token_revoked`, `invalid_auth`, `account_inactive`) comes back as that error,
    /// for the caller to count as done.
    pub async fn auth_revoke(&self, token: &SecretString) -> Result<bool, SlackError> {
        const METHOD: &str = "auth.revoke";
        let (_, bytes) = self.call(METHOD, Auth::Bearer(token), Body::Form(&[])).await?;
        let body: AuthRevokeBody = parse(METHOD, &bytes)?;
        Ok(body.revoked)
    }

    /// `users.lookupByEmail` (needs `users:read.email`). Sent as a form: Slack ignores JSON here.
    pub async fn users_lookup_by_email(
        &self,
        token: &SecretString,
        email: &str,
    ) -> Result<SlackUser, SlackError> {
        const METHOD: &str = "users.lookupByEmail";
        let (_, bytes) = self
            .call(METHOD, Auth::Bearer(token), Body::Form(&[("email", email)]))
            .await?;
        Ok(parse::<UserEnvelope>(METHOD, &bytes)?.user.into())
    }

    /// `oauth.v2.access`: exchanges an authorization code (client credentials as HTTP Basic, as
    /// Slack recommends).
    pub async fn oauth_v2_access(&self, req: &OAuthAccessRequest) -> Result<OAuthV2Access, SlackError> {
        const METHOD: &str = "oauth.v2.access";
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", req.code.expose_secret()),
            ("redirect_uri", req.redirect_uri.as_str()),
        ];
        if let Some(v) = &req.code_verifier {
            form.push(("code_verifier", v.expose_secret()));
        }
        let auth = Auth::Basic {
            client_id: &req.client_id,
            secret: &req.client_secret,
        };
        let (_, bytes) = self.call(METHOD, auth, Body::Form(&form)).await?;
        let body: OAuthBody = parse(METHOD, &bytes)?;
        let Some(team) = body.team else {
            return Err(SlackError::Protocol {
                method: METHOD,
                detail: "the answer names no team".into(),
            });
        };
        let user = body.authed_user;
        let authed_user_rotation =
            Rotation::from_parts(user.refresh_token, user.expires_in).map_err(|detail| {
                SlackError::Protocol {
                    method: METHOD,
                    detail: format!("authed_user has {detail}"),
                }
            })?;
        Ok(OAuthV2Access {
            app_id: body.app_id,
            team_id: team.id,
            team_name: team.name,
            authed_user_id: user.id,
            authed_user_scopes: user.scope.as_deref().map(split_scopes).unwrap_or_default(),
            authed_user_token: user.access_token,
            authed_user_rotation,
        })
    }

    /// `oauth.v2.access` with `grant_type=refresh_token`: renews an expiring token. The refresh
    /// token is single-use; the answer's must be stored before anything else is done with it.
    pub async fn oauth_v2_refresh(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        refresh_token: &SecretString,
    ) -> Result<RefreshedToken, SlackError> {
        const METHOD: &str = "oauth.v2.access";
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        let auth = Auth::Basic {
            client_id,
            secret: client_secret,
        };
        let (_, bytes) = self.call(METHOD, auth, Body::Form(&form)).await?;
        let body: RefreshBody = parse(METHOD, &bytes)?;
        let rotation = match Rotation::from_parts(body.refresh_token, body.expires_in) {
            Ok(Some(rotation)) => rotation,
            Ok(None) => {
                return Err(SlackError::Protocol {
                    method: METHOD,
                    detail: "a refresh answered no refresh_token and no expires_in".into(),
                });
            }
            Err(detail) => {
                return Err(SlackError::Protocol {
                    method: METHOD,
                    detail: format!("a refresh answered {detail}"),
                });
            }
        };
        Ok(RefreshedToken {
            access_token: body.access_token,
            rotation,
            token_type: body.token_type,
        })
    }

    /// `conversations.open` for the given users; returns the conversation id (`D…` for a DM).
    pub async fn conversations_open(
        &self,
        token: &SecretString,
        users: &[&str],
    ) -> Result<String, SlackError> {
        const METHOD: &str = "conversations.open";
        let users = users.join(",");
        let (_, bytes) = self
            .call(METHOD, Auth::Bearer(token), Body::Form(&[("users", &users)]))
            .await?;
        Ok(parse::<OpenBody>(METHOD, &bytes)?.channel.id)
    }

    /// `chat.postMessage`, sent as JSON.
    pub async fn chat_post_message(
        &self,
        token: &SecretString,
        msg: &PostMessage,
    ) -> Result<PostedMessage, SlackError> {
        const METHOD: &str = "chat.postMessage";
        let json = serde_json::to_vec(msg).map_err(|e| SlackError::Protocol {
            method: METHOD,
            detail: format!("cannot encode the message: {e}"),
        })?;
        let (_, bytes) = self.call(METHOD, Auth::Bearer(token), Body::Json(json)).await?;
        parse(METHOD, &bytes)
    }

    /// `chat.update`: new text for a message this token posted (`channel` is the conversation id
    /// the post answered, `D…` for a DM). Slack marks the message edited.
    pub async fn chat_update(
        &self,
        token: &SecretString,
        update: &UpdateMessage,
    ) -> Result<PostedMessage, SlackError> {
        const METHOD: &str = "chat.update";
        let json = serde_json::to_vec(update).map_err(|e| SlackError::Protocol {
            method: METHOD,
            detail: format!("cannot encode the update: {e}"),
        })?;
        let (_, bytes) = self.call(METHOD, Auth::Bearer(token), Body::Json(json)).await?;
        parse(METHOD, &bytes)
    }

    /// `chat.delete`: removes a message this token posted.
    pub async fn chat_delete(&self, token: &SecretString, message: &PostedMessage) -> Result<(), SlackError> {
        const METHOD: &str = "chat.delete";
        let json = serde_json::to_vec(&serde_json::json!({"channel": message.channel, "ts": message.ts}))
            .map_err(|e| SlackError::Protocol {
                method: METHOD,
                detail: format!("cannot encode the delete: {e}"),
            })?;
        let (_, bytes) = self.call(METHOD, Auth::Bearer(token), Body::Json(json)).await?;
        let _: PostedMessage = parse(METHOD, &bytes)?;
        Ok(())
    }

    /// Sends one method and sorts out transport and HTTP-level failures; the body of a 2xx
    /// answer is returned for `parse`.
    /// One Web API call, in its own client span and counted by method and outcome.
    async fn call(
        &self,
        method: &'static str,
        auth: Auth<'_>,
        body: Body<'_>,
    ) -> Result<(HeaderMap, Vec<u8>), SlackError> {
        let span = tracing::info_span!(
            "slack.call",
            otel.name = method,
            otel.kind = "client",
            slack.method = method
        );
        let started = Instant::now();
        let result = tracing::Instrument::instrument(self.call_inner(method, auth, body), span).await;
        crate::metrics::record(method, &result, started.elapsed());
        result
    }

    async fn call_inner(
        &self,
        method: &'static str,
        auth: Auth<'_>,
        body: Body<'_>,
    ) -> Result<(HeaderMap, Vec<u8>), SlackError> {
        let url = self
            .base
            .join(method)
            .map_err(|e| SlackError::Config(format!("cannot build the URL of {method}: {e}")))?;
        let mut req: RequestBuilder = self.http.post(url);
        req = match auth {
            // bearer_auth/basic_auth mark the header sensitive, keeping it out of debug output.
            Auth::Bearer(token) => req.bearer_auth(token.expose_secret()),
            Auth::Basic { client_id, secret } => req.basic_auth(client_id, Some(secret.expose_secret())),
        };
        req = match body {
            Body::Form(args) => req.form(args),
            Body::Json(bytes) => req
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                )
                .body(bytes),
        };
        let started = Instant::now();
        let result = req.send().await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                tracing::debug!(slack.method = method, elapsed_ms, error = %describe(&e), "slack call failed");
                return Err(SlackError::Unavailable {
                    method,
                    detail: describe(&e),
                    // Refused or timed out while connecting: nothing reached Slack.
                    maybe_applied: !e.is_connect(),
                });
            }
        };
        let status = resp.status();
        tracing::debug!(
            slack.method = method,
            status = status.as_u16(),
            elapsed_ms,
            "slack call"
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(SlackError::RateLimited {
                method,
                retry_after: retry_after(resp.headers()),
            });
        }
        if status.is_server_error() {
            return Err(SlackError::Unavailable {
                method,
                detail: format!("HTTP {status}"),
                // Slack (or a proxy in front of it) may fail after the work was done.
                maybe_applied: true,
            });
        }
        if !status.is_success() {
            return Err(SlackError::Protocol {
                method,
                detail: format!("unexpected HTTP {status}"),
            });
        }
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| SlackError::Unavailable {
            method,
            detail: describe(&e),
            // Slack answered 2xx: it did the work; only the answer was lost.
            maybe_applied: true,
        })?;
        Ok((headers, bytes.to_vec()))
    }
}

/// Reads Slack's envelope, turning `ok:false` into an error, then the typed answer.
fn parse<T: DeserializeOwned>(method: &'static str, bytes: &[u8]) -> Result<T, SlackError> {
    let head: Head = serde_json::from_slice(bytes).map_err(|_| SlackError::Protocol {
        method,
        detail: "the answer is not Slack JSON".into(),
    })?;
    if !head.ok {
        let code = head.error.unwrap_or_else(|| "unknown_error".to_owned());
        if TRANSIENT.contains(&code.as_str()) {
            let maybe_applied = MAYBE_APPLIED.contains(&code.as_str());
            return Err(SlackError::Unavailable {
                method,
                detail: code,
                maybe_applied,
            });
        }
        return Err(SlackError::Api {
            method,
            code,
            needed: head.needed,
            provided: head.provided,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| SlackError::Protocol {
        method,
        detail: safe_serde_detail(&e),
    })
}

/// serde_json messages can quote the offending value, which may be a token: keep only
/// "missing field" messages verbatim.
fn safe_serde_detail(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("missing field") {
        text
    } else {
        format!("malformed answer (line {}, column {})", e.line(), e.column())
    }
}

/// The longest `Retry-After` taken at its word. Slack's limits reset within a minute; an answer of
/// years is a fault somewhere, and waiting an hour then asking again is the honest reading of it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Slack sends whole seconds; a missing or unreadable value means "a moment": 1 s. At most
/// [`MAX_RETRY_AFTER`], so no caller adds a value to a clock that cannot hold it.
fn retry_after(headers: &HeaderMap) -> Duration {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
        .min(MAX_RETRY_AFTER)
}

/// A short reason for a transport failure: its kind and root cause, without the URL.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    if std::ptr::addr_eq(root, e as &dyn std::error::Error) {
        kind.to_owned()
    } else {
        format!("{kind}: {root}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_defaults_to_one_second() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), Duration::from_secs(1));
        h.insert(RETRY_AFTER, HeaderValue::from_static("garbled"));
        assert_eq!(retry_after(&h), Duration::from_secs(1));
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 30 "));
        assert_eq!(retry_after(&h), Duration::from_secs(30));
    }

    #[test]
    fn an_absurd_retry_after_is_held_at_an_hour() {
        let mut h = HeaderMap::new();
        for absurd in ["99999999999", "18446744073709551615"] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(absurd));
            assert_eq!(retry_after(&h), MAX_RETRY_AFTER);
        }
    }

    #[test]
    fn parse_sorts_ok_false_into_error_kinds() {
        let err = parse::<serde_json::Value>("m", br#"{"ok":false,"error":"internal_error"}"#).unwrap_err();
        assert!(matches!(err, SlackError::Unavailable { .. }));
        let err = parse::<serde_json::Value>(
            "m",
            br#"{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"users:read"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            SlackError::Api {
                method: "m",
                code: "missing_scope".into(),
                needed: Some("chat:write".into()),
                provided: Some("users:read".into())
            }
        );
        let err = parse::<serde_json::Value>("m", b"<html>oops</html>").unwrap_err();
        assert!(matches!(err, SlackError::Protocol { .. }));
    }

    #[test]
    fn malformed_fields_do_not_echo_values() {
        let err = parse::<PostedMessage>("m", br#"{"ok":true,"channel":"D1","ts":12345}"#).unwrap_err();
        assert!(!err.to_string().contains("12345"), "{err}");
        let err = parse::<PostedMessage>("m", br#"{"ok":true,"channel":"D1"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `ts`"), "{err}");
    }

    #[test]
    fn base_url_gets_a_trailing_slash_and_must_be_http() {
        crate::install_crypto_provider();
        let config = SlackClientConfig {
            api_base_url: Url::parse("http://127.0.0.1:1/api").unwrap(),
            ..Default::default()
        };
        let client = SlackClient::new(config).unwrap();
        assert_eq!(client.base.as_str(), "http://127.0.0.1:1/api/");
        assert_eq!(
            client.base.join("auth.test").unwrap().as_str(),
            "http://127.0.0.1:1/api/auth.test"
        );
        let bad = SlackClientConfig {
            api_base_url: Url::parse("ftp://x/").unwrap(),
            ..Default::default()
        };
        assert!(matches!(SlackClient::new(bad), Err(SlackError::Config(_))));
        assert_eq!(
            SlackClientConfig::default().api_base_url.as_str(),
            "https://slack.com/api/"
        );
    }
}
