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
    pub token: SealedToken,
    pub state: LinkState,
    pub state_reason: String,
    pub connected_at: UnixMillis,
    pub updated_at: UnixMillis,
}

impl Link {
    /// Slack user ids are per workspace: a link made in another team than the org's current one no
    /// longer means anything (docs/product.md §2.1, replacing the workspace invalidates the links).
    pub fn is_current(&self, org_team_id: &SlackTeamId) -> bool {
        self.slack_team_id == *org_team_id
    }
}
