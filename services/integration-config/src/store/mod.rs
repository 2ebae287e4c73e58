//! Persistence of workspace settings and the audit log: one trait, a SQLite and a PostgreSQL
//! implementation sharing their SQL (`sql.rs`), one test suite run on both.

mod sql;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ovice_slack_model::{OrgId, SlackTeamId, UnixMillis};
use ovice_slack_runtime::db::Database;
use ovice_slack_secrets::SealedToken;

use crate::domain::{AuditEntry, AuditNote, Workspace};

pub use sql::SqlWorkspaceStore;

/// A sealed value that is not there (a token that does not rotate has no refresh token).
fn absent() -> SealedToken {
    SealedToken {
        key_id: String::new(),
        ciphertext: Vec::new(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
}

/// The org's settings with the sealed bot token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWorkspace {
    pub workspace: Workspace,
    pub token: SealedToken,
    /// Present when the token expires and is renewed (the owner's app rotates tokens).
    pub rotation: Option<StoredRotation>,
    /// The owner's app's signing secret, when its events come to ovice-slack.
    pub signing_secret: Option<SealedToken>,
}

/// How an expiring bot token is renewed: the app's client id, its client secret and the current
/// refresh token (both sealed), and when the token expires and is renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRotation {
    pub client_id: String,
    pub client_secret: SealedToken,
    pub refresh_token: SealedToken,
    pub expires_at: UnixMillis,
    pub refresh_at: UnixMillis,
}

/// What a put replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutOutcome {
    pub previous_team_id: Option<SlackTeamId>,
    /// The settings the put replaced (their token is the one to revoke).
    pub previous: Option<StoredWorkspace>,
}

/// What the last health check of an org's token found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceCheck {
    pub checked_at: UnixMillis,
    /// Empty when the token was fine.
    pub problem: String,
}

#[async_trait::async_trait]
pub trait WorkspaceStore: Send + Sync + 'static {
    /// Takes the ACTIVE org whose health check is most overdue at `now`, and moves its next check to
    /// `next_due`: one caller wins each org. Orgs not seen before are first due at `next_due`.
    async fn claim_due_check(
        &self,
        now: UnixMillis,
        next_due: UnixMillis,
    ) -> Result<Option<OrgId>, StoreError>;
    /// Records what a health check found.
    async fn record_check(&self, org_id: &OrgId, check: &WorkspaceCheck) -> Result<(), StoreError>;
    /// What the last health check found, if one ran.
    async fn last_check(&self, org_id: &OrgId) -> Result<Option<WorkspaceCheck>, StoreError>;
    /// How many orgs are ACTIVE and how many TOKEN_INVALID.
    async fn count_by_status(&self) -> Result<(u64, u64), StoreError>;
    async fn get(&self, org_id: &OrgId) -> Result<Option<StoredWorkspace>, StoreError>;
    /// Inserts or replaces the org's settings and writes the audit entry, in one transaction. The
    /// audit action is derived from the team the org had before.
    async fn put(&self, ws: &StoredWorkspace, audit: &AuditNote) -> Result<PutOutcome, StoreError>;
    /// The settings of every org that uses Slack team `team_id`: one bot token may be pasted into
    /// several orgs, and is revoked only when none of them keeps it.
    async fn workspaces_of_team(&self, team_id: &SlackTeamId) -> Result<Vec<StoredWorkspace>, StoreError>;
    /// Removes the settings (and writes the audit entry) when there are any.
    async fn delete(&self, org_id: &OrgId, audit: &AuditEntry) -> Result<bool, StoreError>;
    /// Marks the token invalid when the org still has the team the report is about (`None`: any).
    async fn mark_token_invalid(
        &self,
        org_id: &OrgId,
        team_id: Option<&SlackTeamId>,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<Option<StoredWorkspace>, StoreError>;
    /// Newest first.
    async fn list_audit(&self, org_id: &OrgId, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;
    /// Tokens sealed with another key than `active_key_id` (for re-sealing after a key rotation).
    async fn tokens_sealed_with_other_keys(
        &self,
        active_key_id: &str,
    ) -> Result<Vec<(OrgId, SealedToken)>, StoreError>;
    /// ACTIVE orgs whose rotating token is due for renewal at `now` and not being renewed.
    async fn due_refreshes(&self, now: UnixMillis, limit: i64) -> Result<Vec<OrgId>, StoreError>;
    /// Takes the org's renewal until `until`, unless another replica holds it: one renews at a time.
    async fn claim_refresh(
        &self,
        org_id: &OrgId,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<bool, StoreError>;
    /// Lets go of a renewal that stored nothing (it failed, or there was nothing to do), if the claim
    /// is still the one taken until `until` (a lapsed claim taken over by another replica stays).
    async fn release_refresh(&self, org_id: &OrgId, until: UnixMillis) -> Result<(), StoreError>;
    /// Moves a renewal that failed to `until` at the earliest, so it does not crowd out the others.
    async fn postpone_refresh(&self, org_id: &OrgId, until: UnixMillis) -> Result<(), StoreError>;
    /// Org apps' signing secrets sealed with another key than `active_key_id`.
    async fn signing_secrets_sealed_with_other_keys(
        &self,
        active_key_id: &str,
    ) -> Result<Vec<(OrgId, SealedToken)>, StoreError>;
    /// Replaces the org's sealed signing secret, only if it is still `old` (a put meanwhile wins).
    async fn replace_signing_secret(
        &self,
        org_id: &OrgId,
        old: &SealedToken,
        new: &SealedToken,
    ) -> Result<bool, StoreError>;
    /// Stores a renewed token and its rotation, only if the refresh token is still `spent` (a put
    /// in between wins), and lets go of the renewal.
    async fn store_refreshed(
        &self,
        org_id: &OrgId,
        spent: &SealedToken,
        token: &SealedToken,
        rotation: &StoredRotation,
    ) -> Result<bool, StoreError>;
    /// Rotating orgs whose refresh token or client secret is sealed with another key than
    /// `active_key_id`: (org, refresh token, client secret).
    async fn rotation_secrets_sealed_with_other_keys(
        &self,
        active_key_id: &str,
    ) -> Result<Vec<(OrgId, SealedToken, SealedToken)>, StoreError>;
    /// Replaces the org's sealed refresh token and client secret, only if the refresh token is still
    /// `old_refresh` (a renewal or a put meanwhile wins).
    async fn replace_rotation_secrets(
        &self,
        org_id: &OrgId,
        old_refresh: &SealedToken,
        refresh: &SealedToken,
        client_secret: &SealedToken,
    ) -> Result<bool, StoreError>;
    /// Replaces the org's sealed token, only if it is still `old` (a concurrent put wins).
    async fn replace_token(
        &self,
        org_id: &OrgId,
        old: &SealedToken,
        new: &SealedToken,
    ) -> Result<bool, StoreError>;
}

/// Opens the store of the database's backend and runs its migrations.
pub async fn open(db: &Database) -> Result<Arc<dyn WorkspaceStore>, ovice_slack_runtime::db::DbError> {
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    db.migrate(&SQLITE, &POSTGRES).await?;
    Ok(match db {
        Database::Sqlite(pool) => Arc::new(SqlWorkspaceStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(SqlWorkspaceStore::new(pool.clone())),
    })
}
