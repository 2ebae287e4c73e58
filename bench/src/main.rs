//! `ovice-slack-bench`: measures ingest, latency, delivery, pickup and footprint of the real
//! `ovice-slack serve --target all` binary, each beside a baseline measured in the same run (B1 a
//! bare tonic echo server, B2 raw PostgreSQL inserts, B3 raw SQLite WAL commits), and prints the
//! table of issue 6. `--smoke` runs every phase for a moment, with no thresholds, for CI.

mod backlog;
mod cpu;
mod db;
mod delivery;
mod e2e;
mod echo;
mod events;
mod load;
mod office;
mod perf;
mod plot;
mod process;
mod report;
mod slack;
mod stream;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use ovice_slack_runtime::test_support::{POSTGRES_URL_VAR, fresh_postgres_database};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    delivery::{BurstPlan, DeliveryPlan},
    e2e::Workload,
    load::{CallFn, Measured, closed_loop, open_loop},
    office::{ServeConfig, Tokens},
    process::connections,
    report::{EchoResults, Footprint, IngestResults, Machine, RunResults, Settings, SweepPoint},
    slack::SlackProcess,
};

#[derive(Parser, Debug)]
#[command(name = "ovice-slack-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// The B1 echo server (started by the benchmark as a child process).
    #[command(hide = true)]
    EchoServer {
        #[arg(long)]
        listen: SocketAddr,
    },
    /// Ingest on an empty outbox, then with `--pending` due deliveries in it: does a backlog slow
    /// accepting down?
    Backlog {
        /// Run on PostgreSQL (OVICE_SLACK_TEST_POSTGRES_URL) instead of SQLite.
        #[arg(long)]
        postgres: bool,
        #[arg(long, default_value_t = 20_000)]
        pending: usize,
        #[arg(long, default_value_t = 1000)]
        recipients: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 5.0)]
        measure: f64,
        #[arg(long)]
        server_bin: Option<PathBuf>,
    },
    /// `POST /slack/events` under a closed loop of signed events, against the same requests refused
    /// (a wrong signature) on the same server: does it answer within Slack's 3 seconds?
    Events {
        /// Run on PostgreSQL (OVICE_SLACK_TEST_POSTGRES_URL) instead of SQLite.
        #[arg(long)]
        postgres: bool,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        measure: f64,
        #[arg(long)]
        server_bin: Option<PathBuf>,
    },
    /// The medians of saved runs (`run-*.json`): writes summary.md and latency-vs-load.svg.
    Summarize {
        files: Vec<PathBuf>,
        /// Where to write (default: beside the first file).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Every phase for about a second, tiny workloads, no thresholds: what CI runs.
    #[arg(long)]
    smoke: bool,
    /// Runs in a row; the table shows the median of each figure.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Where results go (default: bench/results, or a temporary directory with --smoke).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The `ovice-slack` binary (default: built by cargo beside this one, same profile).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Calls in flight in every closed-loop phase (B1, B2, B3, ingest).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// HTTP/2 connections the gRPC load is spread over (streams: one per connection).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Seconds of each measured closed-loop window (default 10, smoke 1).
    #[arg(long)]
    measure: Option<f64>,
    /// Connected recipients (default 1,000, smoke 20).
    #[arg(long)]
    recipients: Option<usize>,
    /// Record a CPU profile (`perf record`) of the server during the unary ingest windows.
    #[arg(long)]
    perf: bool,
    /// Skip the PostgreSQL phases (and B2).
    #[arg(long)]
    no_postgres: bool,
    /// Only the delivery phases (to profile them with --perf; the table then lacks the rest).
    #[arg(long)]
    only_delivery: bool,
}

/// Durations and sizes of one run.
struct Plan {
    smoke: bool,
    warmup: Duration,
    measure: Duration,
    sweep: Duration,
    fractions: Vec<f64>,
    recipients: usize,
    concurrency: usize,
    connections: usize,
    delivery: DeliveryPlan,
    e2e: E2ePlan,
    extra_starts: usize,
    only_delivery: bool,
}

