//! The outbox on PostgreSQL: several processes claim from one table; accepts are group-committed,
//! every other write is a transaction of its own.

use std::{sync::Arc, time::Duration};

use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{
    StoreError,
    group_commit::{BatchBackend, GroupCommit, Job, Written},
    sql::{
        Completion, DeliveryRow, INSERT_TEMPLATE, OutboxBackend, OutboxWriter, Releasing, Rescheduling,
        Statements, WriteTurn,
    },
};
use crate::domain::Delivery;

impl OutboxBackend for sqlx::Postgres {
    // Claimers in several processes share the rows: each locks the rows it takes and skips those
    // another claimer is taking at the same moment, instead of waiting for them.
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const IN: &'static str = " = ANY(ARRAY(";
    const END_IN: &'static str = "))";
    const PER_ROW: &'static str = " OFFSET 0";
    // The earlier row of a conversation cannot leave PENDING before the insert behind it commits.
    const INSERT_LOCK: &'static str = " FOR SHARE";
    // The two-key form, in a space of its own (31601 is the outbox's conversations).
    const LOCK_CONVERSATION_OF_ID: &'static str = "SELECT pg_advisory_xact_lock(31601, \
         hashtext(org_id || '/' || recipient_user_id)) FROM deliveries WHERE delivery_id = $1";
    const LOCK_CONVERSATION_OF_MESSAGE: &'static str = "SELECT pg_advisory_xact_lock(31601, \
         hashtext(org_id || '/' || recipient_user_id)) FROM deliveries WHERE org_id = $1 AND message_id = $2";
    type Writer = PgWriter;

    fn writer(pool: sqlx::PgPool) -> PgWriter {
        let insert_sql = INSERT_TEMPLATE.replace("{lock}", Self::INSERT_LOCK);
        PgWriter {
            accepts: GroupCommit::start(pool.clone(), insert_sql, ACCEPT_COMMITTERS, None),
            pool,
        }
    }
}

type Pg = Statements<sqlx::Postgres>;

#[async_trait::async_trait]
impl BatchBackend for sqlx::Postgres {
    const BEGIN: &'static str = "BEGIN";
    const STATEMENT_FAILURE_ABORTS: bool = true;

    async fn write(conn: &mut sqlx::PgConnection, insert_sql: &str, job: &Job) -> Written {
        match job {
            Job::Insert(d, _) => Written::Row(Box::new(Pg::insert(conn, insert_sql, d).await)),
            Job::Complete(c, _) => Written::Flag(Pg::complete(conn, c).await),
            Job::Reschedule(r, _) => Written::Flag(Pg::reschedule(conn, r).await),
            Job::Release(r, _) => Written::Flag(Pg::release(conn, r).await),
        }
    }
}

/// Transactions of accepts open at once per process: while one commits, the next batch fills.
/// (Each holds one of the pool's connections while it runs.)
const ACCEPT_COMMITTERS: usize = 2;

/// PostgreSQL takes concurrent writers as they come (its row locks order them). Accepts, the
/// hot path of ingest, are group-committed: one commit, one WAL flush for every accept that
/// arrived while the previous batch committed. Outcomes stay transactions of their own (the
/// workers of several processes write them, and concurrent commits share WAL flushes anyway).
#[derive(Clone, Debug)]
pub(super) struct PgWriter {
    pool: sqlx::PgPool,
    accepts: GroupCommit,
}

#[async_trait::async_trait]
impl OutboxWriter for PgWriter {
    /// Nobody waits for a turn.
    async fn turn(&self) -> WriteTurn<'_> {
        None
    }

    async fn insert(&self, d: Delivery) -> Result<(DeliveryRow, bool), StoreError> {
        self.accepts.submit(|reply| Job::Insert(Box::new(d), reply)).await
    }

    async fn complete(&self, c: Completion) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(<sqlx::Postgres as OutboxBackend>::LOCK_CONVERSATION_OF_ID)
            .bind(c.delivery_id.as_str())
            .execute(&mut *tx)
            .await?;
        let done = Pg::complete(&mut tx, &c).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn reschedule(&self, r: Rescheduling) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Pg::reschedule(&mut conn, &r).await
    }

    async fn release(&self, r: Releasing) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Pg::release(&mut conn, &r).await
    }

    /// Outside the accept's own statement: a NOTIFY takes a lock that serialises commits, so the
    /// caller coalesces announcements (a few per second at most) instead of one per accept.
    async fn announce(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(NEW_WORK_CHANNEL)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn listen(&self, wake: Arc<Notify>, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let mut listener = match PgListener::connect_with(&self.pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other replicas' new deliveries; polling meanwhile");
                    pause(&stop).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(NEW_WORK_CHANNEL).await {
                tracing::warn!(error = %e, "cannot listen for other replicas' new deliveries; polling meanwhile");
                pause(&stop).await;
                continue;
            }
            // Announcements made while nobody listened are lost: look once now.
            wake.notify_one();
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    got = listener.recv() => match got {
                        Ok(_) => wake.notify_one(),
                        Err(e) => {
                            tracing::warn!(error = %e, "listening for other replicas' new deliveries failed; reconnecting");
                            break;
                        }
                    },
                }
            }
            pause(&stop).await;
        }
    }
}

/// The channel the replicas announce new deliveries on.
const NEW_WORK_CHANNEL: &str = "ovice_slack_new_deliveries";

async fn pause(stop: &CancellationToken) {
    tokio::select! {
        () = stop.cancelled() => {}
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
}
