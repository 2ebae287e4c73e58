use super::{
    Claim, Outcome, StoreError,
    sql::{
        CLAIM_TEMPLATE, COMPLETE, DeliveryRow, ERASE_TEXT_BEFORE, FAIL_PENDING_FOR_ORG, INSERT_TEMPLATE,
        LIST, NEXT_WAKEUP, PENDING_STATS, PROMOTE, PROMOTE_HEADS, RELEASE, RESCHEDULE, RETRY, SELECT_BY_ID,
        SELECT_BY_MESSAGE, claim_candidates, impl_outbox_store, insert_query, mode_str,
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

struct AnyoneMayWrite;

/// PostgreSQL takes concurrent writers as they come (its row locks order them, and concurrent
/// commits share WAL flushes), so every insert is its own one-statement transaction.
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

    async fn insert(&self, d: &Delivery) -> Result<(DeliveryRow, bool), StoreError> {
        if let Some(row) = insert_query!(self.insert_sql.as_str(), d)
            .fetch_optional(&self.pool)
            .await?
        {
            return Ok((row, true));
        }
        // ON CONFLICT waited for the conflicting insert to commit, so this sees its row.
        let row: DeliveryRow = sqlx::query_as(SELECT_BY_MESSAGE)
            .bind(&d.org_id)
            .bind(&d.message_id)
            .fetch_one(&self.pool)
            .await?;
        Ok((row, false))
    }
}