impl Plan {
    fn new(a: &RunArgs) -> Self {
        let smoke = a.smoke;
        let recipients = a.recipients.unwrap_or(if smoke { 20 } else { 1000 });
        let measure = Duration::from_secs_f64(a.measure.unwrap_or(if smoke { 1.0 } else { 10.0 }));
        let burst = |channels, per_channel| BurstPlan {
            channels,
            per_channel,
            scale: 10.0,
        };
        Self {
            smoke,
            warmup: if smoke {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(2)
            },
            measure,
            sweep: if smoke {
                Duration::from_millis(500)
            } else {
                Duration::from_secs(4)
            },
            fractions: if smoke {
                vec![0.5]
            } else {
                vec![0.1, 0.25, 0.5, 0.75, 0.9]
            },
            recipients,
            concurrency: a.concurrency.max(1),
            connections: a.connections.max(1),
            delivery: DeliveryPlan {
                recipients,
                burst: if smoke { burst(2, 40) } else { burst(20, 60) },
                small_burst: if smoke { burst(1, 35) } else { burst(5, 60) },
                pickup_messages: if smoke { 10 } else { 200 },
                pickup_spacing: Duration::from_millis(20),
                concurrency: a.concurrency.max(1),
            },
            e2e: E2ePlan::new(smoke, recipients),
            extra_starts: if smoke { 0 } else { 2 },
            only_delivery: a.only_delivery,
        }
    }
}

/// The end-to-end workloads (publish → Slack, Slack's limits at scale 1).
struct E2ePlan {
    /// Every recipient a few messages (within Slack's per-DM burst): bound by the pipeline.
    fanout: Workload,
    /// A few people many messages each: bound by Slack's one post a second per DM.
    paced_bot: Workload,
    /// The same, posted as the sender (conversations.open with their token first).
    paced_sender: Workload,
    /// The scale-out workload on PostgreSQL, with each replica count.
    scale: Workload,
    replicas: Vec<usize>,
    /// People connected on the e2e databases (recipients, and senders after them).
    people: usize,
}

impl E2ePlan {
    fn new(smoke: bool, recipients: usize) -> Self {
        let w = |name: &str, conversations, per_conversation, as_sender| Workload {
            name: name.to_owned(),
            conversations,
            per_conversation,
            as_sender,
        };
        let (fanout, paced, scale, per_paced, per_scale) = if smoke {
            (recipients.min(10), 4, 6, 4, 4)
        } else {
            (recipients, 40, 100, 15, 10)
        };
        Self {
            fanout: w("fanout", fanout, if smoke { 1 } else { 3 }, false),
            paced_bot: w("paced-bot", paced, per_paced, false),
            paced_sender: w("paced-sender", paced, per_paced, true),
            scale: w("scale-out", scale, per_scale, false),
            replicas: if smoke { vec![1, 2] } else { vec![1, 2, 4] },
            people: recipients.max(2 * paced).max(scale),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Some(Sub::EchoServer { listen }) => echo::serve(listen).await,
            Some(Sub::Summarize { files, out }) => summarize(&files, out.as_deref()),
            Some(Sub::Backlog {
                postgres,
                pending,
                recipients,
                concurrency,
                measure,
                server_bin,
            }) => {
                let bin = process::server_binary(server_bin.as_deref())?;
                let experiment = backlog::Experiment {
                    postgres,
                    pending,
                    recipients,
                    concurrency,
                    connections: 4,
                    measure: Duration::from_secs_f64(measure),
                };
                backlog::run(&bin, experiment).await
            }
            Some(Sub::Events {
                postgres,
                concurrency,
                measure,
                server_bin,
            }) => {
                let bin = process::server_binary(server_bin.as_deref())?;
                let experiment = events::Experiment {
                    postgres,
                    concurrency,
                    measure: Duration::from_secs_f64(measure),
                };
                events::run(&bin, experiment).await
            }
            None => run(cli.run).await,
        }
    })
}

