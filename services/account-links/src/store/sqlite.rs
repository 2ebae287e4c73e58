use super::{
    StoreError,
    sql::{
        DELETE_LINK, INSERT_PENDING, LinkRow, MARK_NEEDS_RECONNECT, PURGE_PENDING, PendingRow,
        SELECT_PENDING, SPEND_PENDING, impl_link_store, list_links, select_link, upsert_link,
    },
};
use crate::domain::{Link, PendingConnect};

impl_link_store!(SqliteLinkStore, sqlx::SqlitePool);
