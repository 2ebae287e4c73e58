/// Whether the org's token works (docs/product.md §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkspaceStatus {
    Active,
    TokenInvalid,
}

impl WorkspaceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceStatus::Active => "active",
            WorkspaceStatus::TokenInvalid => "token_invalid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "token_invalid" => Some(Self::TokenInvalid),
            _ => None,
        }
    }
}

/// The org's settings as the service knows them (the token is held separately, sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    pub org_id: String,
    pub team_id: String,
    pub team_name: String,
    pub domain: String,
    pub bot_user_id: String,
    pub scopes: Vec<String>,
    pub status: WorkspaceStatus,
    pub status_reason: String,
    pub updated_at: i64,
    pub updated_by: String,
}

/// What a change did, for the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    Create,
    Update,
    /// A token of another Slack team: every account link of the org became invalid.
    ReplaceTeam,
    Delete,
    TokenInvalid,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "workspace.create",
            AuditAction::Update => "workspace.update",
            AuditAction::ReplaceTeam => "workspace.replace_team",
            AuditAction::Delete => "workspace.delete",
            AuditAction::TokenInvalid => "workspace.token_invalid",
        }
    }

    /// The action of a put, given the team the org had before (if any).
    pub fn of_put(previous_team: Option<&str>, new_team: &str) -> Self {
        match previous_team {
            None => AuditAction::Create,
            Some(t) if t == new_team => AuditAction::Update,
            Some(_) => AuditAction::ReplaceTeam,
        }
    }
}

/// One audit log row. Never holds a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub org_id: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub occurred_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_action_depends_on_previous_team() {
        assert_eq!(AuditAction::of_put(None, "T1"), AuditAction::Create);
        assert_eq!(AuditAction::of_put(Some("T1"), "T1"), AuditAction::Update);
        assert_eq!(AuditAction::of_put(Some("T1"), "T2"), AuditAction::ReplaceTeam);
    }
}
