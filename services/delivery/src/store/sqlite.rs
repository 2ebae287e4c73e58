//! The outbox on SQLite: one writer at a time, and the writes of accepts and outcomes
//! group-committed.

use std::sync::Arc;

use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{
    StoreError,
    sql::{
        Completion, DeliveryRow, INSERT_TEMPLATE, OutboxBackend, OutboxWriter, Releasing, Rescheduling,
        Statements, WriteTurn,
    },
};
use crate::domain::Delivery;

impl OutboxBackend for sqlx::Sqlite {
    // SQLite has one writer: BEGIN IMMEDIATE takes the write lock before the claim reads, so two
    // claimers (threads or processes on one file) run one after the other and never see the same
    // row unleased; inserts are serialised the same way.
    const CLAIM_LOCK: &'static str = "";
    const INSERT_LOCK: &'static str = "";
    type Writer = SqliteWriter;

    fn writer(pool: sqlx::SqlitePool) -> SqliteWriter {
        SqliteWriter::new(pool)
    }
}

type Lite = Statements<sqlx::Sqlite>;

/// At most this many writes share one transaction.
const MAX_BATCH: usize = 256;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write waiting for the next group commit.
enum Job {
    Insert(Box<Delivery>, Reply<(DeliveryRow, bool)>),
    Complete(Completion, Reply<bool>),
    Reschedule(Rescheduling, Reply<bool>),
    Release(Releasing, Reply<bool>),
}

/// A write that ran, waiting for its transaction to commit before its caller hears the result.
enum Ran {
    Insert(
        Reply<(DeliveryRow, bool)>,
        Box<Result<(DeliveryRow, bool), StoreError>>,
    ),
    Flag(Reply<bool>, Result<bool, StoreError>),
}

/// SQLite's writers of this process. They take turns at an async, first-come-first-served gate
/// instead of meeting in SQLite's busy handler (which sleeps and retries, and made the tail latency
/// of accepting hundreds of milliseconds). The writes of every message, accepting it and recording
/// how its delivery went, are group-committed: whatever arrived while the previous transaction was
/// committing goes into the next one, so one WAL sync makes a whole batch durable before any of its
/// callers hears back. (Claims and the rarer writes take the gate for a transaction of their own.)
#[derive(Clone, Debug)]
pub(super) struct SqliteWriter {
    gate: Arc<Mutex<()>>,
    jobs: mpsc::UnboundedSender<Job>,
}

impl SqliteWriter {
    fn new(pool: sqlx::SqlitePool) -> Self {
        let gate = Arc::new(Mutex::new(()));
        let (jobs, queue) = mpsc::unbounded_channel();
        // Ends when the store (every sender) is gone.
        tokio::spawn(group_commit(pool, gate.clone(), queue));
        Self { gate, jobs }
    }

    async fn submit<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(job(reply)).map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

#[async_trait::async_trait]
impl OutboxWriter for SqliteWriter {
    async fn turn(&self) -> WriteTurn<'_> {
        Some(self.gate.lock().await)
    }

    async fn insert(&self, d: Delivery) -> Result<(DeliveryRow, bool), StoreError> {
        self.submit(|reply| Job::Insert(Box::new(d), reply)).await
    }

    async fn complete(&self, c: Completion) -> Result<bool, StoreError> {
        self.submit(|reply| Job::Complete(c, reply)).await
    }

    async fn reschedule(&self, r: Rescheduling) -> Result<bool, StoreError> {
        self.submit(|reply| Job::Reschedule(r, reply)).await
    }

    async fn release(&self, r: Releasing) -> Result<bool, StoreError> {
        self.submit(|reply| Job::Release(r, reply)).await
    }

    /// One process serves a SQLite outbox: nobody else to tell.
    async fn announce(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn listen(&self, _wake: Arc<Notify>, _stop: CancellationToken) {}
}

async fn group_commit(pool: sqlx::SqlitePool, gate: Arc<Mutex<()>>, mut queue: mpsc::UnboundedReceiver<Job>) {
    let insert_sql = INSERT_TEMPLATE.replace("{lock}", sqlx::Sqlite::INSERT_LOCK);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let turn = gate.lock().await;
        let outcome = run_batch(&pool, &insert_sql, &mut batch).await;
        drop(turn);
        match outcome {
            Ok(ran) => {
                // A caller that went away (its request was cancelled) needs no answer.
                for r in ran {
                    match r {
                        Ran::Insert(reply, result) => drop(reply.send(*result)),
                        Ran::Flag(reply, result) => drop(reply.send(result)),
                    }
                }
            }
            Err((e, ran)) => {
                // Nothing of the batch was committed; every caller hears so (an accept may be
                // published again, an outcome is written again by the worker's retry).
                tracing::error!(error = %e, count = ran.len(), "a group commit of the delivery store failed");
                let message = e.to_string();
                for r in ran {
                    match r {
                        Ran::Insert(reply, _) => {
                            drop(reply.send(Err(StoreError::BatchFailed(message.clone()))))
                        }
                        Ran::Flag(reply, _) => {
                            drop(reply.send(Err(StoreError::BatchFailed(message.clone()))))
                        }
                    }
                }
            }
        }
    }
}

/// Runs the jobs in one transaction. A job whose statement fails gets its error and the others go
/// on (SQLite undoes just that statement); a failed begin or commit fails them all.
async fn run_batch(
    pool: &sqlx::SqlitePool,
    insert_sql: &str,
    batch: &mut Vec<Job>,
) -> Result<Vec<Ran>, (StoreError, Vec<Ran>)> {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return Err((e.into(), batch.drain(..).map(not_run).collect())),
    };
    let mut ran = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        let conn = &mut *tx;
        ran.push(match job {
            Job::Insert(d, reply) => Ran::Insert(reply, Box::new(Lite::insert(conn, insert_sql, &d).await)),
            Job::Complete(c, reply) => Ran::Flag(reply, Lite::complete(conn, &c).await),
            Job::Reschedule(r, reply) => Ran::Flag(reply, Lite::reschedule(conn, &r).await),
            Job::Release(r, reply) => Ran::Flag(reply, Lite::release(conn, &r).await),
        });
    }
    match tx.commit().await {
        Ok(()) => Ok(ran),
        Err(e) => Err((e.into(), ran)),
    }
}

/// A job that never ran: its answer is the batch's error, given by the caller of `run_batch`.
fn not_run(job: Job) -> Ran {
    match job {
        Job::Insert(_, reply) => Ran::Insert(reply, Box::new(Err(StoreError::WriterGone))),
        Job::Complete(_, reply) | Job::Reschedule(_, reply) | Job::Release(_, reply) => {
            Ran::Flag(reply, Err(StoreError::WriterGone))
        }
    }
}
