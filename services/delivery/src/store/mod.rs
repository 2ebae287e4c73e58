//! The durable outbox: one trait, one implementation over either backend (`sql.rs`), what differs
//! per backend in `sqlite.rs` and `postgres.rs`, one test suite run on both.
//!
//! Workers claim due rows with a lease: a claimed row stays PENDING, and every later change is
//! conditional on the lease owner, so a worker whose lease ran out cannot overwrite the result of
//! the worker that took the row over. Messages to one recipient go out in order: only the oldest
//! pending row of each (org, recipient) can be claimed; the rows behind it are marked queued, so
//! that a claim reads a handful of candidates however long the queues are.

mod group_commit;
pub mod lanes;
mod postgres;
mod sql;
mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use ovice_slack_model::{DeliveryId, OrgId, UnixMillis, message_change::MessageChange};
use ovice_slack_runtime::db::Database;

use crate::domain::{Delivery, DeliveryMode, DeliveryStatus, HoldReason, Language, SkipReason, SlackChange};

use sql::SqlOutboxStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
    /// The group commit that carried this insert failed (the error itself went to the log).
    #[error("the batch this delivery was stored with failed: {0}")]
    BatchFailed(String),
    #[error("the delivery store's writer has stopped")]
    WriterGone,
}

/// One claim round of a worker.
#[derive(Clone, Copy, Debug)]
pub struct Claim<'a> {
    pub worker_id: &'a str,
    pub now: UnixMillis,
    /// The claimed rows are reserved until then.
    pub lease_until: UnixMillis,
    /// At most this many rows.
    pub limit: u32,
    /// At most this many rows of one organization, so one org's backlog cannot starve the others;
    /// within the limit the orgs take turns (each org's oldest due row first).
    pub per_org: u32,
}

/// How a claimed delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `revision`: the revision of the text it posted.
    Sent {
        mode: DeliveryMode,
        channel: String,
        ts: String,
        revision: i64,
        /// The language the frame was written in (edits keep it).
        language: Language,
    },
    Skipped(SkipReason),
    Failed {
        mode: Option<DeliveryMode>,
        error: String,
    },
    /// `ambiguous`: the failed attempt's post may be in Slack.
    Dead {
        mode: Option<DeliveryMode>,
        error: String,
        ambiguous: bool,
    },
    /// The retry window is over; `attempted`: this ends an attempt (else it ended before one).
    Expired {
        mode: Option<DeliveryMode>,
        error: String,
        attempted: bool,
        ambiguous: bool,
    },
}

/// What a change to a published message did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeApplied {
    /// The org has no delivery of that message (it was not forwarded to Slack).
    NoDelivery,
    /// Nothing new (an old revision, a second delete…); the delivery as it stands.
    Unchanged(Delivery),
    /// Stored; the delivery as it now stands.
    Applied(Delivery),
}

/// How a claimed change to a sent message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeEnd<'a> {
    /// Slack made it; `revision`: the one an update showed.
    Done { change: SlackChange, revision: i64 },
    /// Slack refused `change` for good; nothing is reposted.
    Refused { change: SlackChange, error: &'a str },
    /// Tried again at `at`; `attempt`: it counts as an attempt (not a pacing wait). `error`: the
    /// failure, or none (a pacing wait, a lease too short) to keep the last one shown.
    Again {
        at: UnixMillis,
        error: Option<&'a str>,
        attempt: bool,
    },
}

/// A failed attempt to be tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Again<'a> {
    /// Due again then.
    pub at: UnixMillis,
    pub mode: Option<DeliveryMode>,
    pub error: &'a str,
    /// The post may be in Slack already (counted in `ambiguous_attempts`).
    pub ambiguous: bool,
}

impl Outcome {
    pub fn status(&self) -> DeliveryStatus {
        match self {
            Outcome::Sent { .. } => DeliveryStatus::Sent,
            Outcome::Skipped(_) => DeliveryStatus::Skipped,
            Outcome::Failed { .. } => DeliveryStatus::Failed,
            Outcome::Dead { .. } => DeliveryStatus::Dead,
            Outcome::Expired { .. } => DeliveryStatus::Expired,
        }
    }
}

