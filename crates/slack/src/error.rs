//! What can go wrong talking to Slack, and what a caller should do about it.

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
    #[error("Slack is unavailable for {method}: {detail}")]
    Unavailable { method: &'static str, detail: String },
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

/// What a caller should do with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Try again later (honour `retry_after()` when present).
    Retryable,
    /// The token is unusable (revoked, invalid, lacking scopes): stop using it and flag its
    /// owner (the org for a bot token, the person for a user token); retrying cannot help.
    PerOrg,
    /// This recipient cannot be reached (unknown, deactivated, DM not possible): fail this
    /// delivery, keep going with others.
    PerUser,
    /// This request can never succeed as sent.
    Permanent,
}

/// Codes that mean the token itself is rejected.
const TOKEN_REJECTED: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
];

/// Codes about the token or the workspace's policy rather than one request.
const PER_ORG: &[&str] = &[
    "missing_scope",
    "no_permission",
    "org_login_required",
    "team_access_not_granted",
    "ekm_access_denied",
    "not_allowed_token_type",
    "invalid_token",
];

/// Codes about the user or conversation addressed.
const PER_USER: &[&str] = &[
    "users_not_found",
    "user_not_found",
    "user_disabled",
    "cannot_dm_bot",
    "user_not_visible",
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "restricted_action",
];

/// `ok:false` codes Slack documents as transient: they become `Unavailable`.
pub(crate) const TRANSIENT: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

impl SlackError {
    pub fn class(&self) -> ErrorClass {
        match self {
            // A malformed answer comes from something between us and Slack (a proxy, an outage
            // page): Slack itself answers every API error as JSON. Callers bound their retries.
            SlackError::RateLimited { .. } | SlackError::Unavailable { .. } | SlackError::Protocol { .. } => {
                ErrorClass::Retryable
            }
            SlackError::Config(_) => ErrorClass::Permanent,
            SlackError::Api { code, .. } => {
                let code = code.as_str();
                if TOKEN_REJECTED.contains(&code) || PER_ORG.contains(&code) {
                    ErrorClass::PerOrg
                } else if PER_USER.contains(&code) {
                    ErrorClass::PerUser
                } else {
                    ErrorClass::Permanent
                }
            }
        }
    }

    /// How long Slack asked us to wait (only for `RateLimited`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SlackError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
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

    /// The token was rejected outright (invalid, revoked, expired, account deactivated).
    pub fn is_token_rejected(&self) -> bool {
        self.code().is_some_and(|c| TOKEN_REJECTED.contains(&c))
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
    fn classes_follow_slack_codes() {
        for code in [
            "invalid_auth",
            "token_revoked",
            "account_inactive",
            "missing_scope",
            "not_authed",
        ] {
            assert_eq!(api(code).class(), ErrorClass::PerOrg, "{code}");
        }
        for code in [
            "users_not_found",
            "user_not_found",
            "user_disabled",
            "channel_not_found",
            "cannot_dm_bot",
        ] {
            assert_eq!(api(code).class(), ErrorClass::PerUser, "{code}");
        }
        for code in ["no_text", "msg_too_long", "invalid_arguments", "something_new"] {
            assert_eq!(api(code).class(), ErrorClass::Permanent, "{code}");
        }
        let limited = SlackError::RateLimited {
            method: "x",
            retry_after: Duration::from_secs(3),
        };
        assert_eq!(limited.class(), ErrorClass::Retryable);
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(SlackError::Config("x".into()).class(), ErrorClass::Permanent);
    }

    #[test]
    fn token_rejection_is_only_for_token_codes() {
        assert!(api("token_revoked").is_token_rejected());
        assert!(api("token_expired").is_token_rejected());
        assert!(!api("missing_scope").is_token_rejected());
        assert!(!api("user_not_found").is_token_rejected());
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