fn summarize(files: &[PathBuf], out: Option<&Path>) -> anyhow::Result<()> {
    let Some(first) = files.first() else {
        bail!("name at least one run-*.json");
    };
    let runs = files
        .iter()
        .map(|f| report::load(f).with_context(|| format!("reading {}", f.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let out = match out {
        Some(o) => o.to_owned(),
        None => first.parent().map(Path::to_owned).unwrap_or_default(),
    };
    write_summary(&runs, &out)
}

fn write_summary(runs: &[RunResults], out: &Path) -> anyhow::Result<()> {
    let medians = report::medians(runs);
    let table = report::table(&medians);
    let details = report::details(&medians, runs);
    let e2e = report::e2e_table(runs);
    let machine = runs.first().map(|r| r.machine.clone()).unwrap_or_default();
    let svg = out.join("latency-vs-load.svg");
    plot::latency_vs_load(runs, &svg)?;
    let text = format!(
        // The plot sits beside the summary: a relative name keeps the summary valid wherever it is read.
        "Medians of {} run(s) on {} × {} ({:.1} GiB, Linux {}).\n\n{table}\n{details}\nPublish → Slack at the defaults, Slack's limits on:\n\n{e2e}\nPlot: [latency-vs-load.svg](latency-vs-load.svg)\n",
        runs.len(),
        machine.nproc,
        machine.cpu,
        machine.memory_gib,
        machine.kernel,
    );
    std::fs::write(out.join("summary.md"), &text)?;
    println!("\n{text}");
    Ok(())
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let out = match &args.out {
        Some(o) => o.clone(),
        None if args.smoke => std::env::temp_dir().join("ovice-slack-bench-smoke"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("results"),
    };
    std::fs::create_dir_all(&out)?;
    let postgres = !args.no_postgres && std::env::var(POSTGRES_URL_VAR).is_ok();
    if !postgres && !args.no_postgres && !args.smoke {
        bail!("{POSTGRES_URL_VAR} is not set: give a PostgreSQL admin URL, or pass --no-postgres");
    }
    if !postgres {
        eprintln!("note: PostgreSQL phases skipped ({POSTGRES_URL_VAR} unset or --no-postgres)");
    }
    let bin = process::server_binary(args.server_bin.as_deref())?;
    let plan = Plan::new(&args);
    let mut runs = Vec::new();
    for i in 0..args.runs.max(1) {
        eprintln!("== run {} of {}", i + 1, args.runs.max(1));
        let result = run_once(&plan, &bin, &out, postgres, args.perf).await?;
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        let prefix = if plan.smoke { "smoke" } else { "run" };
        let file = out.join(format!("{prefix}-{stamp}.json"));
        report::save(&result, &file)?;
        eprintln!("saved {}", file.display());
        runs.push(result);
    }
    write_summary(&runs, &out)?;
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A working directory removed at the end of the run.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn run_once(
    plan: &Plan,
    bin: &Path,
    out: &Path,
    postgres: bool,
    perf: bool,
) -> anyhow::Result<RunResults> {
    let started = Instant::now();
    let work =
        WorkDir(std::env::temp_dir().join(format!("ovice-slack-bench-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&work.0)?;
    let tmp = work.0.as_path();
    let tokens = Tokens::new()?;
    let payload_bytes = office::publish_request_size();
    let mut r = RunResults {
        started: chrono::Utc::now().to_rfc3339(),
        machine: Machine::probe(),
        settings: Settings {
            smoke: plan.smoke,
            concurrency: plan.concurrency,
            connections: plan.connections,
            warmup_s: plan.warmup.as_secs_f64(),
            measure_s: plan.measure.as_secs_f64(),
            sweep_s: plan.sweep.as_secs_f64(),
            recipients: plan.recipients,
            payload_bytes,
            delivery_workers: e2e::DEFAULT_WORKERS as u32,
        },
        ..Default::default()
    };

    let seed = office::seed((plan.recipients + office::PLUGS).max(plan.e2e.people));
    let slack = SlackProcess::start(&slack::binary_beside(bin), &seed, tmp).await?;
    if !plan.only_delivery {
        baselines_and_ingest(plan, bin, out, postgres, perf, tmp, &slack, &mut r).await?;
    }

    eprintln!("delivery into the emulator");
    let dir = office::data_dir(tmp, "delivery")?;
    let place = delivery::Place {
        slack: &slack,
        bin,
        dir: &dir,
        tokens: &tokens,
    };
    r.delivery = delivery::run(&place, &plan.delivery).await?;
    r.e2e = end_to_end(plan, bin, tmp, postgres, &slack, &tokens).await?;

    for i in 0..plan.extra_starts {
        let dir = office::data_dir(tmp, &format!("start-{i}"))?;
        let config = ServeConfig {
            bin: bin.to_owned(),
            database_url: format!("sqlite://{}/ovice-slack.db", dir.display()),
            dir,
            extra: Vec::new(),
        };
        let server = office::start_server(&config, &slack, "start").await?;
        r.start_samples_ms.push(ms(server.process.serving_after));
        server.process.kill();
    }
    slack.stop().await;
    r.machine.load_after = report::load_average();
    r.seconds = started.elapsed().as_secs_f64();
    Ok(r)
}

/// Publish → Slack at the defaults: the workloads on SQLite, the paced ones and the replica
/// counts on PostgreSQL, and the measured baselines.
async fn end_to_end(
    plan: &Plan,
    bin: &Path,
    tmp: &Path,
    postgres: bool,
    slack: &SlackProcess,
    tokens: &Tokens,
) -> anyhow::Result<e2e::EndToEndResults> {
    let p = &plan.e2e;
    let mut out = e2e::EndToEndResults::default();
    eprintln!("end to end at the defaults, Slack's limits on");
    let senders_from = p.paced_sender.conversations;
    for w in [&p.fanout, &p.paced_bot, &p.scale] {
        let b = e2e::baseline(slack, w, e2e::DEFAULT_WORKERS).await?;
        eprintln!(
            "  baseline {}: {} in {:.2} s, {} × 429",
            w.name, b.messages, b.seconds, b.rate_limited_429
        );
        out.baselines.push(b);
    }
    let dir = office::data_dir(tmp, "e2e-sqlite")?;
    let mut bench = e2e::Bench {
        slack,
        bin,
        dir: &dir,
        tokens,
        database_url: format!("sqlite://{}/ovice-slack.db", dir.display()),
        backend: "SQLite",
        concurrency: plan.concurrency,
        started: 0,
    };
    bench.set_up(p.people).await?;
    for w in [&p.fanout, &p.paced_bot, &p.paced_sender] {
        let e = bench.run(w, 1, senders_from).await?;
        eprintln!(
            "  {} on SQLite: {} in {:.2} s (minimum {:.1} s), {} × 429, {} duplicates",
            w.name, e.messages, e.seconds, e.minimum_seconds, e.rate_limited_429, e.duplicates
        );
        out.runs.push(e);
    }
    if postgres {
        let dir = office::data_dir(tmp, "e2e-postgres")?;
        let url = fresh_postgres_database().await?;
        let mut bench = e2e::Bench {
            dir: &dir,
            database_url: url.expose_secret().to_owned(),
            backend: "PostgreSQL",
            started: 0,
            ..bench
        };
        bench.set_up(p.people).await?;
        for w in [&p.fanout, &p.paced_bot, &p.paced_sender] {
            let e = bench.run(w, 1, senders_from).await?;
            eprintln!(
                "  {} on PostgreSQL: {} in {:.2} s, {} × 429",
                w.name, e.messages, e.seconds, e.rate_limited_429
            );
            out.runs.push(e);
        }
        for &replicas in &p.replicas {
            let e = bench.run(&p.scale, replicas, senders_from).await?;
            eprintln!(
                "  {} with {replicas} replicas: {} in {:.2} s (minimum {:.1} s), {} × 429, sent {:?}",
                p.scale.name, e.messages, e.seconds, e.minimum_seconds, e.rate_limited_429, e.sent_by_replica
            );
            out.runs.push(e);
        }
    }
    Ok(out)
}

/// B1, B3, B2 and ingest on SQLite and PostgreSQL.
#[allow(clippy::too_many_arguments)]
async fn baselines_and_ingest(
    plan: &Plan,
    bin: &Path,
    out: &Path,
    postgres: bool,
    perf: bool,
    tmp: &Path,
    slack: &SlackProcess,
    r: &mut RunResults,
) -> anyhow::Result<()> {
    let tokens = Tokens::new()?;
    let auth = tokens.platform()?;
    let payload_bytes = r.settings.payload_bytes;
    eprintln!("B1: bare tonic echo, {payload_bytes}-byte payload");
    let echo = echo::start(tmp).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = echo.memory()?;
    let channels = connections(echo.grpc, plan.connections).await?;
    let call = echo::caller(channels, vec![0x5a; payload_bytes], auth.clone());
    let closed = closed_loop(call.clone(), plan.concurrency, plan.warmup, plan.measure).await;
    check("B1", &closed)?;
    let sweep = sweep(plan, &|_| call.clone(), closed.rate()).await;
    r.b1 = EchoResults {
        footprint: Footprint {
            start_to_serving_ms: ms(echo.serving_after),
            idle_rss_kib: idle.rss_kib,
            peak_rss_kib: echo.memory()?.hwm_kib,
        },
        closed: closed.summary(),
        sweep,
    };
    echo.kill();

    eprintln!("B3: SQLite WAL commits (the service's pragmas and pool)");
    let url = SecretString::from(format!("sqlite://{}/b3.db", tmp.display()));
    let sqlite = db::open(&url, 8).await?;
    let m = closed_loop(
        db::insert_caller(sqlite.clone(), "b3".into(), 300),
        plan.concurrency,
        plan.warmup,
        plan.measure,
    )
    .await;
    check("B3", &m)?;
    r.b3 = m.summary();
    sqlite.close().await;
    let url = SecretString::from(format!("sqlite://{}/b3-one.db", tmp.display()));
    let sqlite = db::open(&url, 1).await?;
    let m = closed_loop(
        db::insert_caller(sqlite.clone(), "b3one".into(), 300),
        plan.concurrency,
        plan.warmup,
        plan.measure / 2,
    )
    .await;
    r.b3_one_connection = m.summary();
    sqlite.close().await;

    if postgres {
        eprintln!("B2: PostgreSQL single-row insert transactions");
        let url = fresh_postgres_database().await?;
        let pg = db::open(&url, plan.concurrency as u32).await?;
        let window = cpu::Window::start(0);
        let m = closed_loop(
            db::insert_caller(pg.clone(), "b2".into(), 300),
            plan.concurrency,
            plan.warmup,
            plan.measure,
        )
        .await;
        r.b2_cores = Some(window.finish());
        eprintln!("  cores used: {:?}", r.b2_cores);
        check("B2", &m)?;
        r.b2 = Some(m.summary());
        pg.close().await;
        let pg = db::open(&url, 8).await?;
        let m = closed_loop(
            db::insert_caller(pg.clone(), "b2pool".into(), 300),
            plan.concurrency,
            plan.warmup,
            plan.measure / 2,
        )
        .await;
        r.b2_service_pool = Some(m.summary());
        pg.close().await;
    }

    eprintln!("ingest on SQLite (serve --target all, embedded default)");
    let dir = office::data_dir(tmp, "ingest-sqlite")?;
    let database_url = format!("sqlite://{}/ovice-slack.db", dir.display());
    r.sqlite = ingest(
        plan,
        bin,
        slack,
        &tokens,
        dir,
        database_url,
        "sqlite",
        perf.then(|| out.join("perf-sqlite.data")),
    )
    .await?;

    if postgres {
        eprintln!("ingest on PostgreSQL");
        let dir = office::data_dir(tmp, "ingest-postgres")?;
        let url = fresh_postgres_database().await?;
        r.postgres = Some(
            ingest(
                plan,
                bin,
                slack,
                &tokens,
                dir,
                url.expose_secret().to_owned(),
                "postgres",
                perf.then(|| out.join("perf-postgres.data")),
            )
            .await?,
        );
    }

    Ok(())
}

/// `ANALYZE deliveries` on the service's PostgreSQL database.
async fn analyze_outbox(database_url: &str) -> anyhow::Result<()> {
    let db =
        ovice_slack_runtime::db::Database::connect(&SecretString::from(database_url.to_owned()), 1).await?;
    if let ovice_slack_runtime::db::Database::Postgres(pool) = &db {
        sqlx::query("ANALYZE deliveries").execute(pool).await?;
    }
    db.close().await;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn ingest(
    plan: &Plan,
    bin: &Path,
    slack: &SlackProcess,
    tokens: &Tokens,
    dir: PathBuf,
    database_url: String,
    backend: &str,
    perf_data: Option<PathBuf>,
) -> anyhow::Result<IngestResults> {
    let config = ServeConfig {
        bin: bin.to_owned(),
        dir,
        database_url,
        extra: Vec::new(),
    };
    let server = office::start_server(&config, slack, "ingest").await?;
    let start_to_serving_ms = ms(server.process.serving_after);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.process.memory()?;
    let setup = office::set_up_org(&server, slack, tokens, 0..plan.recipients, 16).await?;
    eprintln!(
        "  {} people connected in {:.1} s",
        plan.recipients,
        setup.as_secs_f64()
    );
    let auth = tokens.platform()?;
    let channels = connections(server.process.grpc, plan.connections).await?;
    let caller = |prefix: &str| {
        office::publish_caller(channels.clone(), auth.clone(), prefix.to_owned(), plan.recipients)
    };

    if backend == "postgres" {
        // A deployment's outbox has statistics (autovacuum analyses it after every 1,000 changed
        // rows); a database seconds old has none, and its plans are those of an empty table.
        // Rows first, then the analysis autovacuum would make, then the measurement.
        let warm = closed_loop(caller("w"), plan.concurrency, Duration::ZERO, plan.warmup).await;
        analyze_outbox(&config.database_url).await?;
        eprintln!("  warmed up with {} accepts, outbox analysed", warm.ok);
    }
    eprintln!("  unary closed loop, {} in flight", plan.concurrency);
    let recording = match &perf_data {
        Some(path) => Some(perf::start(server.process.pid, path)?),
        None => None,
    };
    let window = cpu::Window::start(server.process.pid);
    let unary = closed_loop(caller("u"), plan.concurrency, plan.warmup, plan.measure).await;
    let unary_cores = window.finish();
    eprintln!("  cores used: {unary_cores:?}");
    if let Some(rec) = recording {
        let text = rec.finish()?;
        eprintln!("  profile: {}", text.display());
    }
    check(&format!("{backend} unary ingest"), &unary)?;

    let half = unary.rate() / 2.0;
    eprintln!("  open loop at {half:.0}/s (50 % of the maximum)");
    let open_loop_half = open_loop(caller("h"), half, plan.measure, 10_000).await;
    eprintln!(
        "  open loop: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, errors {:?}",
        open_loop_half.ms(0.5),
        open_loop_half.ms(0.99),
        open_loop_half.ms(0.999),
        open_loop_half.errors
    );
    eprintln!("  StreamChatMessages closed loop");
    let stream = stream::closed_loop(
        stream::StreamLoad {
            channels: channels.clone(),
            auth: auth.clone(),
            prefix: "s".into(),
            recipients: plan.recipients,
            streams: plan.connections,
            window: (plan.concurrency / plan.connections).max(1),
        },
        plan.warmup,
        plan.measure,
    )
    .await;
    check(&format!("{backend} stream ingest"), &stream)?;

    // Each point publishes ids of its own: reusing the previous point's ids measured DUPLICATE
    // answers as errors (the plot published before 2026-12-04 was wrong for that reason).
    let sweep = sweep(plan, &|point| caller(&format!("w{point}")), unary.rate()).await;
    let peak = server.process.memory()?;
    let pending_after = server.metric("ovice_slack_outbox_pending", None).await;
    server.process.kill();
    slack.reset().await?;
    Ok(IngestResults {
        backend: backend.to_owned(),
        footprint: Footprint {
            start_to_serving_ms,
            idle_rss_kib: idle.rss_kib,
            peak_rss_kib: peak.hwm_kib,
        },
        setup_seconds: setup.as_secs_f64(),
        unary: unary.summary(),
        stream: stream.summary(),
        open_loop_half: open_loop_half.summary(),
        sweep,
        pending_after,
        unary_cores,
    })
}

/// Open-loop latency at fractions of `max` per second; `call_for(i)` makes the calls of point `i`.
async fn sweep(plan: &Plan, call_for: &dyn Fn(usize) -> CallFn, max: f64) -> Vec<SweepPoint> {
    let mut points = Vec::new();
    for (i, &fraction) in plan.fractions.iter().enumerate() {
        let offered = max * fraction;
        let m = open_loop(call_for(i), offered, plan.sweep, 10_000).await;
        points.push(SweepPoint {
            fraction,
            offered,
            achieved: m.rate(),
            p50_ms: m.ms(0.5),
            p99_ms: m.ms(0.99),
            p999_ms: m.ms(0.999),
            errors: m.error_count(),
        });
    }
    points
}

/// A phase that mostly failed measures nothing: stop rather than print a misleading number.
fn check(what: &str, m: &Measured) -> anyhow::Result<()> {
    let errors = m.error_count();
    eprintln!(
        "  {what}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {errors} errors",
        m.rate(),
        m.ms(0.5),
        m.ms(0.99)
    );
    if m.ok == 0 || errors > m.ok / 100 {
        bail!("{what}: {} ok, errors {:?}", m.ok, m.errors);
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