#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Stores `delivery` unless the org already has a delivery of that message id; returns the
    /// stored row and whether it is new. Concurrent calls for one message store exactly one row.
    async fn insert_if_absent(&self, delivery: &Delivery) -> Result<(Delivery, bool), StoreError>;

    async fn get(&self, org_id: &OrgId, message_id: &str) -> Result<Option<Delivery>, StoreError>;

    async fn get_by_id(&self, delivery_id: &DeliveryId) -> Result<Option<Delivery>, StoreError>;

    /// Newest first; `after` is the last delivery id of the previous page.
    async fn list(
        &self,
        org_id: &OrgId,
        status: Option<DeliveryStatus>,
        after: Option<&DeliveryId>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Leases due rows to `claim.worker_id`. Rows whose lease is still valid are not claimed; those
    /// of a crashed worker come back once their lease has expired.
    async fn claim_due(&self, claim: Claim<'_>) -> Result<Vec<Delivery>, StoreError>;

    /// Records how a claimed delivery ended (counting the attempt unless it was skipped). The text
    /// and sender name are erased for SENT and SKIPPED, and for FAILED and DEAD when
    /// `erase_failed_text`. False when `lease_owner` no longer holds the row.
    async fn complete(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        outcome: &Outcome,
        now: UnixMillis,
        erase_failed_text: bool,
    ) -> Result<bool, StoreError>;

    /// Counts a failed attempt (and an ambiguous one) and makes the row due again at `again.at`.
    async fn reschedule(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        again: &Again<'_>,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Gives a claimed row back without counting an attempt (shutdown, pacing), due no earlier than
    /// `not_before`.
    async fn release(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        not_before: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Ends the claimed `head` as `outcome` (SENT) together with the queued `members` that the same
    /// Slack message carried (a digest); members a delete or read ended meanwhile stay as they are,
    /// and the head is then due for an update of the digest.
    async fn complete_digest(
        &self,
        head: &DeliveryId,
        lease_owner: &str,
        outcome: &Outcome,
        members: &[DeliveryId],
        now: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` rows queued behind `head` in its conversation, in order.
    async fn queued_behind(&self, head: &Delivery, limit: u32) -> Result<Vec<Delivery>, StoreError>;

    /// The rows a digest message (org, channel, ts) still shows, in order.
    async fn digest_members(
        &self,
        org_id: &OrgId,
        channel: &str,
        ts: &str,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Gives a claimed row back until `until` for its recipient to read it in ovice first (no attempt
    /// counted; `held_until` shows it).
    async fn hold(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        until: UnixMillis,
        reason: HoldReason,
    ) -> Result<bool, StoreError>;

    /// The org's bot token was rejected: every PENDING row of the org that no worker holds ends
    /// FAILED with `reason`. Returns how many.
    async fn fail_pending_for_org(
        &self,
        org_id: &OrgId,
        reason: &str,
        now: UnixMillis,
        erase_failed_text: bool,
    ) -> Result<u64, StoreError>;

    /// Puts a FAILED, DEAD or EXPIRED delivery back to PENDING, due at once, attempts from zero and
    /// a new retry window. `None` when the org has no such delivery in one of those states.
    async fn retry(
        &self,
        org_id: &OrgId,
        delivery_id: &DeliveryId,
        now: UnixMillis,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Applies an edit, delete or read to the org's delivery of that message, in one transaction
    /// (`domain::apply_change` says what it does in each state).
    async fn apply_change(
        &self,
        change: &MessageChange,
        now: UnixMillis,
    ) -> Result<ChangeApplied, StoreError>;

    /// Leases sent rows whose change (update, delete) Slack still needs and that are due.
    async fn claim_changes(&self, claim: Claim<'_>) -> Result<Vec<Delivery>, StoreError>;

    /// Records how a claimed change ended. False when `lease_owner` no longer holds the row.
    async fn end_change(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        end: &ChangeEnd<'_>,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Un-queues every pending row that no earlier pending row to the same person holds back
    /// (housekeeping: the store keeps this true as rows end; this re-derives it). Returns how many.
    async fn promote_heads(&self) -> Result<u64, StoreError>;

    /// Tells the other processes that serve this outbox that it has new work (PostgreSQL:
    /// `NOTIFY`). Nothing on SQLite, whose outbox one process serves.
    async fn announce_new_work(&self) -> Result<(), StoreError>;

    /// Until `stop`: wakes `wake` whenever another process announces new work (PostgreSQL:
    /// `LISTEN`, reconnecting as needed). Returns at once on SQLite.
    async fn listen_for_new_work(&self, wake: Arc<Notify>, stop: CancellationToken);

    /// Slack answers an org again: its pending rows that nobody holds are due at `now` (rows that
    /// waited for the circuit's probe, or backed off during the outage). Returns how many.
    async fn wake_org(&self, org_id: &OrgId, now: UnixMillis) -> Result<u64, StoreError>;

    /// The earliest time after `now` at which a pending row becomes due or its lease expires.
    async fn next_wakeup(&self, now: UnixMillis) -> Result<Option<UnixMillis>, StoreError>;

    /// How many rows are PENDING, and when the oldest of them was accepted.
    async fn pending_stats(&self) -> Result<(u64, Option<UnixMillis>), StoreError>;

    /// Erases the text of FAILED, DEAD and EXPIRED rows last changed before `before`. Returns how many.
    async fn erase_text_before(&self, before: UnixMillis) -> Result<u64, StoreError>;
}

/// Opens the store of the database's backend and runs its migrations.
pub async fn open(db: &Database) -> Result<Arc<dyn OutboxStore>, ovice_slack_runtime::db::DbError> {
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    db.migrate(&SQLITE, &POSTGRES).await?;
    Ok(match db {
        Database::Sqlite(pool) => Arc::new(SqlOutboxStore::<sqlx::Sqlite>::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(SqlOutboxStore::<sqlx::Postgres>::new(pool.clone())),
    })
}
