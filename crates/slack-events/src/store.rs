//! The inbox's table (`slack_events`, migration 5001), one SQL text for both backends. An event is
//! stored once per receiver (the primary key refuses its retried deliveries), claimed with a lease
//! (a conditional update of `next_attempt_at`, as the revocation queue does), and kept a day after it
//! is done so that a late retry of it is still recognised.

use std::sync::Arc;

use ovice_slack_model::{OrgId, SlackTeamId, UnixMillis};
use ovice_slack_runtime::db::{Database, DbError, SqlBackend};

use crate::event::SlackEvent;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a stored event cannot be read back ({0}); it is skipped")]
    Unreadable(String),
}

/// An event waiting in the inbox, as a worker claims it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// The org whose own app's endpoint took it; `None` for the Connect app's.
    pub org_id: Option<OrgId>,
    pub event_id: String,
    pub team_id: SlackTeamId,
    pub event: SlackEvent,
    /// Attempts made, this one included.
    pub attempts: u32,
    pub received_at: UnixMillis,
}

/// Which stored event: its org (empty for the Connect app's endpoint) and Slack's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventKey {
    pub org_id: String,
    pub event_id: String,
}

impl StoredEvent {
    pub fn key(&self) -> EventKey {
        EventKey {
            org_id: self.org_id.as_ref().map(|o| o.to_string()).unwrap_or_default(),
            event_id: self.event_id.clone(),
        }
    }
}

