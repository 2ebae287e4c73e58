/// The caller's standing in the space whose Personal Integration Settings are open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceAccess {
    Admin,
    Member,
    Visitor,
    /// The token names no role for this space.
    Unknown,
}

/// docs/product.md §2.2: the Slack item appears only when the org has Slack settings and the caller is an admin
/// or member of the space; never to visitors.
pub fn item_visible(org_configured: bool, access: SpaceAccess) -> bool {
    org_configured && matches!(access, SpaceAccess::Admin | SpaceAccess::Member)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_only_to_admins_and_members_of_configured_orgs() {
        assert!(item_visible(true, SpaceAccess::Admin));
        assert!(item_visible(true, SpaceAccess::Member));
        assert!(!item_visible(true, SpaceAccess::Visitor));
        assert!(!item_visible(true, SpaceAccess::Unknown));
        assert!(!item_visible(false, SpaceAccess::Member));
    }
}
