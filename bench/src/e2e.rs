//! Delivery end to end, at the defaults a user runs: messages published through the gateway until
//! every one of them (by unique id) is in Slack, with Slack's rate limits on at their documented
//! values (scale 1) and the default delivery workers and pacing. Two paths: a bot DM, and posted
//! as the sender (their user token, `conversations.open` first). On PostgreSQL also with 1, 2 and
//! 4 replicas sharing the outbox, the publishes spread over them.
//!
//! Beside each figure, in the same run: the least time Slack's limits allow for the workload
//! (computed), and a measured baseline: a bare client in the benchmark's process that posts the
//! same messages straight to the emulator with the bot token, as many calls at once as the
//! service has workers, each conversation paced at exactly Slack's documented rate.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::bail;
use serde::{Deserialize, Serialize};
use slack_emulator::RateLimitConfig;
use tokio::sync::Semaphore;

use crate::{
    delivery::{posts, unix_us},
    load::run_count,
    office::{self, ServeConfig, Server, Tokens, slack_id},
    process::connections,
    slack::SlackProcess,
};

/// The service's default `--delivery-workers`.
pub const DEFAULT_WORKERS: usize = 8;
/// Slack's chat.postMessage limit per conversation: a burst of 3, then one a second.
const POST_BURST: usize = 3;
const POSTS_PER_SECOND: f64 = 1.0;
/// Slack's Tier 3 (conversations.open): 50 at once, then 50 a minute.
const TIER3_BURST: usize = 50;
const TIER3_PER_SECOND: f64 = 50.0 / 60.0;
/// The baseline's margin after each refill time.
const PACING_MARGIN: Duration = Duration::from_millis(10);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Workload {
    pub name: String,
    /// Distinct DMs (recipient `k`, and for `as_sender` sender `senders_from + k`).
    pub conversations: usize,
    pub per_conversation: usize,
    pub as_sender: bool,
}

impl Workload {
    pub fn messages(&self) -> usize {
        self.conversations * self.per_conversation
    }

