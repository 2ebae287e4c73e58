//! Hearing Slack: the Events API.
//!
//! Slack posts an event (a person removed the app's access, the app was uninstalled, a profile
//! changed) to an app's Request URL and wants a 2xx within 3 seconds, or it retries. This crate
//! checks the request's signature before reading anything ([`signature`]), reads the body into
//! types ([`event`]), stores each event once per receiving endpoint in a durable inbox before
//! answering ([`Inbox::accept`], deduplicated by Slack's event id), and hands it to the owning
//! service's [`EventHandler`] from a worker after the answer, with retries. A crash between the answer
//! and the work loses nothing: the row waits for the next worker.

mod endpoint;
pub mod event;
mod metrics;
pub mod signature;
pub mod store;
mod worker;

use std::{sync::Arc, time::Duration};

use ovice_slack_model::{OrgId, UnixMillis};
use ovice_slack_runtime::db::{Database, DbError};
use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;

pub use endpoint::{EVENTS_PATH, ORG_EVENTS_PATH, OrgSecrets, not_configured_routes, org_routes, routes};
pub use event::{EmailDigest, Envelope, Incoming, SlackEvent};
pub use signature::SigningSecret;
use store::InboxStore;
pub use store::{StoreError, StoredEvent};

/// Why an event could not be acted on yet.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HandleError(pub String);

/// The service that acts on one endpoint's events.
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Acts on one event. Called at least once per stored event (again after a crash or an error),
    /// so acting twice must do no more than acting once.
    async fn handle(&self, event: &StoredEvent) -> Result<(), HandleError>;
}

/// One endpoint's events: what its route stores and its worker drains.
#[derive(Clone)]
pub struct Inbox {
    store: Arc<dyn InboxStore>,
    /// `connect` for the Connect app's endpoint, `org` for orgs' own apps'.
    receiver: &'static str,
    wake: Arc<Notify>,
}

impl Inbox {
    /// Runs the inbox's migration and opens the receiver's part of it.
    pub async fn open(db: &Database, receiver: &'static str) -> Result<Self, DbError> {
        Ok(Self {
            store: store::open(db).await?,
            receiver,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Stores the event (durable once this returns) unless it is already stored; says whether it
    /// was new, and wakes this process's worker when it was.
    pub async fn accept(&self, org_id: Option<&OrgId>, envelope: &Envelope) -> Result<bool, StoreError> {
        let new = self
            .store
            .insert(
                self.receiver,
                org_id,
                &envelope.event_id,
                &envelope.team_id,
                &envelope.event,
                UnixMillis::now(),
            )
            .await?;
        if new {
            self.wake.notify_one();
        }
        Ok(new)
    }

    /// Events stored and not yet acted on.
    pub async fn pending(&self) -> Result<u64, StoreError> {
        self.store.pending(self.receiver).await
    }

    /// Drains the inbox until `stop`: at once after an event this process stored, and every
    /// `config.poll` for events stored by other replicas or due for a retry.
    pub fn spawn_worker(
        &self,
        handler: Arc<dyn EventHandler>,
        config: WorkerConfig,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(worker::run(self.clone(), handler, config, stop))
    }
}

/// How the worker paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// How often the inbox is read when nothing in this process woke the worker.
    pub poll: Duration,
    /// How long a claimed event is left to its worker before another may take it.
    pub lease: Duration,
    /// How long a done event is remembered, so that Slack's retries of it are recognised. Slack
    /// retries for about an hour, and for a day with Delayed Events on.
    pub remember: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            remember: Duration::from_secs(25 * 60 * 60),
        }
    }
}
