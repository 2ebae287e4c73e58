use super::{
    Claim, Outcome, StoreError,
    sql::{
        CLAIM_TEMPLATE, COMPLETE, DeliveryRow, EARLIER_PENDING_TEMPLATE, ERASE_TEXT_BEFORE,
        FAIL_PENDING_FOR_ORG, INSERT, LIST, NEXT_WAKEUP, PENDING_STATS, PROMOTE, PROMOTE_HEADS, RELEASE,
        RESCHEDULE, RETRY, SELECT_BY_ID, SELECT_BY_MESSAGE, claim_candidates, impl_outbox_store, mode_str,
    },
};
use crate::domain::{Delivery, DeliveryMode, DeliveryStatus, SkipReason};

// Claimers in several processes share the rows: each locks the rows it takes and skips those
// another claimer is taking at the same moment, instead of waiting for them.
impl_outbox_store!(
    PostgresOutboxStore,
    sqlx::PgPool,
    "BEGIN",
    " FOR UPDATE SKIP LOCKED",
    " FOR SHARE"
);
