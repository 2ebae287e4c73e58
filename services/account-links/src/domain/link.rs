use ovice_slack_events::EmailDigest;
use ovice_slack_model::{OrgId, SlackTeamId, SlackUserId, UnixMillis, UserId};
use ovice_slack_secrets::SealedToken;

/// The state of a stored link (stored as its snake_case name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum LinkState {
    Connected,
    /// Slack rejected the person's token; they should connect again.
    NeedsReconnect,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A person's link in an organization: one per (org, ovice user), valid in every space of the org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub slack_team_id: SlackTeamId,
    pub slack_user_id: SlackUserId,
    pub slack_user_name: String,
    pub scopes: Vec<String>,
    /// `None` once Slack said the token is gone (tokens_revoked, app_uninstalled): nothing is kept
    /// that could be tried again.
    pub token: Option<SealedToken>,
    /// The ovice account's email the link was matched by; `None` for links made before it was kept.
    pub email_digest: Option<EmailDigest>,
    pub state: LinkState,
    pub state_reason: String,
    pub connected_at: UnixMillis,
    pub updated_at: UnixMillis,
    /// Present when the token expires and is renewed (the Connect app rotates tokens).
    pub rotation: Option<LinkRotation>,
}

/// How an expiring user token is renewed: its sealed refresh token, when it expires, when it is
/// renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRotation {
    pub refresh_token: SealedToken,
    pub expires_at: UnixMillis,
    pub refresh_at: UnixMillis,
}

impl Link {
    /// Slack user ids are per workspace: a link made in another team than the org's current one no
    /// longer means anything (docs/product.md §2.1, replacing the workspace invalidates the links).
    pub fn is_current(&self, org_team_id: &SlackTeamId) -> bool {
        self.slack_team_id == *org_team_id
    }
}

/// The associated data a link's user token is sealed with, so that a ciphertext opens only in its
/// own row. The org id's length comes first: no two (org, user) pairs share a context, whatever
/// characters the ids hold.
pub fn token_context(org_id: &OrgId, user_id: &UserId) -> String {
    format!("link/v2:{}:{org_id}:{user_id}", org_id.as_str().len())
}

/// The associated data of a link's refresh token (a rotating token's), its own so that it never
/// opens as the token.
pub fn refresh_context(org_id: &OrgId, user_id: &UserId) -> String {
    format!("link-refresh/v1:{}:{org_id}:{user_id}", org_id.as_str().len())
}

/// The context tokens were sealed with before 2026-12 (`link:{org}:{user}`), when it is unambiguous:
/// only if neither id holds a `:` can no other row have the same one. `None` otherwise (such a token
/// does not open; its person connects again).
pub fn legacy_token_context(org_id: &OrgId, user_id: &UserId) -> Option<String> {
    let plain = |id: &str| !id.contains(':');
    (plain(org_id.as_str()) && plain(user_id.as_str())).then(|| format!("link:{org_id}:{user_id}"))
}

#[cfg(test)]
mod context_tests {
    use super::*;

    #[test]
    fn no_two_rows_share_a_sealing_context() {
        let pairs = [
            ("a:b", "c"),
            ("a", "b:c"),
            ("a:b:c", ""),
            ("", "a:b:c"),
            ("3:a", "b"),
        ];
        let contexts: std::collections::HashSet<_> = pairs
            .iter()
            .map(|(o, u)| token_context(&OrgId::new(*o), &UserId::new(*u)))
            .collect();
        assert_eq!(contexts.len(), pairs.len());
        // The legacy form only where it could not be confused.
        assert_eq!(
            legacy_token_context(&OrgId::new("org-1"), &UserId::new("alice")).as_deref(),
            Some("link:org-1:alice")
        );
        assert_eq!(legacy_token_context(&OrgId::new("a:b"), &UserId::new("c")), None);
        assert_eq!(legacy_token_context(&OrgId::new("a"), &UserId::new("b:c")), None);
    }
}
