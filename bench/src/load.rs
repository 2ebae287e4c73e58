//! Load generators: a closed loop at a fixed number of calls in flight, an open loop at a fixed
//! rate (latency counted from the moment each call was due, so a stalled server cannot hide its
//! queueing: no coordinated omission), and what both measured.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// One call of the system under test: `Ok` when it did what was asked (an ingest call must be
/// answered ACCEPTED), else a short label of what went wrong, counted per label.
pub type CallFn = Arc<dyn Fn(u64) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Latencies are recorded in microseconds, up to a minute.
#[allow(clippy::expect_used)]
pub fn histogram() -> Histogram<u64> {
    // Constant bounds and precision that hdrhistogram accepts: this cannot fail at run time.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// What one load phase measured.
#[derive(Clone, Debug)]
pub struct Measured {
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub latency: Histogram<u64>,
    /// Successful calls finished in each second of the measured window.
    pub per_second: Vec<u64>,
}

impl Measured {
    fn empty(seconds: usize) -> Self {
        Self {
            ok: 0,
            errors: BTreeMap::new(),
            elapsed: Duration::ZERO,
            latency: histogram(),
            per_second: vec![0; seconds],
        }
    }

    fn merge(&mut self, other: &Measured) {
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        let _ = self.latency.add(&other.latency);
        for (a, b) in self.per_second.iter_mut().zip(&other.per_second) {
            *a += b;
        }
    }

    /// Successful calls per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.ok as f64 / secs } else { 0.0 }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// A latency quantile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn summary(&self) -> LoadSummary {
        LoadSummary {
            ok: self.ok,
            errors: self.errors.clone(),
            seconds: self.elapsed.as_secs_f64(),
            rate: self.rate(),
            p50_ms: self.ms(0.5),
            p99_ms: self.ms(0.99),
            p999_ms: self.ms(0.999),
            max_ms: self.latency.max() as f64 / 1000.0,
            per_second: self.per_second.clone(),
        }
    }
}

/// The serialisable digest of a [`Measured`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadSummary {
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub seconds: f64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub per_second: Vec<u64>,
}

/// `concurrency` callers, each starting its next call when the last one answered. Calls finishing in
/// the warm-up are not counted; calls still running at the end are not waited for.
pub async fn closed_loop(call: CallFn, concurrency: usize, warmup: Duration, measure: Duration) -> Measured {
    let seq = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let start = begin + warmup;
    let end = start + measure;
    let seconds = measure.as_secs_f64().ceil() as usize;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let call = call.clone();
        let seq = seq.clone();
        tasks.spawn(async move {
            let mut m = Measured::empty(seconds);
            loop {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let result = call(n).await;
                let t1 = Instant::now();
                if t1 < start || t1 >= end {
                    continue;
                }
                match result {
                    Ok(()) => {
                        m.ok += 1;
                        let _ = m.latency.record(micros(t1 - t0));
                        let second = (t1 - start).as_secs() as usize;
                        if let Some(slot) = m.per_second.get_mut(second) {
                            *slot += 1;
                        }
                    }
                    Err(label) => *m.errors.entry(label).or_default() += 1,
                }
            }
            m
        });
    }
    let mut total = Measured::empty(seconds);
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(m) => total.merge(&m),
            Err(e) => {
                *total
                    .errors
                    .entry(format!("caller task failed: {e}"))
                    .or_default() += 1
            }
        }
    }
    total.elapsed = measure;
    total
}

/// Calls at `rate` per second for `measure`, each on its own task, whatever the answers take. At
/// most `max_in_flight` are outstanding; a call that would exceed it is counted as `shed by the
/// load generator` (so an overloaded server shows up as errors, not as a slower schedule).
pub async fn open_loop(call: CallFn, rate: f64, measure: Duration, max_in_flight: usize) -> Measured {
    let seconds = measure.as_secs_f64().ceil() as usize;
    let mut total = Measured::empty(seconds);
    if rate <= 0.0 {
        return total;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Duration, Result<(), String>)>();
    let in_flight = Arc::new(AtomicU64::new(0));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now() + Duration::from_millis(20);
    let end = start + measure;
    let collector = tokio::spawn(async move {
        let mut m = Measured::empty(seconds);
        while let Some((due, latency, result)) = rx.recv().await {
            match result {
                Ok(()) => {
                    m.ok += 1;
                    let _ = m.latency.record(micros(latency));
                    let second = due.saturating_duration_since(start).as_secs() as usize;
                    if let Some(slot) = m.per_second.get_mut(second) {
                        *slot += 1;
                    }
                }
                Err(label) => *m.errors.entry(label).or_default() += 1,
            }
        }
        m
    });
    let mut shed = 0u64;
    let mut k: u64 = 0;
    loop {
        let due = start + interval.mul_f64(k as f64);
        if due >= end {
            break;
        }
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        if in_flight.load(Ordering::Relaxed) >= max_in_flight as u64 {
            shed += 1;
        } else {
            in_flight.fetch_add(1, Ordering::Relaxed);
            let call = call.clone();
            let tx = tx.clone();
            let in_flight = in_flight.clone();
            tokio::spawn(async move {
                let result = call(k).await;
                let latency = due.elapsed();
                in_flight.fetch_sub(1, Ordering::Relaxed);
                let _ = tx.send((due, latency, result));
            });
        }
        k += 1;
    }
    drop(tx);
    // The calls still in flight have until 30 s after the schedule ended.
    match tokio::time::timeout(Duration::from_secs(30), collector).await {
        Ok(Ok(m)) => total = m,
        Ok(Err(e)) => {
            total.errors.insert(format!("collector failed: {e}"), 1);
        }
        Err(_) => {
            total
                .errors
                .insert("calls still running 30 s after the schedule".into(), 1);
        }
    }
    if shed > 0 {
        total.errors.insert("shed by the load generator".into(), shed);
    }
    total.elapsed = measure;
    total
}

/// Makes calls `0..total`, `concurrency` at a time; returns how many succeeded and the failures.
pub async fn run_count(call: CallFn, total: u64, concurrency: usize) -> (u64, BTreeMap<String, u64>) {
    use futures::StreamExt;
    let mut ok = 0;
    let mut errors = BTreeMap::new();
    let mut results = futures::stream::iter(0..total)
        .map(|n| call(n))
        .buffer_unordered(concurrency.max(1));
    while let Some(result) = results.next().await {
        match result {
            Ok(()) => ok += 1,
            Err(label) => *errors.entry(label).or_default() += 1,
        }
    }
    (ok, errors)
}