#[async_trait::async_trait]
pub trait InboxStore: Send + Sync + 'static {
    /// Stores an event unless this receiver (and org, for an org's own app) already has it; says
    /// whether it was new.
    async fn insert(
        &self,
        receiver: &str,
        org_id: Option<&OrgId>,
        event_id: &str,
        team_id: &SlackTeamId,
        event: &SlackEvent,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;
    /// Claims up to `limit` of the receiver's events due at `now`, oldest first; each is left alone
    /// by other claimers until `lease_until`.
    async fn claim_due(
        &self,
        receiver: &str,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// Acted on (or given up): kept, done, until purged.
    async fn finish(
        &self,
        receiver: &str,
        event: &EventKey,
        now: UnixMillis,
        error: &str,
    ) -> Result<(), StoreError>;
    async fn reschedule(
        &self,
        receiver: &str,
        event: &EventKey,
        at: UnixMillis,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Removes events done before `before`; returns how many.
    async fn purge_done(&self, before: UnixMillis) -> Result<u64, StoreError>;
    /// The receiver's events not yet done.
    async fn pending(&self, receiver: &str) -> Result<u64, StoreError>;
}

const INSERT: &str = "INSERT INTO slack_events (receiver, org_id, event_id, team_id, kind, event, \
     received_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
     ON CONFLICT (receiver, org_id, event_id) DO NOTHING";

const SELECT_DUE: &str = "SELECT org_id, event_id, team_id, event, attempts, next_attempt_at, received_at \
     FROM slack_events WHERE receiver = $1 AND next_attempt_at <= $2 \
     ORDER BY next_attempt_at, received_at LIMIT $3";

/// Succeeds for exactly one claimer: the one that still sees the due time it read.
const CLAIM: &str = "UPDATE slack_events SET next_attempt_at = $5, attempts = attempts + 1 \
     WHERE receiver = $1 AND org_id = $2 AND event_id = $3 AND next_attempt_at = $4";

const FINISH: &str = "UPDATE slack_events SET next_attempt_at = NULL, done_at = $4, last_error = $5 \
     WHERE receiver = $1 AND org_id = $2 AND event_id = $3";

const RESCHEDULE: &str = "UPDATE slack_events SET next_attempt_at = $4, last_error = $5 \
     WHERE receiver = $1 AND org_id = $2 AND event_id = $3 AND done_at IS NULL";

const PURGE: &str = "DELETE FROM slack_events WHERE done_at < $1";

const PENDING: &str = "SELECT COUNT(*) FROM slack_events WHERE receiver = $1 AND next_attempt_at IS NOT NULL";

#[derive(sqlx::FromRow)]
pub struct DueRow {
    org_id: String,
    event_id: String,
    team_id: String,
    event: String,
    attempts: i64,
    next_attempt_at: i64,
    received_at: i64,
}

/// The inbox over either backend.
pub struct SqlInboxStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
}

#[async_trait::async_trait]
impl<DB> InboxStore for SqlInboxStore<DB>
where
    DB: SqlBackend,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> DueRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    async fn insert(
        &self,
        receiver: &str,
        org_id: Option<&OrgId>,
        event_id: &str,
        team_id: &SlackTeamId,
        event: &SlackEvent,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(event).map_err(|e| StoreError::Unreadable(e.to_string()))?;
        let r = sqlx::query(INSERT)
            .bind(receiver)
            .bind(org_id.map_or("", |o| o.as_str()))
            .bind(event_id)
            .bind(team_id.as_str())
            .bind(event.kind())
            .bind(json)
            .bind(now.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn claim_due(
        &self,
        receiver: &str,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let due: Vec<DueRow> = sqlx::query_as(SELECT_DUE)
            .bind(receiver)
            .bind(now.as_millis())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in due {
            let r = sqlx::query(CLAIM)
                .bind(receiver)
                .bind(row.org_id.as_str())
                .bind(row.event_id.as_str())
                .bind(row.next_attempt_at)
                .bind(lease_until.as_millis())
                .execute(&self.pool)
                .await?;
            if DB::rows_affected(&r) != 1 {
                continue;
            }
            let attempts = u32::try_from(row.attempts.saturating_add(1)).unwrap_or(u32::MAX);
            let key = EventKey {
                org_id: row.org_id,
                event_id: row.event_id,
            };
            match serde_json::from_str::<SlackEvent>(&row.event) {
                Ok(event) => claimed.push(StoredEvent {
                    org_id: (!key.org_id.is_empty()).then(|| OrgId::new(key.org_id.as_str())),
                    event_id: key.event_id,
                    team_id: SlackTeamId::new(row.team_id),
                    event,
                    attempts,
                    received_at: UnixMillis::from_millis(row.received_at),
                }),
                Err(e) => {
                    // Written by another version that this one cannot read: finished with the reason,
                    // rather than claimed again forever.
                    tracing::error!(receiver, event_id = %key.event_id, error = %e, "a stored slack event cannot be read; it is not acted on");
                    self.finish(receiver, &key, now, &format!("unreadable: {e}"))
                        .await?;
                }
            }
        }
        Ok(claimed)
    }

    async fn finish(
        &self,
        receiver: &str,
        event: &EventKey,
        now: UnixMillis,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(FINISH)
            .bind(receiver)
            .bind(event.org_id.as_str())
            .bind(event.event_id.as_str())
            .bind(now.as_millis())
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn reschedule(
        &self,
        receiver: &str,
        event: &EventKey,
        at: UnixMillis,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(RESCHEDULE)
            .bind(receiver)
            .bind(event.org_id.as_str())
            .bind(event.event_id.as_str())
            .bind(at.as_millis())
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_done(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let r = sqlx::query(PURGE)
            .bind(before.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r))
    }

    async fn pending(&self, receiver: &str) -> Result<u64, StoreError> {
        let (count,): (i64,) = sqlx::query_as(PENDING)
            .bind(receiver)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

/// Opens the inbox of the database's backend and runs its migration.
pub async fn open(db: &Database) -> Result<Arc<dyn InboxStore>, DbError> {
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    db.migrate(&SQLITE, &POSTGRES).await?;
    Ok(match db {
        Database::Sqlite(pool) => Arc::new(SqlInboxStore { pool: pool.clone() }),
        Database::Postgres(pool) => Arc::new(SqlInboxStore { pool: pool.clone() }),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ovice_slack_model::SlackUserId;
    use ovice_slack_runtime::test_support::{Backend, fresh_database};
    use rstest::rstest;

    use super::*;

    fn revoked(user: &str) -> SlackEvent {
        SlackEvent::TokensRevoked {
            people: vec![SlackUserId::new(user)],
            bot_users: vec![],
        }
    }

    /// An event is stored once per receiver, claimed once per lease, comes back after its lease, and
    /// once done is neither claimed again nor stored again until purged.
    #[rstest]
    #[case::sqlite(Backend::Sqlite)]
    #[case::postgres(Backend::Postgres)]
    #[tokio::test]
    async fn an_event_is_stored_once_claimed_once_and_remembered_after_done(#[case] backend: Backend) {
        let (db, _guard) = fresh_database(backend).await.unwrap();
        let store = open(&db).await.unwrap();
        let t = UnixMillis::from_millis;
        let team = SlackTeamId::new("T1");
        assert!(
            store
                .insert("connect", None, "Ev1", &team, &revoked("U1"), t(1_000))
                .await
                .unwrap()
        );
        assert!(
            !store
                .insert("connect", None, "Ev1", &team, &revoked("U2"), t(1_100))
                .await
                .unwrap()
        );
        // Another endpoint's event of the same id is another row; so is another org's.
        assert!(
            store
                .insert(
                    "org",
                    Some(&OrgId::new("o1")),
                    "Ev1",
                    &team,
                    &revoked("U3"),
                    t(1_000)
                )
                .await
                .unwrap()
        );
        assert_eq!(store.pending("connect").await.unwrap(), 1);

        let claimed = store.claim_due("connect", t(1_000), t(61_000), 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].attempts, &claimed[0].event), (1, &revoked("U1")));
        assert_eq!(claimed[0].org_id, None);
        assert!(
            store
                .claim_due("connect", t(2_000), t(62_000), 10)
                .await
                .unwrap()
                .is_empty()
        );
        // The lease ran out (the claimer died): the next one takes it, second attempt.
        let again = store
            .claim_due("connect", t(61_000), t(121_000), 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 2);

        store
            .finish("connect", &again[0].key(), t(62_000), "")
            .await
            .unwrap();
        assert_eq!(store.pending("connect").await.unwrap(), 0);
        assert!(
            store
                .claim_due("connect", t(999_000), t(1_059_000), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            !store
                .insert("connect", None, "Ev1", &team, &revoked("U1"), t(70_000))
                .await
                .unwrap()
        );
        // A late reschedule (a lease that ran out meanwhile) does not bring a done event back.
        store
            .reschedule("connect", &again[0].key(), t(80_000), "late")
            .await
            .unwrap();
        assert_eq!(store.pending("connect").await.unwrap(), 0);

        assert_eq!(store.purge_done(t(62_000)).await.unwrap(), 0);
        assert_eq!(store.purge_done(t(62_001)).await.unwrap(), 1);
        assert!(
            store
                .insert("connect", None, "Ev1", &team, &revoked("U1"), t(90_000))
                .await
                .unwrap()
        );
        assert!(
            store
                .insert(
                    "org",
                    Some(&OrgId::new("o2")),
                    "Ev1",
                    &team,
                    &revoked("U3"),
                    t(1_000)
                )
                .await
                .unwrap()
        );
        assert_eq!(store.pending("org").await.unwrap(), 2);
    }
}
