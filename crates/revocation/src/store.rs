//! The queue's table (`slack_token_revocations`, migration 4001), one SQL text for both backends.
//! Rows are claimed with a lease (a conditional update of `next_attempt_at`), so replicas draining the
//! same kind never call Slack twice for one row at once.

use std::sync::Arc;

use ovice_slack_model::{OrgId, UnixMillis};
use ovice_slack_runtime::db::{Database, DbError, SqlBackend};
use ovice_slack_secrets::SealedToken;

use crate::domain::{RevokeReason, TokenKind};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A revocation as stored: the token sealed with [`crate::sealing_context`] of its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRevocation {
    pub id: String,
    pub org_id: OrgId,
    pub reason: String,
    pub token: SealedToken,
    /// Attempts made before this one.
    pub attempts: u32,
    pub next_attempt_at: UnixMillis,
}

#[async_trait::async_trait]
pub trait QueueStore: Send + Sync + 'static {
    async fn insert(
        &self,
        kind: TokenKind,
        id: &str,
        org_id: &OrgId,
        reason: RevokeReason,
        token: &SealedToken,
        now: UnixMillis,
    ) -> Result<(), StoreError>;
    /// Claims up to `limit` rows of `kind` due at `now`: each comes back with its attempt counted and
    /// is left alone by other claimers until `lease_until`.
    async fn claim_due(
        &self,
        kind: TokenKind,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: i64,
    ) -> Result<Vec<QueuedRevocation>, StoreError>;
    /// Done (revoked, already dead, or given up).
    async fn remove(&self, id: &str) -> Result<(), StoreError>;
    async fn reschedule(&self, id: &str, at: UnixMillis, error: &str) -> Result<(), StoreError>;
    /// Rows of `kind` still waiting.
    async fn pending(&self, kind: TokenKind) -> Result<u64, StoreError>;
}

const INSERT: &str = "INSERT INTO slack_token_revocations (id, kind, org_id, reason, token_key_id, \
     token_ciphertext, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)";

const SELECT_DUE: &str = "SELECT id, org_id, reason, token_key_id, token_ciphertext, attempts, next_attempt_at \
     FROM slack_token_revocations WHERE kind = $1 AND next_attempt_at <= $2 \
     ORDER BY next_attempt_at, id LIMIT $3";

/// Succeeds for exactly one claimer of a row: the one that still sees the due time it read.
const CLAIM: &str = "UPDATE slack_token_revocations SET next_attempt_at = $3, attempts = attempts + 1 \
     WHERE id = $1 AND next_attempt_at = $2";

const REMOVE: &str = "DELETE FROM slack_token_revocations WHERE id = $1";

const RESCHEDULE: &str =
    "UPDATE slack_token_revocations SET next_attempt_at = $2, last_error = $3 WHERE id = $1";

const PENDING: &str = "SELECT COUNT(*) FROM slack_token_revocations WHERE kind = $1";

#[derive(sqlx::FromRow)]
pub struct DueRow {
    id: String,
    org_id: String,
    reason: String,
    token_key_id: String,
    token_ciphertext: Vec<u8>,
    attempts: i64,
    next_attempt_at: i64,
}

impl From<DueRow> for QueuedRevocation {
    fn from(r: DueRow) -> Self {
        QueuedRevocation {
            id: r.id,
            org_id: OrgId::new(r.org_id),
            reason: r.reason,
            token: SealedToken {
                key_id: r.token_key_id,
                ciphertext: r.token_ciphertext,
            },
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            next_attempt_at: UnixMillis::from_millis(r.next_attempt_at),
        }
    }
}

/// The queue over either backend.
pub struct SqlQueueStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
}

