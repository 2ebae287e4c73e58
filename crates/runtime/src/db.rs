//! Database connections: the URL scheme picks the backend. Each service owns its tables and migrations;
//! their version numbers are kept apart (1xxx integration-config, 2xxx account-links, 3xxx delivery) so
//! the services can share one database and one migrations table.

use std::{str::FromStr, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous},
};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL must start with sqlite:// or postgres://")]
    UnknownScheme,
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// What the stores' SQL needs to know of a backend; everything else is the same statement on both.
pub trait SqlBackend: sqlx::Database {
    /// Begins a transaction that will write. SQLite has no row locks: `BEGIN IMMEDIATE` takes the
    /// write lock up front, so a read-then-write transaction cannot deadlock against another writer.
    const BEGIN_WRITE: &'static str;
    /// Appended to a SELECT inside such a transaction to lock the rows it reads.
    const LOCK_ROW: &'static str;
    /// How many rows a statement changed (each backend has its own result type).
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

impl SqlBackend for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const LOCK_ROW: &'static str = "";
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqlBackend for sqlx::Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    const LOCK_ROW: &'static str = " FOR UPDATE";
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// A connection pool of either backend.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Database {
    pub async fn connect(url: &SecretString, max_connections: u32) -> Result<Self, DbError> {
        let url = url.expose_secret();
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(DbError::Connect)?
                .create_if_missing(true)
                // WAL lets readers run beside the writer; FULL makes every commit survive power loss,
                // which is what "accepted means durable" promises.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(if in_memory { 1 } else { max_connections.max(1) })
                .connect_with(options)
                .await
                .map_err(DbError::Connect)?;
            Ok(Self::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url).map_err(DbError::Connect)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(DbError::Connect)?;
            Ok(Self::Postgres(pool))
        } else {
            Err(DbError::UnknownScheme)
        }
    }

    /// Runs one service's migrations for this backend. Other services' applied versions are ignored.
    pub async fn migrate(&self, sqlite: &Migrator, postgres: &Migrator) -> Result<(), DbError> {
        match self {
            Database::Sqlite(pool) => {
                let mut m = Migrator {
                    ignore_missing: true,
                    ..clone_migrator(sqlite)
                };
                m.set_locking(false);
                m.run(pool).await?;
            }
            Database::Postgres(pool) => {
                // sqlx takes an advisory lock here, so replicas starting together do not race.
                let m = Migrator {
                    ignore_missing: true,
                    ..clone_migrator(postgres)
                };
                m.run(pool).await?;
            }
        }
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(p) => p.close().await,
            Database::Postgres(p) => p.close().await,
        }
    }
}

fn clone_migrator(m: &Migrator) -> Migrator {
    Migrator {
        migrations: m.migrations.clone(),
        ignore_missing: m.ignore_missing,
        locking: m.locking,
        no_tx: m.no_tx,
        ..Migrator::DEFAULT
    }
}
