//! What a run measured (saved as JSON), the figures of issue 6 with their baselines, ratios and
//! targets, and the medians of several runs as a Markdown table.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde::{Deserialize, Serialize};

use crate::{cpu::CoresUsed, delivery::DeliveryResults, e2e::EndToEndResults, load::LoadSummary};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub load_before: String,
    pub load_after: String,
}

impl Machine {
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Self {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            memory_gib: kib / 1024.0 / 1024.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            load_before: load_average(),
            load_after: String::new(),
        }
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Latency at a fraction of the measured maximum.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SweepPoint {
    pub fraction: f64,
    pub offered: f64,
    pub achieved: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub errors: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Footprint {
    pub start_to_serving_ms: f64,
    pub idle_rss_kib: u64,
    pub peak_rss_kib: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EchoResults {
    pub footprint: Footprint,
    pub closed: LoadSummary,
    pub sweep: Vec<SweepPoint>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IngestResults {
    pub backend: String,
    pub footprint: Footprint,
    pub setup_seconds: f64,
    pub unary: LoadSummary,
    pub stream: LoadSummary,
    pub open_loop_half: LoadSummary,
    pub sweep: Vec<SweepPoint>,
    /// The outbox gauge after the phases (the workers keep delivering meanwhile).
    pub pending_after: Option<f64>,
    /// Cores each process used during the unary closed-loop window (warm-up included).
    #[serde(default)]
    pub unary_cores: CoresUsed,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Settings {
    pub smoke: bool,
    pub concurrency: usize,
    pub connections: usize,
    pub warmup_s: f64,
    pub measure_s: f64,
    pub sweep_s: f64,
    pub recipients: usize,
    pub payload_bytes: usize,
    pub delivery_workers: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunResults {
    pub started: String,
    pub seconds: f64,
    pub machine: Machine,
    pub settings: Settings,
    pub b1: EchoResults,
    pub b2: Option<LoadSummary>,
    pub b2_service_pool: Option<LoadSummary>,
    /// Cores used during B2 (the load generator and PostgreSQL).
    #[serde(default)]
    pub b2_cores: Option<CoresUsed>,
    pub b3: LoadSummary,
    pub b3_one_connection: LoadSummary,
    pub sqlite: IngestResults,
    pub postgres: Option<IngestResults>,
    pub delivery: DeliveryResults,
    /// Publish → Slack at the defaults with Slack's limits on (`e2e.rs`).
    #[serde(default)]
    pub e2e: EndToEndResults,
    /// Fresh `serve --target all` starts (SQLite, new data dir) from spawn to SERVING.
    pub start_samples_ms: Vec<f64>,
}

const MIB: f64 = 1024.0;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn point(sweep: &[SweepPoint], fraction: f64) -> Option<&SweepPoint> {
    sweep.iter().find(|p| (p.fraction - fraction).abs() < 1e-9)
}

/// Every figure of one run by name; ratios are computed within the run.
pub fn figures(r: &RunResults) -> BTreeMap<&'static str, f64> {
    let mut f = BTreeMap::new();
    let b1 = r.b1.closed.rate;
    f.insert("b1", b1);
    f.insert("b3", r.b3.rate);
    f.insert("b3_one", r.b3_one_connection.rate);
    f.insert("sqlite_unary", r.sqlite.unary.rate);
    f.insert("sqlite_stream", r.sqlite.stream.rate);
    f.insert("sqlite_unary_b1", r.sqlite.unary.rate / b1);
    f.insert("sqlite_stream_b1", r.sqlite.stream.rate / b1);
    f.insert("sqlite_unary_b3", r.sqlite.unary.rate / r.b3.rate);
    f.insert("sqlite_p50", r.sqlite.open_loop_half.p50_ms);
    f.insert("sqlite_p99", r.sqlite.open_loop_half.p99_ms);
    f.insert("sqlite_p999", r.sqlite.open_loop_half.p999_ms);
    f.insert("sqlite_half_rate", r.sqlite.unary.rate / 2.0);
    f.insert("sqlite_unary_p99", r.sqlite.unary.p99_ms);
    if let Some(p) = point(&r.b1.sweep, 0.5) {
        f.insert("b1_p50", p.p50_ms);
        f.insert("b1_p99", p.p99_ms);
        f.insert("b1_p999", p.p999_ms);
    }
    if let Some(b2) = &r.b2 {
        f.insert("b2", b2.rate);
    }
    if let Some(b2) = &r.b2_service_pool {
        f.insert("b2_pool", b2.rate);
    }
    if let Some(pg) = &r.postgres {
        f.insert("pg_unary", pg.unary.rate);
        f.insert("pg_stream", pg.stream.rate);
        f.insert("pg_unary_b1", pg.unary.rate / b1);
        f.insert("pg_stream_b1", pg.stream.rate / b1);
        if let Some(b2) = &r.b2 {
            f.insert("pg_unary_b2", pg.unary.rate / b2.rate);
        }
        f.insert("pg_p50", pg.open_loop_half.p50_ms);
        f.insert("pg_p99", pg.open_loop_half.p99_ms);
        f.insert("pg_p999", pg.open_loop_half.p999_ms);
        f.insert("pg_half_rate", pg.unary.rate / 2.0);
        f.insert("pg_peak_rss", pg.footprint.peak_rss_kib as f64 / MIB);
    }
    let d = &r.delivery;
    f.insert("burst_s", d.burst.seconds);
    f.insert("burst_min_s", d.burst.minimum_seconds);
    f.insert("burst_ratio", d.burst.ratio);
    f.insert("burst_429", d.burst.rate_limited_429 as f64);
    f.insert("small_burst_s", d.small_burst.seconds);
    f.insert("small_burst_min_s", d.small_burst.minimum_seconds);
    f.insert("small_burst_ratio", d.small_burst.ratio);
    f.insert("small_burst_429", d.small_burst.rate_limited_429 as f64);
    f.insert("pickup_p50", d.pickup.p50_ms);
    f.insert("pickup_p99", d.pickup.p99_ms);
    f.insert("pickup_pub_p50", d.pickup.from_publish_p50_ms);
    f.insert("pickup_pub_p99", d.pickup.from_publish_p99_ms);
    f.insert("idle_rss", r.sqlite.footprint.idle_rss_kib as f64 / MIB);
    f.insert("peak_rss", r.sqlite.footprint.peak_rss_kib as f64 / MIB);
    f.insert("b1_idle_rss", r.b1.footprint.idle_rss_kib as f64 / MIB);
    f.insert("b1_peak_rss", r.b1.footprint.peak_rss_kib as f64 / MIB);
    f.insert(
        "idle_rss_ratio",
        r.sqlite.footprint.idle_rss_kib as f64 / r.b1.footprint.idle_rss_kib as f64,
    );
    f.insert(
        "peak_rss_ratio",
        r.sqlite.footprint.peak_rss_kib as f64 / r.b1.footprint.peak_rss_kib as f64,
    );
    let mut starts = r.start_samples_ms.clone();
    starts.push(r.sqlite.footprint.start_to_serving_ms);
    f.insert("start_ms", median(&mut starts));
    f.insert("b1_start_ms", r.b1.footprint.start_to_serving_ms);
    f.insert(
        "start_ratio",
        median(&mut starts) / r.b1.footprint.start_to_serving_ms,
    );
    f
}

/// The median of each figure over the runs (ratios: the median of the per-run ratios).
pub fn medians(runs: &[RunResults]) -> BTreeMap<&'static str, f64> {
    let mut all: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for r in runs {
        for (k, v) in figures(r) {
            all.entry(k).or_default().push(v);
        }
    }
    all.into_iter().map(|(k, mut v)| (k, median(&mut v))).collect()
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

struct Row<'a> {
    figure: String,
    value: String,
    baseline: String,
    ratio: String,
    target: &'a str,
    holds: Option<bool>,
}

/// The results table of issue 6, from (median) figures.
pub fn table(f: &BTreeMap<&'static str, f64>) -> String {
    let g = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
    let yes = |b: bool| Some(b);
    let mut rows: Vec<Row> = Vec::new();
    let b1 = format!("B1 echo {} req/s", num(g("b1")));
    rows.push(Row {
        figure: "Ingest, unary, SQLite (ACCEPTED/s)".into(),
        value: num(g("sqlite_unary")),
        baseline: b1.clone(),
        ratio: format!("{:.3}", g("sqlite_unary_b1")),
        target: "≥ 0.25 × B1 (aim 0.4)",
        holds: yes(g("sqlite_unary_b1") >= 0.25),
    });
    rows.push(Row {
        figure: "Ingest, unary, SQLite vs B3".into(),
        value: num(g("sqlite_unary")),
        baseline: format!("B3 SQLite WAL commits {} /s", num(g("b3"))),
        ratio: format!("{:.2}", g("sqlite_unary_b3")),
        target: "–",
        holds: None,
    });
    rows.push(Row {
        figure: "Ingest, stream, SQLite (ACCEPTED/s)".into(),
        value: num(g("sqlite_stream")),
        baseline: b1.clone(),
        ratio: format!("{:.3}", g("sqlite_stream_b1")),
        target: "(≥ 0.25 × B1)",
        holds: yes(g("sqlite_stream_b1") >= 0.25),
    });
    if f.contains_key("pg_unary") {
        rows.push(Row {
            figure: "Ingest, unary, PostgreSQL (ACCEPTED/s)".into(),
            value: num(g("pg_unary")),
            baseline: b1.clone(),
            ratio: format!("{:.3}", g("pg_unary_b1")),
            target: "≥ 0.25 × B1 (aim 0.4)",
            holds: yes(g("pg_unary_b1") >= 0.25),
        });
        rows.push(Row {
            figure: "Ingest, unary, PostgreSQL vs B2".into(),
            value: num(g("pg_unary")),
            baseline: format!("B2 PostgreSQL insert tx {} /s", num(g("b2"))),
            ratio: format!("{:.2}", g("pg_unary_b2")),
            target: "≥ 0.5 × B2",
            holds: yes(g("pg_unary_b2") >= 0.5),
        });
        rows.push(Row {
            figure: "Ingest, stream, PostgreSQL (ACCEPTED/s)".into(),
            value: num(g("pg_stream")),
            baseline: b1.clone(),
            ratio: format!("{:.3}", g("pg_stream_b1")),
            target: "(≥ 0.25 × B1)",
            holds: yes(g("pg_stream_b1") >= 0.25),
        });
    }
    let b1_lat = format!(
        "B1 at 50 %: {} / {} / {}",
        num(g("b1_p50")),
        num(g("b1_p99")),
        num(g("b1_p999"))
    );
    rows.push(Row {
        figure: format!(
            "Latency p50 / p99 / p99.9 ms, SQLite, open loop at {} /s",
            num(g("sqlite_half_rate"))
        ),
        value: format!(
            "{} / {} / {}",
            num(g("sqlite_p50")),
            num(g("sqlite_p99")),
            num(g("sqlite_p999"))
        ),
        baseline: b1_lat.clone(),
        ratio: format!("p99 {:.1}×", g("sqlite_p99") / g("b1_p99")),
        target: "p99 ≤ 10 ms",
        holds: yes(g("sqlite_p99") <= 10.0),
    });
    if f.contains_key("pg_unary") {
        rows.push(Row {
            figure: format!(
                "Latency p50 / p99 / p99.9 ms, PostgreSQL, open loop at {} /s",
                num(g("pg_half_rate"))
            ),
            value: format!(
                "{} / {} / {}",
                num(g("pg_p50")),
                num(g("pg_p99")),
                num(g("pg_p999"))
            ),
            baseline: b1_lat,
            ratio: format!("p99 {:.1}×", g("pg_p99") / g("b1_p99")),
            target: "p99 ≤ 10 ms",
            holds: yes(g("pg_p99") <= 10.0),
        });
    }
    rows.push(Row {
        figure: "Burst, limits on (20 channels × 60, scale 10), s".into(),
        value: format!("{} s, {} × 429", num(g("burst_s")), g("burst_429")),
        baseline: format!("minimum {} s, 0 × 429", num(g("burst_min_s"))),
        ratio: format!("{:.2}", g("burst_ratio")),
        target: "≤ 1.1 × minimum, zero 429s",
        holds: yes(g("burst_ratio") <= 1.1 && g("burst_429") == 0.0),
    });
    rows.push(Row {
        figure: "Burst, limits on (5 channels × 60, scale 10), s".into(),
        value: format!("{} s, {} × 429", num(g("small_burst_s")), g("small_burst_429")),
        baseline: format!("minimum {} s, 0 × 429", num(g("small_burst_min_s"))),
        ratio: format!("{:.2}", g("small_burst_ratio")),
        target: "≤ 1.1 × minimum, zero 429s",
        holds: yes(g("small_burst_ratio") <= 1.1 && g("small_burst_429") == 0.0),
    });
    rows.push(Row {
        figure: "Pickup, ACCEPTED → first Slack call, p50 / p99 ms".into(),
        value: format!("{} / {}", num(g("pickup_p50")), num(g("pickup_p99"))),
        baseline: format!(
            "from publish start: {} / {}",
            num(g("pickup_pub_p50")),
            num(g("pickup_pub_p99"))
        ),
        ratio: "–".into(),
        target: "p50 ≤ 10, p99 ≤ 50",
        holds: yes(g("pickup_p50") <= 10.0 && g("pickup_p99") <= 50.0),
    });
    rows.push(Row {
        figure: "Idle RSS, `serve --target all` (MiB)".into(),
        value: num(g("idle_rss")),
        baseline: format!("B1 idle {} MiB", num(g("b1_idle_rss"))),
        ratio: format!("{:.1}×", g("idle_rss_ratio")),
        target: "≤ 30 MiB",
        holds: yes(g("idle_rss") <= 30.0),
    });
    rows.push(Row {
        figure: "Peak RSS under the SQLite ingest run (MiB)".into(),
        value: num(g("peak_rss")),
        baseline: format!("B1 peak {} MiB", num(g("b1_peak_rss"))),
        ratio: format!("{:.1}×", g("peak_rss_ratio")),
        target: "≤ 64 MiB",
        holds: yes(g("peak_rss") <= 64.0),
    });
    if f.contains_key("pg_peak_rss") {
        rows.push(Row {
            figure: "Peak RSS under the PostgreSQL ingest run (MiB)".into(),
            value: num(g("pg_peak_rss")),
            baseline: format!("B1 peak {} MiB", num(g("b1_peak_rss"))),
            ratio: format!("{:.1}×", g("pg_peak_rss") / g("b1_peak_rss")),
            target: "(≤ 64 MiB)",
            holds: yes(g("pg_peak_rss") <= 64.0),
        });
    }
    rows.push(Row {
        figure: "Start → SERVING (ms), fresh data dir".into(),
        value: num(g("start_ms")),
        baseline: format!("B1 {} ms", num(g("b1_start_ms"))),
        ratio: format!("{:.1}×", g("start_ratio")),
        target: "≤ 1,000 ms",
        holds: yes(g("start_ms") <= 1000.0),
    });
    let mut out = String::new();
    out.push_str("| Figure | Measured | Baseline (same run) | Ratio | Target | Holds |\n");
    out.push_str("|---|---:|---|---:|---|:---:|\n");
    for r in rows {
        let holds = match r.holds {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.figure, r.value, r.baseline, r.ratio, r.target, holds
        );
    }
    out
}

/// Supporting numbers: the DB baselines in other settings and the sweep points.
pub fn details(f: &BTreeMap<&'static str, f64>, runs: &[RunResults]) -> String {
    let g = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- B3 with one connection (no busy-wait between the pool's 8 writers): {} commits/s",
        num(g("b3_one"))
    );
    if f.contains_key("b2_pool") {
        let _ = writeln!(
            out,
            "- B2 with the service's pool of 8 connections: {} insert tx/s",
            num(g("b2_pool"))
        );
    }
    let _ = writeln!(
        out,
        "- SQLite closed-loop ingest latency p99: {} ms",
        num(g("sqlite_unary_p99"))
    );
    for (i, r) in runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "- run {}: {} load before/after `{}` / `{}`, {:.0} s; SQLite ingest per second {:?}",
            i + 1,
            r.started,
            r.machine.load_before,
            r.machine.load_after,
            r.seconds,
            r.sqlite.unary.per_second
        );
        if let Some(pg) = &r.postgres {
            let _ = writeln!(out, "  PostgreSQL ingest per second {:?}", pg.unary.per_second);
        }
        let cores = |c: &CoresUsed| {
            format!(
                "server {:.2}, PostgreSQL {:.2}, load generator {:.2}, Slack emulator {:.2}",
                c.server, c.postgres, c.load_generator, c.slack_emulator
            )
        };
        let _ = writeln!(
            out,
            "  cores used, SQLite unary ingest: {}",
            cores(&r.sqlite.unary_cores)
        );
        if let Some(pg) = &r.postgres {
            let _ = writeln!(
                out,
                "  cores used, PostgreSQL unary ingest: {}",
                cores(&pg.unary_cores)
            );
        }
        if let Some(b2) = &r.b2_cores {
            let _ = writeln!(out, "  cores used, B2: {}", cores(b2));
        }
        let _ = writeln!(
            out,
            "  outbox backlog after the ingest phases: SQLite {:?}, PostgreSQL {:?}",
            r.sqlite.pending_after,
            r.postgres.as_ref().and_then(|p| p.pending_after),
        );
        let errors: Vec<String> = [
            ("B1", &r.b1.closed.errors),
            ("SQLite unary", &r.sqlite.unary.errors),
            ("SQLite stream", &r.sqlite.stream.errors),
            ("SQLite open loop", &r.sqlite.open_loop_half.errors),
        ]
        .iter()
        .filter(|(_, e)| !e.is_empty())
        .map(|(n, e)| format!("{n}: {e:?}"))
        .collect();
        if !errors.is_empty() {
            let _ = writeln!(out, "  errors: {}", errors.join("; "));
        }
        // Each sweep point: offered against achieved, and its errors (a point with errors measured
        // something other than accepted calls).
        let sweeps = [
            ("B1", Some(&r.b1.sweep)),
            ("SQLite", Some(&r.sqlite.sweep)),
            ("PostgreSQL", r.postgres.as_ref().map(|p| &p.sweep)),
        ];
        for (name, sweep) in sweeps {
            let Some(sweep) = sweep else { continue };
            let points: Vec<String> = sweep
                .iter()
                .map(|p| {
                    format!(
                        "{:.0} %: offered {:.0}/s, achieved {:.0}/s, {} errors",
                        p.fraction * 100.0,
                        p.offered,
                        p.achieved,
                        p.errors
                    )
                })
                .collect();
            let _ = writeln!(out, "  {name} sweep: {}", points.join("; "));
        }
    }
    out
}

pub fn save(run: &RunResults, path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(run)?)?;
    Ok(())
}

pub fn load(path: &Path) -> anyhow::Result<RunResults> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

/// Publish → Slack at the defaults, every run's rows beside the measured baseline of the same run
/// and the least time Slack's limits allow.
pub fn e2e_table(runs: &[RunResults]) -> String {
    let mut out = String::new();
    out.push_str(
        "| run | workload | outbox | replicas | DMs × messages | seconds | msg/s | Slack's minimum s | baseline s (msg/s) | × baseline | 429s | duplicates | sent per replica |\n",
    );
    out.push_str("|---:|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|\n");
    for (i, r) in runs.iter().enumerate() {
        for e in &r.e2e.runs {
            // The baseline of the same shape (it posts with the bot token, so one serves both paths).
            let base = r
                .e2e
                .baselines
                .iter()
                .find(|b| b.conversations == e.conversations && b.per_conversation == e.per_conversation);
            let (base_text, ratio) = match base {
                Some(b) => (
                    format!("{:.2} ({:.0})", b.seconds, b.per_second),
                    format!("{:.2}", e.seconds / b.seconds.max(1e-3)),
                ),
                None => ("–".to_owned(), "–".to_owned()),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} × {} | {:.2} | {:.0} | {:.1} | {} | {} | {} | {} | {:?} |",
                i + 1,
                e.workload,
                e.backend,
                e.replicas,
                e.conversations,
                e.per_conversation,
                e.seconds,
                e.per_second,
                e.minimum_seconds,
                base_text,
                ratio,
                e.rate_limited_429,
                e.duplicates,
                e.sent_by_replica
            );
        }
    }
    out
}
