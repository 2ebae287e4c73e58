use ovice_slack_i18n::{Arg, Language, Text};
use ovice_slack_model::{SlackTeamId, SlackUserId};

use super::WorkspaceDomain;

/// The bot scopes the help page tells owners to add (docs/product.md §2.1).
pub const REQUIRED_BOT_SCOPES: [&str; 3] = ["users:read", "users:read.email", "chat:write"];

/// What Slack's `auth.test` says about a token, as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenIdentity {
    pub url: String,
    pub team_id: String,
    pub team_name: String,
    pub user_id: String,
    pub bot_id: Option<String>,
    pub scopes: Vec<String>,
}

/// A token that qualifies as the org's bot token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    pub team_id: SlackTeamId,
    pub team_name: String,
    pub bot_user_id: SlackUserId,
    pub scopes: Vec<String>,
}

/// Why a token does not qualify; each reads as advice to the owner. Never contains the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    #[error(
        "is required: paste the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page"
    )]
    Missing,
    #[error(
        "is not a Bot User OAuth Token: it must start with `xoxb-` (copy it from OAuth & Permissions → \
         Bot User OAuth Token, not the user token)"
    )]
    NotBotToken,
    #[error("was rejected by Slack ({code}): {}", .advice.plain(Language::English))]
    RejectedBySlack { code: String, advice: Text },
    #[error(
        "belongs to the workspace {actual}, not {expected}: check the domain or install the app in {expected}"
    )]
    WrongWorkspace { expected: String, actual: String },
    #[error("the token lacks scopes: {}; add them under Bot Token Scopes and reinstall the app", .0.join(", "))]
    MissingScopes(Vec<String>),
}

/// Checks what can be checked without Slack.
pub fn check_token_shape(token: &str) -> Result<(), TokenRefusal> {
    let token = token.trim();
    if token.is_empty() {
        Err(TokenRefusal::Missing)
    } else if !(token.starts_with("xoxb-") || is_rotating(token))
        || token.len() > 255
        || token.chars().any(char::is_whitespace)
    {
        Err(TokenRefusal::NotBotToken)
    } else {
        Ok(())
    }
}

/// A bot token of an app that rotates tokens: it expires and is renewed with a refresh token.
pub fn is_rotating(token: &str) -> bool {
    token.trim().starts_with("xoxe.xoxb-")
}

/// Advice for each way Slack rejects a token outright.
pub fn rejection(code: &str) -> TokenRefusal {
    TokenRefusal::RejectedBySlack {
        code: code.to_owned(),
        advice: advice_for(code),
    }
}

/// What an owner does about Slack's refusal `code` of a token or of its renewal (the words are in
/// the i18n crate, in Japanese and English).
pub fn advice_for(code: &str) -> Text {
    match code {
        "invalid_auth" | "not_authed" => Text::AdviceCopyAgain,
        "token_revoked" | "token_expired" => Text::AdviceReinstall,
        "account_inactive" => Text::AdviceBotDeactivated,
        "not_allowed_token_type" => Text::AdviceUseBotToken,
        // Renewing a rotating token (oauth.v2.access).
        "invalid_refresh_token" => Text::AdviceRefreshTokenSpent,
        "invalid_client_id" | "bad_client_secret" => Text::AdviceClientCredentials,
        _ => Text::AdviceCheckToken,
    }
}

impl TokenRefusal {
    /// What the owner reads, in `language`.
    pub fn owner_text(&self, language: Language) -> String {
        match self {
            Self::Missing => Text::OwnerTokenMissing.plain(language),
            Self::NotBotToken => Text::OwnerTokenNotBot.plain(language),
            Self::RejectedBySlack { code, advice } => Text::OwnerTokenRejected.render(
                language,
                &[
                    ("code", Arg::Str(code)),
                    ("advice", Arg::Str(&advice.plain(language))),
                ],
            ),
            Self::WrongWorkspace { expected, actual } => Text::OwnerTokenWrongWorkspace.render(
                language,
                &[("expected", Arg::Str(expected)), ("actual", Arg::Str(actual))],
            ),
            Self::MissingScopes(scopes) => {
                Text::OwnerTokenMissingScopes.render(language, &[("scopes", Arg::Str(&scopes.join(", ")))])
            }
        }
    }
}

/// docs/product.md §2.1: a bot token of the workspace whose URL is `https://<domain>.slack.com/`, with all three scopes.
pub fn verify_auth_test(domain: &WorkspaceDomain, id: &TokenIdentity) -> Result<VerifiedToken, TokenRefusal> {
    if id.bot_id.as_deref().is_none_or(str::is_empty) {
        return Err(TokenRefusal::NotBotToken);
    }
    let expected = domain.url();
    if !id.url.eq_ignore_ascii_case(&expected) {
        let actual = id
            .url
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned();
        return Err(TokenRefusal::WrongWorkspace {
            expected: format!("{domain}.slack.com"),
            actual,
        });
    }
    let missing: Vec<String> = REQUIRED_BOT_SCOPES
        .iter()
        .filter(|s| !id.scopes.iter().any(|g| g == *s))
        .map(|s| s.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(TokenRefusal::MissingScopes(missing));
    }
    Ok(VerifiedToken {
        team_id: id.team_id.as_str().into(),
        team_name: id.team_name.clone(),
        bot_user_id: id.user_id.as_str().into(),
        scopes: id.scopes.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(url: &str, scopes: &[&str]) -> TokenIdentity {
        TokenIdentity {
            url: url.into(),
            team_id: "T1".into(),
            team_name: "Acme".into(),
            user_id: "UBOT".into(),
            bot_id: Some("B1".into()),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_a_bot_token_of_the_domain_with_all_scopes() {
        let d = WorkspaceDomain::parse("acme").unwrap();
        let v = verify_auth_test(&d, &identity("https://acme.slack.com/", &REQUIRED_BOT_SCOPES)).unwrap();
        assert_eq!(v.bot_user_id, "UBOT");
    }

    #[test]
    fn names_each_missing_scope() {
        let d = WorkspaceDomain::parse("acme").unwrap();
        let err = verify_auth_test(
            &d,
            &identity("https://acme.slack.com/", &["users:read", "chat:write"]),
        )
        .unwrap_err();
        assert_eq!(err, TokenRefusal::MissingScopes(vec!["users:read.email".into()]));
        assert!(
            err.to_string()
                .contains("the token lacks scopes: users:read.email")
        );
    }

    #[test]
    fn refuses_another_workspace_and_user_tokens() {
        let d = WorkspaceDomain::parse("acme").unwrap();
        let err =
            verify_auth_test(&d, &identity("https://globex.slack.com/", &REQUIRED_BOT_SCOPES)).unwrap_err();
        assert!(err.to_string().contains("globex.slack.com, not acme.slack.com"));
        let mut user = identity("https://acme.slack.com/", &REQUIRED_BOT_SCOPES);
        user.bot_id = None;
        assert_eq!(
            verify_auth_test(&d, &user).unwrap_err(),
            TokenRefusal::NotBotToken
        );
        assert_eq!(check_token_shape("xoxp-1-2"), Err(TokenRefusal::NotBotToken));
        assert_eq!(check_token_shape(" "), Err(TokenRefusal::Missing));
        assert!(check_token_shape("xoxb-1-2").is_ok());
    }
}
