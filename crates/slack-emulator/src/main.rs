//! `slack-emulator`: a local Slack for trials and end-to-end tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use slack_emulator::{Emulator, RateLimitConfig, Seed};

/// A faithful local Slack: Web API under /api/, OAuth at /oauth/v2/authorize, control under /_emulator/.
#[derive(Debug, Parser)]
#[command(name = "slack-emulator", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "SLACK_EMULATOR_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// JSON seed file (workspaces, users, bot tokens, OAuth apps); the built-in demo seed when absent.
    #[arg(long, env = "SLACK_EMULATOR_SEED")]
    seed: Option<PathBuf>,
    /// Turns Slack's rate limits on, scaled: 1.0 = documented limits, 10 = ten times more permissive,
    /// 0.1 = ten times stricter, 0 = off.
    #[arg(long, env = "SLACK_EMULATOR_RATE_LIMIT_SCALE")]
    rate_limit_scale: Option<f64>,
    /// Prints the built-in demo seed as JSON (a starting point for --seed files) and exits.
    #[arg(long)]
    print_demo_seed: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if args.print_demo_seed {
        println!("{}", serde_json::to_string_pretty(&Seed::demo())?);
        return Ok(());
    }
    let mut seed = match &args.seed {
        Some(path) => Seed::from_json_file(path)?,
        None => Seed::demo(),
    };
    if let Some(scale) = args.rate_limit_scale {
        anyhow::ensure!(
            scale.is_finite() && scale >= 0.0,
            "--rate-limit-scale must be a number >= 0"
        );
        seed.rate_limits = RateLimitConfig {
            enabled: scale > 0.0,
            scale,
        };
    }
    let slack = Emulator::bind(seed, args.listen).await?;
    // One parseable line for scripts and tests that start the binary with port 0.
    println!("slack-emulator listening on {}", slack.base_url());
    println!("  Web API:   {}", slack.api_url());
    println!("  authorize: {}", slack.authorize_url());
    tokio::signal::ctrl_c().await?;
    slack.shutdown().await;
    Ok(())
}
