//! The SQL of both backends and the one implementation over either pool. The statements are
//! identical ($n placeholders work on both); what differs (how a claim locks, who writes) is said by
//! each backend's `OutboxBackend` (`sqlite.rs`, `postgres.rs`).

use std::sync::Arc;

use ovice_slack_runtime::db::SqlBackend;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Again, ChangeApplied, ChangeEnd, Claim, OutboxStore, Outcome, StoreError};
use ovice_slack_model::{DeliveryId, OrgId, UnixMillis, message_change::MessageChange};

use crate::domain::{
    ChangeEffect, Delivery, DeliveryMode, DeliveryStatus, HoldReason, Language, MessageLife, SkipReason,
    SlackChange, SpaceRole, apply_change,
};

/// The columns an accept writes (the rest start at their defaults).
macro_rules! insert_columns {
    () => {
        "delivery_id, org_id, message_id, space_id, space_name, sender_user_id, sender_name, sender_role, \
         recipient_user_id, text, link_url, sent_at, status, mode, attempts, last_error, skip_reason, \
         slack_channel_id, slack_ts, next_attempt_at, lease_owner, lease_until, created_at, updated_at, \
         accepted_trace, ambiguous_attempts, window_started_at"
    };
}

/// Every column a `DeliveryRow` reads.
macro_rules! columns {
    () => {
        concat!(
            insert_columns!(),
            ", revision, slack_revision, deleted_at, read_at, held_until, pending_change, change_due_at, \
             change_attempts, change_error, hold_reason, slack_language, in_digest"
        )
    };
}

/// Stores a new row unless the org has that message id already (then it returns nothing). `queued`
/// is 1 when an earlier pending message to the same person exists: the row waits its turn. `{lock}`
/// is ` FOR SHARE` on PostgreSQL: the earlier row cannot leave PENDING before this insert commits,
/// so whoever ends it sees the new row and un-queues it (`PROMOTE`); SQLite serialises the writers
/// instead. One statement, so an accept costs one round trip (`WHERE true` resolves SQLite's parse
/// ambiguity between `SELECT ... ON CONFLICT` and a join's `ON`).
pub(super) const INSERT_TEMPLATE: &str = concat!(
    "WITH earlier AS (SELECT delivery_id FROM deliveries \
       WHERE org_id = $2 AND recipient_user_id = $9 AND status = 'pending' \
         AND sent_at <= $12 AND (sent_at < $12 OR delivery_id < $1) LIMIT 1{lock}) \
     INSERT INTO deliveries (",
    insert_columns!(),
    ", queued) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
     $20, $21, $22, $23, $24, $25, $26, $27, (SELECT COUNT(*) FROM earlier) WHERE true \
     ON CONFLICT (org_id, message_id) DO NOTHING RETURNING ",
    columns!()
);

pub(super) const SELECT_BY_MESSAGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM deliveries WHERE org_id = $1 AND message_id = $2"
);

/// The row a change applies to, locked until the change commits (`{lock_row}`).
pub(super) const SELECT_FOR_CHANGE_TEMPLATE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM deliveries WHERE org_id = $1 AND message_id = $2{lock_row}"
);

/// A change's effect (`domain::apply_change`), written whole.
pub(super) const APPLY_CHANGE: &str = "UPDATE deliveries SET text = $2, status = $3, skip_reason = $4, \
     lease_owner = CASE WHEN $5 = '' THEN NULL ELSE $5 END, lease_until = CASE WHEN $6 = 0 THEN NULL ELSE $6 END, \
     updated_at = $7, revision = $8, deleted_at = $9, read_at = $10, \
     pending_change = $11, change_due_at = $12, change_attempts = $13, sender_name = $14, slack_revision = $15 \
     WHERE delivery_id = $1";

/// Sent rows whose change Slack still needs, due and not held, leased to `$1` until `$2`: at most
/// `$5` per org among the `$6` due first, organizations taking turns (one org's burst of edits does not hold the others
/// back), oldest due first. The outer conditions are repeated on the locked row, as in the claim.
pub(super) const CLAIM_CHANGES_TEMPLATE: &str = concat!(
    "UPDATE deliveries SET lease_owner = $1, lease_until = $2 WHERE delivery_id {in}\
       SELECT d.delivery_id FROM deliveries d \
       WHERE d.status = 'sent' AND d.pending_change <> '' AND d.change_due_at <= $3 \
         AND (d.lease_until IS NULL OR d.lease_until <= $3) \
         AND d.delivery_id {in}\
           SELECT c.delivery_id FROM (\
             SELECT delivery_id, change_due_at, \
                    ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY change_due_at, delivery_id) AS rn \
             FROM (\
               SELECT delivery_id, org_id, change_due_at FROM deliveries \
               WHERE status = 'sent' AND pending_change <> '' AND change_due_at <= $3 \
                 AND (lease_until IS NULL OR lease_until <= $3) \
               ORDER BY change_due_at LIMIT $6) due\
           ) c WHERE c.rn <= $5 ORDER BY c.rn, c.change_due_at, c.delivery_id LIMIT $4{end_in}\
       {claim_lock}{end_in} \
     AND status = 'sent' AND pending_change <> '' AND (lease_until IS NULL OR lease_until <= $3) RETURNING ",
    columns!()
);

/// Slack made the change (`$4` the change, `$5` the revision an update showed). What came meanwhile
/// stays to do: a delete, or a newer revision (whose text is kept for it).
pub(super) const CHANGE_DONE: &str = "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, \
     updated_at = $3, change_error = '', change_attempts = 0, change_due_at = $3, \
     slack_revision = CASE WHEN $4 = 'update' THEN $5 ELSE slack_revision END, \
     pending_change = CASE WHEN $4 = 'delete' THEN '' WHEN deleted_at > 0 THEN 'delete' \
       WHEN revision > $5 THEN 'update' ELSE '' END, \
     text = CASE WHEN $4 = 'update' AND deleted_at = 0 AND revision > $5 THEN text ELSE '' END \
     WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'sent'";

