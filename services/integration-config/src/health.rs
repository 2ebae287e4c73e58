//! The periodic health check of each org's bot token: `auth.test` per ACTIVE org, each at most once
//! per interval and one org per pace tick (so a thousand orgs are spread over the interval, never a
//! burst), by one replica at a time (the claim in `slack_workspace_checks`). A token Slack calls dead
//! makes the workspace TOKEN_INVALID before any message needs it; a token that lost a scope or now
//! belongs elsewhere is shown as the check's problem in GetSlackWorkspace.

use std::{sync::OnceLock, time::Duration};

use opentelemetry::{KeyValue, metrics::Gauge};
use ovice_slack_model::{OrgId, UnixMillis};
use tokio_util::sync::CancellationToken;

use crate::{
    app::{IntegrationConfig, TokenHealth},
    domain::WorkspaceStatus,
    error::ConfigError,
    store::WorkspaceCheck,
};

/// How often and how fast the check runs (`--workspace-check-*`).
#[derive(clap::Args, Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthCheckConfig {
    /// Seconds between two health checks (`auth.test`) of one org's bot token; 0 turns the check off.
    #[arg(long = "workspace-check-interval", env = "OVICE_SLACK_WORKSPACE_CHECK_INTERVAL",
          value_parser = ovice_slack_runtime::config::duration, default_value = "1h")]
    pub interval: Duration,
    /// Seconds between two checks of different orgs, by this process (spreads the checks out and keeps
    /// `auth.test` far below Slack's limit).
    #[arg(long = "workspace-check-pace", env = "OVICE_SLACK_WORKSPACE_CHECK_PACE",
          value_parser = ovice_slack_runtime::config::duration, default_value = "1")]
    pub pace: Duration,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(3600),
            pace: Duration::from_secs(1),
        }
    }
}

/// How often the orgs-by-status gauge is refreshed, in pace ticks.
const COUNT_EVERY: u32 = 30;

fn gauge() -> &'static Gauge<u64> {
    static GAUGE: OnceLock<Gauge<u64>> = OnceLock::new();
    GAUGE.get_or_init(|| {
        ovice_slack_runtime::metrics::meter()
            .u64_gauge("ovice_slack_workspaces")
            .with_description("Orgs with Slack set up, by status (active, token_invalid)")
            .build()
    })
}

pub(crate) async fn run(app: IntegrationConfig, config: HealthCheckConfig, stop: CancellationToken) {
    if config.interval.is_zero() {
        tracing::info!("the workspace health check is off (--workspace-check-interval 0)");
        return;
    }
    let mut tick = 0u32;
    loop {
        if tick.is_multiple_of(COUNT_EVERY) {
            match app.store().count_by_status().await {
                Ok((active, invalid)) => {
                    gauge().record(active, &[KeyValue::new("status", "active")]);
                    gauge().record(invalid, &[KeyValue::new("status", "token_invalid")]);
                }
                Err(e) => tracing::warn!(error = %e, "could not count the workspaces by status"),
            }
        }
        tick = tick.wrapping_add(1);
        let now = UnixMillis::now();
        match app.store().claim_due_check(now, now.plus(config.interval)).await {
            Ok(Some(org_id)) => check(&app, &org_id).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read which workspace to check"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(config.pace) => {}
        }
    }
}

/// One org's check.
async fn check(app: &IntegrationConfig, org_id: &OrgId) {
    let stored = match app.store().get(org_id).await {
        Ok(Some(stored)) if stored.workspace.status == WorkspaceStatus::Active => stored,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(%org_id, error = %e, "could not read a workspace to check");
            return;
        }
    };
    let problem = match app.check_token(&stored).await {
        Ok(TokenHealth::Fine) => String::new(),
        Ok(TokenHealth::Problem(problem)) => problem,
        Ok(TokenHealth::Dead(code)) => {
            if let Err(e) = app.invalidate_after_check(&stored, &code).await {
                tracing::warn!(%org_id, error = %e, "could not mark a workspace whose token Slack refused");
            }
            code
        }
        Err(e @ ConfigError::SlackUnavailable(_)) => {
            // Slack did not answer: nothing is learned; the next check comes after the interval.
            tracing::info!(%org_id, error = %e, "the workspace health check could not reach Slack");
            return;
        }
        Err(e) => {
            tracing::error!(%org_id, error = %e, "a workspace's bot token could not be checked");
            return;
        }
    };
    if !problem.is_empty() {
        tracing::warn!(%org_id, problem, "the workspace health check found a problem");
    }
    let found = WorkspaceCheck {
        checked_at: UnixMillis::now(),
        problem,
    };
    if let Err(e) = app.store().record_check(org_id, &found).await {
        tracing::warn!(%org_id, error = %e, "could not record a workspace health check");
    }
}
