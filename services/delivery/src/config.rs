//! The delivery block of the command line (`--help` shows these doc comments).

use std::{num::NonZeroU32, time::Duration};

use crate::{domain::RetryPolicy, pacer::PacingConfig, worker::WorkerSettings};

use ovice_slack_runtime::config::duration as seconds;

/// Forwarding direct messages to Slack: workers, leases, retries and pacing.
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct DeliveryConfig {
    /// How many deliveries this process sends at the same time.
    #[arg(long = "delivery-workers", env = "OVICE_SLACK_DELIVERY_WORKERS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: u32,

    /// Seconds a claimed delivery stays reserved for this process; deliveries of a process that
    /// crashed are taken over once it has passed. Keep it well above the Slack HTTP timeout.
    #[arg(long = "delivery-lease", env = "OVICE_SLACK_DELIVERY_LEASE", value_parser = seconds, default_value = "60")]
    pub lease: Duration,

    /// Attempts (the first included) before a delivery ends DEAD.
    #[arg(long = "delivery-max-attempts", env = "OVICE_SLACK_DELIVERY_MAX_ATTEMPTS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Seconds between looks at the outbox for deliveries other processes accepted (this process's
    /// own wake the workers at once).
    #[arg(long = "delivery-poll-interval", env = "OVICE_SLACK_DELIVERY_POLL_INTERVAL", value_parser = seconds,
          default_value = "1")]
    pub poll_interval: Duration,

    /// Seconds: the first retry waits up to this long; each further one up to twice as long
    /// (exponential backoff with full jitter; Slack's Retry-After is always honoured).
    #[arg(long = "delivery-retry-base", env = "OVICE_SLACK_DELIVERY_RETRY_BASE", value_parser = seconds,
          default_value = "1")]
    pub retry_base: Duration,

    /// Seconds: the longest wait between two attempts (unless Slack's Retry-After asks for more).
    #[arg(long = "delivery-retry-cap", env = "OVICE_SLACK_DELIVERY_RETRY_CAP", value_parser = seconds,
          default_value = "300")]
    pub retry_cap: Duration,

    /// chat.postMessage per Slack conversation per second (Slack allows about one).
    #[arg(
        long = "delivery-post-rate",
        env = "OVICE_SLACK_DELIVERY_POST_RATE",
        default_value = "1"
    )]
    pub post_rate: NonZeroU32,

    /// chat.postMessage burst per Slack conversation, as Slack allows it (the pacer keeps one slot
    /// in reserve for calls delayed on their way).
    #[arg(
        long = "delivery-post-burst",
        env = "OVICE_SLACK_DELIVERY_POST_BURST",
        default_value = "3"
    )]
    pub post_burst: NonZeroU32,

    /// conversations.open calls per workspace per minute (Slack's Tier 3 allows about 50).
    #[arg(
        long = "delivery-tier3-per-minute",
        env = "OVICE_SLACK_DELIVERY_TIER3_PER_MINUTE",
        default_value = "50"
    )]
    pub tier3_per_minute: NonZeroU32,

    /// Seconds a worker waits for a rate-limit slot; a longer wait hands the delivery back so the
    /// worker serves other organizations meanwhile.
    #[arg(long = "delivery-pacing-max-wait", env = "OVICE_SLACK_DELIVERY_PACING_MAX_WAIT", value_parser = seconds,
          default_value = "2")]
    pub pacing_max_wait: Duration,

    /// Seconds the accept path may reuse answers of IntegrationConfigService and
    /// AccountLinkService (sending always asks afresh).
    #[arg(long = "delivery-directory-cache-ttl", env = "OVICE_SLACK_DELIVERY_DIRECTORY_CACHE_TTL",
          value_parser = seconds, default_value = "5")]
    pub directory_cache_ttl: Duration,

    /// Seconds FAILED and DEAD deliveries keep their message text so an operator's RetryDelivery can
    /// still send it; 0 erases it at once. SENT and SKIPPED deliveries never keep it.
    #[arg(long = "delivery-failed-text-retention", env = "OVICE_SLACK_DELIVERY_FAILED_TEXT_RETENTION",
          value_parser = seconds, default_value = "86400")]
    pub failed_text_retention: Duration,
}

const ONE: NonZeroU32 = NonZeroU32::MIN;

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            workers: 8,
            lease: Duration::from_secs(60),
            max_attempts: 10,
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(300),
            post_rate: ONE,
            post_burst: ONE.saturating_add(2),
            tier3_per_minute: ONE.saturating_add(49),
            pacing_max_wait: Duration::from_secs(2),
            directory_cache_ttl: Duration::from_secs(5),
            failed_text_retention: Duration::from_secs(86_400),
        }
    }
}

impl DeliveryConfig {
    /// Combinations clap cannot check alone.
    pub fn validate(&self) -> Result<(), String> {
        if self.lease < Duration::from_secs(4) {
            return Err("--delivery-lease must be at least 4 seconds".into());
        }
        if self.poll_interval.is_zero() {
            return Err("--delivery-poll-interval must be greater than zero".into());
        }
        if self.retry_base.is_zero() || self.retry_cap < self.retry_base {
            return Err("--delivery-retry-base must be positive and at most --delivery-retry-cap".into());
        }
        Ok(())
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            base: self.retry_base,
            cap: self.retry_cap,
            max_attempts: self.max_attempts,
        }
    }

    pub fn pacing(&self) -> PacingConfig {
        PacingConfig {
            post_per_second: self.post_rate,
            post_burst: self.post_burst,
            tier3_per_minute: self.tier3_per_minute,
            max_wait: self.pacing_max_wait,
        }
    }

    pub fn worker_settings(&self) -> WorkerSettings {
        WorkerSettings {
            workers: usize::try_from(self.workers).unwrap_or(1),
            lease: self.lease,
            poll_interval: self.poll_interval,
            retry: self.retry_policy(),
            failed_text_retention: self.failed_text_retention,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        delivery: DeliveryConfig,
    }

    #[test]
    fn clap_defaults_are_the_default() {
        let parsed = Cli::try_parse_from(["x"]).unwrap().delivery;
        // The environment of a developer may set some; compare only what it does not.
        if std::env::vars().all(|(k, _)| !k.starts_with("OVICE_SLACK_DELIVERY_")) {
            assert_eq!(parsed, DeliveryConfig::default());
        }
        assert_eq!(DeliveryConfig::default().validate(), Ok(()));
    }

    #[test]
    fn flags_parse_and_bad_values_are_refused() {
        let c = Cli::try_parse_from([
            "x",
            "--delivery-workers",
            "3",
            "--delivery-lease",
            "12.5",
            "--delivery-post-rate",
            "20",
        ])
        .unwrap()
        .delivery;
        assert_eq!(c.workers, 3);
        assert_eq!(c.lease, Duration::from_millis(12_500));
        assert_eq!(c.post_rate.get(), 20);
        assert!(Cli::try_parse_from(["x", "--delivery-workers", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--delivery-lease", "-1"]).is_err());
        assert!(Cli::try_parse_from(["x", "--delivery-post-rate", "0"]).is_err());
        let short = DeliveryConfig {
            lease: Duration::from_secs(1),
            ..Default::default()
        };
        assert!(short.validate().is_err());
    }
}
