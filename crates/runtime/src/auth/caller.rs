use ovice_slack_model::SpaceRole;

use super::claims::{Claims, OrgRole, SvcRole};

/// The permission that lets a member manage the org's integrations like an owner (docs/product.md §1).
pub const PERM_INTEGRATIONS_MANAGE: &str = "integrations.manage";

/// The verified identity of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub org: Option<String>,
    pub email: Option<String>,
    pub org_role: Option<OrgRole>,
    pub perms: Vec<String>,
    pub space: Option<String>,
    pub space_role: Option<SpaceRole>,
    pub svc_role: Option<SvcRole>,
}

/// A refusal, with a message the caller can act on (mapped to PERMISSION_DENIED).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AccessDenied(pub String);

impl From<Claims> for Caller {
    fn from(c: Claims) -> Self {
        Self {
            subject: c.sub,
            org: c.org,
            email: c.email,
            org_role: c.org_role,
            perms: c.perms,
            space: c.space,
            space_role: c.space_role,
            svc_role: c.svc_role,
        }
    }
}

impl From<AccessDenied> for tonic::Status {
    fn from(d: AccessDenied) -> Self {
        tonic::Status::permission_denied(d.0)
    }
}

impl Caller {
    /// Non-human callers: the platform, the project's services, operators.
    pub fn is_service(&self) -> bool {
        self.svc_role.is_some()
    }

    pub fn is_operator(&self) -> bool {
        self.svc_role == Some(SvcRole::Operator)
    }

    /// The project's own services read credentials and enqueue work. The platform only publishes
    /// (through the gateway, under its per-org limits); operators only inspect.
    pub fn is_internal_service(&self) -> bool {
        self.svc_role == Some(SvcRole::Service)
    }

    /// Who may publish chat messages: the ovice platform (and the project's own services).
    pub fn is_publisher(&self) -> bool {
        matches!(self.svc_role, Some(SvcRole::Platform | SvcRole::Service))
    }

    /// The platform publishing for an org (a token with `org` only for that org).
    pub fn ensure_publisher(&self, org_id: &str) -> Result<(), AccessDenied> {
        self.ensure_org(org_id)?;
        if self.is_publisher() {
            Ok(())
        } else {
            Err(AccessDenied(
                "publishing chat messages is for the ovice platform (svc_role platform)".into(),
            ))
        }
    }

    /// A person acts only on the org of their token. A service token without `org` may act on any org;
    /// one with `org` only on that org.
    pub fn ensure_org(&self, org_id: &str) -> Result<(), AccessDenied> {
        match (&self.org, self.is_service()) {
            (Some(org), _) if org == org_id => Ok(()),
            (None, true) => Ok(()),
            (Some(org), _) => Err(AccessDenied(format!(
                "your token is for organization `{org}`, not `{org_id}`: use a token of that organization"
            ))),
            (None, false) => Err(AccessDenied(
                "your token names no organization (`org` claim)".into(),
            )),
        }
    }

    /// Owners and holders of `integrations.manage` of that org (docs/product.md §1).
    pub fn ensure_integration_manager(&self, org_id: &str) -> Result<(), AccessDenied> {
        self.ensure_org(org_id)?;
        if self.is_service() {
            return Err(AccessDenied(
                "managing Slack settings needs an organization owner or the permission integrations.manage"
                    .into(),
            ));
        }
        if self.org_role == Some(OrgRole::Owner) || self.perms.iter().any(|p| p == PERM_INTEGRATIONS_MANAGE) {
            Ok(())
        } else {
            Err(AccessDenied(
                "only an organization owner or a member of a group with the permission integrations.manage \
                 can manage the Slack settings"
                    .into(),
            ))
        }
    }

    /// Owners, `integrations.manage` holders, or operators (read-only inspection).
    pub fn ensure_manager_or_operator(&self, org_id: &str) -> Result<(), AccessDenied> {
        if self.is_operator() {
            return self.ensure_org(org_id);
        }
        self.ensure_integration_manager(org_id)
    }

    /// The project's services and the platform, for calls that hand out secrets or enqueue work.
    pub fn ensure_internal_service(&self, org_id: &str) -> Result<(), AccessDenied> {
        self.ensure_org(org_id)?;
        if self.is_internal_service() {
            Ok(())
        } else {
            Err(AccessDenied(
                "this call is for ovice-slack's own services only (svc_role service)".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(org: &str, role: OrgRole, perms: &[&str]) -> Caller {
        Caller {
            subject: "u1".into(),
            org: Some(org.into()),
            email: None,
            org_role: Some(role),
            perms: perms.iter().map(|p| p.to_string()).collect(),
            space: None,
            space_role: None,
            svc_role: None,
        }
    }

    #[test]
    fn owners_and_permission_holders_manage_only_their_org() {
        assert!(
            person("o1", OrgRole::Owner, &[])
                .ensure_integration_manager("o1")
                .is_ok()
        );
        assert!(
            person("o1", OrgRole::Member, &["integrations.manage"])
                .ensure_integration_manager("o1")
                .is_ok()
        );
        assert!(
            person("o1", OrgRole::Member, &[])
                .ensure_integration_manager("o1")
                .is_err()
        );
        let other = person("o2", OrgRole::Owner, &[])
            .ensure_integration_manager("o1")
            .unwrap_err();
        assert!(other.0.contains("`o2`"));
    }

    #[test]
    fn services_without_org_reach_any_org_but_operators_get_no_secrets() {
        let mut svc = person("x", OrgRole::Member, &[]);
        svc.org = None;
        svc.org_role = None;
        svc.svc_role = Some(SvcRole::Service);
        assert!(svc.ensure_internal_service("o1").is_ok());
        svc.svc_role = Some(SvcRole::Operator);
        assert!(svc.ensure_internal_service("o1").is_err());
        assert!(svc.ensure_manager_or_operator("o1").is_ok());
        assert!(svc.ensure_integration_manager("o1").is_err());
    }
}
