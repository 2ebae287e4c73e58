//! The SQL of both backends. The statements are identical ($n placeholders work on both); only how a
//! transaction takes its write lock differs, which `SqlBackend` says. One generic implementation.

use ovice_slack_secrets::SealedToken;

use ovice_slack_model::{OrgId, SlackTeamId, UnixMillis};
use ovice_slack_runtime::db::SqlBackend;

use super::{
    PutOutcome, StoreError, StoredRotation, StoredWorkspace, WorkspaceCheck, WorkspaceStore, absent,
};
use crate::domain::{AuditAction, AuditEntry, AuditNote, Workspace, WorkspaceStatus};

/// The columns of a workspace row, in `WorkspaceRow`'s order.
macro_rules! workspace_columns {
    () => {
        "org_id, team_id, team_name, workspace_domain, bot_user_id, scopes, token_key_id, token_ciphertext, \
         status, status_reason, updated_at, updated_by, refresh_key_id, refresh_ciphertext, client_id, \
         client_secret_key_id, client_secret_ciphertext, token_expires_at, refresh_at, signing_key_id, \
         signing_ciphertext"
    };
}

pub(super) const SELECT_WORKSPACE: &str = concat!(
    "SELECT ",
    workspace_columns!(),
    " FROM slack_workspaces WHERE org_id = $1"
);

pub(super) const UPSERT_WORKSPACE: &str = "INSERT INTO slack_workspaces (org_id, team_id, team_name, \
     workspace_domain, bot_user_id, scopes, token_key_id, token_ciphertext, status, status_reason, updated_at, \
     updated_by, refresh_key_id, refresh_ciphertext, client_id, client_secret_key_id, client_secret_ciphertext, \
     token_expires_at, refresh_at, signing_key_id, signing_ciphertext, refresh_lease_until) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 0) \
     ON CONFLICT (org_id) DO UPDATE SET team_id = excluded.team_id, team_name = excluded.team_name, \
     workspace_domain = excluded.workspace_domain, bot_user_id = excluded.bot_user_id, scopes = excluded.scopes, \
     token_key_id = excluded.token_key_id, token_ciphertext = excluded.token_ciphertext, status = excluded.status, \
     status_reason = excluded.status_reason, updated_at = excluded.updated_at, updated_by = excluded.updated_by, \
     refresh_key_id = excluded.refresh_key_id, refresh_ciphertext = excluded.refresh_ciphertext, \
     client_id = excluded.client_id, client_secret_key_id = excluded.client_secret_key_id, \
     client_secret_ciphertext = excluded.client_secret_ciphertext, token_expires_at = excluded.token_expires_at, \
     refresh_at = excluded.refresh_at, signing_key_id = excluded.signing_key_id, \
     signing_ciphertext = excluded.signing_ciphertext, refresh_lease_until = 0";

pub(super) const SELECT_DUE_REFRESHES: &str = "SELECT org_id FROM slack_workspaces WHERE refresh_key_id <> '' \
     AND status = 'active' AND refresh_at <= $1 AND refresh_lease_until <= $1 ORDER BY refresh_at LIMIT $2";
pub(super) const CLAIM_REFRESH: &str = "UPDATE slack_workspaces SET refresh_lease_until = $3 \
     WHERE org_id = $1 AND refresh_key_id <> '' AND refresh_lease_until <= $2";
pub(super) const RELEASE_REFRESH: &str =
    "UPDATE slack_workspaces SET refresh_lease_until = 0 WHERE org_id = $1 AND refresh_lease_until = $2";
pub(super) const POSTPONE_REFRESH: &str = "UPDATE slack_workspaces SET refresh_at = $2 WHERE org_id = $1 AND refresh_key_id <> '' AND refresh_at < $2";
pub(super) const STORE_REFRESHED: &str = "UPDATE slack_workspaces SET token_key_id = $4, token_ciphertext = $5, \
     refresh_key_id = $6, refresh_ciphertext = $7, token_expires_at = $8, refresh_at = $9, refresh_lease_until = 0 \
     WHERE org_id = $1 AND refresh_key_id = $2 AND refresh_ciphertext = $3";

pub(super) const INSERT_AUDIT: &str = "INSERT INTO slack_workspace_audit (org_id, actor, action, detail, occurred_at) VALUES ($1, $2, $3, $4, $5)";

pub(super) const SELECT_TEAM_WORKSPACES: &str = concat!(
    "SELECT ",
    workspace_columns!(),
    " FROM slack_workspaces WHERE team_id = $1"
);

