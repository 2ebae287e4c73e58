use ovice_slack_i18n::{Arg, Language, Text};
use ovice_slack_runtime::auth::AccessDenied;
use ovice_slack_runtime::localized::{violated_fields, with_localized_message as localized};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::store::StoreError;

/// Everything that can go wrong in AccountLinkService's RPCs, mapped to gRPC once, below.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    #[error("Slack is not set up for organization `{0}`: an organization owner must set it up first")]
    NotConfigured(String),
    #[error(
        "the Slack token of organization `{0}` no longer works: an organization owner must put a new one \
         before anyone can connect"
    )]
    WorkspaceTokenInvalid(String),
    #[error(
        "Connect is not configured on this server: the operator must set OVICE_SLACK_CLIENT_ID, OVICE_SLACK_CLIENT_SECRET and OVICE_SLACK_OAUTH_REDIRECT_URL"
    )]
    ConnectNotConfigured,
    #[error("your ovice account has no email address, so it cannot be matched to a Slack account")]
    NoEmail,
    #[error(
        "your ovice account's email address is not verified (the token lacks `email_verified: true`): \
         verify it in ovice, then connect; a Slack account is matched by a verified email only"
    )]
    EmailNotVerified,
    #[error(
        "you started Connect more than {per_minute} times in a minute: use the newest Connect window, \
         or try again in {} s", retry_after.as_secs().max(1)
    )]
    TooManyConnects {
        per_minute: u32,
        retry_after: std::time::Duration,
    },
    #[error("the settings service could not be reached ({0}); try again shortly")]
    PeerUnavailable(#[from] ovice_slack_runtime::peer_clients::PeerUnavailable),
    #[error("Slack could not be reached to renew the token ({0}); try again shortly")]
    SlackUnavailable(String),
    #[error(
        "Slack refused the Connect app's credentials (`{0}`) when renewing a token: the operator must fix \
         OVICE_SLACK_CLIENT_ID / OVICE_SLACK_CLIENT_SECRET; the person's link is kept"
    )]
    ConnectCredentialsRefused(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("a stored secret cannot be decrypted: {0}")]
    Cipher(#[from] ovice_slack_secrets::CipherError),
}

impl From<LinkError> for Status {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Denied(d) => d.into(),
            LinkError::NotConfigured(_)
            | LinkError::WorkspaceTokenInvalid(_)
            | LinkError::ConnectNotConfigured
            | LinkError::NoEmail
            | LinkError::EmailNotVerified => Status::failed_precondition(e.to_string()),
            LinkError::TooManyConnects { retry_after, .. } => {
                let mut details = tonic_types::ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(tonic::Code::ResourceExhausted, e.to_string(), details)
            }
            LinkError::PeerUnavailable(_) | LinkError::SlackUnavailable(_) => {
                Status::unavailable(e.to_string())
            }
            LinkError::ConnectCredentialsRefused(_) => {
                tracing::error!(error = %e, "the Connect app's credentials were refused");
                Status::unavailable(e.to_string())
            }
            LinkError::Store(err) => {
                tracing::error!(error = %err, "link store failed");
                Status::internal("storage failed; the operators have been told")
            }
            LinkError::Cipher(err) => {
                tracing::error!(error = %err, "link secret decryption failed");
                Status::internal("a stored Slack token cannot be decrypted; connect Slack again")
            }
        }
    }
}

impl LinkError {
    /// The status a person's call gets: with the text for them, in their language (`for_person`).
    pub fn into_person_status(self, language: Option<Language>) -> Status {
        let text = match &self {
            LinkError::NotConfigured(_) => Some(Text::ErrorNotConfigured),
            LinkError::WorkspaceTokenInvalid(_) => Some(Text::ErrorWorkspaceTokenInvalid),
            LinkError::ConnectNotConfigured => Some(Text::ErrorConnectNotConfigured),
            LinkError::NoEmail => Some(Text::ErrorNoEmail),
            LinkError::EmailNotVerified => Some(Text::ErrorEmailNotVerified),
            _ => None,
        };
        let language = language.unwrap_or_default();
        match text {
            Some(t) => localized(Status::from(self), language, t.plain(language)),
            None => for_person(Status::from(self), Some(language)),
        }
    }
}

/// What a person reads of an error, in their language: the same status, with a
/// `google.rpc.LocalizedMessage` (locale and text) beside the English message operators and logs see.
pub fn for_person(status: Status, language: Option<Language>) -> Status {
    let language = language.unwrap_or_default();
    let details = status.get_error_details();
    let text = match status.code() {
        Code::PermissionDenied | Code::Unauthenticated => Text::ErrorDenied.plain(language),
        Code::InvalidArgument => {
            let mut fields: Vec<String> = violated_fields(&status)
                .into_iter()
                .map(|f| setting_label(&f).map_or(f, |t| t.plain(language)))
                .collect();
            fields.dedup();
            let fields = fields.join(&Text::ListSeparator.plain(language));
            Text::ErrorInvalidSettings.render(language, &[("fields", Arg::Str(&fields))])
        }
        Code::ResourceExhausted => {
            let seconds = details
                .retry_info()
                .and_then(|r| r.retry_delay)
                .map_or(60, |d| d.as_secs().max(1));
            Text::ErrorTooManyConnects.render(language, &[("seconds", Arg::Count(seconds))])
        }
        Code::Unavailable | Code::DeadlineExceeded => Text::ErrorUnavailable.plain(language),
        _ => Text::ErrorInternal.plain(language),
    };
    localized(status, language, text)
}

/// The name a person knows a setting by; other fields (ids the platform sends) keep their path.
fn setting_label(field: &str) -> Option<Text> {
    Some(match field {
        "preferences.hold_unread_seconds" => Text::FieldHoldUnread,
        "preferences.paused_until" => Text::FieldPausedUntil,
        "preferences.quiet_hours.start" => Text::FieldQuietHoursStart,
        "preferences.quiet_hours.end" => Text::FieldQuietHoursEnd,
        "preferences.quiet_hours.time_zone" => Text::FieldQuietHoursTimeZone,
        "preferences.language" => Text::FieldLanguage,
        _ => return None,
    })
}
