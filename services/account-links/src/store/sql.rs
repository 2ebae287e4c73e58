//! The SQL of both backends; statements are identical ($n placeholders work on both), so one generic
//! implementation serves each pool. No statement here needs more than one round trip.

use ovice_slack_events::EmailDigest;
use ovice_slack_secrets::SealedToken;

use ovice_slack_model::{Language, OrgId, QuietHours, SlackTeamId, SlackUserId, UnixMillis, UserId};
use ovice_slack_runtime::db::SqlBackend;

use super::{LinkStore, PutLink, SealedLinkToken, StoreError};
use crate::domain::{Link, LinkRotation, LinkState, PendingConnect, SlackPreferences};

pub(super) const INSERT_PENDING: &str = "INSERT INTO slack_connect_states (state_hash, org_id, user_id, email, \
     space_id, team_id, verifier_key_id, verifier_ciphertext, created_at, expires_at, language) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

pub(super) const SELECT_PENDING: &str = "SELECT state_hash, org_id, user_id, email, space_id, team_id, \
     verifier_key_id, verifier_ciphertext, created_at, expires_at, used_at, language FROM slack_connect_states \
     WHERE state_hash = $1";

pub(super) const SPEND_PENDING: &str = "UPDATE slack_connect_states SET used_at = $2 \
     WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2";

pub(super) const PURGE_PENDING: &str = "DELETE FROM slack_connect_states WHERE expires_at < $1";

pub(super) const KEEP_NEWEST_PENDING: &str = "DELETE FROM slack_connect_states \
     WHERE org_id = $1 AND user_id = $2 AND state_hash NOT IN (\
       SELECT state_hash FROM slack_connect_states WHERE org_id = $1 AND user_id = $2 \
       ORDER BY created_at DESC, state_hash DESC LIMIT $3)";

const LINK_COLUMNS: &str = "org_id, user_id, slack_team_id, slack_user_id, slack_user_name, scopes, token_key_id, \
     token_ciphertext, state, state_reason, connected_at, updated_at, email_digest, refresh_key_id, \
     refresh_ciphertext, token_expires_at, refresh_at";

pub(super) fn select_link() -> String {
    format!("SELECT {LINK_COLUMNS} FROM slack_links WHERE org_id = $1 AND user_id = $2")
}

/// The links of `count` users of one org (`$1` the org, `$2`… the user ids): one round trip for a
/// whole ResolveSlackUsers batch.
pub(super) fn select_links(count: usize) -> String {
    let ids: Vec<String> = (2..count + 2).map(|n| format!("${n}")).collect();
    format!(
        "SELECT {LINK_COLUMNS} FROM slack_links WHERE org_id = $1 AND user_id IN ({})",
        ids.join(", ")
    )
}

pub(super) fn select_preferences(count: usize) -> String {
    let ids: Vec<String> = (2..count + 2).map(|n| format!("${n}")).collect();
    format!(
        "SELECT user_id, hold_unread_secs, paused, paused_until, quiet_start, quiet_end, quiet_time_zone, \
         language, automatic_language FROM slack_preferences WHERE org_id = $1 AND user_id IN ({})",
        ids.join(", ")
    )
}

/// Everything the person chooses; `automatic_language` stays (it is learned, not chosen).
pub(super) const PUT_PREFERENCES: &str = "INSERT INTO slack_preferences (org_id, user_id, hold_unread_secs, updated_at, \
     paused, paused_until, quiet_start, quiet_end, quiet_time_zone, language) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (org_id, user_id) DO UPDATE SET \
     hold_unread_secs = excluded.hold_unread_secs, updated_at = excluded.updated_at, paused = excluded.paused, \
     paused_until = excluded.paused_until, quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, \
     quiet_time_zone = excluded.quiet_time_zone, language = excluded.language";

/// The language of the person's ovice, learned when they begin Connect; their choices stay.
pub(super) const PUT_AUTOMATIC_LANGUAGE: &str = "INSERT INTO slack_preferences (org_id, user_id, updated_at, automatic_language) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, user_id) DO UPDATE SET automatic_language = excluded.automatic_language";

pub(super) fn links_of_slack_user() -> String {
    format!("SELECT {LINK_COLUMNS} FROM slack_links WHERE slack_team_id = $1 AND slack_user_id = $2")
}

pub(super) fn links_in_team() -> String {
    format!("SELECT {LINK_COLUMNS} FROM slack_links WHERE slack_team_id = $1 ORDER BY org_id, user_id")
}

