//! The delivery block of the command line (`--help` shows these doc comments).

use std::{num::NonZeroU32, time::Duration};

use crate::{
    domain::{CircuitPolicy, RetryPolicy},
    pacer::PacingConfig,
    worker::{LEASE_MARGIN, WorkerSettings},
};

use ovice_slack_runtime::config::duration as seconds;

/// Forwarding direct messages to Slack: workers, leases, retries and pacing.
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct DeliveryConfig {
    /// How many deliveries this process sends at the same time.
    #[arg(long = "delivery-workers", env = "OVICE_SLACK_DELIVERY_WORKERS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: u32,

    /// Seconds a claimed delivery stays reserved for this process; deliveries of a process that
    /// crashed are taken over once it has passed. At least twice the Slack HTTP timeout
    /// (--slack-timeout) plus --delivery-pacing-max-wait, so a call never outlives its lease.
    #[arg(long = "delivery-lease", env = "OVICE_SLACK_DELIVERY_LEASE", value_parser = seconds, default_value = "60")]
    pub lease: Duration,

    /// Failed attempts (the first included) before a delivery ends DEAD, counted only while Slack
    /// answers the organization's other calls: during an outage only --delivery-retry-for ends it.
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

    /// Seconds: the longest wait between two attempts (unless Slack's Retry-After asks for more),
    /// and between two probes of a workspace whose every call fails.
    #[arg(long = "delivery-retry-cap", env = "OVICE_SLACK_DELIVERY_RETRY_CAP", value_parser = seconds,
          default_value = "300")]
    pub retry_cap: Duration,

    /// How long a delivery is tried (e.g. 6h, 90m), from its acceptance or an operator's retry;
    /// after it the delivery ends EXPIRED with the reason. Outlasts Slack's outages.
    #[arg(long = "delivery-retry-for", env = "OVICE_SLACK_DELIVERY_RETRY_FOR", value_parser = seconds,
          default_value = "6h")]
    pub retry_for: Duration,

    /// Transient failures in a row (unreachable, 5xx, timeouts) after which an organization's
    /// deliveries stop calling Slack and wait for one probe at a time.
    #[arg(long = "delivery-circuit-failures", env = "OVICE_SLACK_DELIVERY_CIRCUIT_FAILURES", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub circuit_failures: u32,

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
            retry_for: Duration::from_secs(6 * 3600),
            circuit_failures: 5,
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
    /// Combinations clap cannot check alone; `slack_timeout` is the Slack client's.
    pub fn validate(&self, slack_timeout: Duration) -> Result<(), String> {
        let least = slack_timeout
            .saturating_mul(2)
            .saturating_add(self.pacing_max_wait)
            .saturating_add(LEASE_MARGIN);
        if self.lease < least {
            return Err(format!(
                "--delivery-lease is {}, but a delivery may make two Slack calls of up to {} each \
                 (--slack-timeout) and wait {} for a rate-limit slot (--delivery-pacing-max-wait): \
                 it must be at least {}, or another process could send the message again while \
                 the first call is still in flight",
                humantime::format_duration(self.lease),
                humantime::format_duration(slack_timeout),
                humantime::format_duration(self.pacing_max_wait),
                humantime::format_duration(least),
            ));
        }
        if self.retry_for < self.retry_cap {
            return Err(format!(
                "--delivery-retry-for ({}) must be at least --delivery-retry-cap ({})",
                humantime::format_duration(self.retry_for),
                humantime::format_duration(self.retry_cap),
            ));
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
            retry_for: self.retry_for,
        }
    }

    /// Probes wait like retries; the others wait out a probe's call.
    pub fn circuit_policy(&self, slack_timeout: Duration) -> CircuitPolicy {
        CircuitPolicy {
            opens_after: self.circuit_failures,
            first_wait: self.retry_base,
            max_wait: self.retry_cap,
            probe_wait: slack_timeout.saturating_add(LEASE_MARGIN),
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

    pub fn worker_settings(&self, slack_timeout: Duration) -> WorkerSettings {
        WorkerSettings {
            workers: usize::try_from(self.workers).unwrap_or(1),
            lease: self.lease,
            poll_interval: self.poll_interval,
            retry: self.retry_policy(),
            slack_timeout,
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
        assert_eq!(DeliveryConfig::default().validate(TEN), Ok(()));
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
        assert!(short.validate(TEN).is_err());
    }

    const TEN: Duration = Duration::from_secs(10);

    #[test]
    fn a_lease_a_slack_call_could_outlive_is_refused() {
        // Two calls of 10 s, 2 s of pacing and the 1 s margin: 23 s.
        let lease = |secs| DeliveryConfig {
            lease: Duration::from_secs(secs),
            ..Default::default()
        };
        assert_eq!(lease(23).validate(TEN), Ok(()));
        let refused = lease(22).validate(TEN).unwrap_err();
        assert!(
            refused.contains("--delivery-lease is 22s") && refused.contains("at least 23s"),
            "{refused}"
        );
        // The example: a 4 s lease with the default 10 s Slack timeout.
        assert!(lease(4).validate(TEN).is_err());
        // A shorter Slack timeout allows a shorter lease.
        assert_eq!(lease(5).validate(Duration::from_secs(1)), Ok(()));
        let window = DeliveryConfig {
            retry_for: Duration::from_secs(60),
            ..Default::default()
        };
        assert!(window.validate(TEN).unwrap_err().contains("--delivery-retry-for"));
    }
}
