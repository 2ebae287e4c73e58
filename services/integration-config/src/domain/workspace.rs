use ovice_slack_model::{OrgId, SlackTeamId, SlackUserId, UnixMillis};

/// Whether the org's token works (docs/product.md §2.1). Stored as its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum WorkspaceStatus {
    Active,
    TokenInvalid,
}

impl WorkspaceStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The org's settings as the service knows them (the token is held separately, sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    pub org_id: OrgId,
    pub team_id: SlackTeamId,
    pub team_name: String,
    pub domain: String,
    pub bot_user_id: SlackUserId,
    pub scopes: Vec<String>,
    pub status: WorkspaceStatus,
    pub status_reason: String,
    pub updated_at: UnixMillis,
    pub updated_by: String,
    /// When the token expires, for a token that rotates.
    pub token_expires_at: Option<UnixMillis>,
    /// The owner's app's events come to ovice-slack (its signing secret is kept).
    pub events_enabled: bool,
}

/// What a change did, for the audit log. Stored and listed as `workspace.<snake_case name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
pub enum AuditAction {
    #[strum(serialize = "workspace.create")]
    Create,
    #[strum(serialize = "workspace.update")]
    Update,
    /// A token of another Slack team: every account link of the org became invalid.
    #[strum(serialize = "workspace.replace_team")]
    ReplaceTeam,
    #[strum(serialize = "workspace.delete")]
    Delete,
    #[strum(serialize = "workspace.token_invalid")]
    TokenInvalid,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The action of a put, given the team the org had before (if any).
    pub fn of_put(previous_team: Option<&SlackTeamId>, new_team: &SlackTeamId) -> Self {
        match previous_team {
            None => AuditAction::Create,
            Some(t) if t == new_team => AuditAction::Update,
            Some(_) => AuditAction::ReplaceTeam,
        }
    }
}

/// Who changed what and when, before the action is known (a put's action depends on the team
/// the org had, which the store reads in the same transaction). Never holds a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditNote {
    pub org_id: OrgId,
    pub actor: String,
    pub detail: String,
    pub occurred_at: UnixMillis,
}

impl AuditNote {
    pub fn entry(&self, action: AuditAction) -> AuditEntry {
        AuditEntry {
            org_id: self.org_id.clone(),
            actor: self.actor.clone(),
            action,
            detail: self.detail.clone(),
            occurred_at: self.occurred_at,
        }
    }
}

/// One audit log row. Never holds a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub org_id: OrgId,
    pub actor: String,
    pub action: AuditAction,
    pub detail: String,
    pub occurred_at: UnixMillis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_stable() {
        assert_eq!(AuditAction::ReplaceTeam.as_str(), "workspace.replace_team");
        assert_eq!("workspace.token_invalid".parse(), Ok(AuditAction::TokenInvalid));
        assert_eq!(WorkspaceStatus::TokenInvalid.as_str(), "token_invalid");
        assert_eq!("active".parse(), Ok(WorkspaceStatus::Active));
    }

    #[test]
    fn put_action_depends_on_previous_team() {
        let (t1, t2) = (SlackTeamId::new("T1"), SlackTeamId::new("T2"));
        assert_eq!(AuditAction::of_put(None, &t1), AuditAction::Create);
        assert_eq!(AuditAction::of_put(Some(&t1), &t1), AuditAction::Update);
        assert_eq!(AuditAction::of_put(Some(&t1), &t2), AuditAction::ReplaceTeam);
    }
}