pub(super) fn list_links() -> String {
    format!(
        "SELECT {LINK_COLUMNS} FROM slack_links WHERE org_id = $1 AND slack_team_id = $2 AND user_id > $3 \
         ORDER BY user_id LIMIT $4"
    )
}

pub(super) fn upsert_link() -> String {
    format!(
        "INSERT INTO slack_links ({LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17) \
         ON CONFLICT (org_id, user_id) DO UPDATE SET slack_team_id = excluded.slack_team_id, \
         slack_user_id = excluded.slack_user_id, slack_user_name = excluded.slack_user_name, \
         scopes = excluded.scopes, token_key_id = excluded.token_key_id, \
         token_ciphertext = excluded.token_ciphertext, state = excluded.state, \
         state_reason = excluded.state_reason, connected_at = excluded.connected_at, \
         updated_at = excluded.updated_at, email_digest = excluded.email_digest, \
         refresh_key_id = excluded.refresh_key_id, refresh_ciphertext = excluded.refresh_ciphertext, \
         token_expires_at = excluded.token_expires_at, refresh_at = excluded.refresh_at, refresh_lease_until = 0"
    )
}

pub(super) const DELETE_LINK: &str = "DELETE FROM slack_links WHERE org_id = $1 AND user_id = $2";

pub(super) const MARK_NEEDS_RECONNECT: &str = "UPDATE slack_links SET state = 'needs_reconnect', \
     state_reason = $3, updated_at = $4 WHERE org_id = $1 AND user_id = $2 AND state = 'connected'";

/// Marks the link NEEDS_RECONNECT and forgets its token; changes nothing the second time.
pub(super) const DROP_TOKEN: &str = "UPDATE slack_links SET state = 'needs_reconnect', \
     state_reason = $3, token_key_id = '', token_ciphertext = $4, refresh_key_id = '', refresh_ciphertext = $4, \
     updated_at = $5 \
     WHERE org_id = $1 AND user_id = $2 AND (state = 'connected' OR token_key_id <> '')";

pub(super) const DUE_REFRESHES: &str = "SELECT org_id, user_id FROM slack_links WHERE refresh_key_id <> '' \
     AND state = 'connected' AND refresh_at <= $1 AND refresh_lease_until <= $1 ORDER BY refresh_at LIMIT $2";
pub(super) const CLAIM_REFRESH: &str = "UPDATE slack_links SET refresh_lease_until = $4 \
     WHERE org_id = $1 AND user_id = $2 AND refresh_key_id <> '' AND refresh_lease_until <= $3";
pub(super) const RELEASE_REFRESH: &str = "UPDATE slack_links SET refresh_lease_until = 0 \
     WHERE org_id = $1 AND user_id = $2 AND refresh_lease_until = $3";
pub(super) const POSTPONE_REFRESH: &str = "UPDATE slack_links SET refresh_at = $3 \
     WHERE org_id = $1 AND user_id = $2 AND refresh_key_id <> '' AND refresh_at < $3";
pub(super) const STORE_REFRESHED: &str = "UPDATE slack_links SET token_key_id = $5, token_ciphertext = $6, \
     refresh_key_id = $7, refresh_ciphertext = $8, token_expires_at = $9, refresh_at = $10, refresh_lease_until = 0 \
     WHERE org_id = $1 AND user_id = $2 AND refresh_key_id = $3 AND refresh_ciphertext = $4";

pub(super) const SEALED_REFRESH_TOKENS: &str = "SELECT org_id, user_id, refresh_key_id, refresh_ciphertext \
     FROM slack_links WHERE refresh_key_id <> '' ORDER BY org_id, user_id";

pub(super) const REPLACE_REFRESH_TOKEN: &str = "UPDATE slack_links SET refresh_key_id = $5, refresh_ciphertext = $6 \
     WHERE org_id = $1 AND user_id = $2 AND refresh_key_id = $3 AND refresh_ciphertext = $4";

pub(super) const SEALED_TOKENS: &str = "SELECT org_id, user_id, token_key_id, token_ciphertext \
     FROM slack_links WHERE token_key_id <> '' ORDER BY org_id, user_id";

pub(super) const REPLACE_TOKEN: &str = "UPDATE slack_links SET token_key_id = $5, token_ciphertext = $6 \
     WHERE org_id = $1 AND user_id = $2 AND token_key_id = $3 AND token_ciphertext = $4";

