//! Who may call each RPC, declared once: [`Rpc::policy`] is the table, [`Caller::authorize`] applies
//! it, and the end-to-end authorization matrix reads the same table and checks every cell over the
//! network.

use ovice_slack_model::SpaceRole;

use super::{AccessDenied, Caller, OrgRole, SvcRole};
use crate::target::Target;

/// The permission that lets a member manage the org's integrations like an owner (docs/product.md §1).
pub const PERM_INTEGRATIONS_MANAGE: &str = "integrations.manage";

/// Every RPC of every service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rpc {
    PutSlackWorkspace,
    GetSlackWorkspace,
    DeleteSlackWorkspace,
    GetBotCredentials,
    ReportWorkspaceTokenInvalid,
    ReportSlackTokensRevoked,
    ListAuditEvents,
    GetSlackConnection,
    BeginSlackConnect,
    DisconnectSlack,
    ListSlackConnections,
    ResolveSlackUsers,
    ReportUserTokenInvalid,
    UpdateSlackPreferences,
    PublishChatMessage,
    StreamChatMessages,
    EditChatMessage,
    DeleteChatMessage,
    MarkChatMessageRead,
    EnqueueDirectMessage,
    GetDelivery,
    ListDeliveries,
    RetryDelivery,
    ChangeDirectMessage,
}

/// A kind of caller an RPC admits. Every policy also requires the org of the call to be the org of
/// the token (a service token without `org` may act on any org).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Org owners and holders of `integrations.manage`.
    IntegrationManager,
    /// Integration managers, or operators (inspection only: nothing these RPCs answer holds a
    /// secret).
    ManagerOrOperator,
    /// A person of the org, acting on themself.
    Person,
    /// A person of the org whose token is for the space of the call, whatever their role there.
    PersonInSpace,
    /// An admin or member of the space of the call (never a visitor).
    AdminOrMemberOfSpace,
    /// The ovice-slack services that read a workspace's bot token: delivery (to post) and account-links
    /// (to find the workspace a person connects to). Only tokens signed with their service keys.
    BotCredentialReader,
    /// The delivery service alone: it resolves people to their Slack tokens and reports dead tokens.
    DeliveryWorker,
    /// The account-links service alone: it hears the Connect app's events and reports the bot tokens
    /// Slack said are gone.
    EventReceiver,
    /// The gateway alone: it enqueues the direct messages it filtered from the chat.
    Enqueuer,
    /// The ovice platform, or ovice-slack's own services: they publish chat messages.
    Publisher,
    /// Operators (`svc_role` operator).
    Operator,
}

impl Rpc {
    pub const ALL: [Rpc; 24] = [
        Rpc::PutSlackWorkspace,
        Rpc::GetSlackWorkspace,
        Rpc::DeleteSlackWorkspace,
        Rpc::GetBotCredentials,
        Rpc::ReportWorkspaceTokenInvalid,
        Rpc::ReportSlackTokensRevoked,
        Rpc::ListAuditEvents,
        Rpc::GetSlackConnection,
        Rpc::BeginSlackConnect,
        Rpc::DisconnectSlack,
        Rpc::ListSlackConnections,
        Rpc::ResolveSlackUsers,
        Rpc::ReportUserTokenInvalid,
        Rpc::UpdateSlackPreferences,
        Rpc::PublishChatMessage,
        Rpc::StreamChatMessages,
        Rpc::EditChatMessage,
        Rpc::DeleteChatMessage,
        Rpc::MarkChatMessageRead,
        Rpc::EnqueueDirectMessage,
        Rpc::GetDelivery,
        Rpc::ListDeliveries,
        Rpc::RetryDelivery,
        Rpc::ChangeDirectMessage,
    ];

