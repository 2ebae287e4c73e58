//! New work in the outbox: this process's claim loop wakes at once, and the other replicas that
//! share the outbox hear of it through the database (PostgreSQL `LISTEN`/`NOTIFY`), so a replica
//! the gateway does not call still takes its share without waiting for its poll.

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::OutboxStore;

/// Announcements to the other replicas are coalesced: a NOTIFY serialises commits on PostgreSQL,
/// so a burst of accepts costs one every this often, not one each.
const COALESCE: Duration = Duration::from_millis(20);

#[derive(Clone, Default)]
pub struct NewWork {
    local: Arc<Notify>,
    peers: Arc<Notify>,
}

impl NewWork {
    /// Something became due now.
    pub fn announce(&self) {
        self.local.notify_one();
        self.peers.notify_one();
    }

    /// What this process's claim loop waits on (also woken by the other replicas' announcements).
    pub fn local(&self) -> Arc<Notify> {
        self.local.clone()
    }

    /// Until `stop`: passes announcements on to the other replicas, and theirs to this one.
    pub async fn relay(self, store: Arc<dyn OutboxStore>, stop: CancellationToken) {
        let listening = store.listen_for_new_work(self.local.clone(), stop.clone());
        let telling = async {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = self.peers.notified() => {}
                }
                if let Err(e) = store.announce_new_work().await {
                    tracing::warn!(error = %e, "telling the other replicas of new deliveries failed; they find them at their next poll");
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(COALESCE) => {}
                }
            }
        };
        tokio::join!(listening, telling);
    }
}
