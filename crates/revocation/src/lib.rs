//! Revoking the Slack tokens the project drops (`auth.revoke`).
//!
//! When a person disconnects, relinks, or refuses a consent after Slack granted a token, and when an
//! owner removes or replaces the workspace settings, the token that is no longer kept is put in a
//! queue (sealed like every stored token) and a worker of the same service asks Slack to revoke it.
//! The person's or owner's action never waits for Slack: a failure is logged and retried with
//! backoff ([`domain::backoff`]), and a token Slack already refuses counts as revoked.

pub mod domain;
mod metrics;
pub mod store;
mod worker;

use std::{sync::Arc, time::Duration};

use ovice_slack_model::{OrgId, UnixMillis};
use ovice_slack_runtime::db::{Database, DbError};
use ovice_slack_secrets::{CipherError, TokenCipher};
use secrecy::SecretString;
use slack_client::SlackClient;
use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;

pub use domain::{RetryPolicy, RevokeReason, TokenKind};
use store::QueueStore;

#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("could not seal the token to revoke: {0}")]
    Seal(#[from] CipherError),
}

/// The context a queued token is sealed with: its row's id, so a ciphertext opens only as that row.
pub fn sealing_context(id: &str) -> String {
    format!("revoke/v1:{id}")
}

/// The queue of one kind of token, shared by the service's handlers (which enqueue) and its worker.
#[derive(Clone)]
pub struct Revocations {
    store: Arc<dyn QueueStore>,
    cipher: TokenCipher,
    kind: TokenKind,
    wake: Arc<Notify>,
}

impl Revocations {
    /// Runs the queue's migration and opens it.
    pub async fn open(db: &Database, cipher: TokenCipher, kind: TokenKind) -> Result<Self, DbError> {
        Ok(Self {
            store: store::open(db).await?,
            cipher,
            kind,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Puts `token` in the queue; the worker revokes it shortly after. Durable once this returns.
    pub async fn enqueue(
        &self,
        org_id: &OrgId,
        token: &SecretString,
        reason: RevokeReason,
    ) -> Result<(), RevocationError> {
        let id = uuid::Uuid::now_v7().to_string();
        let sealed = self.cipher.seal(token, &sealing_context(&id))?;
        self.store
            .insert(self.kind, &id, org_id, reason, &sealed, UnixMillis::now())
            .await?;
        tracing::info!(%org_id, kind = self.kind.as_str(), reason = reason.as_str(), revocation = %id, "slack token queued for revocation");
        metrics::record(self.kind, metrics::Outcome::Queued);
        self.wake.notify_one();
        Ok(())
    }

    /// Enqueues, and only logs when that fails: what the person asked for has been done, and a token
    /// left alive at Slack must not undo it.
    pub async fn enqueue_or_log(&self, org_id: &OrgId, token: &SecretString, reason: RevokeReason) {
        if let Err(e) = self.enqueue(org_id, token, reason).await {
            tracing::error!(%org_id, kind = self.kind.as_str(), reason = reason.as_str(), error = %e, "could not queue a dropped slack token for revocation; it stays valid at Slack until revoked there");
        }
    }

    /// Tokens still waiting to be revoked.
    pub async fn pending(&self) -> Result<u64, RevocationError> {
        Ok(self.store.pending(self.kind).await?)
    }

    /// Drains the queue until `stop`: at once after an enqueue in this process, and every
    /// `config.poll` for rows queued by other replicas or due for a retry.
    pub fn spawn_worker(
        &self,
        slack: SlackClient,
        config: WorkerConfig,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(worker::run(self.clone(), slack, config, stop))
    }
}

/// How the worker paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// How often the queue is read when nothing in this process woke the worker.
    pub poll: Duration,
    pub retry: RetryPolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}
