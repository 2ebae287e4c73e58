//! `token`: mints a JWT from the configured secret (the generated one in the data dir by default), so
//! operators and tests can call the services with grpcurl.

use anyhow::{Context, bail};
use ovice_slack_runtime::auth::{Claims, SvcRole};

use crate::{cli::TokenArgs, secrets};

pub fn main(args: TokenArgs) -> anyhow::Result<()> {
    println!("{}", mint(&args)?);
    Ok(())
}

pub fn mint(args: &TokenArgs) -> anyhow::Result<String> {
    ovice_slack_runtime::install_crypto_providers();
    if args.ttl <= 0 {
        bail!("--ttl must be a positive number of seconds");
    }
    if args.svc_role == Some(SvcRole::Service) {
        bail!(
            "`--svc-role service` is not for the platform's key: each ovice-slack service signs its own calls \
             with its service key, and the services refuse a service token signed any other way"
        );
    }
    let keys = secrets::platform_keys(&args.auth, &args.data, true)?;
    let max = args.auth.jwt_max_lifetime;
    if u64::try_from(args.ttl).is_ok_and(|ttl| ttl > max.as_secs()) {
        bail!(
            "--ttl {} is longer than the {} the services accept (--jwt-max-lifetime)",
            args.ttl,
            humantime::format_duration(max)
        );
    }
    let minter = keys.minter().context(
        "`token` signs with the HS256 secret (OVICE_SLACK_JWT_SECRET); with a public key only, the platform \
         mints the tokens",
    )?;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: args.sub.clone(),
        org: args.org.clone(),
        email: args.email.clone(),
        // The platform vouches for the address it puts in a token; so does this command, unless told.
        email_verified: args.email.as_ref().map(|_| !args.email_unverified),
        org_role: args.org_role,
        perms: args.perms.clone(),
        space: args.space.clone(),
        space_role: args.space_role,
        svc_role: args.svc_role,
        exp: now + args.ttl,
        iat: Some(now),
        nbf: None,
        aud: args.auth.jwt_audience.clone(),
        locale: args.locale.clone(),
    };
    Ok(minter.mint(&claims)?)
}
