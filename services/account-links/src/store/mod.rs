//! Persistence of links and pending Connect flows: one trait, SQLite and PostgreSQL sharing their SQL
//! (`sql.rs`), one test suite run on both.

mod sql;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ovice_slack_model::{Language, OrgId, SlackTeamId, SlackUserId, UnixMillis, UserId};
use ovice_slack_runtime::db::{Database, DbError};

use crate::domain::{Link, PendingConnect, SlackPreferences};

pub use sql::SqlLinkStore;

/// What [`LinkStore::put_link`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutLink {
    Stored,
    /// Nothing stored: the Slack user is already linked to another ovice user of the org.
    SlackUserTaken,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
}

#[async_trait::async_trait]
pub trait LinkStore: Send + Sync + 'static {
    async fn insert_pending(&self, pending: &PendingConnect) -> Result<(), StoreError>;
    async fn find_pending(&self, state_hash: &str) -> Result<Option<PendingConnect>, StoreError>;
    /// Spends a pending flow: true for exactly one caller, and only while it is unexpired.
    async fn spend_pending(&self, state_hash: &str, now: UnixMillis) -> Result<bool, StoreError>;
    /// Removes flows that expired before `before`.
    async fn purge_pending(&self, before: UnixMillis) -> Result<u64, StoreError>;
    /// Drops all but the person's `keep` newest flows (an older Connect window then reads "not
    /// valid"). Returns how many were dropped.
    async fn keep_newest_pending(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        keep: i64,
    ) -> Result<u64, StoreError>;
    async fn get_link(&self, org_id: &OrgId, user_id: &UserId) -> Result<Option<Link>, StoreError>;
    /// The links of these users of the org (any team), in no particular order; users without a
    /// link are absent.
    async fn get_links(&self, org_id: &OrgId, user_ids: &[UserId]) -> Result<Vec<Link>, StoreError>;
    /// The preferences of these users of the org; users who never set any are absent.
    async fn get_preferences(
        &self,
        org_id: &OrgId,
        user_ids: &[UserId],
    ) -> Result<Vec<(UserId, SlackPreferences)>, StoreError>;

    /// Records the language of the person's ovice (learned at Connect); their choices stay.
    async fn put_automatic_language(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        language: Language,
        now: UnixMillis,
    ) -> Result<(), StoreError>;
    /// Stores a person's preferences, whole.
    async fn put_preferences(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        preferences: &SlackPreferences,
        now: UnixMillis,
    ) -> Result<(), StoreError>;
    /// Stores `link` (replacing the person's earlier one), unless its Slack user is linked to another
    /// ovice user of the org: one Slack account belongs to at most one ovice account (index 2003).
    async fn put_link(&self, link: &Link) -> Result<PutLink, StoreError>;
    async fn delete_link(&self, org_id: &OrgId, user_id: &UserId) -> Result<bool, StoreError>;
    /// Every link (of any org) to this Slack user: Slack hands one user the same token in each org
    /// that connects them, so a token is revoked only when no other link still holds it.
    async fn links_of_slack_user(
        &self,
        team_id: &SlackTeamId,
        slack_user_id: &SlackUserId,
    ) -> Result<Vec<Link>, StoreError>;
    /// Every link (of any org) made in Slack team `team_id`: an app uninstalled there took all of
    /// their tokens.
    async fn links_in_team(&self, team_id: &SlackTeamId) -> Result<Vec<Link>, StoreError>;
    /// Marks a link NEEDS_RECONNECT with `reason` and forgets its token (Slack said it is gone);
    /// false when there was nothing left to change.
    async fn drop_token(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;
    /// The org's links made in Slack team `team_id`, ordered by user id, after `after_user_id`. Links
    /// of an earlier team are left out here, in the query, so that a page is full whenever more
    /// current links follow it.
    async fn list_links(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        after_user_id: Option<&UserId>,
        limit: i64,
    ) -> Result<Vec<Link>, StoreError>;
    /// Marks a connected link NEEDS_RECONNECT; false when there was none (or it was already marked).
    async fn mark_needs_reconnect(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;
    /// CONNECTED links whose rotating token is due for renewal at `now` and not being renewed.
    async fn due_refreshes(&self, now: UnixMillis, limit: i64) -> Result<Vec<(OrgId, UserId)>, StoreError>;
    /// Takes the link's renewal until `until`, unless another replica holds it.
    async fn claim_refresh(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<bool, StoreError>;
    /// Lets go of a renewal that stored nothing, if the claim is still the one taken until `until`.
    async fn release_refresh(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        until: UnixMillis,
    ) -> Result<(), StoreError>;
    /// Moves a renewal that failed to `until` at the earliest, so it does not crowd out the others.
    async fn postpone_refresh(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        until: UnixMillis,
    ) -> Result<(), StoreError>;
    /// Stores a renewed token and its rotation, only if the refresh token is still `spent` (a
    /// reconnect in between wins), and lets go of the renewal.
    async fn store_refreshed(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        spent: &ovice_slack_secrets::SealedToken,
        token: &ovice_slack_secrets::SealedToken,
        rotation: &crate::domain::LinkRotation,
    ) -> Result<bool, StoreError>;
    /// Every stored refresh token (org, user, refresh token), for `reseal-tokens`.
    async fn sealed_refresh_tokens(&self) -> Result<Vec<SealedLinkToken>, StoreError>;
    /// Replaces a link's sealed refresh token, only if it is still `old` (a renewal meanwhile wins).
    async fn replace_refresh_token(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        old: &ovice_slack_secrets::SealedToken,
        new: &ovice_slack_secrets::SealedToken,
    ) -> Result<bool, StoreError>;
    /// Every stored user token (org, user, token), for `reseal-tokens`.
    async fn sealed_tokens(&self) -> Result<Vec<SealedLinkToken>, StoreError>;
    /// Replaces a link's sealed token, only if it is still `old` (a reconnect meanwhile wins).
    async fn replace_token(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        old: &ovice_slack_secrets::SealedToken,
        new: &ovice_slack_secrets::SealedToken,
    ) -> Result<bool, StoreError>;
}

/// A sealed user token and the link it belongs to.
pub type SealedLinkToken = (OrgId, UserId, ovice_slack_secrets::SealedToken);

/// Opens the store of the database's backend and runs its migrations.
pub async fn open(db: &Database) -> Result<Arc<dyn LinkStore>, DbError> {
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    db.migrate(&SQLITE, &POSTGRES).await?;
    Ok(match db {
        Database::Sqlite(pool) => Arc::new(SqlLinkStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(SqlLinkStore::new(pool.clone())),
    })
}
