//! The outbox on SQLite: one writer at a time, and the writes of accepts and outcomes
//! group-committed.

use std::sync::Arc;

use tokio::sync::{Mutex, Notify};
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

impl OutboxBackend for sqlx::Sqlite {
    // SQLite has one writer: BEGIN IMMEDIATE takes the write lock before the claim reads, so two
    // claimers (threads or processes on one file) run one after the other and never see the same
    // row unleased; inserts are serialised the same way.
    const CLAIM_LOCK: &'static str = "";
    const IN: &'static str = "IN (";
    const END_IN: &'static str = ")";
    const PER_ROW: &'static str = "";
    const INSERT_LOCK: &'static str = "";
    const LOCK_CONVERSATION_OF_ID: &'static str = "";
    const LOCK_CONVERSATION_OF_MESSAGE: &'static str = "";
    type Writer = SqliteWriter;

    fn writer(pool: sqlx::SqlitePool) -> SqliteWriter {
        SqliteWriter::new(pool)
    }
}

type Lite = Statements<sqlx::Sqlite>;

#[async_trait::async_trait]
impl BatchBackend for sqlx::Sqlite {
    // Takes the write lock before the first statement, so a batch never fails half-way to upgrade.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const STATEMENT_FAILURE_ABORTS: bool = false;

    async fn write(conn: &mut sqlx::SqliteConnection, insert_sql: &str, job: &Job) -> Written {
        match job {
            Job::Insert(d, _) => Written::Row(Box::new(Lite::insert(conn, insert_sql, d).await)),
            Job::Complete(c, _) => Written::Flag(Lite::complete(conn, c).await),
            Job::Reschedule(r, _) => Written::Flag(Lite::reschedule(conn, r).await),
            Job::Release(r, _) => Written::Flag(Lite::release(conn, r).await),
        }
    }
}

/// SQLite's writers of this process. They take turns at an async, first-come-first-served gate
/// instead of meeting in SQLite's busy handler (which sleeps and retries, and made the tail latency
/// of accepting hundreds of milliseconds). The writes of every message, accepting it and recording
/// how its delivery went, are group-committed (`group_commit`) by one committer that takes the
/// gate for each batch. (Claims and the rarer writes take the gate for a transaction of their own.)
#[derive(Clone, Debug)]
pub(super) struct SqliteWriter {
    gate: Arc<Mutex<()>>,
    commits: GroupCommit,
}

impl SqliteWriter {
    fn new(pool: sqlx::SqlitePool) -> Self {
        let gate = Arc::new(Mutex::new(()));
        let insert_sql = INSERT_TEMPLATE.replace("{lock}", sqlx::Sqlite::INSERT_LOCK);
        let commits = GroupCommit::start(pool, insert_sql, 1, Some(gate.clone()));
        Self { gate, commits }
    }
}

#[async_trait::async_trait]
impl OutboxWriter for SqliteWriter {
    async fn turn(&self) -> WriteTurn<'_> {
        Some(self.gate.lock().await)
    }

    async fn insert(&self, d: Delivery) -> Result<(DeliveryRow, bool), StoreError> {
        self.commits.submit(|reply| Job::Insert(Box::new(d), reply)).await
    }

    async fn complete(&self, c: Completion) -> Result<bool, StoreError> {
        self.commits.submit(|reply| Job::Complete(c, reply)).await
    }

    async fn reschedule(&self, r: Rescheduling) -> Result<bool, StoreError> {
        self.commits.submit(|reply| Job::Reschedule(r, reply)).await
    }

    async fn release(&self, r: Releasing) -> Result<bool, StoreError> {
        self.commits.submit(|reply| Job::Release(r, reply)).await
    }

    /// One process serves a SQLite outbox: nobody else to tell.
    async fn announce(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn listen(&self, _wake: Arc<Notify>, _stop: CancellationToken) {}
}
