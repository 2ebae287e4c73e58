use super::{
    PutOutcome, StoreError, StoredWorkspace,
    sql::{
        AuditRow, DELETE_WORKSPACE, INSERT_AUDIT, LIST_AUDIT, MARK_INVALID, OTHER_KEY_TOKENS, REPLACE_TOKEN,
        SELECT_WORKSPACE, UPSERT_WORKSPACE, WorkspaceRow, impl_workspace_store,
    },
};
use ovice_slack_secrets::SealedToken;

use crate::domain::{AuditAction, AuditEntry, AuditNote};

// SQLite has no row locks: BEGIN IMMEDIATE takes the write lock up front, so a read-then-write
// transaction cannot deadlock against another writer.
impl_workspace_store!(SqliteWorkspaceStore, sqlx::SqlitePool, "BEGIN IMMEDIATE", "");