#[derive(sqlx::FromRow)]
pub(super) struct PendingRow {
    state_hash: String,
    org_id: String,
    user_id: String,
    email: String,
    space_id: String,
    team_id: String,
    verifier_key_id: String,
    verifier_ciphertext: Vec<u8>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    language: String,
}

impl From<PendingRow> for PendingConnect {
    fn from(r: PendingRow) -> Self {
        PendingConnect {
            state_hash: r.state_hash,
            org_id: r.org_id.into(),
            user_id: r.user_id.into(),
            email: r.email,
            space_id: r.space_id,
            team_id: r.team_id.into(),
            verifier: SealedToken {
                key_id: r.verifier_key_id,
                ciphertext: r.verifier_ciphertext,
            },
            created_at: UnixMillis::from_millis(r.created_at),
            expires_at: UnixMillis::from_millis(r.expires_at),
            used: r.used_at.is_some(),
            language: Language::from_tag(&r.language),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct LinkRow {
    org_id: String,
    user_id: String,
    slack_team_id: String,
    slack_user_id: String,
    slack_user_name: String,
    scopes: String,
    token_key_id: String,
    token_ciphertext: Vec<u8>,
    state: String,
    state_reason: String,
    connected_at: i64,
    updated_at: i64,
    email_digest: String,
    refresh_key_id: String,
    refresh_ciphertext: Vec<u8>,
    token_expires_at: i64,
    refresh_at: i64,
}

impl TryFrom<LinkRow> for Link {
    type Error = StoreError;

    fn try_from(r: LinkRow) -> Result<Self, StoreError> {
        let state: LinkState = r
            .state
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("unknown link state `{}`", r.state)))?;
        Ok(Link {
            org_id: r.org_id.into(),
            user_id: r.user_id.into(),
            slack_team_id: r.slack_team_id.into(),
            slack_user_id: r.slack_user_id.into(),
            slack_user_name: r.slack_user_name,
            scopes: r
                .scopes
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            // A dropped token is stored as an empty key id and ciphertext (the columns are NOT NULL).
            token: (!r.token_key_id.is_empty()).then_some(SealedToken {
                key_id: r.token_key_id,
                ciphertext: r.token_ciphertext,
            }),
            email_digest: EmailDigest::from_stored(r.email_digest),
            state,
            state_reason: r.state_reason,
            connected_at: UnixMillis::from_millis(r.connected_at),
            updated_at: UnixMillis::from_millis(r.updated_at),
            rotation: (!r.refresh_key_id.is_empty()).then(|| LinkRotation {
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

/// The link store over either backend: the SQL above, one implementation.
#[derive(Clone, Debug)]
pub struct SqlLinkStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
}

impl<DB: sqlx::Database> SqlLinkStore<DB> {
    pub fn new(pool: sqlx::Pool<DB>) -> Self {
        Self { pool }
    }
}

#[async_trait::async_trait]
impl<DB> LinkStore for SqlLinkStore<DB>
where
    DB: SqlBackend,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> PendingRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> LinkRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> PreferencesRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String, String, Vec<u8>): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, i64): sqlx::FromRow<'r, DB::Row>,
{
    async fn due_refreshes(&self, now: UnixMillis, limit: i64) -> Result<Vec<(OrgId, UserId)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(DUE_REFRESHES)
            .bind(now.as_millis())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(o, u)| (OrgId::new(o), UserId::new(u)))
            .collect())
    }

    async fn claim_refresh(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(CLAIM_REFRESH)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(now.as_millis())
            .bind(until.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn release_refresh(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        until: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(RELEASE_REFRESH)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(until.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn postpone_refresh(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        until: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(POSTPONE_REFRESH)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(until.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn store_refreshed(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        spent: &SealedToken,
        token: &SealedToken,
        rotation: &LinkRotation,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(STORE_REFRESHED)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
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

    async fn insert_pending(&self, p: &PendingConnect) -> Result<(), StoreError> {
        sqlx::query(INSERT_PENDING)
            .bind(&p.state_hash)
            .bind(p.org_id.as_str())
            .bind(p.user_id.as_str())
            .bind(&p.email)
            .bind(&p.space_id)
            .bind(p.team_id.as_str())
            .bind(&p.verifier.key_id)
            .bind(&p.verifier.ciphertext)
            .bind(p.created_at.as_millis())
            .bind(p.expires_at.as_millis())
            .bind(p.language.map_or("", Language::tag))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_pending(&self, state_hash: &str) -> Result<Option<PendingConnect>, StoreError> {
        let row: Option<PendingRow> = sqlx::query_as(SELECT_PENDING)
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(PendingConnect::from))
    }

    async fn spend_pending(&self, state_hash: &str, now: UnixMillis) -> Result<bool, StoreError> {
        let r = sqlx::query(SPEND_PENDING)
            .bind(state_hash)
            .bind(now.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn purge_pending(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let r = sqlx::query(PURGE_PENDING)
            .bind(before.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r))
    }

    async fn keep_newest_pending(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        keep: i64,
    ) -> Result<u64, StoreError> {
        let r = sqlx::query(KEEP_NEWEST_PENDING)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(keep)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r))
    }

    async fn get_link(&self, org_id: &OrgId, user_id: &UserId) -> Result<Option<Link>, StoreError> {
        let row: Option<LinkRow> = sqlx::query_as(sqlx::AssertSqlSafe(select_link()))
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(Link::try_from).transpose()
    }

    async fn get_links(&self, org_id: &OrgId, user_ids: &[UserId]) -> Result<Vec<Link>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::query_as::<_, LinkRow>(sqlx::AssertSqlSafe(select_links(user_ids.len())))
            .bind(org_id.as_str());
        for user_id in user_ids {
            query = query.bind(user_id.as_str());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(Link::try_from)
            .collect()
    }

    async fn get_preferences(
        &self,
        org_id: &OrgId,
        user_ids: &[UserId],
    ) -> Result<Vec<(UserId, SlackPreferences)>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = select_preferences(user_ids.len());
        let mut query = sqlx::query_as::<_, PreferencesRow>(sqlx::AssertSqlSafe(sql)).bind(org_id.as_str());
        for user_id in user_ids {
            query = query.bind(user_id.as_str());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(PreferencesRow::into_preferences)
            .collect()
    }

    async fn put_automatic_language(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        language: Language,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(PUT_AUTOMATIC_LANGUAGE)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(now.as_millis())
            .bind(language.tag())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_preferences(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        preferences: &SlackPreferences,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(PUT_PREFERENCES)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(preferences.hold_seconds())
            .bind(now.as_millis())
            .bind(i64::from(preferences.paused.is_some()))
            .bind(preferences.paused.flatten().map_or(0, UnixMillis::as_millis))
            .bind(preferences.quiet_hours.map(|q| q.start()).unwrap_or_default())
            .bind(preferences.quiet_hours.map(|q| q.end()).unwrap_or_default())
            .bind(preferences.quiet_hours.map_or("", |q| q.time_zone()))
            .bind(preferences.language.map_or("", Language::tag))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_link(&self, l: &Link) -> Result<PutLink, StoreError> {
        let (key_id, ciphertext) = match &l.token {
            Some(t) => (t.key_id.as_str(), t.ciphertext.clone()),
            None => ("", Vec::new()),
        };
        let (refresh_key_id, refresh_ciphertext, expires_at, refresh_at) = match &l.rotation {
            Some(r) => (
                r.refresh_token.key_id.as_str(),
                r.refresh_token.ciphertext.clone(),
                r.expires_at.as_millis(),
                r.refresh_at.as_millis(),
            ),
            None => ("", Vec::new(), 0, 0),
        };
        let stored = sqlx::query(sqlx::AssertSqlSafe(upsert_link()))
            .bind(l.org_id.as_str())
            .bind(l.user_id.as_str())
            .bind(l.slack_team_id.as_str())
            .bind(l.slack_user_id.as_str())
            .bind(&l.slack_user_name)
            .bind(l.scopes.join(","))
            .bind(key_id)
            .bind(&ciphertext)
            .bind(l.state.as_str())
            .bind(&l.state_reason)
            .bind(l.connected_at.as_millis())
            .bind(l.updated_at.as_millis())
            .bind(l.email_digest.as_ref().map_or("", EmailDigest::as_str))
            .bind(refresh_key_id)
            .bind(&refresh_ciphertext)
            .bind(expires_at)
            .bind(refresh_at)
            .execute(&self.pool)
            .await;
        match stored {
            Ok(_) => Ok(PutLink::Stored),
            // The only other unique key of the table: (org, Slack team, Slack user).
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(PutLink::SlackUserTaken),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_link(&self, org_id: &OrgId, user_id: &UserId) -> Result<bool, StoreError> {
        let r = sqlx::query(DELETE_LINK)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) > 0)
    }

    async fn links_of_slack_user(
        &self,
        team_id: &SlackTeamId,
        slack_user_id: &SlackUserId,
    ) -> Result<Vec<Link>, StoreError> {
        let rows: Vec<LinkRow> = sqlx::query_as(sqlx::AssertSqlSafe(links_of_slack_user()))
            .bind(team_id.as_str())
            .bind(slack_user_id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Link::try_from).collect()
    }

    async fn links_in_team(&self, team_id: &SlackTeamId) -> Result<Vec<Link>, StoreError> {
        let rows: Vec<LinkRow> = sqlx::query_as(sqlx::AssertSqlSafe(links_in_team()))
            .bind(team_id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Link::try_from).collect()
    }

    async fn drop_token(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(DROP_TOKEN)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(reason)
            .bind(&Vec::<u8>::new())
            .bind(now.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) > 0)
    }

    async fn list_links(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        after: Option<&UserId>,
        limit: i64,
    ) -> Result<Vec<Link>, StoreError> {
        let rows: Vec<LinkRow> = sqlx::query_as(sqlx::AssertSqlSafe(list_links()))
            .bind(org_id.as_str())
            .bind(team_id.as_str())
            .bind(after.map_or("", UserId::as_str))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Link::try_from).collect()
    }

    async fn mark_needs_reconnect(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(MARK_NEEDS_RECONNECT)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(reason)
            .bind(now.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) > 0)
    }

    async fn sealed_tokens(&self) -> Result<Vec<SealedLinkToken>, StoreError> {
        let rows: Vec<(String, String, String, Vec<u8>)> =
            sqlx::query_as(SEALED_TOKENS).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(org, user, key_id, ciphertext)| {
                (
                    OrgId::new(org),
                    UserId::new(user),
                    ovice_slack_secrets::SealedToken { key_id, ciphertext },
                )
            })
            .collect())
    }

    async fn sealed_refresh_tokens(&self) -> Result<Vec<SealedLinkToken>, StoreError> {
        let rows: Vec<(String, String, String, Vec<u8>)> = sqlx::query_as(SEALED_REFRESH_TOKENS)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(org, user, key_id, ciphertext)| {
                (
                    OrgId::new(org),
                    UserId::new(user),
                    SealedToken { key_id, ciphertext },
                )
            })
            .collect())
    }

    async fn replace_refresh_token(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        old: &SealedToken,
        new: &SealedToken,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(REPLACE_REFRESH_TOKEN)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(&old.key_id)
            .bind(&old.ciphertext)
            .bind(&new.key_id)
            .bind(&new.ciphertext)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    async fn replace_token(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        old: &ovice_slack_secrets::SealedToken,
        new: &ovice_slack_secrets::SealedToken,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(REPLACE_TOKEN)
            .bind(org_id.as_str())
            .bind(user_id.as_str())
            .bind(&old.key_id)
            .bind(&old.ciphertext)
            .bind(&new.key_id)
            .bind(&new.ciphertext)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PreferencesRow {
    user_id: String,
    hold_unread_secs: i64,
    paused: i64,
    paused_until: i64,
    quiet_start: String,
    quiet_end: String,
    quiet_time_zone: String,
    language: String,
    automatic_language: String,
}

impl PreferencesRow {
    /// Rows were checked when written: anything that no longer reads is reported, not guessed.
    fn into_preferences(self) -> Result<(UserId, SlackPreferences), StoreError> {
        let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("{what} of {}: {e}", self.user_id));
        let hold_unread =
            SlackPreferences::hold_from_seconds(self.hold_unread_secs).map_err(|e| corrupt("hold", e))?;
        let quiet_hours = if self.quiet_time_zone.is_empty() {
            None
        } else {
            Some(
                QuietHours::parse(&self.quiet_start, &self.quiet_end, &self.quiet_time_zone).map_err(
                    |e| {
                        let reasons: Vec<String> = e.into_iter().map(|e| e.reason).collect();
                        corrupt("quiet hours", reasons.join("; "))
                    },
                )?,
            )
        };
        let prefs = SlackPreferences {
            hold_unread,
            paused: (self.paused != 0)
                .then_some((self.paused_until > 0).then(|| UnixMillis::from_millis(self.paused_until))),
            quiet_hours,
            language: Language::from_tag(&self.language),
            automatic_language: Language::from_tag(&self.automatic_language),
        };
        Ok((UserId::new(self.user_id), prefs))
    }
}
