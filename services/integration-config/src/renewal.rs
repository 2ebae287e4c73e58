//! Renews rotating bot tokens ahead of their expiry: every poll, the ACTIVE orgs whose renewal time
//! came are renewed, each by whichever replica claims it first (`IntegrationConfig::renew`).

use std::time::Duration;

use ovice_slack_model::UnixMillis;
use tokio_util::sync::CancellationToken;

use crate::app::{IntegrationConfig, RenewWhy, Renewal};

/// When rotating tokens are renewed (`--token-refresh-*`).
#[derive(clap::Args, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewalConfig {
    /// How long before a rotating Slack token expires it is renewed (never later than half its life).
    #[arg(long = "token-refresh-margin", env = "OVICE_SLACK_TOKEN_REFRESH_MARGIN",
          value_parser = ovice_slack_runtime::config::duration, default_value = "2h")]
    pub margin: Duration,
    /// How often this process looks for rotating tokens due for renewal.
    #[arg(long = "token-refresh-poll", env = "OVICE_SLACK_TOKEN_REFRESH_POLL",
          value_parser = ovice_slack_runtime::config::duration, default_value = "30")]
    pub poll: Duration,
}

impl Default for RenewalConfig {
    fn default() -> Self {
        Self {
            margin: crate::domain::rotation::DEFAULT_REFRESH_MARGIN,
            poll: Duration::from_secs(30),
        }
    }
}

/// Orgs looked at per poll; the rest wait for the next.
const BATCH: i64 = 32;

pub(crate) async fn run(app: IntegrationConfig, config: RenewalConfig, stop: CancellationToken) {
    let poll = config.poll.max(Duration::from_millis(50));
    loop {
        match app.store().due_refreshes(UnixMillis::now(), BATCH).await {
            Ok(due) => {
                for org_id in due {
                    match app.renew(&org_id, RenewWhy::Due).await {
                        Ok(Renewal::Refused(code)) => {
                            tracing::warn!(%org_id, code, "Slack refused to renew the bot token; the workspace is TOKEN_INVALID");
                        }
                        Ok(_) => {}
                        // Slack not answering: the renewal is due again at the next poll.
                        Err(e) => {
                            tracing::warn!(%org_id, error = %e, "renewing a rotating bot token failed; retried")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list the bot tokens due for renewal"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(poll) => {}
        }
    }
}
