//! What a revocation is and what one attempt's answer means: plain rules, no SQL and no HTTP.

use std::time::Duration;

use slack_client::SlackError;

/// Which service's tokens a queue holds: each service drains only its own kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A person's user token (account-links).
    User,
    /// An organization's bot token (integration-config).
    Bot,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::User => "user",
            TokenKind::Bot => "bot",
        }
    }
}

/// Why a token was dropped; kept with the row for the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokeReason {
    /// The person disconnected their Slack account.
    Disconnected,
    /// A new Connect replaced the person's earlier token.
    Relinked,
    /// Slack granted a token but Connect refused the consent (other team, other person, taken).
    ConsentRefused,
    /// The owner removed the workspace settings.
    WorkspaceRemoved,
    /// The owner replaced the workspace settings with another bot's token.
    WorkspaceReplaced,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Disconnected => "disconnected",
            RevokeReason::Relinked => "relinked",
            RevokeReason::ConsentRefused => "consent_refused",
            RevokeReason::WorkspaceRemoved => "workspace_removed",
            RevokeReason::WorkspaceReplaced => "workspace_replaced",
        }
    }
}

/// How often and how long a revocation is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; it doubles per attempt.
    pub first_backoff: Duration,
    /// The longest wait between attempts, also the cap on Slack's `Retry-After`.
    pub max_backoff: Duration,
    /// Attempts before a revocation is given up.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 30 s doubling up to an hour, twelve attempts: about six and a half hours in all.
    fn default() -> Self {
        Self {
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            max_attempts: 12,
        }
    }
}

/// How long a claimed row is left to the worker that claimed it, so that a worker that dies
/// mid-call leaves the row to another after this long.
pub const LEASE: Duration = Duration::from_secs(60);

/// What one `auth.revoke` attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Slack revoked it.
    Revoked,
    /// Slack already refuses the token (`code`): done as well.
    AlreadyDead(String),
    /// Try again after `after`.
    Retry { after: Duration, error: String },
    /// Stop trying: the answer will not change, or the attempts are spent.
    GiveUp(String),
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1-based): the first backoff, doubled per
    /// attempt, at most the longest.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(16);
        self.first_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// Classifies the answer to the `attempts`-th attempt (1-based).
    pub fn classify(&self, answer: Result<bool, SlackError>, attempts: u32) -> Attempt {
        let retry = |after: Duration, error: String| {
            if attempts >= self.max_attempts {
                Attempt::GiveUp(format!("{error} (after {attempts} attempts)"))
            } else {
                Attempt::Retry { after, error }
            }
        };
        match answer {
            Ok(true) => Attempt::Revoked,
            // Only `test=1` answers this; anything else is an answer we cannot trust to be final.
            Ok(false) => retry(self.backoff(attempts), "Slack answered revoked: false".into()),
            Err(e @ SlackError::Api { .. }) if e.token_is_dead() => {
                Attempt::AlreadyDead(e.code().unwrap_or_default().to_owned())
            }
            Err(e @ SlackError::RateLimited { .. }) => {
                let asked = e.retry_after().unwrap_or(self.first_backoff);
                retry(
                    asked.clamp(Duration::from_secs(1), self.max_backoff),
                    e.to_string(),
                )
            }
            Err(e @ (SlackError::Unavailable { .. } | SlackError::Protocol { .. })) => {
                retry(self.backoff(attempts), e.to_string())
            }
            Err(e @ (SlackError::Api { .. } | SlackError::Config(_))) => Attempt::GiveUp(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        first_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(3600),
        max_attempts: 12,
    };

    fn api(code: &str) -> SlackError {
        SlackError::Api {
            method: "auth.revoke",
            code: code.into(),
            needed: None,
            provided: None,
        }
    }

    #[test]
    fn backoff_doubles_from_thirty_seconds_to_an_hour() {
        let p = RetryPolicy::default();
        assert_eq!(p, P);
        let waits: Vec<u64> = (1..=9).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(p.backoff(u32::MAX), p.max_backoff);
        let total: u64 = (1..p.max_attempts).map(|n| p.backoff(n).as_secs()).sum();
        assert_eq!(total, 30 + 60 + 120 + 240 + 480 + 960 + 1920 + 4 * 3600);
    }

    #[test]
    fn a_token_slack_already_refuses_counts_as_revoked() {
        assert_eq!(P.classify(Ok(true), 1), Attempt::Revoked);
        for code in slack_client::DEAD_TOKEN {
            assert_eq!(
                P.classify(Err(api(code)), 3),
                Attempt::AlreadyDead(code.to_string())
            );
        }
    }

    #[test]
    fn outages_retry_until_the_attempts_are_spent() {
        let down = || SlackError::Unavailable {
            method: "auth.revoke",
            detail: "HTTP 503".into(),
            maybe_applied: true,
        };
        assert!(matches!(
            P.classify(Err(down()), 2),
            Attempt::Retry { after, .. } if after == Duration::from_secs(60)
        ));
        assert!(matches!(
            P.classify(Err(down()), P.max_attempts),
            Attempt::GiveUp(_)
        ));
        assert!(matches!(P.classify(Ok(false), 1), Attempt::Retry { .. }));
    }

    #[test]
    fn slack_asking_to_wait_is_obeyed_within_an_hour() {
        let limited = |secs| SlackError::RateLimited {
            method: "auth.revoke",
            retry_after: Duration::from_secs(secs),
        };
        assert!(matches!(
            P.classify(Err(limited(7)), 1),
            Attempt::Retry { after, .. } if after == Duration::from_secs(7)
        ));
        assert!(matches!(
            P.classify(Err(limited(99_999_999_999)), 1),
            Attempt::Retry { after, .. } if after == P.max_backoff
        ));
    }

    #[test]
    fn other_refusals_are_final() {
        assert!(matches!(
            P.classify(Err(api("not_authed")), 1),
            Attempt::GiveUp(_)
        ));
        assert!(matches!(
            P.classify(Err(SlackError::Config("bad".into())), 1),
            Attempt::GiveUp(_)
        ));
    }
}
