use ovice_slack_model::{Language, OrgId, SlackTeamId, UnixMillis, UserId};
use ovice_slack_secrets::SealedToken;

/// The user scopes Connect asks for (docs/product.md §2.2): post as the person into their DMs
/// (`chat:write`, `im:write`), and hear when their Slack account changes (`user_change` needs
/// `users:read`; its email shows only with `users:read.email`).
pub const USER_SCOPES: [&str; 4] = ["chat:write", "im:write", "users:read", "users:read.email"];

/// A Connect flow's lifetime: the state and the PKCE verifier expire together.
pub const CONNECT_TTL: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// A person keeps at most this many pending Connect flows; starting another drops the oldest, so
/// the table stays bounded however often someone clicks Connect.
pub const MAX_PENDING_CONNECTS_PER_PERSON: i64 = 5;

/// How many Connect flows one person may start per minute (and at once) unless configured otherwise.
pub const DEFAULT_CONNECT_STARTS_PER_MINUTE: std::num::NonZeroU32 = std::num::NonZeroU32::new(20).unwrap();

/// A Connect flow begun by `BeginSlackConnect`, waiting for Slack's redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingConnect {
    /// SHA-256 (hex) of the state; the state itself is never stored.
    pub state_hash: String,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub email: String,
    pub space_id: String,
    /// The org's Slack team when the flow began.
    pub team_id: SlackTeamId,
    pub verifier: SealedToken,
    pub created_at: UnixMillis,
    pub expires_at: UnixMillis,
    pub used: bool,
    /// The language of the person's ovice when they began: the pages Connect ends on use it.
    pub language: Option<Language>,
}

/// What Slack's `oauth.v2.access` and `users.lookupByEmail` said, as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The team the person picked on Slack's page.
    pub chosen_team_id: String,
    pub chosen_team_name: String,
    /// The Slack user who clicked Allow.
    pub authed_user_id: String,
    /// The Slack user whose email is the ovice account's, if any.
    pub email_owner: Option<EmailOwner>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailOwner {
    pub user_id: String,
    pub name: String,
}

/// Why a consent does not become a link. Each variant is one page a person reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectRefusal {
    #[error("the link is incomplete")]
    MissingState,
    #[error("the link is not valid")]
    UnknownState,
    #[error("the link was already used")]
    StateUsed,
    #[error("the link expired")]
    StateExpired,
    #[error("the person cancelled on Slack")]
    Cancelled,
    #[error("Slack reported an error: {0}")]
    SlackDenied(String),
    #[error("another workspace was chosen")]
    WrongWorkspace { chosen: String, expected_domain: String },
    #[error("no Slack account has the email")]
    NoSlackAccount { email: String, domain: String },
    #[error("the email belongs to another Slack user")]
    EmailOfAnotherUser { email: String, domain: String },
    #[error("Slack granted no user token")]
    NoUserGrant,
    #[error("Slack is no longer set up for the organization")]
    WorkspaceGone,
    #[error("the Slack account is connected to another ovice account of the organization")]
    SlackAccountTaken { slack_user_name: String, domain: String },
}

/// Checks 2–4 of docs/product.md §2.2, in order (check 1, the state, is done before Slack is asked anything).
pub fn check_consent(
    org_team_id: &str,
    org_domain: &str,
    email: &str,
    consent: &Consent,
) -> Result<EmailOwner, ConnectRefusal> {
    if consent.chosen_team_id != org_team_id {
        return Err(ConnectRefusal::WrongWorkspace {
            chosen: consent.chosen_team_name.clone(),
            expected_domain: org_domain.to_owned(),
        });
    }
    let owner = consent
        .email_owner
        .clone()
        .ok_or_else(|| ConnectRefusal::NoSlackAccount {
            email: email.to_owned(),
            domain: org_domain.to_owned(),
        })?;
    if owner.user_id != consent.authed_user_id {
        return Err(ConnectRefusal::EmailOfAnotherUser {
            email: email.to_owned(),
            domain: org_domain.to_owned(),
        });
    }
    Ok(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(team: &str, authed: &str, owner: Option<&str>) -> Consent {
        Consent {
            chosen_team_id: team.into(),
            chosen_team_name: "Globex".into(),
            authed_user_id: authed.into(),
            email_owner: owner.map(|id| EmailOwner {
                user_id: id.into(),
                name: "alice".into(),
            }),
        }
    }

    #[test]
    fn links_only_the_person_whose_email_matches_in_the_org_team() {
        assert_eq!(
            check_consent("T1", "acme", "a@x", &consent("T1", "U1", Some("U1")))
                .unwrap()
                .user_id,
            "U1"
        );
        assert!(matches!(
            check_consent("T1", "acme", "a@x", &consent("T2", "U1", Some("U1"))),
            Err(ConnectRefusal::WrongWorkspace { .. })
        ));
        assert!(matches!(
            check_consent("T1", "acme", "a@x", &consent("T1", "U1", None)),
            Err(ConnectRefusal::NoSlackAccount { .. })
        ));
        assert!(matches!(
            check_consent("T1", "acme", "a@x", &consent("T1", "U1", Some("U2"))),
            Err(ConnectRefusal::EmailOfAnotherUser { .. })
        ));
    }

    #[test]
    fn the_workspace_is_checked_before_the_email() {
        // A consent for another team never reaches the email lookup's answer.
        assert!(matches!(
            check_consent("T1", "acme", "a@x", &consent("T2", "U1", None)),
            Err(ConnectRefusal::WrongWorkspace { .. })
        ));
    }
}
