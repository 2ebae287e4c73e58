//! Group commit of the outbox's hot writes (accepts, and on SQLite the outcomes too), for either
//! backend: whatever arrived while a transaction was committing goes into the next one, so one
//! WAL flush makes a whole batch durable, and nobody hears back before the commit that carries
//! their write.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use super::{
    StoreError,
    sql::{Completion, DeliveryRow, Releasing, Rescheduling},
};
use crate::domain::Delivery;

/// At most this many writes share one transaction.
const MAX_BATCH: usize = 256;

pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write waiting for the next group commit, and who waits for its result.
pub(super) enum Job {
    Insert(Box<Delivery>, Reply<(DeliveryRow, bool)>),
    Complete(Completion, Reply<bool>),
    Reschedule(Rescheduling, Reply<bool>),
    Release(Releasing, Reply<bool>),
}

/// What a write gave, held until its transaction commits.
pub(super) enum Written {
    Row(Box<Result<(DeliveryRow, bool), StoreError>>),
    Flag(Result<bool, StoreError>),
}

impl Written {
    fn failed(&self) -> bool {
        match self {
            Written::Row(result) => result.is_err(),
            Written::Flag(result) => result.is_err(),
        }
    }
}

impl Job {
    /// A caller that went away (its request was cancelled) needs no answer.
    fn answer(self, written: Written) {
        match (self, written) {
            (Job::Insert(_, reply), Written::Row(result)) => drop(reply.send(*result)),
            (
                Job::Complete(_, reply) | Job::Reschedule(_, reply) | Job::Release(_, reply),
                Written::Flag(result),
            ) => drop(reply.send(result)),
            (job, _) => job.fail("a write's result did not match the write"),
        }
    }

    fn fail(self, message: &str) {
        let error = || StoreError::BatchFailed(message.to_owned());
        match self {
            Job::Insert(_, reply) => drop(reply.send(Err(error()))),
            Job::Complete(_, reply) | Job::Reschedule(_, reply) | Job::Release(_, reply) => {
                drop(reply.send(Err(error())))
            }
        }
    }
}

/// How a backend carries out one write on a connection (inside the batch's transaction).
#[async_trait::async_trait]
pub(super) trait BatchBackend: sqlx::Database {
    /// What opens a batch's transaction.
    const BEGIN: &'static str;
    /// After a failed statement the transaction can still commit the others (SQLite undoes just
    /// that statement); PostgreSQL aborts the whole transaction instead, so there the batch is
    /// rolled back and each of its writes runs alone.
    const STATEMENT_FAILURE_ABORTS: bool;

    async fn write(conn: &mut Self::Connection, insert_sql: &str, job: &Job) -> Written;
}

/// Where a process's grouped writes go.
#[derive(Clone, Debug)]
pub(super) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Job>,
}

impl GroupCommit {
    /// `committers` transactions may be open at once (SQLite: one, behind `gate`, the turn every
    /// writer of the process takes). The tasks end when every `GroupCommit` clone is gone.
    pub(super) fn start<DB: BatchBackend>(
        pool: sqlx::Pool<DB>,
        insert_sql: String,
        committers: usize,
        gate: Option<Arc<Mutex<()>>>,
    ) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        let queue = Arc::new(Mutex::new(queue));
        let insert_sql: Arc<str> = insert_sql.into();
        for _ in 0..committers.max(1) {
            tokio::spawn(commit_loop(
                pool.clone(),
                insert_sql.clone(),
                queue.clone(),
                gate.clone(),
            ));
        }
        Self { jobs }
    }

    pub(super) async fn submit<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(job(reply)).map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn commit_loop<DB: BatchBackend>(
    pool: sqlx::Pool<DB>,
    insert_sql: Arc<str>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    gate: Option<Arc<Mutex<()>>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        // One committer takes what is waiting; the others take what arrives meanwhile.
        if queue.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let turn = match &gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        let outcome = run_batch(&pool, &insert_sql, &batch).await;
        drop(turn);
        match outcome {
            Ok(written) => {
                for (job, written) in batch.drain(..).zip(written) {
                    job.answer(written);
                }
            }
            Err(Aborted::Redo) => {
                // One write failed and took the transaction with it: each runs alone now, so
                // only the write that fails hears of it.
                for job in batch.drain(..) {
                    let written = run_alone(&pool, &insert_sql, &job).await;
                    job.answer(written);
                }
            }
            Err(Aborted::Failed(e)) => {
                // Nothing of the batch was committed; every caller hears so (an accept may be
                // published again, an outcome is written again by the worker's retry).
                tracing::error!(error = %e, count = batch.len(), "a group commit of the delivery store failed");
                let message = e.to_string();
                batch.drain(..).for_each(|job| job.fail(&message));
            }
        }
    }
}

enum Aborted {
    /// The batch's transaction could not begin or commit.
    Failed(StoreError),
    /// A statement failed where that aborts the transaction: the jobs are to run one by one.
    Redo,
}

/// Runs the jobs in one transaction; a failed begin or commit fails them all.
async fn run_batch<DB: BatchBackend>(
    pool: &sqlx::Pool<DB>,
    insert_sql: &str,
    batch: &[Job],
) -> Result<Vec<Written>, Aborted> {
    if let [job] = batch
        && DB::STATEMENT_FAILURE_ABORTS
    {
        // Nothing to share: one statement in autocommit is one round trip.
        return Ok(vec![run_alone(pool, insert_sql, job).await]);
    }
    let mut tx = pool
        .begin_with(DB::BEGIN)
        .await
        .map_err(|e| Aborted::Failed(e.into()))?;
    let mut written = Vec::with_capacity(batch.len());
    for job in batch {
        let result = DB::write(&mut *tx, insert_sql, job).await;
        if result.failed() && DB::STATEMENT_FAILURE_ABORTS {
            drop(tx.rollback().await);
            return Err(Aborted::Redo);
        }
        written.push(result);
    }
    tx.commit().await.map_err(|e| Aborted::Failed(e.into()))?;
    Ok(written)
}

/// One write in a transaction of its own: an accept is one statement (autocommit), an outcome
/// may be several.
async fn run_alone<DB: BatchBackend>(pool: &sqlx::Pool<DB>, insert_sql: &str, job: &Job) -> Written {
    let failed = |e: sqlx::Error| match job {
        Job::Insert(..) => Written::Row(Box::new(Err(e.into()))),
        _ => Written::Flag(Err(e.into())),
    };
    if let Job::Insert(..) = job {
        return match pool.acquire().await {
            Ok(mut conn) => DB::write(&mut conn, insert_sql, job).await,
            Err(e) => failed(e),
        };
    }
    let mut tx = match pool.begin_with(DB::BEGIN).await {
        Ok(tx) => tx,
        Err(e) => return failed(e),
    };
    let written = DB::write(&mut *tx, insert_sql, job).await;
    if written.failed() {
        drop(tx.rollback().await);
        return written;
    }
    match tx.commit().await {
        Ok(()) => written,
        Err(e) => failed(e),
    }
}
