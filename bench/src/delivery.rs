//! Delivery into the Slack emulator (a process of its own, see `slack.rs`): bursts against Slack's
//! rate limits (scaled) and the pickup latency from ACCEPTED to the first Slack call. The
//! end-to-end figures (publish → Slack at the defaults, with Slack's limits on) are in `e2e.rs`.
//!
//! Bursts are measured on a backlog that is already accepted ("a burst accepted at once"): a
//! process with one delivery worker accepts the messages while that worker is held in a
//! `chat.postMessage` the emulator delays for minutes (the "plug", to a recipient of its own), then
//! the process is killed and a fresh one starts on the same database with the settings under test.
//! So the pacing is timed alone, not capped by how fast the benchmark can publish.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use slack_emulator::{Fault, FaultKind, RateLimitConfig};
use tonic::metadata::AsciiMetadataValue;

use crate::{
    load::{histogram, run_count},
    office::{self, ServeConfig, Server, Tokens, person, publish_caller, publish_one},
    process::connections,
    slack::SlackProcess,
};

#[derive(Clone, Debug)]
pub struct DeliveryPlan {
    pub recipients: usize,
    pub burst: BurstPlan,
    pub small_burst: BurstPlan,
    pub pickup_messages: usize,
    pub pickup_spacing: Duration,
    pub concurrency: usize,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct BurstPlan {
    pub channels: usize,
    pub per_channel: usize,
    /// The emulator's `RateLimitConfig::scale`; the service's pacing flags are scaled alike.
    pub scale: f64,
}

impl BurstPlan {
    /// chat.postMessage per channel: the emulator's bucket (burst 3, 1/s at scale 1).
    fn burst_cap(&self) -> usize {
        (3.0 * self.scale).round().max(1.0) as usize
    }

    fn rate(&self) -> f64 {
        self.scale
    }

    /// The least time the limits allow from the first call to the last: each channel sends its
    /// bucket at once, then one message per 1/rate.
    pub fn minimum_seconds(&self) -> f64 {
        self.per_channel.saturating_sub(self.burst_cap()) as f64 / self.rate()
    }

