use super::{
    PutOutcome, StoreError, StoredWorkspace,
    sql::{
        AuditRow, DELETE_WORKSPACE, INSERT_AUDIT, LIST_AUDIT, MARK_INVALID, OTHER_KEY_TOKENS, REPLACE_TOKEN,
        SELECT_WORKSPACE, UPSERT_WORKSPACE, WorkspaceRow, impl_workspace_store,
    },
};
use ovice_slack_secrets::SealedToken;

use crate::domain::{AuditAction, AuditEntry, AuditNote};

impl_workspace_store!(PostgresWorkspaceStore, sqlx::PgPool, "BEGIN", " FOR UPDATE");