#[async_trait::async_trait]
impl<DB> QueueStore for SqlQueueStore<DB>
where
    DB: SqlBackend,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> DueRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    async fn insert(
        &self,
        kind: TokenKind,
        id: &str,
        org_id: &OrgId,
        reason: RevokeReason,
        token: &SealedToken,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(INSERT)
            .bind(id)
            .bind(kind.as_str())
            .bind(org_id.as_str())
            .bind(reason.as_str())
            .bind(&token.key_id)
            .bind(&token.ciphertext)
            .bind(now.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn claim_due(
        &self,
        kind: TokenKind,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: i64,
    ) -> Result<Vec<QueuedRevocation>, StoreError> {
        let due: Vec<DueRow> = sqlx::query_as(SELECT_DUE)
            .bind(kind.as_str())
            .bind(now.as_millis())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in due {
            let r = sqlx::query(CLAIM)
                .bind(&row.id)
                .bind(row.next_attempt_at)
                .bind(lease_until.as_millis())
                .execute(&self.pool)
                .await?;
            if DB::rows_affected(&r) == 1 {
                let mut queued = QueuedRevocation::from(row);
                queued.attempts = queued.attempts.saturating_add(1);
                claimed.push(queued);
            }
        }
        Ok(claimed)
    }

    async fn remove(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query(REMOVE).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn reschedule(&self, id: &str, at: UnixMillis, error: &str) -> Result<(), StoreError> {
        sqlx::query(RESCHEDULE)
            .bind(id)
            .bind(at.as_millis())
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn pending(&self, kind: TokenKind) -> Result<u64, StoreError> {
        let (count,): (i64,) = sqlx::query_as(PENDING)
            .bind(kind.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

/// Opens the queue of the database's backend and runs its migration.
pub async fn open(db: &Database) -> Result<Arc<dyn QueueStore>, DbError> {
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    db.migrate(&SQLITE, &POSTGRES).await?;
    Ok(match db {
        Database::Sqlite(pool) => Arc::new(SqlQueueStore { pool: pool.clone() }),
        Database::Postgres(pool) => Arc::new(SqlQueueStore { pool: pool.clone() }),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ovice_slack_runtime::test_support::{Backend, fresh_database};
    use rstest::rstest;

    use super::*;

    fn sealed(n: u8) -> SealedToken {
        SealedToken {
            key_id: "k1".into(),
            ciphertext: vec![n; 4],
        }
    }

    /// Claims are exclusive while leased, reappear after the lease, and count attempts; rows of the
    /// other kind are never touched.
    #[rstest]
    #[case::sqlite(Backend::Sqlite)]
    #[case::postgres(Backend::Postgres)]
    #[tokio::test]
    async fn rows_are_claimed_once_per_lease_and_only_by_their_kind(#[case] backend: Backend) {
        let (db, _guard) = fresh_database(backend).await.unwrap();
        let store = open(&db).await.unwrap();
        let t = UnixMillis::from_millis;
        let org = OrgId::new("org-1");
        store
            .insert(
                TokenKind::User,
                "a",
                &org,
                RevokeReason::Disconnected,
                &sealed(1),
                t(1_000),
            )
            .await
            .unwrap();
        store
            .insert(
                TokenKind::Bot,
                "b",
                &org,
                RevokeReason::WorkspaceRemoved,
                &sealed(2),
                t(1_000),
            )
            .await
            .unwrap();
        assert_eq!(store.pending(TokenKind::User).await.unwrap(), 1);

        assert!(
            store
                .claim_due(TokenKind::User, t(999), t(5_000), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let first = store
            .claim_due(TokenKind::User, t(1_000), t(61_000), 10)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            (
                first[0].id.as_str(),
                first[0].attempts,
                first[0].reason.as_str(),
                &first[0].token
            ),
            ("a", 1, "disconnected", &sealed(1))
        );
        // Leased: a second claimer gets nothing until the lease ends.
        assert!(
            store
                .claim_due(TokenKind::User, t(60_000), t(120_000), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let again = store
            .claim_due(TokenKind::User, t(61_000), t(121_000), 10)
            .await
            .unwrap();
        assert_eq!(again[0].attempts, 2);

        store.reschedule("a", t(200_000), "HTTP 503").await.unwrap();
        assert!(
            store
                .claim_due(TokenKind::User, t(199_999), t(1), 10)
                .await
                .unwrap()
                .is_empty()
        );
        store.remove("a").await.unwrap();
        assert_eq!(store.pending(TokenKind::User).await.unwrap(), 0);
        assert_eq!(store.pending(TokenKind::Bot).await.unwrap(), 1);
    }
}
