//! What PutSlackWorkspace needs for a bot token that expires (token rotation). When it is renewed
//! is `ovice_slack_model::token_renewal`.

use ovice_slack_i18n::{Arg, Language, Text};

/// What a PutSlackWorkspace of a rotating token must carry to renew it, each named when missing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RotationRefusal {
    #[error(
        "is required with a rotating token (xoxe.xoxb-…): paste the refresh token (xoxe-1-…) Slack issued with it; \
         without it ovice-slack cannot renew the token and delivery would stop within 12 hours"
    )]
    MissingRefreshToken,
    #[error(
        "is not a Slack refresh token: it starts with `xoxe-` (copy it from the same install as the token)"
    )]
    NotRefreshToken,
    #[error(
        "is required with a rotating token (xoxe.xoxb-…): copy it from your Slack app's Basic Information → App Credentials"
    )]
    MissingClientCredential,
    #[error("is only used with a rotating token (xoxe.xoxb-…); this token does not expire: leave it empty")]
    NotRotating,
    #[error("was refused by Slack when renewing the token ({code}): {}", .advice.plain(Language::English))]
    RejectedBySlack { code: String, advice: Text },
}

impl RotationRefusal {
    /// What the owner reads, in `language`.
    pub fn owner_text(&self, language: Language) -> String {
        match self {
            Self::MissingRefreshToken => Text::OwnerRefreshTokenMissing.plain(language),
            Self::NotRefreshToken => Text::OwnerRefreshTokenMalformed.plain(language),
            Self::MissingClientCredential => Text::OwnerClientCredentialMissing.plain(language),
            Self::NotRotating => Text::OwnerNotRotating.plain(language),
            Self::RejectedBySlack { code, advice } => Text::OwnerRenewalRejected.render(
                language,
                &[
                    ("code", Arg::Str(code)),
                    ("advice", Arg::Str(&advice.plain(language))),
                ],
            ),
        }
    }
}

/// The fields of a put that renew a rotating token, checked against the token's kind. Returns the
/// refusals by field name.
pub fn check_rotation_fields(
    rotating: bool,
    refresh_token: &str,
    client_id: &str,
    client_secret: &str,
) -> Vec<(&'static str, RotationRefusal)> {
    let fields = [
        ("refresh_token", refresh_token.trim()),
        ("client_id", client_id.trim()),
        ("client_secret", client_secret.trim()),
    ];
    let mut refused = Vec::new();
    for (name, value) in fields {
        let refusal = match (rotating, value.is_empty()) {
            (true, true) if name == "refresh_token" => Some(RotationRefusal::MissingRefreshToken),
            (true, true) => Some(RotationRefusal::MissingClientCredential),
            (true, false) if name == "refresh_token" && !value.starts_with("xoxe-") => {
                Some(RotationRefusal::NotRefreshToken)
            }
            (false, false) => Some(RotationRefusal::NotRotating),
            _ => None,
        };
        if let Some(r) = refusal {
            refused.push((name, r));
        }
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotating_token_needs_all_three_and_a_plain_one_none() {
        assert!(check_rotation_fields(true, "xoxe-1-abc", "1.2", "s").is_empty());
        assert!(check_rotation_fields(false, "", "", "").is_empty());
        assert_eq!(
            check_rotation_fields(true, "", "1.2", ""),
            vec![
                ("refresh_token", RotationRefusal::MissingRefreshToken),
                ("client_secret", RotationRefusal::MissingClientCredential)
            ]
        );
        assert_eq!(
            check_rotation_fields(true, "xoxb-1", "1.2", "s"),
            vec![("refresh_token", RotationRefusal::NotRefreshToken)]
        );
        assert_eq!(
            check_rotation_fields(false, "xoxe-1-abc", "", ""),
            vec![("refresh_token", RotationRefusal::NotRotating)]
        );
    }
}
