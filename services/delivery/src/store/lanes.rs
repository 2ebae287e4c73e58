//! Where the pacing lanes keep their time (`domain::pacing`): in this process's memory when it
//! serves the outbox alone (SQLite), in the database when replicas share it (PostgreSQL), so that
//! Slack's limits hold for the whole deployment rather than per process.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use ovice_slack_model::UnixMillis;
use ovice_slack_runtime::db::Database;

use super::StoreError;
use crate::domain::{Rate, Slot, take_slot};

#[async_trait::async_trait]
pub trait LaneStore: Send + Sync + 'static {
    /// Takes the next slot of lane `key` if it comes within `max_wait` of `now` (atomically: two
    /// replicas never take the same slot).
    async fn take(
        &self,
        key: &str,
        now: UnixMillis,
        rate: Rate,
        max_wait: Duration,
    ) -> Result<Slot, StoreError>;

    /// Moves the lane's time on to at least `tat` (Slack answered 429).
    async fn close(&self, key: &str, tat: UnixMillis) -> Result<(), StoreError>;

    /// Forgets lanes idle since before `before`. Returns how many.
    async fn prune(&self, before: UnixMillis) -> Result<u64, StoreError>;
}

/// The lanes of the store `db` opened (`store::open` has run the migrations).
pub fn open(db: &Database) -> std::sync::Arc<dyn LaneStore> {
    match db {
        Database::Sqlite(_) => std::sync::Arc::new(MemoryLanes::default()),
        Database::Postgres(pool) => std::sync::Arc::new(PgLanes { pool: pool.clone() }),
    }
}

#[derive(Default)]
pub struct MemoryLanes {
    tats: Mutex<HashMap<String, UnixMillis>>,
}

#[async_trait::async_trait]
impl LaneStore for MemoryLanes {
    async fn take(
        &self,
        key: &str,
        now: UnixMillis,
        rate: Rate,
        max_wait: Duration,
    ) -> Result<Slot, StoreError> {
        // Every change is one insert: a panic elsewhere leaves nothing half-done.
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        let slot = take_slot(tats.get(key).copied(), now, rate, max_wait);
        if let Slot::Taken { tat, .. } = slot {
            tats.insert(key.to_owned(), tat);
        }
        Ok(slot)
    }

    async fn close(&self, key: &str, tat: UnixMillis) -> Result<(), StoreError> {
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        let entry = tats.entry(key.to_owned()).or_insert(tat);
        *entry = (*entry).max(tat);
        Ok(())
    }

    async fn prune(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        let was = tats.len();
        tats.retain(|_, tat| *tat >= before);
        Ok((was - tats.len()) as u64)
    }
}

pub struct PgLanes {
    pool: sqlx::PgPool,
}

/// Creates the lane if new and locks its row until the transaction ends, returning its time.
const LOCK_LANE: &str = "INSERT INTO slack_pacing (lane, tat) VALUES ($1, 0) \
     ON CONFLICT (lane) DO UPDATE SET tat = slack_pacing.tat RETURNING tat";
const SET_LANE: &str = "UPDATE slack_pacing SET tat = $2 WHERE lane = $1";
const CLOSE_LANE: &str = "INSERT INTO slack_pacing (lane, tat) VALUES ($1, $2) \
     ON CONFLICT (lane) DO UPDATE SET tat = GREATEST(slack_pacing.tat, EXCLUDED.tat)";
const PRUNE_LANES: &str = "DELETE FROM slack_pacing WHERE tat < $1";

#[async_trait::async_trait]
impl LaneStore for PgLanes {
    async fn take(
        &self,
        key: &str,
        now: UnixMillis,
        rate: Rate,
        max_wait: Duration,
    ) -> Result<Slot, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (tat,): (i64,) = sqlx::query_as(LOCK_LANE).bind(key).fetch_one(&mut *tx).await?;
        let known = (tat > 0).then_some(UnixMillis::from_millis(tat));
        let slot = take_slot(known, now, rate, max_wait);
        if let Slot::Taken { tat, .. } = slot {
            sqlx::query(SET_LANE)
                .bind(key)
                .bind(tat.as_millis())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(slot)
    }

    async fn close(&self, key: &str, tat: UnixMillis) -> Result<(), StoreError> {
        sqlx::query(CLOSE_LANE)
            .bind(key)
            .bind(tat.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prune(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let pruned = sqlx::query(PRUNE_LANES)
            .bind(before.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(pruned.rows_affected())
    }
}
