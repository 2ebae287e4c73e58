//! Renewing a rotating token without losing it. Slack spends a refresh token on first use and honours
//! it again only for a short grace (seconds). A renewal whose answer is lost (a timeout, a reset, a 5xx
//! after Slack did the work) must therefore be tried again at once with the same refresh token, inside
//! that grace; trying it at the next poll would find it spent and lose the installation.

use std::time::Duration;

use secrecy::SecretString;

use crate::{RefreshedToken, SlackClient, SlackError};

/// How long one renewal attempt may take before it is abandoned and tried again.
pub const REFRESH_ATTEMPT: Duration = Duration::from_secs(3);

/// No attempt starts unless it can end this soon after the first one started: within Slack's grace
/// for a spent refresh token, with room to spare.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(8);

/// Pause between attempts (Slack's `Retry-After`, when it sent one that fits, wins).
const PAUSE: Duration = Duration::from_millis(250);

impl SlackClient {
    /// `oauth.v2.access` with `grant_type=refresh_token`, tried again with the same refresh token
    /// while an answer is missing or transient and the grace allows. Slack's refusals (`Api`) and
    /// configuration errors end it at once; the last failure is returned when the window closes.
    pub async fn refresh_within_grace(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        refresh_token: &SecretString,
    ) -> Result<RefreshedToken, SlackError> {
        let started = tokio::time::Instant::now();
        loop {
            let failure = match tokio::time::timeout(
                REFRESH_ATTEMPT,
                self.oauth_v2_refresh(client_id, client_secret, refresh_token),
            )
            .await
            {
                Ok(Ok(renewed)) => return Ok(renewed),
                Ok(Err(e @ (SlackError::Api { .. } | SlackError::Config(_)))) => return Err(e),
                Ok(Err(e)) => e,
                Err(_) => SlackError::Unavailable {
                    method: "oauth.v2.access",
                    detail: format!("no answer within {}s", REFRESH_ATTEMPT.as_secs()),
                    maybe_applied: true,
                },
            };
            let pause = failure.retry_after().unwrap_or(PAUSE).max(PAUSE);
            if started.elapsed() + pause + REFRESH_ATTEMPT > REFRESH_WINDOW {
                return Err(failure);
            }
            tracing::info!(error = %failure, "a token renewal got no usable answer; tried again with the same refresh token");
            tokio::time::sleep(pause).await;
        }
    }
}