    /// The least time from the first call to the last that Slack's limits allow.
    pub fn minimum_seconds(&self) -> f64 {
        let posts = self.per_conversation.saturating_sub(POST_BURST) as f64 / POSTS_PER_SECOND;
        let opens = if self.as_sender {
            self.conversations.saturating_sub(TIER3_BURST) as f64 / TIER3_PER_SECOND
        } else {
            0.0
        };
        posts.max(opens)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EndToEndResult {
    pub workload: String,
    pub conversations: usize,
    pub per_conversation: usize,
    pub backend: String,
    pub replicas: usize,
    pub messages: usize,
    /// From the first publish call to the last message's arrival in Slack.
    pub seconds: f64,
    pub per_second: f64,
    pub minimum_seconds: f64,
    /// Unique ids in Slack (must equal `messages`) and extra copies.
    pub delivered: usize,
    pub duplicates: usize,
    pub rate_limited_429: usize,
    pub sent_by_replica: Vec<f64>,
    /// How long publishing alone took (ACCEPTED for every message).
    pub publish_seconds: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BaselineResult {
    pub workload: String,
    pub conversations: usize,
    pub per_conversation: usize,
    pub messages: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub rate_limited_429: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EndToEndResults {
    pub runs: Vec<EndToEndResult>,
    pub baselines: Vec<BaselineResult>,
}

/// Where the end-to-end phases run: one database, set up once (org, connected people).
pub struct Bench<'a> {
    pub slack: &'a SlackProcess,
    pub bin: &'a std::path::Path,
    pub dir: &'a std::path::Path,
    pub tokens: &'a Tokens,
    pub database_url: String,
    pub backend: &'static str,
    pub concurrency: usize,
    pub started: usize,
}

impl Bench<'_> {
    async fn start(&mut self) -> anyhow::Result<Server> {
        self.started += 1;
        let config = ServeConfig {
            bin: self.bin.to_owned(),
            dir: self.dir.to_owned(),
            database_url: self.database_url.clone(),
            extra: Vec::new(),
        };
        office::start_server(&config, self.slack, &format!("e2e-{}", self.started)).await
    }

    /// Connects `people` (recipients and senders) once.
    pub async fn set_up(&mut self, people: usize) -> anyhow::Result<f64> {
        let server = self.start().await?;
        let took = office::set_up_org(&server, self.slack, self.tokens, 0..people, 16).await?;
        server.process.kill();
        Ok(took.as_secs_f64())
    }

    /// Publishes the workload over `replicas` fresh processes and times it into Slack.
    pub async fn run(
        &mut self,
        w: &Workload,
        replicas: usize,
        senders_from: usize,
    ) -> anyhow::Result<EndToEndResult> {
        self.slack.reset().await?;
        let mut servers = Vec::with_capacity(replicas);
        for _ in 0..replicas.max(1) {
            servers.push(self.start().await?);
        }
        // Fresh buckets, Slack's documented numbers.
        self.slack
            .set_rate_limits(RateLimitConfig {
                enabled: true,
                scale: 1.0,
            })
            .await?;
        let mut channels = Vec::new();
        for s in &servers {
            channels.extend(connections(s.process.grpc, 2).await?);
        }
        let prefix = format!("{}-{}-{}", w.name, self.backend, self.started);
        let call = office::pair_caller(
            channels,
            self.tokens.platform()?,
            prefix.clone(),
            w.conversations,
            w.as_sender.then_some(senders_from),
        );
        let total = w.messages();
        let first_publish = unix_us();
        let published = Instant::now();
        let (ok, errors) = run_count(call, total as u64, self.concurrency).await;
        let publish_seconds = published.elapsed().as_secs_f64();
        if ok != total as u64 {
            bail!("{prefix}: {ok} of {total} accepted; {errors:?}");
        }
        let within = Duration::from_secs_f64(w.minimum_seconds() * 3.0 + 120.0);
        let copies = wait_unique(self.slack, &prefix, total, within).await;
        let mut sent_by_replica = Vec::new();
        for s in &servers {
            let sent = s
                .metric("ovice_slack_delivery_outcomes", Some("outcome=\"sent\""))
                .await;
            sent_by_replica.push(sent.unwrap_or(-1.0));
        }
        // Stopped, not killed: a kill would leave the last outcomes uncommitted, and the next
        // workload's messages to the same people would wait a lease behind them.
        for s in servers {
            s.process.stop(Duration::from_secs(30)).await;
        }
        self.slack.set_rate_limits(RateLimitConfig::default()).await?;
        let copies = copies?;
        let (ok_posts, limited) = posts(self.slack).await?;
        let Some(last) = ok_posts.iter().max() else {
            bail!("no chat.postMessage was recorded");
        };
        let seconds = last.saturating_sub(first_publish) as f64 / 1e6;
        Ok(EndToEndResult {
            workload: w.name.clone(),
            conversations: w.conversations,
            per_conversation: w.per_conversation,
            backend: self.backend.to_owned(),
            replicas: replicas.max(1),
            messages: total,
            seconds,
            per_second: total as f64 / seconds.max(1e-3),
            minimum_seconds: w.minimum_seconds(),
            delivered: copies.len(),
            duplicates: copies.values().map(|c| c - 1).sum(),
            rate_limited_429: limited,
            sent_by_replica,
            publish_seconds,
        })
    }
}

/// Waits until Slack holds every id `<prefix>-<n>`; the copies of each.
async fn wait_unique(
    slack: &SlackProcess,
    prefix: &str,
    total: usize,
    within: Duration,
) -> anyhow::Result<HashMap<String, usize>> {
    let deadline = Instant::now() + within;
    let marker = format!("[{prefix}-");
    loop {
        let mut copies: HashMap<String, usize> = HashMap::new();
        for m in slack.messages().await? {
            if let Some((_, rest)) = m.text.split_once(&marker)
                && let Some((n, _)) = rest.split_once(']')
            {
                *copies.entry(n.to_owned()).or_default() += 1;
            }
        }
        if copies.len() >= total {
            return Ok(copies);
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {total} ids of {prefix} reached Slack within {within:?}",
                copies.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The measured baseline: the workload's messages posted straight to the emulator with the bot
/// token, `workers` calls at once, each conversation at exactly Slack's documented pace (its
/// burst, then one a second), a 429 answered by waiting its Retry-After.
pub async fn baseline(slack: &SlackProcess, w: &Workload, workers: usize) -> anyhow::Result<BaselineResult> {
    slack.reset().await?;
    slack
        .set_rate_limits(RateLimitConfig {
            enabled: true,
            scale: 1.0,
        })
        .await?;
    let http = reqwest::Client::new();
    let url = slack.api_url().join("chat.postMessage")?;
    let gate = Arc::new(Semaphore::new(workers.max(1)));
    let first = unix_us();
    let mut tasks = Vec::new();
    for k in 0..w.conversations {
        let (http, url, gate) = (http.clone(), url.clone(), gate.clone());
        let name = w.name.clone();
        let per = w.per_conversation;
        tasks.push(tokio::spawn(async move {
            // Slack's bucket for the conversation starts with its first call; each later call goes
            // at exactly its refill time after that, plus a margin for the call's way there.
            let mut first_call = None;
            for i in 0..per {
                if let Some(first) = first_call {
                    let refills = i.saturating_sub(POST_BURST - 1) as f64 / POSTS_PER_SECOND;
                    let due = first + Duration::from_secs_f64(refills) + PACING_MARGIN;
                    tokio::time::sleep_until(due).await;
                }
                loop {
                    let permit = gate.acquire().await?;
                    first_call.get_or_insert_with(tokio::time::Instant::now);
                    let answer = http
                        .post(url.clone())
                        .bearer_auth("xoxb-acme-good")
                        .form(&[
                            ("channel", slack_id(k)),
                            ("text", format!("[base-{name}-{k}-{i}] baseline")),
                        ])
                        .send()
                        .await?;
                    drop(permit);
                    if answer.status().as_u16() == 429 {
                        let wait = answer
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                            .unwrap_or(1);
                        tokio::time::sleep(Duration::from_secs(wait)).await;
                        continue;
                    }
                    let body: serde_json::Value = answer.json().await?;
                    if body["ok"] != true {
                        bail!("the baseline's post was refused: {body}");
                    }
                    break;
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let (ok_posts, limited) = posts(slack).await?;
    slack.set_rate_limits(RateLimitConfig::default()).await?;
    let last = ok_posts.iter().max().copied().unwrap_or(first);
    let seconds = last.saturating_sub(first) as f64 / 1e6;
    Ok(BaselineResult {
        workload: w.name.clone(),
        conversations: w.conversations,
        per_conversation: w.per_conversation,
        messages: w.messages(),
        seconds,
        per_second: w.messages() as f64 / seconds.max(1e-3),
        rate_limited_429: limited,
    })
}