/// Slack refused the change for good (`$4` why, `$5` the change refused): nothing is reposted and no
/// text kept. A delete that came while a refused update was on its way is still tried.
pub(super) const CHANGE_REFUSED: &str = "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, \
     updated_at = $3, change_error = $4, change_attempts = 0, change_due_at = $3, text = '', \
     pending_change = CASE WHEN $5 = 'update' AND deleted_at > 0 THEN 'delete' ELSE '' END \
     WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'sent'";

/// Tried again at `$3` (`$4` the failure, or '' to keep the last; `$5` counts it as an attempt or
/// not). `updated_at` stays when the change became due: the retry window counts from it.
pub(super) const CHANGE_AGAIN: &str = "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, \
     change_due_at = $3, change_error = CASE WHEN $4 = '' THEN change_error ELSE $4 END, change_attempts = change_attempts + $5 \
     WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'sent'";

/// Read or deleted while the hold was being decided: due at once, to be skipped. `$4`: why. The
/// retry window starts again when the hold ends: waiting by choice is not failing to deliver.
pub(super) const HOLD: &str = "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, \
     next_attempt_at = CASE WHEN read_at > 0 OR deleted_at > 0 THEN 0 ELSE $3 END, held_until = $3, hold_reason = $4, \
     window_started_at = $3 \
     WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'pending'";

pub(super) const SELECT_BY_ID: &str =
    concat!("SELECT ", columns!(), " FROM deliveries WHERE delivery_id = $1");

pub(super) const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM deliveries WHERE org_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR delivery_id < $3) \
     ORDER BY delivery_id DESC LIMIT $4"
);

/// Due, unleased rows that are the oldest pending row of their (org, recipient), numbered per org
/// so that the orgs take turns: every org's first row, then every org's second, and so on.
/// The candidates are read from two small indexes and capped at `$6` (the oldest due first), so a
/// claim costs the same with ten or with a hundred thousand rows waiting: unleased rows that are not
/// queued behind an earlier message, and rows whose lease has expired (a worker died). The head
/// check stays as the guard of the per-person order; it runs on the first `2 × $5` candidates in
/// turn order only, not on all of them (on PostgreSQL under ingest, checking all 512 made the claim
/// 44 % of the database's work, see BENCHMARKS.md). A candidate fails it only when its queued flag is
/// stale, so a claim may then take fewer rows than asked, never a row out of order.
/// `e.sent_at <= t.sent_at` is implied by the condition after it, and written out so that both
/// planners walk the conversation index instead of every pending row of the org.
/// `{claim_lock}` is appended to the innermost row selection (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
/// The outer conditions are repeated on the locked row because PostgreSQL re-checks them against a
/// row another claimer changed while we waited, which the uncorrelated id list would not catch.
/// `{in}`…`{end_in}` and `{per_row}` keep the plan's shape whatever the table's statistics say
/// (see `OutboxBackend`): the candidates are chosen once, then each is found by its id.
pub(super) const CLAIM_TEMPLATE: &str = concat!(
    "UPDATE deliveries SET lease_owner = $1, lease_until = $2 WHERE delivery_id {in}\
       SELECT d.delivery_id FROM deliveries d \
       WHERE d.status = 'pending' AND d.next_attempt_at <= $3 \
         AND (d.lease_until IS NULL OR d.lease_until <= $3) \
         AND d.delivery_id {in}\
           SELECT t.delivery_id FROM (\
             SELECT c.delivery_id, c.org_id, c.recipient_user_id, c.sent_at, c.rn, c.next_attempt_at FROM (\
               SELECT h.delivery_id, h.org_id, h.recipient_user_id, h.sent_at, h.next_attempt_at, \
                      ROW_NUMBER() OVER (PARTITION BY h.org_id ORDER BY h.next_attempt_at, h.delivery_id) AS rn \
               FROM (\
                 SELECT * FROM (\
                   SELECT delivery_id, org_id, recipient_user_id, sent_at, next_attempt_at FROM deliveries \
                   WHERE status = 'pending' AND queued = 0 AND lease_owner IS NULL AND next_attempt_at <= $3 \
                   ORDER BY next_attempt_at LIMIT $6) ready \
                 UNION ALL \
                 SELECT * FROM (\
                   SELECT delivery_id, org_id, recipient_user_id, sent_at, next_attempt_at FROM deliveries \
                   WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_until <= $3 \
                     AND next_attempt_at <= $3 \
                   ORDER BY lease_until LIMIT $6) expired\
               ) h\
             ) c WHERE c.rn <= $4 ORDER BY c.rn, c.next_attempt_at, c.delivery_id LIMIT $5 * 2\
           ) t \
           WHERE NOT EXISTS (\
             SELECT 1 FROM deliveries e \
             WHERE e.org_id = t.org_id AND e.recipient_user_id = t.recipient_user_id \
               AND e.status = 'pending' \
               AND e.sent_at <= t.sent_at AND (e.sent_at < t.sent_at OR e.delivery_id < t.delivery_id){per_row}) \
           ORDER BY t.rn, t.next_attempt_at, t.delivery_id LIMIT $5{end_in}\
       {claim_lock}{end_in} RETURNING ",
    columns!()
);

/// After a row of (`$1` org, `$2` recipient) left PENDING: the oldest pending row of that
/// conversation is no longer queued. Its callers hold the conversation's lock
/// (`LOCK_CONVERSATION_OF_…`), so each sees what the other ended.
/// `$3`: the ended row's retry window start. The next row's window starts no earlier: a message that
/// waited behind one held by a preference (quiet hours) was not failing to be delivered meanwhile.
pub(super) const PROMOTE: &str = "UPDATE deliveries SET queued = 0, \
     window_started_at = CASE WHEN window_started_at < $3 THEN $3 ELSE window_started_at END WHERE delivery_id = (\
     SELECT delivery_id FROM deliveries WHERE org_id = $1 AND recipient_user_id = $2 AND status = 'pending' \
     ORDER BY sent_at, delivery_id LIMIT 1) AND queued = 1";