    /// The table (docs/product.md §1, docs/api.md).
    pub const fn policy(self) -> Policy {
        use Policy::*;
        match self {
            Rpc::PutSlackWorkspace | Rpc::DeleteSlackWorkspace => IntegrationManager,
            Rpc::GetSlackWorkspace | Rpc::ListAuditEvents | Rpc::ListSlackConnections => ManagerOrOperator,
            Rpc::GetBotCredentials => BotCredentialReader,
            Rpc::ReportWorkspaceTokenInvalid | Rpc::ResolveSlackUsers | Rpc::ReportUserTokenInvalid => {
                DeliveryWorker
            }
            Rpc::ReportSlackTokensRevoked => EventReceiver,
            Rpc::EnqueueDirectMessage | Rpc::ChangeDirectMessage => Enqueuer,
            // The item's answer itself hides the org's Slack from visitors (docs/product.md §2.2).
            Rpc::GetSlackConnection => PersonInSpace,
            // Preferences are for people who can connect: never visitors.
            Rpc::BeginSlackConnect | Rpc::UpdateSlackPreferences => AdminOrMemberOfSpace,
            // Disconnect removes the caller's own link, org-wide: no space is involved.
            Rpc::DisconnectSlack => Person,
            Rpc::PublishChatMessage
            | Rpc::StreamChatMessages
            | Rpc::EditChatMessage
            | Rpc::DeleteChatMessage
            | Rpc::MarkChatMessageRead => Publisher,
            Rpc::GetDelivery | Rpc::ListDeliveries => ManagerOrOperator,
            Rpc::RetryDelivery => Operator,
        }
    }

    pub const fn service(self) -> &'static str {
        match self {
            Rpc::PutSlackWorkspace
            | Rpc::GetSlackWorkspace
            | Rpc::DeleteSlackWorkspace
            | Rpc::GetBotCredentials
            | Rpc::ReportWorkspaceTokenInvalid
            | Rpc::ReportSlackTokensRevoked
            | Rpc::ListAuditEvents => "IntegrationConfigService",
            Rpc::GetSlackConnection
            | Rpc::BeginSlackConnect
            | Rpc::DisconnectSlack
            | Rpc::ListSlackConnections
            | Rpc::ResolveSlackUsers
            | Rpc::ReportUserTokenInvalid
            | Rpc::UpdateSlackPreferences => "AccountLinkService",
            Rpc::PublishChatMessage
            | Rpc::StreamChatMessages
            | Rpc::EditChatMessage
            | Rpc::DeleteChatMessage
            | Rpc::MarkChatMessageRead => "ChatEventService",
            Rpc::EnqueueDirectMessage
            | Rpc::GetDelivery
            | Rpc::ListDeliveries
            | Rpc::RetryDelivery
            | Rpc::ChangeDirectMessage => "DeliveryService",
        }
    }
}

impl Policy {
    /// The services a service-only policy admits (none for the others).
    pub const fn services(self) -> &'static [Target] {
        match self {
            Policy::BotCredentialReader => &[Target::Delivery, Target::AccountLinks],
            Policy::DeliveryWorker => &[Target::Delivery],
            Policy::EventReceiver => &[Target::AccountLinks],
            Policy::Enqueuer => &[Target::Gateway],
            _ => &[],
        }
    }
}

/// What a call is about: its org, and for the Personal Integration Settings its space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    Org(&'a str),
    Space {
        org_id: &'a str,
        space_id: &'a str,
    },
    /// A whole Slack team, whatever orgs use it: only a caller bound to no org may act on it.
    Team,
}