    fn pacing_flags(&self) -> Vec<String> {
        vec![
            "--delivery-post-rate".into(),
            format!("{}", self.rate().round().max(1.0) as u32),
            "--delivery-post-burst".into(),
            format!("{}", self.burst_cap()),
            "--delivery-tier3-per-minute".into(),
            format!("{}", (50.0 * self.scale).round().max(1.0) as u32),
        ]
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BurstResult {
    pub channels: usize,
    pub per_channel: usize,
    pub scale: f64,
    pub messages: usize,
    pub seconds: f64,
    pub minimum_seconds: f64,
    pub ratio: f64,
    pub rate_limited_429: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PickupResult {
    pub messages: usize,
    /// From the ACCEPTED answer to the first Slack call of the message.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// From the start of the publish call instead (an upper bound that includes the accept).
    pub from_publish_p50_ms: f64,
    pub from_publish_p99_ms: f64,
    /// Slack was called before the client had the ACCEPTED answer (counted as 0).
    pub before_answer: usize,
    pub mismatched: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DeliveryResults {
    pub setup_seconds: f64,
    pub burst: BurstResult,
    pub small_burst: BurstResult,
    pub pickup: PickupResult,
}

struct Ctx<'a> {
    slack: &'a SlackProcess,
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    database_url: String,
    auth: AsciiMetadataValue,
    plan: &'a DeliveryPlan,
    restarts: usize,
}

impl Ctx<'_> {
    async fn start(&mut self, extra: Vec<String>) -> anyhow::Result<Server> {
        self.restarts += 1;
        let config = ServeConfig {
            bin: self.bin.clone(),
            dir: self.dir.clone(),
            database_url: self.database_url.clone(),
            extra,
        };
        office::start_server(&config, self.slack, &format!("delivery-{}", self.restarts)).await
    }

    /// Accepts `total` messages (message `n` to recipient `n % recipients`) while no worker can
    /// take them, see the module comment. `plug` picks the plug's own recipient.
    async fn preload(
        &mut self,
        prefix: &str,
        total: usize,
        recipients: usize,
        plug: usize,
    ) -> anyhow::Result<f64> {
        let started = Instant::now();
        let server = self
            .start(strings(&[
                "--delivery-workers",
                "1",
                // At least two Slack calls of the timeout plus the pacing wait, as the
                // configuration requires.
                "--delivery-lease",
                "1300",
                "--slack-timeout",
                "600",
            ]))
            .await?;
        self.slack.clear_faults().await?;
        self.slack
            .inject_fault(
                &Fault::next(FaultKind::Delay { millis: 900_000 })
                    .on("chat.postMessage")
                    .times(1),
            )
            .await?;
        let plug_recipient = person(self.plan.recipients + plug);
        publish_one(
            &server.channel,
            &self.auth,
            &format!("{prefix}-plug"),
            &plug_recipient,
        )
        .await?;
        // The only worker claims the plug at once and waits in the emulator from then on.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let channels = connections(server.process.grpc, 4).await?;
        let call = publish_caller(channels, self.auth.clone(), prefix.to_owned(), recipients);
        let (ok, errors) = run_count(call, total as u64, self.plan.concurrency).await;
        if ok != total as u64 {
            bail!("preloading {prefix}: {ok} of {total} accepted; {errors:?}");
        }
        server.process.kill();
        self.slack.clear_faults().await?;
        Ok(started.elapsed().as_secs_f64())
    }

    /// Waits until the emulator holds `count` messages; bounded.
    async fn wait_messages(&self, count: usize, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let n = self.slack.messages().await?.len();
            if n >= count {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("only {n} of {count} messages reached Slack within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The successful `chat.postMessage` calls' arrival times (wall-clock µs) and the 429s, since the
/// last clear.
pub async fn posts(slack: &SlackProcess) -> anyhow::Result<(Vec<u64>, usize)> {
    let calls = slack.calls().await?;
    let ok = calls
        .iter()
        .filter(|c| c.ok_post())
        .map(|c| c.at_unix_us)
        .collect();
    let limited = calls.iter().filter(|c| c.status == 429).count();
    Ok((ok, limited))
}

/// Wall-clock microseconds now (the emulator's call times are on the same clock).
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Where the delivery phases run.
pub struct Place<'a> {
    pub slack: &'a SlackProcess,
    pub bin: &'a std::path::Path,
    pub dir: &'a std::path::Path,
    pub tokens: &'a Tokens,
}

async fn prepared<'a>(
    place: &Place<'a>,
    plan: &'a DeliveryPlan,
    database_url: String,
) -> anyhow::Result<(Ctx<'a>, f64)> {
    let mut ctx = Ctx {
        slack: place.slack,
        bin: place.bin.to_owned(),
        dir: place.dir.to_owned(),
        database_url,
        auth: place.tokens.platform()?,
        plan,
        restarts: 0,
    };
    let setup = ctx.start(Vec::new()).await?;
    let people = plan.recipients + office::PLUGS;
    let took = office::set_up_org(&setup, place.slack, place.tokens, 0..people, 16).await?;
    setup.process.kill();
    Ok((ctx, took.as_secs_f64()))
}

/// Every delivery phase on SQLite (the embedded default).
pub async fn run(place: &Place<'_>, plan: &DeliveryPlan) -> anyhow::Result<DeliveryResults> {
    let mut out = DeliveryResults::default();
    let url = format!("sqlite://{}/ovice-slack.db", place.dir.display());
    let (mut ctx, setup_seconds) = prepared(place, plan, url).await?;
    out.setup_seconds = setup_seconds;

    eprintln!("  bursts against the rate limits");
    out.burst = burst(&mut ctx, "burst", plan.burst, 1).await.context("burst")?;
    out.small_burst = burst(&mut ctx, "smallburst", plan.small_burst, 2)
        .await
        .context("small burst")?;
    eprintln!("  pickup latency");
    out.pickup = pickup(&mut ctx).await.context("pickup latency")?;
    Ok(out)
}

async fn burst(
    ctx: &mut Ctx<'_>,
    prefix: &str,
    burst: BurstPlan,
    plug: usize,
) -> anyhow::Result<BurstResult> {
    let total = burst.channels * burst.per_channel;
    ctx.preload(prefix, total, burst.channels, plug).await?;
    ctx.slack
        .set_rate_limits(RateLimitConfig {
            enabled: true,
            scale: burst.scale,
        })
        .await?;
    ctx.slack.clear_calls().await?;
    ctx.slack.clear_messages().await?;
    let server = ctx.start(burst.pacing_flags()).await?;
    let waited = ctx.wait_messages(total, Duration::from_secs(300)).await;
    server.process.kill();
    ctx.slack.set_rate_limits(RateLimitConfig::default()).await?;
    waited?;
    let (ok, limited) = posts(ctx.slack).await?;
    let first = ctx.slack.calls().await?.iter().map(|c| c.at_unix_us).min();
    let (Some(first), Some(last)) = (first, ok.iter().max()) else {
        bail!("no chat.postMessage was recorded");
    };
    let seconds = last.saturating_sub(first) as f64 / 1e6;
    let minimum = burst.minimum_seconds();
    Ok(BurstResult {
        channels: burst.channels,
        per_channel: burst.per_channel,
        scale: burst.scale,
        messages: total,
        seconds,
        minimum_seconds: minimum,
        ratio: if minimum > 0.0 { seconds / minimum } else { 0.0 },
        rate_limited_429: limited,
    })
}

async fn pickup(ctx: &mut Ctx<'_>) -> anyhow::Result<PickupResult> {
    let plan = ctx.plan;
    ctx.slack.reset().await?;
    let server = ctx.start(Vec::new()).await?;
    let n = plan.pickup_messages;
    let mut answered = Vec::with_capacity(n);
    let mut sent = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let due = start + plan.pickup_spacing.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let t0 = unix_us();
        publish_one(
            &server.channel,
            &ctx.auth,
            &format!("pick-{i:05}"),
            &person(i % plan.recipients),
        )
        .await?;
        sent.push(t0);
        answered.push(unix_us());
    }
    ctx.wait_messages(n, Duration::from_secs(60)).await?;
    server.process.kill();
    let (mut ok, _) = posts(ctx.slack).await?;
    ok.sort_unstable();
    let messages = ctx.slack.messages().await?;
    let mut from_answer: Histogram<u64> = histogram();
    let mut from_publish: Histogram<u64> = histogram();
    let mut before_answer = 0;
    let mut mismatched = 0;
    for i in 0..n {
        let (Some(call), Some(m)) = (ok.get(i), messages.get(i)) else {
            mismatched += 1;
            continue;
        };
        // The i-th post is the i-th message: they are published 20 ms apart and delivered in
        // a few; the text proves it.
        if !m.text.contains(&format!("[pick-{i:05}]")) {
            mismatched += 1;
            continue;
        }
        let after_answer = call.checked_sub(answered[i]);
        if after_answer.is_none() {
            before_answer += 1;
        }
        let _ = from_answer.record(after_answer.unwrap_or(1).max(1));
        let _ = from_publish.record(call.saturating_sub(sent[i]).max(1));
    }
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(PickupResult {
        messages: n,
        p50_ms: ms(&from_answer, 0.5),
        p99_ms: ms(&from_answer, 0.99),
        max_ms: from_answer.max() as f64 / 1000.0,
        from_publish_p50_ms: ms(&from_publish, 0.5),
        from_publish_p99_ms: ms(&from_publish, 0.99),
        before_answer,
        mismatched,
    })
}