/// Un-queues every queued row that has no earlier pending row (of org `$1`, or of every org when
/// `$1` is empty): after an org's rows were failed together, and as housekeeping, so no row can
/// wait behind a message that is no longer pending. `{per_row}` as in the claim.
pub(super) const PROMOTE_HEADS_TEMPLATE: &str = "UPDATE deliveries SET queued = 0 \
     WHERE status = 'pending' AND queued = 1 AND ($1 = '' OR org_id = $1) AND NOT EXISTS (\
       SELECT 1 FROM deliveries e \
       WHERE e.org_id = deliveries.org_id AND e.recipient_user_id = deliveries.recipient_user_id \
         AND e.status = 'pending' \
         AND e.sent_at <= deliveries.sent_at \
         AND (e.sent_at < deliveries.sent_at OR e.delivery_id < deliveries.delivery_id){per_row})";

/// `$11`: erase the text and the sender name; `$12`: ambiguous attempts to add; `$13`: the revision
/// the send posted. A sent message keeps its sender's name (an edit is shown under it), and the text
/// of a newer revision that came while it was being sent: Slack then still needs that update, or the
/// delete that came meanwhile (`pending_change`).
pub(super) const COMPLETE: &str = "UPDATE deliveries SET status = $3, \
     mode = CASE WHEN $4 = '' THEN mode ELSE $4 END, attempts = attempts + $5, last_error = $6, \
     ambiguous_attempts = ambiguous_attempts + $12, \
     skip_reason = $7, slack_channel_id = $8, slack_ts = $9, lease_owner = NULL, lease_until = NULL, \
     updated_at = $10, \
     text = CASE WHEN $11 AND NOT ($3 = 'sent' AND revision > $13 AND deleted_at = 0) THEN '' ELSE text END, \
     sender_name = CASE WHEN $11 AND $3 <> 'sent' THEN '' ELSE sender_name END, \
     slack_revision = CASE WHEN $3 = 'sent' THEN $13 ELSE slack_revision END, \
     slack_language = CASE WHEN $3 = 'sent' THEN $14 ELSE slack_language END, \
     pending_change = CASE WHEN $3 <> 'sent' THEN '' WHEN deleted_at > 0 THEN 'delete' \
       WHEN revision > $13 THEN 'update' ELSE '' END, \
     change_due_at = $10 \
     WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING org_id, recipient_user_id, window_started_at";

/// The queued rows behind `$3` in its conversation, in order: what a digest may carry.
pub(super) const QUEUED_BEHIND: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM deliveries WHERE org_id = $1 AND recipient_user_id = $2 AND status = 'pending' AND queued = 1 \
     AND lease_owner IS NULL AND delivery_id <> $3 ORDER BY sent_at, delivery_id LIMIT $4"
);

/// A queued row a digest carried: SENT in the same Slack message, keeping no text (a digest shows
/// who and where, so no later edit changes it). Only while still queued and not ended by a delete or
/// read meanwhile. `$2` mode, `$3` channel, `$4` ts, `$5` now, `$6` language.
pub(super) const DIGEST_MEMBER: &str = "UPDATE deliveries SET status = 'sent', queued = 0, mode = $2, \
     attempts = attempts + 1, last_error = '', slack_channel_id = $3, slack_ts = $4, updated_at = $5, \
     text = '', slack_revision = revision, slack_language = $6, in_digest = 1, pending_change = '', \
     change_due_at = $5, hold_reason = 'quiet_hours' \
     WHERE delivery_id = $1 AND status = 'pending' AND queued = 1 AND lease_owner IS NULL";

/// The head of a digest; `$2`: a member ended meanwhile, so the digest must be shown again without it.
pub(super) const DIGEST_HEAD: &str = "UPDATE deliveries SET in_digest = 1, text = '', slack_revision = revision, \
     pending_change = CASE WHEN pending_change = 'delete' THEN 'delete' WHEN $2 THEN 'update' ELSE '' END \
     WHERE delivery_id = $1";

/// The rows a digest message still shows (not deleted), in order.
pub(super) const DIGEST_MEMBERS: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM deliveries WHERE org_id = $1 AND slack_channel_id = $2 AND slack_ts = $3 AND status = 'sent' \
     AND in_digest = 1 AND deleted_at = 0 ORDER BY sent_at, delivery_id"
);

pub(super) const RESCHEDULE: &str = "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $3, \
     mode = CASE WHEN $4 = '' THEN mode ELSE $4 END, last_error = $5, \
     ambiguous_attempts = ambiguous_attempts + $7, lease_owner = NULL, \
     lease_until = NULL, updated_at = $6 \
     WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'pending'";

pub(super) const RELEASE: &str = "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, \
     next_attempt_at = CASE WHEN $3 > next_attempt_at THEN $3 ELSE next_attempt_at END \
     WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'pending'";

pub(super) const FAIL_PENDING_FOR_ORG: &str = "UPDATE deliveries SET status = 'failed', last_error = $2, \
     lease_owner = NULL, lease_until = NULL, updated_at = $3, \
     text = CASE WHEN $4 THEN '' ELSE text END, sender_name = CASE WHEN $4 THEN '' ELSE sender_name END \
     WHERE org_id = $1 AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $3)";

pub(super) const RETRY: &str = concat!(
    "UPDATE deliveries SET status = 'pending', queued = 0, attempts = 0, next_attempt_at = $3, \
     last_error = '', skip_reason = '', lease_owner = NULL, lease_until = NULL, updated_at = $3, \
     window_started_at = $3 \
     WHERE org_id = $1 AND delivery_id = $2 AND status IN ('failed', 'dead', 'expired') RETURNING ",
    columns!()
);

