use super::{
    PutOutcome, StoreError, StoredWorkspace,
    sql::{
        AuditRow, DELETE_WORKSPACE, INSERT_AUDIT, LIST_AUDIT, MARK_INVALID, SELECT_WORKSPACE,
        UPSERT_WORKSPACE, WorkspaceRow, impl_workspace_store,
    },
};
use crate::domain::{AuditAction, AuditEntry};

impl_workspace_store!(PostgresWorkspaceStore, sqlx::PgPool, "BEGIN", " FOR UPDATE");
