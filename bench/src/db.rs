//! B2 and B3: what the databases alone can commit, one single-row insert per transaction, through
//! the service's own connection code (`ovice_slack_runtime::db::Database`: the same pragmas — WAL,
//! synchronous=FULL, busy_timeout — and pool settings) and the service's way of beginning a write
//! (`BEGIN IMMEDIATE` on SQLite).

use std::sync::Arc;

use futures::FutureExt;
use ovice_slack_runtime::db::Database;
use secrecy::SecretString;

use crate::load::CallFn;

const CREATE: &str = "CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY NOT NULL, \
                      org_id TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)";
const INSERT: &str = "INSERT INTO bench_rows (id, org_id, payload, created_at) VALUES ($1, $2, $3, $4)";

/// Connects with the service's settings and creates the table.
pub async fn open(url: &SecretString, max_connections: u32) -> anyhow::Result<Database> {
    let db = Database::connect(url, max_connections).await?;
    match &db {
        Database::Sqlite(pool) => {
            sqlx::query(CREATE).execute(pool).await?;
        }
        Database::Postgres(pool) => {
            sqlx::query(CREATE).execute(pool).await?;
        }
    }
    Ok(db)
}

/// One committed single-row insert per call; the row is as wide as a delivery's text columns.
pub fn insert_caller(db: Database, prefix: String, payload_bytes: usize) -> CallFn {
    let payload: Arc<str> = "x".repeat(payload_bytes).into();
    let prefix: Arc<str> = prefix.into();
    Arc::new(move |n| {
        let db = db.clone();
        let payload = payload.clone();
        let id = format!("{prefix}-{n:010}");
        async move {
            let now = chrono::Utc::now().timestamp_millis();
            let result = match &db {
                Database::Sqlite(pool) => {
                    async {
                        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                        sqlx::query(INSERT)
                            .bind(&id)
                            .bind("org-1")
                            .bind(payload.as_ref())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await
                    }
                    .await
                }
                Database::Postgres(pool) => {
                    async {
                        let mut tx = pool.begin().await?;
                        sqlx::query(INSERT)
                            .bind(&id)
                            .bind("org-1")
                            .bind(payload.as_ref())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await
                    }
                    .await
                }
            };
            result.map_err(|e| format!("database: {e}"))
        }
        .boxed()
    })
}
