//! What can go wrong talking to Slack. What a failure means for the caller is the caller's rule (the
//! delivery service's failure table); this crate only says what Slack answered.

use std::time::Duration;

/// Errors of the Slack client. Display texts are readable and never contain a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// HTTP 429: wait `retry_after` (Slack's `Retry-After`, 1 s when absent or garbled).
    #[error("Slack rate-limited {method}; retry after {}s", retry_after.as_secs())]
    RateLimited {
        method: &'static str,
        retry_after: Duration,
    },
    /// Slack could not be reached or had a transient failure (connect error, timeout, HTTP 5xx,
    /// `internal_error`, `fatal_error`, `service_unavailable`, `request_timeout`, `ratelimited`).
    /// `maybe_applied`: the request reached Slack and the answer does not say whether Slack did the
    /// work (a 5xx, a reset or a timeout after sending, `internal_error`, `fatal_error`); a retry
    /// may do it twice.
    #[error("Slack is unavailable for {method}: {detail}{}", if *maybe_applied { " (Slack may have done it)" } else { "" })]
    Unavailable {
        method: &'static str,
        detail: String,
        maybe_applied: bool,
    },
    /// Slack answered `ok:false` with `code`; `needed`/`provided` accompany `missing_scope`.
    #[error("Slack {method} failed: {code}{}", scope_hint(needed.as_deref()))]
    Api {
        method: &'static str,
        code: String,
        needed: Option<String>,
        provided: Option<String>,
    },
    /// An answer that is not what Slack sends (not JSON, missing fields, unexpected HTTP status).
    #[error("unexpected answer from Slack {method}: {detail}")]
    Protocol { method: &'static str, detail: String },
    /// The client was configured wrongly (e.g. an API base URL that is not http(s)).
    #[error("invalid Slack client configuration: {0}")]
    Config(String),
}

fn scope_hint(needed: Option<&str>) -> String {
    needed.map(|n| format!(" (needs scope {n})")).unwrap_or_default()
}

/// `ok:false` codes Slack documents as transient: they become `Unavailable`.
pub(crate) const TRANSIENT: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

/// Of those, the ones Slack documents as "it's possible some aspect of the operation succeeded
/// before the error was raised".
pub(crate) const MAYBE_APPLIED: &[&str] = &["internal_error", "fatal_error"];

/// Codes that say the token itself will never work again (revoked, unknown, its user or workspace
/// deactivated, expired): nothing to retry and nothing left to revoke.
pub const DEAD_TOKEN: &[&str] = &[
    "token_revoked",
    "invalid_auth",
    "account_inactive",
    "token_expired",
];

impl SlackError {
    /// Whether Slack said the token is dead ([`DEAD_TOKEN`]).
    pub fn token_is_dead(&self) -> bool {
        matches!(self, SlackError::Api { code, .. } if DEAD_TOKEN.contains(&code.as_str()))
    }

    /// How long Slack asked us to wait (only for `RateLimited`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SlackError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether Slack may have done the work although the call failed (see `Unavailable`). Only
    /// such failures can make a retry do the work twice.
    pub fn maybe_applied(&self) -> bool {
        matches!(
            self,
            SlackError::Unavailable {
                maybe_applied: true,
                ..
            }
        )
    }

    /// Slack's `error` code for `ok:false` answers that are not transient.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The Web API method that failed (`None` for configuration errors).
    pub fn method(&self) -> Option<&'static str> {
        match self {
            SlackError::RateLimited { method, .. }
            | SlackError::Unavailable { method, .. }
            | SlackError::Api { method, .. }
            | SlackError::Protocol { method, .. } => Some(method),
            SlackError::Config(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> SlackError {
        SlackError::Api {
            method: "chat.postMessage",
            code: code.into(),
            needed: None,
            provided: None,
        }
    }

    #[test]
    fn codes_and_waits_are_readable_back() {
        assert_eq!(api("token_revoked").code(), Some("token_revoked"));
        let limited = SlackError::RateLimited {
            method: "x",
            retry_after: Duration::from_secs(3),
        };
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(limited.code(), None);
        assert_eq!(SlackError::Config("x".into()).method(), None);
    }

    #[test]
    fn display_is_readable() {
        let e = SlackError::Api {
            method: "users.lookupByEmail",
            code: "missing_scope".into(),
            needed: Some("users:read.email".into()),
            provided: Some("users:read".into()),
        };
        assert_eq!(
            e.to_string(),
            "Slack users.lookupByEmail failed: missing_scope (needs scope users:read.email)"
        );
        let e = SlackError::RateLimited {
            method: "chat.postMessage",
            retry_after: Duration::from_secs(30),
        };
        assert_eq!(
            e.to_string(),
            "Slack rate-limited chat.postMessage; retry after 30s"
        );
    }
}