impl Caller {
    /// Applies `rpc`'s policy to this caller, for a call about `scope`.
    pub fn authorize(&self, rpc: Rpc, scope: Scope<'_>) -> Result<(), AccessDenied> {
        self.admits(rpc)?;
        match scope {
            Scope::Org(org_id) | Scope::Space { org_id, .. } => self.ensure_org(org_id)?,
            Scope::Team => self.ensure_no_org()?,
        }
        match (rpc.policy(), scope) {
            (Policy::PersonInSpace | Policy::AdminOrMemberOfSpace, Scope::Space { space_id, .. }) => {
                self.ensure_space(space_id)
            }
            (Policy::PersonInSpace | Policy::AdminOrMemberOfSpace, Scope::Org(_)) => Err(AccessDenied(
                "this call is about a space, and none was named".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The part of `rpc`'s policy that does not depend on the org: whether this kind of caller may
    /// call it at all (a stream is refused at once when not).
    pub fn admits(&self, rpc: Rpc) -> Result<(), AccessDenied> {
        let denied = |message: &str| Err(AccessDenied(message.to_owned()));
        match rpc.policy() {
            Policy::IntegrationManager => self.ensure_integration_manager(),
            Policy::ManagerOrOperator if self.svc_role == Some(SvcRole::Operator) => Ok(()),
            Policy::ManagerOrOperator => self.ensure_integration_manager(),
            Policy::Person | Policy::PersonInSpace if self.is_service() => {
                denied("Personal Integration Settings belong to a person: call with that person's token")
            }
            Policy::Person | Policy::PersonInSpace => Ok(()),
            Policy::AdminOrMemberOfSpace if self.is_service() => {
                denied("Personal Integration Settings belong to a person: call with that person's token")
            }
            Policy::AdminOrMemberOfSpace => match self.space_role {
                Some(SpaceRole::Admin | SpaceRole::Member) => Ok(()),
                Some(SpaceRole::Visitor) | None => {
                    denied("only admins and members of the space can connect Slack; visitors cannot")
                }
            },
            policy @ (Policy::BotCredentialReader
            | Policy::DeliveryWorker
            | Policy::EventReceiver
            | Policy::Enqueuer) => self.ensure_service(policy.services()),
            Policy::Publisher if matches!(self.svc_role, Some(SvcRole::Platform | SvcRole::Service)) => {
                Ok(())
            }
            Policy::Publisher => {
                denied("publishing chat messages is for the ovice platform (svc_role platform)")
            }
            Policy::Operator if self.svc_role == Some(SvcRole::Operator) => Ok(()),
            Policy::Operator => denied("retrying deliveries is for operators (svc_role operator)"),
        }
    }

    /// A token signed by the service key of one of `services` (never one the platform signed).
    fn ensure_service(&self, services: &[Target]) -> Result<(), AccessDenied> {
        let names = || services.iter().map(|t| t.name()).collect::<Vec<_>>().join(" or ");
        match &self.service {
            Some(targets) if services.iter().any(|t| targets.contains(*t)) => Ok(()),
            Some(targets) => Err(AccessDenied(format!(
                "the service `{targets}` does not make this call: only {} does",
                names()
            ))),
            None => Err(AccessDenied(format!(
                "this call is for ovice-slack's own {} service only, with a token signed by its service key",
                names()
            ))),
        }
    }

    fn ensure_integration_manager(&self) -> Result<(), AccessDenied> {
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

    /// A person acts only on the org of their token. A service token without `org` may act on any
    /// org; one with `org` only on that org.
    fn ensure_org(&self, org_id: &str) -> Result<(), AccessDenied> {
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

    fn ensure_no_org(&self) -> Result<(), AccessDenied> {
        match (&self.org, self.is_service()) {
            (None, true) => Ok(()),
            _ => Err(AccessDenied(
                "this call is about a whole Slack team: only a service token bound to no organization can make it"
                    .into(),
            )),
        }
    }

    fn ensure_space(&self, space_id: &str) -> Result<(), AccessDenied> {
        match self.space.as_deref() {
            Some(s) if s == space_id => Ok(()),
            Some(s) => Err(AccessDenied(format!(
                "your token is for space `{s}`, not `{space_id}`"
            ))),
            None => Err(AccessDenied("your token names no space (`space` claim)".into())),
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
            email_verified: false,
            org_role: Some(role),
            perms: perms.iter().map(|p| p.to_string()).collect(),
            space: None,
            space_role: None,
            svc_role: None,
            service: None,
            language: None,
        }
    }

    fn service(role: SvcRole) -> Caller {
        Caller {
            org: None,
            org_role: None,
            svc_role: Some(role),
            service: (role == SvcRole::Service).then(|| "all".parse().unwrap()),
            ..person("x", OrgRole::Member, &[])
        }
    }

    fn own_service(targets: &str) -> Caller {
        Caller {
            service: Some(targets.parse().unwrap()),
            ..service(SvcRole::Service)
        }
    }

    #[test]
    fn each_service_makes_only_its_own_calls() {
        let gateway = own_service("gateway");
        for rpc in [
            Rpc::GetBotCredentials,
            Rpc::ResolveSlackUsers,
            Rpc::ReportUserTokenInvalid,
            Rpc::ReportWorkspaceTokenInvalid,
        ] {
            let denied = gateway.authorize(rpc, ORG).unwrap_err();
            assert!(denied.0.contains("`gateway` does not make this call"), "{denied}");
        }
        assert!(gateway.authorize(Rpc::EnqueueDirectMessage, ORG).is_ok());
        let links = own_service("account-links");
        assert!(links.authorize(Rpc::GetBotCredentials, ORG).is_ok());
        assert!(links.authorize(Rpc::ResolveSlackUsers, ORG).is_err());
        assert!(
            links
                .authorize(Rpc::ReportSlackTokensRevoked, Scope::Team)
                .is_ok()
        );
        assert!(
            gateway
                .authorize(Rpc::ReportSlackTokensRevoked, Scope::Team)
                .is_err()
        );
        // A team-wide call is never made with a token bound to one org.
        let bound = Caller {
            org: Some("org-1".into()),
            ..own_service("account-links")
        };
        let denied = bound
            .authorize(Rpc::ReportSlackTokensRevoked, Scope::Team)
            .unwrap_err();
        assert!(denied.0.contains("whole Slack team"), "{denied}");
        let delivery = own_service("delivery");
        assert!(delivery.authorize(Rpc::ResolveSlackUsers, ORG).is_ok());
        assert!(delivery.authorize(Rpc::EnqueueDirectMessage, ORG).is_err());
        // `svc_role` service without a service key behind it (never made by the verifier, but the
        // policy does not rely on that).
        let unsigned = Caller {
            service: None,
            ..service(SvcRole::Service)
        };
        assert!(unsigned.authorize(Rpc::GetBotCredentials, ORG).is_err());
    }

    const ORG: Scope<'static> = Scope::Org("o1");

    #[test]
    fn owners_and_permission_holders_manage_only_their_org() {
        let put = Rpc::PutSlackWorkspace;
        assert!(person("o1", OrgRole::Owner, &[]).authorize(put, ORG).is_ok());
        assert!(
            person("o1", OrgRole::Member, &["integrations.manage"])
                .authorize(put, ORG)
                .is_ok()
        );
        assert!(person("o1", OrgRole::Member, &[]).authorize(put, ORG).is_err());
        let other = person("o2", OrgRole::Owner, &[]).authorize(put, ORG).unwrap_err();
        assert!(other.0.contains("`o2`"));
    }

    #[test]
    fn services_without_org_reach_any_org_but_operators_get_no_secrets() {
        assert!(
            service(SvcRole::Service)
                .authorize(Rpc::GetBotCredentials, ORG)
                .is_ok()
        );
        let operator = service(SvcRole::Operator);
        assert!(operator.authorize(Rpc::GetBotCredentials, ORG).is_err());
        assert!(operator.authorize(Rpc::ListAuditEvents, ORG).is_ok());
        assert!(operator.authorize(Rpc::PutSlackWorkspace, ORG).is_err());
        assert!(
            service(SvcRole::Platform)
                .authorize(Rpc::GetBotCredentials, ORG)
                .is_err()
        );
        assert!(
            service(SvcRole::Platform)
                .authorize(Rpc::PublishChatMessage, ORG)
                .is_ok()
        );
    }

    #[test]
    fn a_space_policy_needs_the_space_of_the_token() {
        let mut member = person("o1", OrgRole::Member, &[]);
        member.space = Some("s1".into());
        member.space_role = Some(SpaceRole::Member);
        let s1 = Scope::Space {
            org_id: "o1",
            space_id: "s1",
        };
        let s2 = Scope::Space {
            org_id: "o1",
            space_id: "s2",
        };
        assert!(member.authorize(Rpc::BeginSlackConnect, s1).is_ok());
        assert!(member.authorize(Rpc::BeginSlackConnect, s2).is_err());
        assert!(member.authorize(Rpc::BeginSlackConnect, ORG).is_err());
        member.space_role = Some(SpaceRole::Visitor);
        assert!(member.authorize(Rpc::BeginSlackConnect, s1).is_err());
        assert!(member.authorize(Rpc::GetSlackConnection, s1).is_ok());
    }
}
