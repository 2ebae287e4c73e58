//! The signing secret of an org's own Slack app (Basic Information → App Credentials → Signing
//! Secret), given so that the app's events can be believed. Slack's are 32 hex digits; the check is
//! looser than that, but catches what is most often pasted by mistake: a token or nothing useful.

/// Why a signing secret is refused; each reads as advice to the owner and never repeats the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigningSecretRefusal {
    #[error(
        "is a Slack token, not the app's signing secret: copy the Signing Secret from Basic Information → App Credentials"
    )]
    IsAToken,
    #[error(
        "is not a Slack signing secret: it is 32 letters and digits, from Basic Information → App Credentials → Signing Secret"
    )]
    Malformed,
}

impl SigningSecretRefusal {
    /// What the owner reads, in `language`.
    pub fn owner_text(&self, language: ovice_slack_i18n::Language) -> String {
        use ovice_slack_i18n::Text;
        match self {
            Self::IsAToken => Text::OwnerSigningSecretIsToken.plain(language),
            Self::Malformed => Text::OwnerSigningSecretMalformed.plain(language),
        }
    }
}

pub fn check_signing_secret(secret: &str) -> Result<(), SigningSecretRefusal> {
    let secret = secret.trim();
    if secret.starts_with("xox") {
        Err(SigningSecretRefusal::IsAToken)
    } else if !(16..=128).contains(&secret.len()) || !secret.chars().all(|c| c.is_ascii_alphanumeric()) {
        Err(SigningSecretRefusal::Malformed)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slack_signing_secret_passes_and_mistakes_are_named() {
        assert_eq!(check_signing_secret("8f742231b10e8888abcd99e5c6a1b2a5"), Ok(()));
        assert_eq!(
            check_signing_secret("xoxb-1-2"),
            Err(SigningSecretRefusal::IsAToken)
        );
        assert_eq!(
            check_signing_secret("short"),
            Err(SigningSecretRefusal::Malformed)
        );
        assert_eq!(
            check_signing_secret("8f742231b10e8888 abcd99e5c6a1b2a5"),
            Err(SigningSecretRefusal::Malformed)
        );
    }
}