pub(super) const DELETE_WORKSPACE: &str = "DELETE FROM slack_workspaces WHERE org_id = $1";

pub(super) const MARK_INVALID: &str = "UPDATE slack_workspaces SET status = 'token_invalid', status_reason = $3, \
     updated_at = $4, updated_by = $5 WHERE org_id = $1 AND ($2 = '' OR team_id = $2) AND status = 'active'";

/// Orgs set up since the last round get a check row, due one interval later (setting up ran
/// `auth.test` just now); rows of removed orgs go.
pub(super) const ADD_NEW_CHECKS: &str = "INSERT INTO slack_workspace_checks (org_id, due_at) \
     SELECT org_id, $1 FROM slack_workspaces WHERE org_id NOT IN (SELECT org_id FROM slack_workspace_checks)";
pub(super) const DROP_OLD_CHECKS: &str =
    "DELETE FROM slack_workspace_checks WHERE org_id NOT IN (SELECT org_id FROM slack_workspaces)";
pub(super) const SELECT_DUE_CHECK: &str = "SELECT c.org_id, c.due_at FROM slack_workspace_checks c \
     JOIN slack_workspaces w ON w.org_id = c.org_id WHERE w.status = 'active' AND c.due_at <= $1 \
     ORDER BY c.due_at, c.org_id LIMIT 1";
pub(super) const CLAIM_CHECK: &str =
    "UPDATE slack_workspace_checks SET due_at = $3 WHERE org_id = $1 AND due_at = $2";
pub(super) const RECORD_CHECK: &str =
    "UPDATE slack_workspace_checks SET checked_at = $2, problem = $3 WHERE org_id = $1";
pub(super) const SELECT_CHECK: &str =
    "SELECT checked_at, problem FROM slack_workspace_checks WHERE org_id = $1 AND checked_at > 0";
pub(super) const COUNT_BY_STATUS: &str = "SELECT \
     COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN status = 'token_invalid' THEN 1 ELSE 0 END), 0) FROM slack_workspaces";

pub(super) const LIST_AUDIT: &str = "SELECT org_id, actor, action, detail, occurred_at FROM slack_workspace_audit \
     WHERE org_id = $1 ORDER BY id DESC LIMIT $2";

pub(super) const OTHER_KEY_TOKENS: &str = "SELECT org_id, token_key_id, token_ciphertext FROM slack_workspaces WHERE token_key_id <> $1 ORDER BY org_id";

pub(super) const OTHER_KEY_ROTATION_SECRETS: &str = "SELECT org_id, refresh_key_id, refresh_ciphertext, \
     client_secret_key_id, client_secret_ciphertext FROM slack_workspaces \
     WHERE refresh_key_id <> '' AND (refresh_key_id <> $1 OR client_secret_key_id <> $1) ORDER BY org_id";

pub(super) const REPLACE_ROTATION_SECRETS: &str = "UPDATE slack_workspaces SET refresh_key_id = $4, \
     refresh_ciphertext = $5, client_secret_key_id = $6, client_secret_ciphertext = $7 \
     WHERE org_id = $1 AND refresh_key_id = $2 AND refresh_ciphertext = $3";

pub(super) const OTHER_KEY_SIGNING_SECRETS: &str = "SELECT org_id, signing_key_id, signing_ciphertext \
     FROM slack_workspaces WHERE signing_key_id <> '' AND signing_key_id <> $1 ORDER BY org_id";

pub(super) const REPLACE_SIGNING_SECRET: &str = "UPDATE slack_workspaces SET signing_key_id = $4, \
     signing_ciphertext = $5 WHERE org_id = $1 AND signing_key_id = $2 AND signing_ciphertext = $3";

pub(super) const REPLACE_TOKEN: &str = "UPDATE slack_workspaces SET token_key_id = $4, token_ciphertext = $5 \
     WHERE org_id = $1 AND token_key_id = $2 AND token_ciphertext = $3";

#[derive(sqlx::FromRow)]
pub(super) struct WorkspaceRow {
    org_id: String,
    pub(super) team_id: String,
    team_name: String,
    workspace_domain: String,
    bot_user_id: String,
    scopes: String,
    token_key_id: String,
    token_ciphertext: Vec<u8>,
    status: String,
    status_reason: String,
    updated_at: i64,
    updated_by: String,
    refresh_key_id: String,
    refresh_ciphertext: Vec<u8>,
    client_id: String,
    client_secret_key_id: String,
    client_secret_ciphertext: Vec<u8>,
    token_expires_at: i64,
    refresh_at: i64,
    signing_key_id: String,
    signing_ciphertext: Vec<u8>,
}

