//! The gateway block of the command line (`--help` shows these doc comments).

use std::num::NonZeroU32;

/// The platform's entry point: per-organization limits and stream concurrency.
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Chat messages one organization may publish per second (sustained); more are refused with
    /// RESOURCE_EXHAUSTED and a retry delay.
    #[arg(
        long = "gateway-org-rate",
        env = "OVICE_SLACK_GATEWAY_ORG_RATE",
        default_value = "100"
    )]
    pub org_rate: NonZeroU32,

    /// Chat messages one organization may publish in a burst above the sustained rate.
    #[arg(
        long = "gateway-org-burst",
        env = "OVICE_SLACK_GATEWAY_ORG_BURST",
        default_value = "500"
    )]
    pub org_burst: NonZeroU32,

    /// Messages of one StreamChatMessages stream handled at the same time (answers stay in order;
    /// the stream is read no faster than that).
    #[arg(long = "gateway-stream-concurrency", env = "OVICE_SLACK_GATEWAY_STREAM_CONCURRENCY",
          default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub stream_concurrency: u16,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            org_rate: NonZeroU32::MIN.saturating_add(99),
            org_burst: NonZeroU32::MIN.saturating_add(499),
            stream_concurrency: 16,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        gateway: GatewayConfig,
    }

    #[test]
    fn clap_defaults_are_the_default_and_zero_is_refused() {
        if std::env::vars().all(|(k, _)| !k.starts_with("OVICE_SLACK_GATEWAY_")) {
            assert_eq!(
                Cli::try_parse_from(["x"]).unwrap().gateway,
                GatewayConfig::default()
            );
        }
        assert!(Cli::try_parse_from(["x", "--gateway-org-rate", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--gateway-stream-concurrency", "0"]).is_err());
        let c = Cli::try_parse_from(["x", "--gateway-org-rate", "5", "--gateway-org-burst", "7"])
            .unwrap()
            .gateway;
        assert_eq!((c.org_rate.get(), c.org_burst.get()), (5, 7));
    }
}
