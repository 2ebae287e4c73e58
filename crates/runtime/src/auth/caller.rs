use ovice_slack_model::{Language, SpaceRole};

use super::claims::{Claims, OrgRole, SvcRole};
use crate::target::TargetSet;

/// The verified identity of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub org: Option<String>,
    pub email: Option<String>,
    /// True only when the token says `email_verified: true`.
    pub email_verified: bool,
    pub org_role: Option<OrgRole>,
    pub perms: Vec<String>,
    pub space: Option<String>,
    pub space_role: Option<SpaceRole>,
    pub svc_role: Option<SvcRole>,
    /// The targets a service caller speaks for, from the service key that signed its token; `None`
    /// for every token the platform's keys verified.
    pub service: Option<TargetSet>,
    /// From the `locale` claim, when it names a language ovice-slack speaks.
    pub language: Option<Language>,
}

/// A refusal, with a message the caller can act on (mapped to PERMISSION_DENIED).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AccessDenied(pub String);

impl Caller {
    /// The caller of verified `c`; `service` only when a service key signed it.
    pub(super) fn from_claims(c: Claims, service: Option<TargetSet>) -> Self {
        Self {
            subject: c.sub,
            org: c.org,
            email: c.email,
            email_verified: c.email_verified == Some(true),
            org_role: c.org_role,
            perms: c.perms,
            space: c.space,
            space_role: c.space_role,
            svc_role: c.svc_role,
            service,
            language: c.locale.as_deref().and_then(Language::from_tag),
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
}