impl TryFrom<WorkspaceRow> for StoredWorkspace {
    type Error = StoreError;

    fn try_from(r: WorkspaceRow) -> Result<Self, StoreError> {
        let status = r
            .status
            .parse::<WorkspaceStatus>()
            .map_err(|_| StoreError::Corrupt(format!("unknown workspace status `{}`", r.status)))?;
        Ok(StoredWorkspace {
            workspace: Workspace {
                org_id: r.org_id.into(),
                team_id: r.team_id.into(),
                team_name: r.team_name,
                domain: r.workspace_domain,
                bot_user_id: r.bot_user_id.into(),
                scopes: r
                    .scopes
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                status,
                status_reason: r.status_reason,
                updated_at: UnixMillis::from_millis(r.updated_at),
                updated_by: r.updated_by,
                token_expires_at: (!r.refresh_key_id.is_empty())
                    .then(|| UnixMillis::from_millis(r.token_expires_at)),
                events_enabled: !r.signing_key_id.is_empty(),
            },
            token: SealedToken {
                key_id: r.token_key_id,
                ciphertext: r.token_ciphertext,
            },
            signing_secret: (!r.signing_key_id.is_empty()).then_some(SealedToken {
                key_id: r.signing_key_id,
                ciphertext: r.signing_ciphertext,
            }),
            rotation: (!r.refresh_key_id.is_empty()).then(|| StoredRotation {
                client_id: r.client_id,
                client_secret: SealedToken {
                    key_id: r.client_secret_key_id,
                    ciphertext: r.client_secret_ciphertext,
                },
                refresh_token: SealedToken {
                    key_id: r.refresh_key_id,
                    ciphertext: r.refresh_ciphertext,
                },
                expires_at: UnixMillis::from_millis(r.token_expires_at),
                refresh_at: UnixMillis::from_millis(r.refresh_at),
            }),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    org_id: String,
    actor: String,
    action: String,
    detail: String,
    occurred_at: i64,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let action = r
            .action
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("unknown audit action `{}`", r.action)))?;
        Ok(AuditEntry {
            org_id: r.org_id.into(),
            actor: r.actor,
            action,
            detail: r.detail,
            occurred_at: UnixMillis::from_millis(r.occurred_at),
        })
    }
}

/// The audit row of `e`, run in the transaction that made the change it records.
fn insert_audit<'q, DB>(e: &'q AuditEntry) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(INSERT_AUDIT)
        .bind(e.org_id.as_str())
        .bind(&e.actor)
        .bind(e.action.as_str())
        .bind(&e.detail)
        .bind(e.occurred_at.as_millis())
}

/// The workspace store over either backend: the SQL above, with the backend's way to begin a write
/// transaction and to lock a row.
#[derive(Clone, Debug)]
pub struct SqlWorkspaceStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
}

impl<DB: sqlx::Database> SqlWorkspaceStore<DB> {
    pub fn new(pool: sqlx::Pool<DB>) -> Self {
        Self { pool }
    }
}