/// The earliest of: the next unleased head's due time, the next lease's end (both from an index).
pub(super) const NEXT_WAKEUP: &str = "SELECT MIN(w) FROM (\
     SELECT * FROM (SELECT next_attempt_at AS w FROM deliveries \
       WHERE status = 'pending' AND queued = 0 AND lease_owner IS NULL AND next_attempt_at > $1 \
       ORDER BY next_attempt_at LIMIT 1) a \
     UNION ALL \
     SELECT * FROM (SELECT lease_until AS w FROM deliveries \
       WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_until > $1 \
       ORDER BY lease_until LIMIT 1) b) t";

pub(super) const PENDING_STATS: &str =
    "SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE status = 'pending'";

pub(super) const ERASE_TEXT_BEFORE: &str = "UPDATE deliveries SET text = '', sender_name = '' \
     WHERE status IN ('failed', 'dead', 'expired') AND updated_at < $1 AND (text <> '' OR sender_name <> '')";

/// Org `$1`'s unheld pending rows due later than `$2` are due at `$2` (its circuit closed).
pub(super) const WAKE_ORG: &str = "UPDATE deliveries SET next_attempt_at = $2 \
     WHERE org_id = $1 AND status = 'pending' AND lease_owner IS NULL AND next_attempt_at > $2 \
       AND held_until <= $2";

#[derive(sqlx::FromRow)]
pub(super) struct DeliveryRow {
    delivery_id: String,
    org_id: String,
    message_id: String,
    space_id: String,
    space_name: String,
    sender_user_id: String,
    sender_name: String,
    sender_role: String,
    recipient_user_id: String,
    text: String,
    link_url: String,
    sent_at: i64,
    status: String,
    mode: String,
    attempts: i64,
    last_error: String,
    skip_reason: String,
    slack_channel_id: String,
    slack_ts: String,
    next_attempt_at: i64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
    accepted_trace: String,
    ambiguous_attempts: i64,
    window_started_at: i64,
    revision: i64,
    slack_revision: i64,
    deleted_at: i64,
    read_at: i64,
    held_until: i64,
    pending_change: String,
    change_due_at: i64,
    change_attempts: i64,
    change_error: String,
    hold_reason: String,
    slack_language: String,
    in_digest: i64,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str, value: &str| StoreError::Corrupt(format!("{what} `{value}` of {}", r.delivery_id));
        let status: DeliveryStatus = r.status.parse().map_err(|_| corrupt("status", &r.status))?;
        let sender_role = r
            .sender_role
            .parse::<SpaceRole>()
            .map_err(|_| corrupt("sender role", &r.sender_role))?;
        let mode = match r.mode.as_str() {
            "" => None,
            m => Some(m.parse::<DeliveryMode>().map_err(|_| corrupt("mode", m))?),
        };
        let skip_reason = match r.skip_reason.as_str() {
            "" => None,
            s => Some(s.parse::<SkipReason>().map_err(|_| corrupt("skip reason", s))?),
        };
        let attempts = u32::try_from(r.attempts).map_err(|_| corrupt("attempts", &r.attempts.to_string()))?;
        let ambiguous_attempts = u32::try_from(r.ambiguous_attempts)
            .map_err(|_| corrupt("ambiguous attempts", &r.ambiguous_attempts.to_string()))?;
        let pending_change = match r.pending_change.as_str() {
            "" => None,
            c => Some(
                c.parse::<SlackChange>()
                    .map_err(|_| corrupt("pending change", c))?,
            ),
        };
        let change_attempts = u32::try_from(r.change_attempts)
            .map_err(|_| corrupt("change attempts", &r.change_attempts.to_string()))?;
        let set = |ms: i64| (ms > 0).then(|| UnixMillis::from_millis(ms));
        let life = MessageLife {
            revision: r.revision,
            slack_revision: r.slack_revision,
            deleted_at: set(r.deleted_at),
            read_at: set(r.read_at),
            held_until: set(r.held_until),
            pending_change,
            change_due_at: UnixMillis::from_millis(r.change_due_at),
            change_attempts,
            change_error: r.change_error,
            hold_reason: match r.hold_reason.as_str() {
                "" => None,
                h => Some(h.parse::<HoldReason>().map_err(|_| corrupt("hold reason", h))?),
            },
            slack_language: Language::from_tag(&r.slack_language),
            in_digest: r.in_digest != 0,
        };
        Ok(Delivery {
            delivery_id: r.delivery_id.into(),
            org_id: r.org_id.into(),
            message_id: r.message_id,
            space_id: r.space_id,
            space_name: r.space_name,
            sender_user_id: r.sender_user_id.into(),
            sender_name: r.sender_name,
            sender_role,
            recipient_user_id: r.recipient_user_id.into(),
            text: r.text,
            link_url: r.link_url,
            sent_at: UnixMillis::from_millis(r.sent_at),
            status,
            mode,
            attempts,
            ambiguous_attempts,
            last_error: r.last_error,
            skip_reason,
            slack_channel_id: r.slack_channel_id,
            slack_ts: r.slack_ts,
            next_attempt_at: UnixMillis::from_millis(r.next_attempt_at),
            lease_owner: r.lease_owner,
            lease_until: r.lease_until.map(UnixMillis::from_millis),
            created_at: UnixMillis::from_millis(r.created_at),
            updated_at: UnixMillis::from_millis(r.updated_at),
            window_started_at: UnixMillis::from_millis(r.window_started_at),
            accepted_trace: r.accepted_trace,
            life,
        })
    }
}

pub(super) fn mode_str(mode: Option<DeliveryMode>) -> &'static str {
    mode.map_or("", DeliveryMode::as_str)
}

/// Claim candidates read per claim: enough that per-org turns work among many due heads, few
/// enough that a claim stays cheap whatever the backlog.
pub(super) fn claim_candidates(limit: u32) -> i64 {
    i64::from(limit).saturating_mul(8).max(512)
}

