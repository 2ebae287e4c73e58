use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard, mpsc, oneshot};

use super::{
    Claim, Outcome, StoreError,
    sql::{
        CLAIM_TEMPLATE, COMPLETE, DeliveryRow, ERASE_TEXT_BEFORE, FAIL_PENDING_FOR_ORG, INSERT_TEMPLATE,
        LIST, NEXT_WAKEUP, PENDING_STATS, PROMOTE, PROMOTE_HEADS, RELEASE, RESCHEDULE, RETRY, SELECT_BY_ID,
        SELECT_BY_MESSAGE, claim_candidates, impl_outbox_store, insert_query, mode_str,
    },
};
use crate::domain::{Delivery, DeliveryMode, DeliveryStatus, SkipReason};

// SQLite has one writer: BEGIN IMMEDIATE takes the write lock before the claim reads, so two
// claimers (threads or processes on one file) run one after the other and never see the same row
// unleased.
impl_outbox_store!(
    SqliteOutboxStore,
    sqlx::SqlitePool,
    "BEGIN IMMEDIATE",
    "",
    SqliteWriter
);

/// At most this many inserts share one transaction.
const MAX_BATCH: usize = 256;

type InsertReply = oneshot::Sender<Result<(DeliveryRow, bool), StoreError>>;

/// SQLite's writers of this process: they take turns at an async, first-come-first-served gate
/// instead of meeting in SQLite's busy handler (which sleeps and retries, and made the tail
/// latency of accepting hundreds of milliseconds), and inserts are group-committed: whatever
/// arrived while the previous transaction was committing goes into the next one, so one WAL sync
/// makes a whole batch durable before any of its callers is answered.
#[derive(Clone, Debug)]
struct SqliteWriter {
    gate: Arc<Mutex<()>>,
    inserts: mpsc::UnboundedSender<(Delivery, InsertReply)>,
}

impl SqliteWriter {
    fn new(pool: sqlx::SqlitePool) -> Self {
        let gate = Arc::new(Mutex::new(()));
        let (inserts, queue) = mpsc::unbounded_channel();
        // Ends when the store (every sender) is gone.
        tokio::spawn(commit_inserts(pool, gate.clone(), queue));
        Self { gate, inserts }
    }

    async fn turn(&self) -> MutexGuard<'_, ()> {
        self.gate.lock().await
    }

    async fn insert(&self, d: &Delivery) -> Result<(DeliveryRow, bool), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inserts
            .send((d.clone(), reply))
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn commit_inserts(
    pool: sqlx::SqlitePool,
    gate: Arc<Mutex<()>>,
    mut queue: mpsc::UnboundedReceiver<(Delivery, InsertReply)>,
) {
    let insert_sql = INSERT_TEMPLATE.replace("{lock}", "");
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let turn = gate.lock().await;
        let result = insert_batch(&pool, &insert_sql, &batch).await;
        drop(turn);
        match result {
            Ok(rows) => {
                for ((_, reply), row) in batch.drain(..).zip(rows) {
                    // A caller that went away (its request was cancelled) needs no answer.
                    let _ = reply.send(Ok(row));
                }
            }
            Err(e) => {
                // Nothing of the batch was stored; each caller hears so and may publish again.
                tracing::error!(error = %e, count = batch.len(), "storing a batch of deliveries failed");
                let message = e.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::BatchFailed(message.clone())));
                }
            }
        }
    }
}

async fn insert_batch(
    pool: &sqlx::SqlitePool,
    insert_sql: &str,
    batch: &[(Delivery, InsertReply)],
) -> Result<Vec<(DeliveryRow, bool)>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut rows = Vec::with_capacity(batch.len());
    for (d, _) in batch {
        let row = match insert_query!(insert_sql, d).fetch_optional(&mut *tx).await? {
            Some(row) => (row, true),
            // Stored before, maybe earlier in this very batch.
            None => (
                sqlx::query_as(SELECT_BY_MESSAGE)
                    .bind(&d.org_id)
                    .bind(&d.message_id)
                    .fetch_one(&mut *tx)
                    .await?,
                false,
            ),
        };
        rows.push(row);
    }
    tx.commit().await?;
    Ok(rows)
}