#[async_trait::async_trait]
impl<DB> WorkspaceStore for SqlWorkspaceStore<DB>
where
    DB: SqlBackend,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> WorkspaceRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> AuditRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String, Vec<u8>): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, i64): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, i64): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String, Vec<u8>, String, Vec<u8>): sqlx::FromRow<'r, DB::Row>,
{
    async fn claim_due_check(
        &self,
        now: UnixMillis,
        next_due: UnixMillis,
    ) -> Result<Option<OrgId>, StoreError> {
        sqlx::query(ADD_NEW_CHECKS)
            .bind(next_due.as_millis())
            .execute(&self.pool)
            .await?;
        sqlx::query(DROP_OLD_CHECKS).execute(&self.pool).await?;
        // Another replica may take the same row first; then the next one is tried.
        for _ in 0..3 {
            let due: Option<(String, i64)> = sqlx::query_as(SELECT_DUE_CHECK)
                .bind(now.as_millis())
                .fetch_optional(&self.pool)
                .await?;
            let Some((org_id, due_at)) = due else {
                return Ok(None);
            };
            let claimed = sqlx::query(CLAIM_CHECK)
                .bind(org_id.as_str())
                .bind(due_at)
                .bind(next_due.as_millis())
                .execute(&self.pool)
                .await?;
            if DB::rows_affected(&claimed) == 1 {
                return Ok(Some(OrgId::new(org_id)));
            }
        }
        Ok(None)
    }

    async fn record_check(&self, org_id: &OrgId, check: &WorkspaceCheck) -> Result<(), StoreError> {
        sqlx::query(RECORD_CHECK)
            .bind(org_id.as_str())
            .bind(check.checked_at.as_millis())
            .bind(check.problem.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn last_check(&self, org_id: &OrgId) -> Result<Option<WorkspaceCheck>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(SELECT_CHECK)
            .bind(org_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(checked_at, problem)| WorkspaceCheck {
            checked_at: UnixMillis::from_millis(checked_at),
            problem,
        }))
    }

    async fn count_by_status(&self) -> Result<(u64, u64), StoreError> {
        let (active, invalid): (i64, i64) = sqlx::query_as(COUNT_BY_STATUS).fetch_one(&self.pool).await?;
        Ok((
            u64::try_from(active).unwrap_or(0),
            u64::try_from(invalid).unwrap_or(0),
        ))
    }

    async fn get(&self, org_id: &OrgId) -> Result<Option<StoredWorkspace>, StoreError> {
        let row: Option<WorkspaceRow> = sqlx::query_as(SELECT_WORKSPACE)
            .bind(org_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(StoredWorkspace::try_from).transpose()
    }

    async fn put(&self, ws: &StoredWorkspace, audit: &AuditNote) -> Result<PutOutcome, StoreError> {
        let mut tx = self.pool.begin_with(DB::BEGIN_WRITE).await?;
        let previous: Option<WorkspaceRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_WORKSPACE}{}", DB::LOCK_ROW)))
                .bind(ws.workspace.org_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let previous = previous.map(StoredWorkspace::try_from).transpose()?;
        let previous_team_id = previous.as_ref().map(|p| p.workspace.team_id.clone());
        let w = &ws.workspace;
        let none = absent();
        let (refresh, client_id, secret, expires_at, refresh_at) = match &ws.rotation {
            Some(r) => (
                &r.refresh_token,
                r.client_id.as_str(),
                &r.client_secret,
                r.expires_at.as_millis(),
                r.refresh_at.as_millis(),
            ),
            None => (&none, "", &none, 0, 0),
        };
        let signing = ws.signing_secret.as_ref().unwrap_or(&none);
        sqlx::query(UPSERT_WORKSPACE)
            .bind(w.org_id.as_str())
            .bind(w.team_id.as_str())
            .bind(&w.team_name)
            .bind(&w.domain)
            .bind(w.bot_user_id.as_str())
            .bind(w.scopes.join(","))
            .bind(&ws.token.key_id)
            .bind(&ws.token.ciphertext)
            .bind(w.status.as_str())
            .bind(&w.status_reason)
            .bind(w.updated_at.as_millis())
            .bind(&w.updated_by)
            .bind(&refresh.key_id)
            .bind(&refresh.ciphertext)
            .bind(client_id)
            .bind(&secret.key_id)
            .bind(&secret.ciphertext)
            .bind(expires_at)
            .bind(refresh_at)
            .bind(&signing.key_id)
            .bind(&signing.ciphertext)
            .execute(&mut *tx)
            .await?;
        let entry = audit.entry(AuditAction::of_put(previous_team_id.as_ref(), &w.team_id));
        insert_audit(&entry).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(PutOutcome {
            previous_team_id,
            previous,
        })
    }

    async fn workspaces_of_team(&self, team_id: &SlackTeamId) -> Result<Vec<StoredWorkspace>, StoreError> {
        let rows: Vec<WorkspaceRow> = sqlx::query_as(SELECT_TEAM_WORKSPACES)
            .bind(team_id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(StoredWorkspace::try_from).collect()
    }

    async fn delete(&self, org_id: &OrgId, audit: &AuditEntry) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(DB::BEGIN_WRITE).await?;
        let deleted = DB::rows_affected(
            &sqlx::query(DELETE_WORKSPACE)
                .bind(org_id.as_str())
                .execute(&mut *tx)
                .await?,
        );
        if deleted > 0 {
            insert_audit(audit).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn mark_token_invalid(
        &self,
        org_id: &OrgId,
        team_id: Option<&SlackTeamId>,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<Option<StoredWorkspace>, StoreError> {
        let mut tx = self.pool.begin_with(DB::BEGIN_WRITE).await?;
        let changed = DB::rows_affected(
            &sqlx::query(MARK_INVALID)
                .bind(org_id.as_str())
                .bind(team_id.map_or("", SlackTeamId::as_str))
                .bind(reason)
                .bind(audit.occurred_at.as_millis())
                .bind(&audit.actor)
                .execute(&mut *tx)
                .await?,
        );
        if changed > 0 {
            insert_audit(audit).execute(&mut *tx).await?;
        }
        let row: Option<WorkspaceRow> = sqlx::query_as(SELECT_WORKSPACE)
            .bind(org_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(StoredWorkspace::try_from).transpose()
    }

    async fn list_audit(&self, org_id: &OrgId, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(LIST_AUDIT)
            .bind(org_id.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn tokens_sealed_with_other_keys(
        &self,
        active_key_id: &str,
    ) -> Result<Vec<(OrgId, SealedToken)>, StoreError> {
        let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(OTHER_KEY_TOKENS)
            .bind(active_key_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(org, key_id, ciphertext)| (OrgId::new(org), SealedToken { key_id, ciphertext }))
            .collect())
    }

    async fn due_refreshes(&self, now: UnixMillis, limit: i64) -> Result<Vec<OrgId>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(SELECT_DUE_REFRESHES)
            .bind(now.as_millis())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(org,)| OrgId::new(org)).collect())
    }

    async fn claim_refresh(
        &self,
        org_id: &OrgId,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(CLAIM_REFRESH)
            .bind(org_id.as_str())
            .bind(now.as_millis())
            .bind(until.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn release_refresh(&self, org_id: &OrgId, until: UnixMillis) -> Result<(), StoreError> {
        sqlx::query(RELEASE_REFRESH)
            .bind(org_id.as_str())
            .bind(until.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn postpone_refresh(&self, org_id: &OrgId, until: UnixMillis) -> Result<(), StoreError> {
        sqlx::query(POSTPONE_REFRESH)
            .bind(org_id.as_str())
            .bind(until.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn signing_secrets_sealed_with_other_keys(
        &self,
        active_key_id: &str,
    ) -> Result<Vec<(OrgId, SealedToken)>, StoreError> {
        let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(OTHER_KEY_SIGNING_SECRETS)
            .bind(active_key_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(org, key_id, ciphertext)| (OrgId::new(org), SealedToken { key_id, ciphertext }))
            .collect())
    }

    async fn replace_signing_secret(
        &self,
        org_id: &OrgId,
        old: &SealedToken,
        new: &SealedToken,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(REPLACE_SIGNING_SECRET)
            .bind(org_id.as_str())
            .bind(&old.key_id)
            .bind(&old.ciphertext)
            .bind(&new.key_id)
            .bind(&new.ciphertext)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn store_refreshed(
        &self,
        org_id: &OrgId,
        spent: &SealedToken,
        token: &SealedToken,
        rotation: &StoredRotation,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(STORE_REFRESHED)
            .bind(org_id.as_str())
            .bind(&spent.key_id)
            .bind(&spent.ciphertext)
            .bind(&token.key_id)
            .bind(&token.ciphertext)
            .bind(&rotation.refresh_token.key_id)
            .bind(&rotation.refresh_token.ciphertext)
            .bind(rotation.expires_at.as_millis())
            .bind(rotation.refresh_at.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn rotation_secrets_sealed_with_other_keys(
        &self,
        active_key_id: &str,
    ) -> Result<Vec<(OrgId, SealedToken, SealedToken)>, StoreError> {
        let rows: Vec<(String, String, Vec<u8>, String, Vec<u8>)> =
            sqlx::query_as(OTHER_KEY_ROTATION_SECRETS)
                .bind(active_key_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(org, rk, rc, sk, sc)| {
                (
                    OrgId::new(org),
                    SealedToken {
                        key_id: rk,
                        ciphertext: rc,
                    },
                    SealedToken {
                        key_id: sk,
                        ciphertext: sc,
                    },
                )
            })
            .collect())
    }

    async fn replace_rotation_secrets(
        &self,
        org_id: &OrgId,
        old_refresh: &SealedToken,
        refresh: &SealedToken,
        client_secret: &SealedToken,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(REPLACE_ROTATION_SECRETS)
            .bind(org_id.as_str())
            .bind(&old_refresh.key_id)
            .bind(&old_refresh.ciphertext)
            .bind(&refresh.key_id)
            .bind(&refresh.ciphertext)
            .bind(&client_secret.key_id)
            .bind(&client_secret.ciphertext)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn replace_token(
        &self,
        org_id: &OrgId,
        old: &SealedToken,
        new: &SealedToken,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(REPLACE_TOKEN)
            .bind(org_id.as_str())
            .bind(&old.key_id)
            .bind(&old.ciphertext)
            .bind(&new.key_id)
            .bind(&new.ciphertext)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }
}