/// What differs between the backends of the outbox: how a claim locks the rows it takes, how an
/// insert holds the earlier message of its conversation, and who writes (`Writer`).
pub(super) trait OutboxBackend: SqlBackend {
    /// Replaces `{claim_lock}`: appended to the claim's row selection.
    const CLAIM_LOCK: &'static str;
    /// Opens and closes a list of ids a subquery chose (`IN (`…`)`). PostgreSQL writes
    /// `= ANY(ARRAY(`…`))`: the subquery runs once and each id is looked up by primary key, where
    /// its planner would otherwise pick a join order from the statistics, and statistics taken
    /// while few rows were pending (the usual state of a table of sent messages) made it rescan
    /// every pending row per candidate: a claim measured 279 s with 26,000 rows pending.
    const IN: &'static str;
    const END_IN: &'static str;
    /// Closes a correlated `NOT EXISTS` so that it stays a per-row index probe (PostgreSQL:
    /// ` OFFSET 0`, which its planner does not turn into a join), for the same reason.
    const PER_ROW: &'static str;
    /// Replaces `{lock}` in `INSERT_TEMPLATE`.
    const INSERT_LOCK: &'static str;
    /// Locks, until the transaction ends, the conversation (org, recipient) of the row `$1`
    /// (`…_OF_ID`) or of org `$1`'s message `$2` (`…_OF_MESSAGE`); empty where writers are
    /// serialised anyway (SQLite). Whoever ends a pending row and un-queues the next one holds it,
    /// taken before any row lock: two such transactions of one conversation under READ COMMITTED
    /// would otherwise each see the other's row still pending and leave the next one queued.
    const LOCK_CONVERSATION_OF_ID: &'static str;
    const LOCK_CONVERSATION_OF_MESSAGE: &'static str;
    type Writer: OutboxWriter;
    fn writer(pool: sqlx::Pool<Self>) -> Self::Writer;
}

/// A backend's own way to carry out the writes of an accept and of a delivery's end, and to order
/// the other writes around them.
#[async_trait::async_trait]
pub(super) trait OutboxWriter: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Waits until this process may begin a write transaction (held while it runs).
    async fn turn(&self) -> WriteTurn<'_>;
    async fn insert(&self, d: Delivery) -> Result<(DeliveryRow, bool), StoreError>;
    async fn complete(&self, c: Completion) -> Result<bool, StoreError>;
    async fn reschedule(&self, r: Rescheduling) -> Result<bool, StoreError>;
    async fn release(&self, r: Releasing) -> Result<bool, StoreError>;
    /// Tells the outbox's other processes that there is new work.
    async fn announce(&self) -> Result<(), StoreError>;
    /// Until `stop`: wakes `wake` whenever another process announces new work.
    async fn listen(&self, wake: Arc<Notify>, stop: CancellationToken);
}

/// A writer's turn: a held gate, or nothing to hold where writers need no turns.
pub(super) type WriteTurn<'a> = Option<tokio::sync::MutexGuard<'a, ()>>;

/// The outbox over either backend: the SQL above, one implementation.
#[derive(Clone, Debug)]
pub(super) struct SqlOutboxStore<DB: OutboxBackend> {
    pool: sqlx::Pool<DB>,
    claim_sql: String,
    promote_heads_sql: String,
    select_for_change_sql: String,
    claim_changes_sql: String,
    writer: DB::Writer,
}

/// A template above written for one backend.
pub(super) fn outbox_sql<DB: OutboxBackend>(template: &str) -> String {
    template
        .replace("{claim_lock}", DB::CLAIM_LOCK)
        .replace("{in}", DB::IN)
        .replace("{end_in}", DB::END_IN)
        .replace("{per_row}", DB::PER_ROW)
        .replace("{lock_row}", DB::LOCK_ROW)
}

impl<DB: OutboxBackend> SqlOutboxStore<DB> {
    pub(super) fn new(pool: sqlx::Pool<DB>) -> Self {
        Self {
            claim_sql: outbox_sql::<DB>(CLAIM_TEMPLATE),
            promote_heads_sql: outbox_sql::<DB>(PROMOTE_HEADS_TEMPLATE),
            select_for_change_sql: outbox_sql::<DB>(SELECT_FOR_CHANGE_TEMPLATE),
            claim_changes_sql: outbox_sql::<DB>(CLAIM_CHANGES_TEMPLATE),
            writer: DB::writer(pool.clone()),
            pool,
        }
    }
}

