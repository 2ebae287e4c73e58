//! Renews rotating user tokens ahead of their expiry: every poll, the CONNECTED links whose renewal
//! time came are renewed, each by whichever replica claims it first (`AccountLinks::renew`).

use std::time::Duration;

use ovice_slack_model::UnixMillis;
use ovice_slack_runtime::config::TokenRenewalConfig;
use tokio_util::sync::CancellationToken;

use ovice_slack_model::token_renewal::{self, RenewWhy, Renewal};

use crate::app::AccountLinks;

/// Links looked at per poll; the rest wait for the next.
const BATCH: i64 = 64;

pub(crate) async fn run(app: AccountLinks, config: TokenRenewalConfig, stop: CancellationToken) {
    let poll = config.poll.max(Duration::from_millis(50));
    loop {
        match app.store().due_refreshes(UnixMillis::now(), BATCH).await {
            Ok(due) => {
                for (org_id, user_id) in due {
                    match app.renew(&org_id, &user_id, RenewWhy::Due).await {
                        Ok(Renewal::Refused(code)) => {
                            tracing::warn!(%org_id, %user_id, code, "Slack refused to renew a user token; the person connects again");
                        }
                        Ok(Renewal::Renewed | Renewal::Current | Renewal::Busy) => {}
                        // Nothing here can renew it (Connect is not configured), or Slack or the
                        // database did not answer: tried again later, so it does not crowd out the
                        // others (a post meeting the expired token meanwhile renews it at once).
                        outcome @ (Ok(Renewal::NotRotating) | Err(_)) => {
                            if let Err(e) = outcome {
                                tracing::warn!(%org_id, %user_id, error = %e, "renewing a rotating user token failed; tried again later");
                            }
                            let later = UnixMillis::now().plus(token_renewal::POSTPONE_FAILED);
                            if let Err(e) = app.store().postpone_refresh(&org_id, &user_id, later).await {
                                tracing::warn!(%org_id, %user_id, error = %e, "could not postpone a failed user token renewal");
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list the user tokens due for renewal"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(poll) => {}
        }
    }
}
