//! `token`: mints a JWT from the configured secret (the generated one in the data dir by default), so
//! operators and tests can call the services with grpcurl.

use anyhow::{Context, bail};
use ovice_slack_runtime::auth::Claims;

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
    let keys = secrets::jwt_keys(&args.auth, &args.data, true)?;
    let max = keys.max_lifetime();
    if u64::try_from(args.ttl).is_ok_and(|ttl| ttl > max.as_secs()) {
        bail!(
            "--ttl {} is longer than the {} the services accept (--jwt-max-lifetime)",
            args.ttl,
            humantime::format_duration(max)
        );
    }
    let minter = keys
        .minter()
        .context("no signing key: set OVICE_SLACK_JWT_SECRET or a signing key file")?;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: args.sub.clone(),
        org: args.org.clone(),
        email: args.email.clone(),
        org_role: args.org_role,
        perms: args.perms.clone(),
        space: args.space.clone(),
        space_role: args.space_role,
        svc_role: args.svc_role,
        exp: now + args.ttl,
        iat: Some(now),
        nbf: None,
        aud: keys.audience().to_owned(),
    };
    Ok(minter.mint(&claims)?)
}
