use ovice_slack_runtime::auth::AccessDenied;
use tonic::Status;

use crate::store::StoreError;

/// Everything that can go wrong in DeliveryService, mapped to gRPC once, below.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    #[error("organization `{org_id}` has no delivery of message `{message_id}`")]
    MessageNotFound { org_id: String, message_id: String },
    #[error("organization `{org_id}` has no delivery `{delivery_id}`")]
    DeliveryNotFound { org_id: String, delivery_id: String },
    #[error("delivery `{delivery_id}` is {status}: only FAILED or DEAD deliveries can be retried")]
    NotRetryable {
        delivery_id: String,
        status: &'static str,
    },
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

impl From<DeliveryError> for Status {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::Denied(d) => d.into(),
            DeliveryError::MessageNotFound { .. } | DeliveryError::DeliveryNotFound { .. } => {
                Status::not_found(e.to_string())
            }
            DeliveryError::NotRetryable { .. } => Status::failed_precondition(e.to_string()),
            // Internals go to the log, not to the caller.
            DeliveryError::Store(
                err @ (StoreError::Database(_) | StoreError::BatchFailed(_) | StoreError::WriterGone),
            ) => {
                tracing::error!(error = %err, "delivery store failed");
                // Nothing was stored: the caller may publish again, which is idempotent.
                Status::unavailable("the delivery store is unavailable; try again shortly")
            }
            DeliveryError::Store(err @ StoreError::Corrupt(_)) => {
                tracing::error!(error = %err, "delivery store holds a corrupt row");
                Status::internal("a stored delivery cannot be read; the operators have been told")
            }
        }
    }
}
