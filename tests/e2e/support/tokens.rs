use ovice_slack_runtime::auth::{Claims, JwtKeys, OrgRole, SpaceRole, SvcRole};
use secrecy::SecretString;

/// The HS256 secret every test server is configured with.
pub const TEST_JWT_SECRET: &str = "e2e-test-secret-e2e-test-secret-0123456789";

/// The callers the tests act as.
#[derive(Clone, Debug)]
pub enum Who {
    Owner(&'static str),
    Member(&'static str),
    Manager(&'static str),
    /// A person in a space of `org`, with the ovice account's email.
    Person {
        org: &'static str,
        user: &'static str,
        email: &'static str,
        space: &'static str,
        role: SpaceRole,
    },
    Service,
    Operator,
    Platform,
}

impl Who {
    /// A member of `space` in org `org-1`.
    pub fn member(user: &'static str, email: &'static str, space: &'static str) -> Who {
        Who::Person {
            org: "org-1",
            user,
            email,
            space,
            role: SpaceRole::Member,
        }
    }

    pub fn claims(&self) -> Claims {
        let mut c = Claims {
            sub: "someone".into(),
            org: None,
            email: None,
            org_role: None,
            perms: vec![],
            space: None,
            space_role: None,
            svc_role: None,
            exp: chrono_now() + 3600,
            iat: None,
            nbf: None,
            aud: "ovice-slack".into(),
        };
        match self {
            Who::Owner(org) => {
                c.sub = format!("owner-of-{org}");
                c.org = Some(org.to_string());
                c.org_role = Some(OrgRole::Owner);
            }
            Who::Member(org) => {
                c.sub = format!("member-of-{org}");
                c.org = Some(org.to_string());
                c.org_role = Some(OrgRole::Member);
            }
            Who::Manager(org) => {
                c.sub = format!("manager-of-{org}");
                c.org = Some(org.to_string());
                c.org_role = Some(OrgRole::Member);
                c.perms = vec!["integrations.manage".into()];
            }
            Who::Person {
                org,
                user,
                email,
                space,
                role,
            } => {
                c.sub = user.to_string();
                c.org = Some(org.to_string());
                c.org_role = Some(OrgRole::Member);
                c.email = Some(email.to_string());
                c.space = Some(space.to_string());
                c.space_role = Some(*role);
            }
            Who::Service => {
                c.sub = "ovice-slack/test".into();
                c.svc_role = Some(SvcRole::Service);
            }
            Who::Platform => {
                c.sub = "ovice-platform".into();
                c.svc_role = Some(SvcRole::Platform);
            }
            Who::Operator => {
                c.sub = "operator".into();
                c.svc_role = Some(SvcRole::Operator);
            }
        }
        c
    }

    pub fn token(&self) -> String {
        mint(&self.claims())
    }
}

pub fn mint(claims: &Claims) -> String {
    let keys = JwtKeys::new(
        Some(&SecretString::from(TEST_JWT_SECRET)),
        None,
        None,
        "ovice-slack",
    )
    .unwrap();
    keys.minter().unwrap().mint(claims).unwrap()
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Puts `authorization: Bearer <token>` on a request.
pub fn authed<T>(message: T, who: &Who) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", who.token()).parse().unwrap(),
    );
    r
}
