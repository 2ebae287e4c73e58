//! Helpers for the tests of every crate: a fresh PostgreSQL database per test.

use secrecy::SecretString;
use sqlx::{Connection, PgConnection};

/// The variable naming a PostgreSQL server the tests may create databases on (the test command
/// `scripts/test.sh` starts one and sets it).
pub const POSTGRES_URL_VAR: &str = "OVICE_SLACK_TEST_POSTGRES_URL";

/// Creates an empty database on the test server and returns its URL. Fails loudly when no server is
/// configured: a PostgreSQL test that silently skips would prove nothing.
pub async fn fresh_postgres_database() -> anyhow::Result<SecretString> {
    let admin = std::env::var(POSTGRES_URL_VAR).map_err(|_| {
        anyhow::anyhow!(
            "{POSTGRES_URL_VAR} is not set: run the tests through scripts/test.sh, which starts PostgreSQL"
        )
    })?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin).await?;
    // The name is generated here from a UUID, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let mut url = url::Url::parse(&admin)?;
    url.set_path(&format!("/{name}"));
    Ok(SecretString::from(url.to_string()))
}

/// A fresh SQLite database file in a temporary directory (kept alive by the returned guard).
pub fn fresh_sqlite_database() -> anyhow::Result<(SecretString, TempDirGuard)> {
    let dir = std::env::temp_dir().join(format!("ovice-slack-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}/test.db", dir.display());
    Ok((SecretString::from(url), TempDirGuard(dir)))
}

/// Removes a test directory when dropped.
#[derive(Debug)]
pub struct TempDirGuard(pub std::path::PathBuf);

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The two storage backends every store test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connected, empty database of `backend` (migrations not yet run).
pub async fn fresh_database(backend: Backend) -> anyhow::Result<(crate::db::Database, Option<TempDirGuard>)> {
    let (url, guard) = match backend {
        Backend::Sqlite => {
            let (url, guard) = fresh_sqlite_database()?;
            (url, Some(guard))
        }
        Backend::Postgres => (fresh_postgres_database().await?, None),
    };
    Ok((crate::db::Database::connect(&url, 4).await?, guard))
}
