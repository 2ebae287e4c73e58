//! Closed-loop load over StreamChatMessages: `streams` long-lived streams, each keeping `window`
//! messages outstanding (the gateway answers a stream in order, `--gateway-stream-concurrency` at
//! a time).

use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use ovice_slack_proto::v1::{
    Disposition, PublishChatMessageRequest, chat_event_service_client::ChatEventServiceClient,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, metadata::AsciiMetadataValue, transport::Channel};

use crate::{
    load::{Measured, histogram},
    office::{message, person},
};

pub struct StreamLoad {
    pub channels: Vec<Channel>,
    pub auth: AsciiMetadataValue,
    pub prefix: String,
    pub recipients: usize,
    pub streams: usize,
    pub window: usize,
}

pub async fn closed_loop(load: StreamLoad, warmup: Duration, measure: Duration) -> Measured {
    let begin = Instant::now();
    let start = begin + warmup;
    let end = start + measure;
    let seq = Arc::new(AtomicU64::new(0));
    let load = Arc::new(load);
    let mut tasks = tokio::task::JoinSet::new();
    for s in 0..load.streams.max(1) {
        let load = load.clone();
        let seq = seq.clone();
        tasks.spawn(async move {
            let channel = load.channels[s % load.channels.len()].clone();
            match one_stream(&load, channel, &seq, start, end).await {
                Ok(m) => m,
                Err(e) => {
                    let mut m = blank(end - start);
                    m.errors.insert(format!("stream failed: {e}"), 1);
                    m
                }
            }
        });
    }
    let mut total = blank(measure);
    while let Some(done) = tasks.join_next().await {
        if let Ok(m) = done {
            total.ok += m.ok;
            for (k, v) in m.errors {
                *total.errors.entry(k).or_default() += v;
            }
            let _ = total.latency.add(&m.latency);
            for (a, b) in total.per_second.iter_mut().zip(&m.per_second) {
                *a += b;
            }
        }
    }
    total.elapsed = measure;
    total
}

fn blank(measure: Duration) -> Measured {
    Measured {
        ok: 0,
        errors: Default::default(),
        elapsed: measure,
        latency: histogram(),
        per_second: vec![0; measure.as_secs_f64().ceil() as usize],
    }
}

async fn one_stream(
    load: &StreamLoad,
    channel: Channel,
    seq: &AtomicU64,
    start: Instant,
    end: Instant,
) -> anyhow::Result<Measured> {
    let mut m = blank(end - start);
    let (tx, rx) = mpsc::channel::<PublishChatMessageRequest>(load.window * 2 + 1);
    let next = || {
        let n = seq.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{n:010}", load.prefix);
        PublishChatMessageRequest {
            message: Some(message(&id, &person(n as usize % load.recipients.max(1)))),
            change: None,
        }
    };
    let mut sent: VecDeque<Instant> = VecDeque::with_capacity(load.window);
    for _ in 0..load.window.max(1) {
        tx.send(next()).await?;
        sent.push_back(Instant::now());
    }
    let mut request = Request::new(ReceiverStream::new(rx));
    request.metadata_mut().insert("authorization", load.auth.clone());
    let mut answers = ChatEventServiceClient::new(channel)
        .stream_chat_messages(request)
        .await?
        .into_inner();
    while let Some(answer) = answers.message().await? {
        let now = Instant::now();
        let Some(t0) = sent.pop_front() else { break };
        if now >= start && now < end {
            if answer.disposition == Disposition::Accepted as i32 && answer.error_code == 0 {
                m.ok += 1;
                let _ = m
                    .latency
                    .record(u64::try_from((now - t0).as_micros()).unwrap_or(u64::MAX).max(1));
                if let Some(slot) = m.per_second.get_mut((now - start).as_secs() as usize) {
                    *slot += 1;
                }
            } else {
                let label = if answer.error_code != 0 {
                    format!(
                        "stream item error {}: {}",
                        answer.error_code, answer.error_message
                    )
                } else {
                    format!("answered {:?}", answer.disposition())
                };
                *m.errors.entry(label).or_default() += 1;
            }
        }
        if now < end {
            tx.send(next()).await?;
            sent.push_back(Instant::now());
        } else if sent.is_empty() {
            break;
        }
    }
    drop(tx);
    Ok(m)
}
