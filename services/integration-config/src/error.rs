use ovice_slack_i18n::{Arg, Language, Text};
use ovice_slack_runtime::auth::AccessDenied;
use ovice_slack_runtime::localized::{violated_fields, with_localized_message};
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

impl ConfigError {
    /// What an organization owner reads of this error, in `language`.
    pub fn owner_text(&self, language: Language) -> String {
        match self {
            ConfigError::Denied(_) => Text::OwnerDenied.plain(language),
            ConfigError::InvalidDomain(_) => Text::OwnerDomainInvalid.plain(language),
            ConfigError::InvalidToken(r) => r.owner_text(language),
            ConfigError::InvalidRotation { refusal, .. } => refusal.owner_text(language),
            ConfigError::InvalidSigningSecret(r) => r.owner_text(language),
            ConfigError::NotConfigured(_) => Text::OwnerNotConfigured.plain(language),
            ConfigError::SlackUnavailable(_) => Text::OwnerSlackUnavailable.plain(language),
            ConfigError::Store(_) | ConfigError::Cipher(_) => Text::OwnerInternal.plain(language),
        }
    }

    /// The status of an owner-facing call: the English message, and what the owner reads in their
    /// language beside it.
    pub fn into_owner_status(self, language: Option<Language>) -> Status {
        let language = language.unwrap_or_default();
        let text = self.owner_text(language);
        with_localized_message(Status::from(self), language, text)
    }
}

/// The status of everything refused in one request (`errors`: each wrong field of a put), or of
/// the request's own fields (`status`, when `errors` is empty), with what the owner reads.
pub fn for_owner(status: Status, errors: &[ConfigError], language: Option<Language>) -> Status {
    use tonic::Code;
    let language = language.unwrap_or_default();
    let text = if errors.is_empty() {
        match status.code() {
            Code::InvalidArgument => {
                let fields = violated_fields(&status).join(", ");
                Text::OwnerInvalidRequest.render(language, &[("fields", Arg::Str(&fields))])
            }
            Code::PermissionDenied | Code::Unauthenticated => Text::OwnerDenied.plain(language),
            Code::NotFound => Text::OwnerNotConfigured.plain(language),
            Code::Unavailable | Code::DeadlineExceeded => Text::OwnerSlackUnavailable.plain(language),
            _ => Text::OwnerInternal.plain(language),
        }
    } else {
        let texts: Vec<String> = errors.iter().map(|e| e.owner_text(language)).collect();
        // Japanese sentences end in 。 and follow each other without a space.
        texts.join(if language == Language::Japanese { "" } else { " " })
    };
    with_localized_message(status, language, text)
}

impl ConfigError {
    /// The request field this error is about and what is wrong with it; `None` when it is not a
    /// field's problem.
    pub fn field_violation(&self) -> Option<(&'static str, String)> {
        Some(match self {
            ConfigError::InvalidDomain(msg) => ("workspace_domain", msg.clone()),
            ConfigError::InvalidToken(r) => ("access_token", r.to_string()),
            ConfigError::InvalidRotation { field, refusal } => (*field, refusal.to_string()),
            ConfigError::InvalidSigningSecret(r) => ("signing_secret", r.to_string()),
            _ => return None,
        })
    }
}

impl From<ConfigError> for Status {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Denied(d) => d.into(),
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
            // The four field errors.
            field => {
                let (name, problem) = field.field_violation().unwrap_or(("request", field.to_string()));
                ovice_slack_model::validation::invalid_field(name, problem)
            }
        }
    }
}
