//! `token`: mints a JWT from the configured secret (the generated one in the data dir by default), so
//! operators and tests can call the services with grpcurl.

use anyhow::{Context, bail};
use ovice_slack_runtime::auth::{Claims, OrgRole, SpaceRoleClaim, SvcRole};

use crate::{cli::TokenArgs, secrets};

fn parse<T: role_names::FromName>(value: &Option<String>, what: &str) -> anyhow::Result<Option<T>> {
    value
        .as_deref()
        .map(|v| {
            T::from_name(v).with_context(|| format!("unknown {what} `{v}`: expected one of {}", T::NAMES))
        })
        .transpose()
}

/// Role names as the JWT spells them.
mod role_names {
    use super::*;

    pub trait FromName: Sized {
        const NAMES: &'static str;
        fn from_name(s: &str) -> Option<Self>;
    }

    impl FromName for OrgRole {
        const NAMES: &'static str = "owner, member";
        fn from_name(s: &str) -> Option<Self> {
            match s {
                "owner" => Some(OrgRole::Owner),
                "member" => Some(OrgRole::Member),
                _ => None,
            }
        }
    }

    impl FromName for SpaceRoleClaim {
        const NAMES: &'static str = "admin, member, visitor";
        fn from_name(s: &str) -> Option<Self> {
            match s {
                "admin" => Some(SpaceRoleClaim::Admin),
                "member" => Some(SpaceRoleClaim::Member),
                "visitor" => Some(SpaceRoleClaim::Visitor),
                _ => None,
            }
        }
    }

    impl FromName for SvcRole {
        const NAMES: &'static str = "platform, service, operator";
        fn from_name(s: &str) -> Option<Self> {
            match s {
                "platform" => Some(SvcRole::Platform),
                "service" => Some(SvcRole::Service),
                "operator" => Some(SvcRole::Operator),
                _ => None,
            }
        }
    }
}

pub fn main(args: TokenArgs) -> anyhow::Result<()> {
    println!("{}", mint(&args)?);
    Ok(())
}

pub fn mint(args: &TokenArgs) -> anyhow::Result<String> {
    ovice_slack_runtime::install_crypto_providers();
    if args.ttl <= 0 {
        bail!("--ttl must be a positive number of seconds");
    }
    let keys = secrets::jwt_keys(&args.auth, &args.data, true)?;
    let minter = keys
        .minter()
        .context("no signing key: set OVICE_SLACK_JWT_SECRET or a signing key file")?;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: args.sub.clone(),
        org: args.org.clone(),
        email: args.email.clone(),
        org_role: parse(&args.org_role, "org role")?,
        perms: args.perms.clone(),
        space: args.space.clone(),
        space_role: parse(&args.space_role, "space role")?,
        svc_role: parse(&args.svc_role, "service role")?,
        exp: now + args.ttl,
        iat: Some(now),
        aud: keys.audience().to_owned(),
    };
    Ok(minter.mint(&claims)?)
}
