use super::{
    Claim, Outcome, StoreError,
    sql::{
        CLAIM_TEMPLATE, COMPLETE, Completion, DeliveryRow, ERASE_TEXT_BEFORE, FAIL_PENDING_FOR_ORG,
        INSERT_TEMPLATE, LIST, NEXT_WAKEUP, PENDING_STATS, PROMOTE, PROMOTE_HEADS, RELEASE, RESCHEDULE,
        RETRY, Releasing, Rescheduling, SELECT_BY_ID, SELECT_BY_MESSAGE, claim_candidates, impl_outbox_store,
        impl_outbox_writes, insert_query, mode_str,
    },
};
use crate::domain::{Delivery, DeliveryMode, DeliveryStatus, SkipReason};

// Claimers in several processes share the rows: each locks the rows it takes and skips those
// another claimer is taking at the same moment, instead of waiting for them.
impl_outbox_store!(
    PostgresOutboxStore,
    sqlx::PgPool,
    "BEGIN",
    " FOR UPDATE SKIP LOCKED",
    PgWriter
);

impl_outbox_writes!(sqlx::PgConnection);

struct AnyoneMayWrite;

/// PostgreSQL takes concurrent writers as they come (its row locks order them, and concurrent
/// commits share WAL flushes), so every write is a transaction of its own on a pooled connection.
#[derive(Clone, Debug)]
struct PgWriter {
    pool: sqlx::PgPool,
    insert_sql: String,
}

impl PgWriter {
    fn new(pool: sqlx::PgPool) -> Self {
        Self {
            pool,
            insert_sql: INSERT_TEMPLATE.replace("{lock}", " FOR SHARE"),
        }
    }

    /// Nobody waits for a turn.
    async fn turn(&self) -> AnyoneMayWrite {
        AnyoneMayWrite
    }

    async fn insert(&self, d: Delivery) -> Result<(DeliveryRow, bool), StoreError> {
        // One statement, no transaction around it: an accept is one round trip.
        let mut conn = self.pool.acquire().await?;
        insert_in(&mut conn, &self.insert_sql, &d).await
    }

    async fn complete(&self, c: Completion) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = complete_in(&mut tx, &c).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn reschedule(&self, r: Rescheduling) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        reschedule_in(&mut conn, &r).await
    }

    async fn release(&self, r: Releasing) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        release_in(&mut conn, &r).await
    }
}
