use ovice_slack_model::SpaceRole;

/// docs/product.md §2.2: the Slack item appears only when the org has Slack settings and the caller is
/// an admin or member of the space (`role`, `None` when the token names no role for this space);
/// never to visitors.
pub fn item_visible(org_configured: bool, role: Option<SpaceRole>) -> bool {
    org_configured && matches!(role, Some(SpaceRole::Admin | SpaceRole::Member))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_only_to_admins_and_members_of_configured_orgs() {
        assert!(item_visible(true, Some(SpaceRole::Admin)));
        assert!(item_visible(true, Some(SpaceRole::Member)));
        assert!(!item_visible(true, Some(SpaceRole::Visitor)));
        assert!(!item_visible(true, None));
        assert!(!item_visible(false, Some(SpaceRole::Member)));
    }
}
