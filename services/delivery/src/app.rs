//! The use cases of DeliveryService: who may do what, the accept-time checks, the outbox.

use crate::clock::Clock;
use std::sync::Arc;

use crate::new_work::NewWork;
use ovice_slack_model::{DeliveryId, OrgId, UserId, message_change::MessageChange};
use ovice_slack_runtime::auth::{Caller, Rpc, Scope};

use crate::{
    directory::{CachedDirectory, Freshness},
    domain::{ChatMessage, Classification, Delivery, DeliveryStatus, SkipReason, classify},
    error::DeliveryError,
    metrics,
    store::{ChangeApplied, OutboxStore},
};

/// What happened to an enqueued message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Stored durably; the workers will send it.
    Accepted {
        delivery_id: DeliveryId,
    },
    /// The org published this message id before.
    Duplicate {
        delivery_id: DeliveryId,
    },
    Skipped(SkipReason),
}

/// A page of deliveries.
#[derive(Clone, Debug)]
pub struct Page {
    pub deliveries: Vec<Delivery>,
    /// The last delivery id when more follow.
    pub next: Option<DeliveryId>,
}

#[derive(Clone)]
pub struct DeliveryApp {
    store: Arc<dyn OutboxStore>,
    directory: CachedDirectory,
    new_work: NewWork,
    clock: Clock,
}

