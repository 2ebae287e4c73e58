use ovice_slack_runtime::auth::AccessDenied;
use tonic::Status;

use crate::{domain::TokenRefusal, store::StoreError};

/// Everything that can go wrong in IntegrationConfigService, mapped to gRPC once, below.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    #[error("workspace_domain {0}")]
    InvalidDomain(String),
    #[error("access_token {0}")]
    InvalidToken(#[from] TokenRefusal),
    #[error("{field} {refusal}")]
    InvalidRotation {
        field: &'static str,
        refusal: crate::domain::RotationRefusal,
    },
    #[error("signing_secret {0}")]
    InvalidSigningSecret(crate::domain::SigningSecretRefusal),
    #[error("organization `{0}` has no Slack workspace settings: an owner must set them up first")]
    NotConfigured(String),
    #[error("Slack could not be reached to check the token ({0}); try again shortly")]
    SlackUnavailable(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("the stored token cannot be decrypted: {0}")]
    Cipher(#[from] ovice_slack_secrets::CipherError),
}

impl From<ConfigError> for Status {
    fn from(e: ConfigError) -> Self {
        use ovice_slack_model::validation::invalid_field;
        match e {
            ConfigError::Denied(d) => d.into(),
            ConfigError::InvalidDomain(msg) => invalid_field("workspace_domain", msg),
            ConfigError::InvalidToken(r) => invalid_field("access_token", r.to_string()),
            ConfigError::InvalidRotation { field, refusal } => invalid_field(field, refusal.to_string()),
            ConfigError::InvalidSigningSecret(r) => invalid_field("signing_secret", r.to_string()),
            ConfigError::NotConfigured(_) => Status::not_found(e.to_string()),
            ConfigError::SlackUnavailable(_) => Status::unavailable(e.to_string()),
            // Internals go to the log, not to the caller.
            ConfigError::Store(err) => {
                tracing::error!(error = %err, "workspace store failed");
                Status::internal("storage failed; the operators have been told")
            }
            ConfigError::Cipher(err) => {
                tracing::error!(error = %err, "token decryption failed");
                Status::internal("the stored token cannot be decrypted; an owner should put the token again")
            }
        }
    }
}
