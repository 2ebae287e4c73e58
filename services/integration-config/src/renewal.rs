//! Renews rotating bot tokens ahead of their expiry: every poll, the ACTIVE orgs whose renewal time
//! came are renewed, each by whichever replica claims it first (`IntegrationConfig::renew`).

use std::time::Duration;

use ovice_slack_model::UnixMillis;
use ovice_slack_runtime::config::TokenRenewalConfig;
use tokio_util::sync::CancellationToken;

use ovice_slack_model::token_renewal::{self, RenewWhy, Renewal};

use crate::app::IntegrationConfig;

/// Orgs looked at per poll; the rest wait for the next.
const BATCH: i64 = 32;

pub(crate) async fn run(app: IntegrationConfig, config: TokenRenewalConfig, stop: CancellationToken) {
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
                        // Slack or the database not answering: tried again a little later (a call
                        // meeting the expired token meanwhile renews it at once).
                        Err(e) => {
                            tracing::warn!(%org_id, error = %e, "renewing a rotating bot token failed; tried again later");
                            let later = UnixMillis::now().plus(token_renewal::POSTPONE_FAILED);
                            if let Err(e) = app.store().postpone_refresh(&org_id, later).await {
                                tracing::warn!(%org_id, error = %e, "could not postpone a failed bot token renewal");
                            }
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