impl DeliveryApp {
    pub fn new(
        store: Arc<dyn OutboxStore>,
        directory: CachedDirectory,
        new_work: NewWork,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            directory,
            new_work,
            clock,
        }
    }

    pub async fn enqueue(&self, message: ChatMessage) -> Result<Disposition, DeliveryError> {
        let recipient = match classify(&message) {
            Classification::Skip(reason) => {
                metrics::enqueued("skipped", Some(reason));
                return Ok(Disposition::Skipped(reason));
            }
            Classification::Direct { recipient_user_id } => recipient_user_id,
        };
        let org = &message.org_id;
        if let Some(reason) = self.skip_reason(org, &recipient).await {
            // A message accepted before stays what it was, whatever changed since. (On the accept
            // path the insert itself finds the duplicate, which spares a read per message.)
            if let Some(existing) = self.store.get(org, &message.message_id).await? {
                metrics::enqueued("duplicate", None);
                return Ok(Disposition::Duplicate {
                    delivery_id: existing.delivery_id,
                });
            }
            tracing::info!(org_id = %org, message_id = %message.message_id, reason = reason.as_str(), "message skipped");
            metrics::enqueued("skipped", Some(reason));
            return Ok(Disposition::Skipped(reason));
        }
        let now = self.clock.now();
        let delivery = Delivery::accept(
            DeliveryId::new(uuid::Uuid::now_v7().to_string()),
            &message,
            &recipient,
            now,
            crate::trace::current_traceparent(),
        );
        // Committed before we answer: "accepted" means durable.
        let (stored, inserted) = self.store.insert_if_absent(&delivery).await?;
        metrics::enqueued(if inserted { "accepted" } else { "duplicate" }, None);
        if inserted {
            self.new_work.announce();
            tracing::info!(org_id = %org, message_id = %message.message_id, delivery_id = %stored.delivery_id, "message accepted");
            Ok(Disposition::Accepted {
                delivery_id: stored.delivery_id,
            })
        } else {
            Ok(Disposition::Duplicate {
                delivery_id: stored.delivery_id,
            })
        }
    }

    /// Stores an edit, delete or read of a published message (committed before the answer). A
    /// change that leaves Slack something to do wakes the workers.
    pub async fn change(&self, change: MessageChange) -> Result<ChangeApplied, DeliveryError> {
        let applied = self.store.apply_change(&change, self.clock.now()).await?;
        let kind = change.kind.name();
        match &applied {
            ChangeApplied::NoDelivery => metrics::change(kind, "no_delivery"),
            ChangeApplied::Unchanged(_) => metrics::change(kind, "unchanged"),
            ChangeApplied::Applied(d) => {
                metrics::change(kind, "applied");
                tracing::info!(org_id = %d.org_id, message_id = %d.message_id, delivery_id = %d.delivery_id, kind, status = d.status.as_str(), "message change stored");
                if d.life.pending_change.is_some() {
                    self.new_work.announce();
                }
            }
        }
        Ok(applied)
    }

    /// The accept-time check (cached answers). When the services cannot be asked, the message is
    /// accepted anyway: the send-time check decides, and nothing is lost meanwhile.
    async fn skip_reason(&self, org_id: &OrgId, recipient: &UserId) -> Option<SkipReason> {
        let creds = match self.directory.bot_credentials(org_id, Freshness::Cached).await {
            Ok(None) => return Some(SkipReason::WorkspaceNotConfigured),
            Ok(Some(c)) if !c.active => return Some(SkipReason::WorkspaceTokenInvalid),
            Ok(Some(c)) => c,
            Err(e) => {
                tracing::warn!(%org_id, error = %e, "accepting without the workspace check");
                return None;
            }
        };
        match self
            .directory
            .resolve_users(
                org_id,
                &creds.team_id,
                std::slice::from_ref(recipient),
                Freshness::Cached,
            )
            .await
        {
            Ok(users) if users.first().is_some_and(|u| u.connected_in(&creds.team_id)) => None,
            Ok(_) => Some(SkipReason::RecipientNotConnected),
            Err(e) => {
                tracing::warn!(%org_id, error = %e, "accepting without the recipient check");
                None
            }
        }
    }

    pub async fn get(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        message_id: &str,
    ) -> Result<Delivery, DeliveryError> {
        caller.authorize(Rpc::GetDelivery, Scope::Org(org_id.as_str()))?;
        self.store
            .get(org_id, message_id)
            .await?
            .ok_or_else(|| DeliveryError::MessageNotFound {
                org_id: org_id.to_string(),
                message_id: message_id.to_owned(),
            })
    }

    pub async fn list(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        status: Option<DeliveryStatus>,
        page_size: u32,
        after: Option<&DeliveryId>,
    ) -> Result<Page, DeliveryError> {
        caller.authorize(Rpc::ListDeliveries, Scope::Org(org_id.as_str()))?;
        let mut deliveries = self
            .store
            .list(org_id, status, after, page_size.saturating_add(1))
            .await?;
        let more = deliveries.len() > page_size as usize;
        deliveries.truncate(page_size as usize);
        let next = if more {
            deliveries.last().map(|d| d.delivery_id.clone())
        } else {
            None
        };
        Ok(Page { deliveries, next })
    }

    pub async fn retry(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        delivery_id: &DeliveryId,
    ) -> Result<Delivery, DeliveryError> {
        caller.authorize(Rpc::RetryDelivery, Scope::Org(org_id.as_str()))?;
        if let Some(d) = self.store.retry(org_id, delivery_id, self.clock.now()).await? {
            tracing::info!(%org_id, %delivery_id, operator = %caller.subject, "delivery retried by an operator");
            self.new_work.announce();
            return Ok(d);
        }
        match self.store.get_by_id(delivery_id).await? {
            Some(d) if d.org_id == *org_id => Err(DeliveryError::NotRetryable {
                delivery_id: delivery_id.to_string(),
                status: status_name(d.status),
            }),
            _ => Err(DeliveryError::DeliveryNotFound {
                org_id: org_id.to_string(),
                delivery_id: delivery_id.to_string(),
            }),
        }
    }
}

fn status_name(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "PENDING",
        DeliveryStatus::Sent => "SENT",
        DeliveryStatus::Skipped => "SKIPPED",
        DeliveryStatus::Failed => "FAILED",
        DeliveryStatus::Dead => "DEAD",
        DeliveryStatus::Expired => "EXPIRED",
    }
}
