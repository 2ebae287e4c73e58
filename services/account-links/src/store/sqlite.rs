use super::{
    StoreError,
    sql::{
        DELETE_LINK, INSERT_PENDING, LinkRow, MARK_NEEDS_RECONNECT, OTHER_KEY_TOKENS, PURGE_PENDING,
        PendingRow, REPLACE_TOKEN, SELECT_PENDING, SPEND_PENDING, impl_link_store, list_links, select_link,
        select_links, upsert_link,
    },
};
use crate::domain::{Link, PendingConnect};

impl_link_store!(SqliteLinkStore, sqlx::SqlitePool);
