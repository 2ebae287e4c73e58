//! `service-key`: makes a service's own signing key (or reads an existing one) and puts its public half
//! into a key set (JWKS). The microservices form gives each Deployment its own key and every
//! Deployment the set; see docs/operations.md for rotation.

use std::{fs, path::Path};

use anyhow::{Context, bail};
use jsonwebtoken::jwk::JwkSet;
use ovice_slack_runtime::{
    auth::{ServiceKey, ServiceKeySet, jwks},
    data_dir,
};
use secrecy::{ExposeSecret, SecretString};

use crate::cli::ServiceKeyArgs;

pub fn main(args: ServiceKeyArgs) -> anyhow::Result<()> {
    let key = key(&args)?;
    add_to_set(&args.key_set, &key)?;
    println!("{}", key.kid());
    Ok(())
}

/// The key in `--key`, or a new one written there (mode 0600) when the file does not exist.
fn key(args: &ServiceKeyArgs) -> anyhow::Result<ServiceKey> {
    if args.key.exists() {
        let pem = SecretString::from(
            data_dir::read_secret_file(&args.key)
                .with_context(|| format!("cannot read the service key {}", args.key.display()))?,
        );
        return ServiceKey::from_pem(args.target.clone(), &pem)
            .with_context(|| format!("cannot use the service key {}", args.key.display()));
    }
    let (key, pem) = ServiceKey::generate(args.target.clone())?;
    let written = data_dir::load_or_generate(&args.key, || pem.expose_secret().to_owned())
        .with_context(|| format!("cannot write the service key {}", args.key.display()))?;
    if written.trim() != pem.expose_secret().trim() {
        bail!(
            "{} appeared while the key was made: run again",
            args.key.display()
        );
    }
    Ok(key)
}

/// Adds `key`'s public half to the set at `path` (created when missing), replacing an entry of the
/// same id; other entries stay (the old key of a rotation is removed by hand once no pod uses it).
fn add_to_set(path: &Path, key: &ServiceKey) -> anyhow::Result<()> {
    let mut set = match fs::read_to_string(path) {
        Ok(json) => {
            // Validate the whole set first: a damaged file is not silently rewritten.
            ServiceKeySet::from_jwks(&json)
                .with_context(|| format!("cannot use the key set {}", path.display()))?;
            serde_json::from_str::<JwkSet>(&json)?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => JwkSet { keys: Vec::new() },
        Err(e) => return Err(e).with_context(|| format!("cannot read the key set {}", path.display())),
    };
    set.keys.retain(|k| k.common.key_id.as_deref() != Some(key.kid()));
    set.keys.push(key.public_jwk());
    let temporary = path.with_extension("tmp");
    fs::write(&temporary, jwks(set.keys) + "\n")
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    fs::rename(&temporary, path).with_context(|| format!("cannot write the key set {}", path.display()))
}
