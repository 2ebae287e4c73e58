use std::{path::PathBuf, sync::LazyLock};

use ovice_slack_runtime::{
    Target, TargetSet,
    auth::{Claims, OrgRole, ServiceKey, SpaceRole, SvcRole, jwks},
    test_support::TestKeys,
};
use secrecy::ExposeSecret;

/// The HS256 secret every test server is configured with (the platform's key).
pub const TEST_JWT_SECRET: &str = "e2e-test-secret-e2e-test-secret-0123456789";

/// The platform's secret, and the service keys the tests sign as: `all` (what [`Who::Service`] is, like
/// another single-process ovice-slack) and `gateway` (a service that may only enqueue). Made once per
/// test binary; servers trust them through [`service_key_set`].
pub static TEST_KEYS: LazyLock<TestKeys> =
    LazyLock::new(|| TestKeys::new(TEST_JWT_SECRET, "ovice-slack", &["all", "gateway"]).unwrap());

/// The service keys of the processes tests start: one per single target (for a process that is not
/// `--target all`; those make their own in their data dir), and the key set every process is given,
/// which also trusts [`TEST_KEYS`]. Written once per test binary under Cargo's temporary directory.
pub struct ProcessKeys {
    dir: PathBuf,
}

pub static PROCESS_KEYS: LazyLock<ProcessKeys> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("service-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut public: Vec<_> = ["all", "gateway"]
        .iter()
        .map(|t| TEST_KEYS.service(t).unwrap().public_jwk())
        .collect();
    for target in Target::ALL {
        let (key, pem) = ServiceKey::generate(target.name().parse::<TargetSet>().unwrap()).unwrap();
        std::fs::write(dir.join(format!("{target}.pem")), pem.expose_secret()).unwrap();
        public.push(key.public_jwk());
    }
    std::fs::write(dir.join("service-keys.json"), jwks(public)).unwrap();
    ProcessKeys { dir }
});

impl ProcessKeys {
    /// For `--service-keys-file`.
    pub fn key_set(&self) -> String {
        self.dir.join("service-keys.json").to_str().unwrap().to_owned()
    }

    /// For `--service-key-file` of a process whose `--target` is `target` alone.
    pub fn key(&self, target: &str) -> String {
        self.dir
            .join(format!("{target}.pem"))
            .to_str()
            .unwrap()
            .to_owned()
    }
}

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
    /// ovice-slack's own services, signed with the `all` test service key.
    Service,
    /// The gateway, signed with its own test service key.
    GatewayService,
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
            email_verified: None,
            org_role: None,
            perms: vec![],
            space: None,
            space_role: None,
            svc_role: None,
            exp: chrono_now() + 3600,
            iat: None,
            nbf: None,
            aud: "ovice-slack".into(),
            locale: None,
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
                c.email_verified = Some(true);
                c.space = Some(space.to_string());
                c.space_role = Some(*role);
            }
            Who::Service => {
                c.sub = "ovice-slack/integration-config,account-links,delivery,gateway".into();
                c.svc_role = Some(SvcRole::Service);
            }
            Who::GatewayService => {
                c.sub = "ovice-slack/gateway".into();
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

    /// The caller's token: a service's signed with its service key, everyone else's with the
    /// platform's secret.
    pub fn token(&self) -> String {
        let claims = self.claims();
        match self {
            Who::Service => TEST_KEYS.service("all").unwrap().mint(&claims).unwrap(),
            Who::GatewayService => TEST_KEYS.service("gateway").unwrap().mint(&claims).unwrap(),
            _ => mint(&claims),
        }
    }
}

/// `claims` signed with the platform's secret.
pub fn mint(claims: &Claims) -> String {
    TEST_KEYS.platform_token(claims).unwrap()
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Puts `authorization: Bearer <token>` on a request.
/// As `authed`, with the token's `locale` claim set (the language of the person's ovice).
pub fn authed_in<T>(message: T, who: &Who, locale: &str) -> tonic::Request<T> {
    let mut claims = who.claims();
    claims.locale = Some(locale.to_owned());
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", mint(&claims)).parse().unwrap(),
    );
    r
}

pub fn authed<T>(message: T, who: &Who) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", who.token()).parse().unwrap(),
    );
    r
}
