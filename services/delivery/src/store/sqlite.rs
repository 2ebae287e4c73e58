use super::{
    Claim, Outcome, StoreError,
    sql::{
        CLAIM_TEMPLATE, COMPLETE, DeliveryRow, EARLIER_PENDING_TEMPLATE, ERASE_TEXT_BEFORE,
        FAIL_PENDING_FOR_ORG, INSERT, LIST, NEXT_WAKEUP, PENDING_STATS, PROMOTE, PROMOTE_HEADS, RELEASE,
        RESCHEDULE, RETRY, SELECT_BY_ID, SELECT_BY_MESSAGE, claim_candidates, impl_outbox_store, mode_str,
    },
};
use crate::domain::{Delivery, DeliveryMode, DeliveryStatus, SkipReason};

// SQLite has one writer: BEGIN IMMEDIATE takes the write lock before the claim reads, so two
// claimers (threads or processes on one file) run one after the other and never see the same row
// unleased.
impl_outbox_store!(
    SqliteOutboxStore,
    sqlx::SqlitePool,
    "BEGIN IMMEDIATE",
    "",
    ""
);