#[async_trait::async_trait]
impl<DB> OutboxStore for SqlOutboxStore<DB>
where
    DB: OutboxBackend,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> DeliveryRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (Option<i64>,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, Option<i64>): sqlx::FromRow<'r, DB::Row>,
{
    async fn insert_if_absent(&self, d: &Delivery) -> Result<(Delivery, bool), StoreError> {
        let (row, new) = self.writer.insert(d.clone()).await?;
        Ok((Delivery::try_from(row)?, new))
    }

    async fn get(&self, org_id: &OrgId, message_id: &str) -> Result<Option<Delivery>, StoreError> {
        let row: Option<DeliveryRow> = sqlx::query_as(SELECT_BY_MESSAGE)
            .bind(org_id.as_str())
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Delivery::try_from).transpose()
    }

    async fn get_by_id(&self, delivery_id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let row: Option<DeliveryRow> = sqlx::query_as(SELECT_BY_ID)
            .bind(delivery_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(Delivery::try_from).transpose()
    }

    async fn list(
        &self,
        org_id: &OrgId,
        status: Option<DeliveryStatus>,
        after: Option<&DeliveryId>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(LIST)
            .bind(org_id.as_str())
            .bind(status.map_or("", DeliveryStatus::as_str))
            .bind(after.map_or("", DeliveryId::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn claim_due(&self, claim: Claim<'_>) -> Result<Vec<Delivery>, StoreError> {
        let _turn = self.writer.turn().await;
        let mut tx = self.pool.begin_with(DB::BEGIN_WRITE).await?;
        let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(self.claim_sql.as_str()))
            .bind(claim.worker_id)
            .bind(claim.lease_until.as_millis())
            .bind(claim.now.as_millis())
            .bind(i64::from(claim.per_org.max(1)))
            .bind(i64::from(claim.limit))
            .bind(claim_candidates(claim.limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut claimed = rows
            .into_iter()
            .map(Delivery::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by(|a, b| (a.next_attempt_at, &a.delivery_id).cmp(&(b.next_attempt_at, &b.delivery_id)));
        Ok(claimed)
    }

    async fn complete(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        outcome: &Outcome,
        now: UnixMillis,
        erase_failed_text: bool,
    ) -> Result<bool, StoreError> {
        self.writer
            .complete(Completion {
                delivery_id: delivery_id.clone(),
                lease_owner: lease_owner.to_owned(),
                outcome: outcome.clone(),
                now,
                erase_failed_text,
                digest_members: Vec::new(),
            })
            .await
    }

    async fn complete_digest(
        &self,
        head: &DeliveryId,
        lease_owner: &str,
        outcome: &Outcome,
        members: &[DeliveryId],
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.writer
            .complete(Completion {
                delivery_id: head.clone(),
                lease_owner: lease_owner.to_owned(),
                outcome: outcome.clone(),
                now,
                erase_failed_text: true,
                digest_members: members.to_vec(),
            })
            .await
    }

    async fn queued_behind(&self, head: &Delivery, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(QUEUED_BEHIND)
            .bind(head.org_id.as_str())
            .bind(head.recipient_user_id.as_str())
            .bind(head.delivery_id.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn digest_members(
        &self,
        org_id: &OrgId,
        channel: &str,
        ts: &str,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(DIGEST_MEMBERS)
            .bind(org_id.as_str())
            .bind(channel)
            .bind(ts)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn reschedule(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        again: &Again<'_>,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.writer
            .reschedule(Rescheduling {
                delivery_id: delivery_id.clone(),
                lease_owner: lease_owner.to_owned(),
                next_attempt_at: again.at,
                mode: again.mode,
                error: again.error.to_owned(),
                ambiguous: again.ambiguous,
                now,
            })
            .await
    }

    async fn release(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        not_before: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.writer
            .release(Releasing {
                delivery_id: delivery_id.clone(),
                lease_owner: lease_owner.to_owned(),
                not_before,
            })
            .await
    }

    async fn fail_pending_for_org(
        &self,
        org_id: &OrgId,
        reason: &str,
        now: UnixMillis,
        erase_failed_text: bool,
    ) -> Result<u64, StoreError> {
        let _turn = self.writer.turn().await;
        let mut tx = self.pool.begin_with(DB::BEGIN_WRITE).await?;
        let failed = sqlx::query(FAIL_PENDING_FOR_ORG)
            .bind(org_id.as_str())
            .bind(reason)
            .bind(now.as_millis())
            .bind(erase_failed_text)
            .execute(&mut *tx)
            .await?;
        // A statement of its own: on PostgreSQL it sees rows inserted while the one above waited
        // for their locks.
        sqlx::query(sqlx::AssertSqlSafe(self.promote_heads_sql.as_str()))
            .bind(org_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&failed))
    }

    async fn retry(
        &self,
        org_id: &OrgId,
        delivery_id: &DeliveryId,
        now: UnixMillis,
    ) -> Result<Option<Delivery>, StoreError> {
        let _turn = self.writer.turn().await;
        let row: Option<DeliveryRow> = sqlx::query_as(RETRY)
            .bind(org_id.as_str())
            .bind(delivery_id.as_str())
            .bind(now.as_millis())
            .fetch_optional(&self.pool)
            .await?;
        row.map(Delivery::try_from).transpose()
    }

    async fn apply_change(
        &self,
        change: &MessageChange,
        now: UnixMillis,
    ) -> Result<ChangeApplied, StoreError> {
        let _turn = self.writer.turn().await;
        let mut tx = self.pool.begin_with(DB::BEGIN_WRITE).await?;
        if !DB::LOCK_CONVERSATION_OF_MESSAGE.is_empty() {
            sqlx::query(DB::LOCK_CONVERSATION_OF_MESSAGE)
                .bind(change.org_id.as_str())
                .bind(change.message_id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let row: Option<DeliveryRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(self.select_for_change_sql.as_str()))
                .bind(change.org_id.as_str())
                .bind(change.message_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else {
            return Ok(ChangeApplied::NoDelivery);
        };
        let before = Delivery::try_from(row)?;
        let after = match apply_change(&before, &change.kind, now) {
            ChangeEffect::Nothing => return Ok(ChangeApplied::Unchanged(before)),
            ChangeEffect::Changed(after) => *after,
        };
        let millis = |t: Option<UnixMillis>| t.map_or(0, UnixMillis::as_millis);
        sqlx::query(APPLY_CHANGE)
            .bind(after.delivery_id.as_str())
            .bind(after.text.as_str())
            .bind(after.status.as_str())
            .bind(after.skip_reason.map_or("", SkipReason::as_str))
            .bind(after.lease_owner.as_deref().unwrap_or(""))
            .bind(after.lease_until.map_or(0, UnixMillis::as_millis))
            .bind(after.updated_at.as_millis())
            .bind(after.life.revision)
            .bind(millis(after.life.deleted_at))
            .bind(millis(after.life.read_at))
            .bind(after.life.pending_change.map_or("", SlackChange::as_str))
            .bind(after.life.change_due_at.as_millis())
            .bind(i64::from(after.life.change_attempts))
            .bind(after.sender_name.as_str())
            .bind(after.life.slack_revision)
            .execute(&mut *tx)
            .await?;
        if before.status == DeliveryStatus::Pending && after.status != DeliveryStatus::Pending {
            sqlx::query(PROMOTE)
                .bind(after.org_id.as_str())
                .bind(after.recipient_user_id.as_str())
                .bind(before.window_started_at.as_millis())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ChangeApplied::Applied(after))
    }

    async fn hold(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        until: UnixMillis,
        reason: HoldReason,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer.turn().await;
        let done = sqlx::query(HOLD)
            .bind(delivery_id.as_str())
            .bind(lease_owner)
            .bind(until.as_millis())
            .bind(reason.as_str())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&done) > 0)
    }

    async fn claim_changes(&self, claim: Claim<'_>) -> Result<Vec<Delivery>, StoreError> {
        let _turn = self.writer.turn().await;
        let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(self.claim_changes_sql.as_str()))
            .bind(claim.worker_id)
            .bind(claim.lease_until.as_millis())
            .bind(claim.now.as_millis())
            .bind(i64::from(claim.limit))
            .bind(i64::from(claim.per_org))
            .bind(claim_candidates(claim.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn end_change(
        &self,
        delivery_id: &DeliveryId,
        lease_owner: &str,
        end: &ChangeEnd<'_>,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer.turn().await;
        let query = match end {
            ChangeEnd::Done { change, revision } => sqlx::query(CHANGE_DONE)
                .bind(delivery_id.as_str())
                .bind(lease_owner)
                .bind(now.as_millis())
                .bind(change.as_str())
                .bind(*revision),
            ChangeEnd::Refused { change, error } => sqlx::query(CHANGE_REFUSED)
                .bind(delivery_id.as_str())
                .bind(lease_owner)
                .bind(now.as_millis())
                .bind(*error)
                .bind(change.as_str()),
            ChangeEnd::Again { at, error, attempt } => sqlx::query(CHANGE_AGAIN)
                .bind(delivery_id.as_str())
                .bind(lease_owner)
                .bind(at.as_millis())
                .bind(error.unwrap_or_default())
                .bind(i64::from(*attempt)),
        };
        let done = query.execute(&self.pool).await?;
        Ok(DB::rows_affected(&done) > 0)
    }

    async fn promote_heads(&self) -> Result<u64, StoreError> {
        let _turn = self.writer.turn().await;
        let mut tx = self.pool.begin_with(DB::BEGIN_WRITE).await?;
        let promoted = sqlx::query(sqlx::AssertSqlSafe(self.promote_heads_sql.as_str()))
            .bind("")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&promoted))
    }

    async fn announce_new_work(&self) -> Result<(), StoreError> {
        self.writer.announce().await
    }

    async fn listen_for_new_work(&self, wake: Arc<Notify>, stop: CancellationToken) {
        self.writer.listen(wake, stop).await;
    }

    async fn wake_org(&self, org_id: &OrgId, now: UnixMillis) -> Result<u64, StoreError> {
        let _turn = self.writer.turn().await;
        let woken = sqlx::query(WAKE_ORG)
            .bind(org_id.as_str())
            .bind(now.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&woken))
    }

    async fn next_wakeup(&self, now: UnixMillis) -> Result<Option<UnixMillis>, StoreError> {
        let (at,): (Option<i64>,) = sqlx::query_as(NEXT_WAKEUP)
            .bind(now.as_millis())
            .fetch_one(&self.pool)
            .await?;
        Ok(at.map(UnixMillis::from_millis))
    }

    async fn pending_stats(&self) -> Result<(u64, Option<UnixMillis>), StoreError> {
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(PENDING_STATS).fetch_one(&self.pool).await?;
        Ok((
            u64::try_from(count).unwrap_or(0),
            oldest.map(UnixMillis::from_millis),
        ))
    }

    async fn erase_text_before(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let _turn = self.writer.turn().await;
        let erased = sqlx::query(ERASE_TEXT_BEFORE)
            .bind(before.as_millis())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&erased))
    }
}

/// The arguments of `OutboxStore::complete`, owned, so a writer can queue them.
#[derive(Clone, Debug)]
pub(super) struct Completion {
    pub delivery_id: DeliveryId,
    pub lease_owner: String,
    pub outcome: Outcome,
    pub now: UnixMillis,
    pub erase_failed_text: bool,
    /// Queued rows of the same conversation that the same Slack message (a digest) carried.
    pub digest_members: Vec<DeliveryId>,
}

/// The arguments of `OutboxStore::reschedule`.
#[derive(Clone, Debug)]
pub(super) struct Rescheduling {
    pub delivery_id: DeliveryId,
    pub lease_owner: String,
    pub next_attempt_at: UnixMillis,
    pub mode: Option<DeliveryMode>,
    pub error: String,
    pub ambiguous: bool,
    pub now: UnixMillis,
}

/// The arguments of `OutboxStore::release`.
#[derive(Clone, Debug)]
pub(super) struct Releasing {
    pub delivery_id: DeliveryId,
    pub lease_owner: String,
    pub not_before: UnixMillis,
}

/// The statements of an accept and of the writes that end or hand back a claimed delivery, on a
/// connection that is inside a transaction (the writer decides which: its own, or a group commit).
pub(super) struct Statements<DB>(std::marker::PhantomData<DB>);

impl<DB> Statements<DB>
where
    DB: SqlBackend,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> DeliveryRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String, i64): sqlx::FromRow<'r, DB::Row>,
{
    /// Stores `d` unless its message id is known; `(row, true)` when new. `insert_sql` is
    /// `INSERT_TEMPLATE` with the backend's lock.
    pub(super) async fn insert(
        conn: &mut DB::Connection,
        insert_sql: &str,
        d: &Delivery,
    ) -> Result<(DeliveryRow, bool), StoreError> {
        let inserted: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(insert_sql))
            .bind(d.delivery_id.as_str())
            .bind(d.org_id.as_str())
            .bind(&d.message_id)
            .bind(&d.space_id)
            .bind(&d.space_name)
            .bind(d.sender_user_id.as_str())
            .bind(&d.sender_name)
            .bind(d.sender_role.as_str())
            .bind(d.recipient_user_id.as_str())
            .bind(&d.text)
            .bind(&d.link_url)
            .bind(d.sent_at.as_millis())
            .bind(d.status.as_str())
            .bind(mode_str(d.mode))
            .bind(i64::from(d.attempts))
            .bind(&d.last_error)
            .bind(d.skip_reason.map_or("", SkipReason::as_str))
            .bind(&d.slack_channel_id)
            .bind(&d.slack_ts)
            .bind(d.next_attempt_at.as_millis())
            .bind(&d.lease_owner)
            .bind(d.lease_until.map(UnixMillis::as_millis))
            .bind(d.created_at.as_millis())
            .bind(d.updated_at.as_millis())
            .bind(&d.accepted_trace)
            .bind(i64::from(d.ambiguous_attempts))
            .bind(d.window_started_at.as_millis())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = inserted {
            return Ok((row, true));
        }
        // The conflicting row is committed (PostgreSQL's ON CONFLICT waited for it), or earlier in
        // this very transaction: either way this sees it.
        let row = sqlx::query_as(SELECT_BY_MESSAGE)
            .bind(d.org_id.as_str())
            .bind(&d.message_id)
            .fetch_one(&mut *conn)
            .await?;
        Ok((row, false))
    }

    /// The rest of a digest's completion, in the head's transaction (after its COMPLETE, before the
    /// next row is un-queued, so that one is the first not carried).
    async fn mark_digest(conn: &mut DB::Connection, c: &Completion) -> Result<(), StoreError> {
        let Outcome::Sent {
            mode,
            channel,
            ts,
            language,
            ..
        } = &c.outcome
        else {
            return Ok(());
        };
        let mut marked = 0usize;
        for member in &c.digest_members {
            let done = sqlx::query(DIGEST_MEMBER)
                .bind(member.as_str())
                .bind(mode_str(Some(*mode)))
                .bind(channel.as_str())
                .bind(ts.as_str())
                .bind(c.now.as_millis())
                .bind(language.tag())
                .execute(&mut *conn)
                .await?;
            marked += usize::try_from(DB::rows_affected(&done)).unwrap_or(0);
        }
        sqlx::query(DIGEST_HEAD)
            .bind(c.delivery_id.as_str())
            .bind(marked < c.digest_members.len())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub(super) async fn complete(conn: &mut DB::Connection, c: &Completion) -> Result<bool, StoreError> {
        let (mode, attempt, error, skip, channel, ts) = match &c.outcome {
            Outcome::Sent {
                mode, channel, ts, ..
            } => (Some(*mode), 1i64, "", "", channel.as_str(), ts.as_str()),
            Outcome::Skipped(reason) => (None, 0, "", reason.as_str(), "", ""),
            Outcome::Failed { mode, error } | Outcome::Dead { mode, error, .. } => {
                (*mode, 1, error.as_str(), "", "", "")
            }
            Outcome::Expired {
                mode,
                error,
                attempted,
                ..
            } => (*mode, i64::from(*attempted), error.as_str(), "", "", ""),
        };
        let ambiguous = match c.outcome {
            Outcome::Dead { ambiguous, .. } | Outcome::Expired { ambiguous, .. } => i64::from(ambiguous),
            _ => 0,
        };
        let erase = match c.outcome {
            Outcome::Sent { .. } | Outcome::Skipped(_) => true,
            Outcome::Failed { .. } | Outcome::Dead { .. } | Outcome::Expired { .. } => c.erase_failed_text,
        };
        let ended: Option<(String, String, i64)> = sqlx::query_as(COMPLETE)
            .bind(c.delivery_id.as_str())
            .bind(&c.lease_owner)
            .bind(c.outcome.status().as_str())
            .bind(mode_str(mode))
            .bind(attempt)
            .bind(error)
            .bind(skip)
            .bind(channel)
            .bind(ts)
            .bind(c.now.as_millis())
            .bind(erase)
            .bind(ambiguous)
            .bind(match c.outcome {
                Outcome::Sent { revision, .. } => revision,
                _ => 0,
            })
            .bind(match c.outcome {
                Outcome::Sent { language, .. } => language.tag(),
                _ => "",
            })
            .fetch_optional(&mut *conn)
            .await?;
        if let (Some(_), false) = (&ended, c.digest_members.is_empty()) {
            Self::mark_digest(conn, c).await?;
        }
        if let Some((org_id, recipient, window_started_at)) = &ended {
            // A statement of its own: on PostgreSQL it sees a row whose insert held the ended
            // row's lock until it committed.
            sqlx::query(PROMOTE)
                .bind(org_id)
                .bind(recipient)
                .bind(*window_started_at)
                .execute(&mut *conn)
                .await?;
        }
        Ok(ended.is_some())
    }

    pub(super) async fn reschedule(conn: &mut DB::Connection, r: &Rescheduling) -> Result<bool, StoreError> {
        let done = sqlx::query(RESCHEDULE)
            .bind(r.delivery_id.as_str())
            .bind(&r.lease_owner)
            .bind(r.next_attempt_at.as_millis())
            .bind(mode_str(r.mode))
            .bind(&r.error)
            .bind(r.now.as_millis())
            .bind(i64::from(r.ambiguous))
            .execute(&mut *conn)
            .await?;
        Ok(DB::rows_affected(&done) > 0)
    }

    pub(super) async fn release(conn: &mut DB::Connection, r: &Releasing) -> Result<bool, StoreError> {
        let done = sqlx::query(RELEASE)
            .bind(r.delivery_id.as_str())
            .bind(&r.lease_owner)
            .bind(r.not_before.as_millis())
            .execute(&mut *conn)
            .await?;
        Ok(DB::rows_affected(&done) > 0)
    }
}
