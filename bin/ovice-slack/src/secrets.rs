//! Resolves the secrets of a process from flags, files, or (embedded default only) generated files in
//! the data directory, so that `ovice-slack serve` works with no configuration at all.

use std::path::Path;

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use ovice_slack_runtime::{
    auth::{JwtKeys, PlatformKeys, ServiceKey, ServiceKeySet},
    config::{AuthConfig, DataDirConfig, DatabaseConfig, EncryptionConfig, SlackConfig},
    data_dir,
    target::TargetSet,
};
use ovice_slack_secrets::{KeyRing, TokenCipher};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

fn generated(data: &DataDirConfig, file: &str, generate: impl FnOnce() -> String) -> anyhow::Result<String> {
    data_dir::ensure_dir(&data.data_dir)
        .with_context(|| format!("cannot create the data directory {}", data.data_dir.display()))?;
    let path = data.data_dir.join(file);
    data_dir::load_or_generate(&path, generate)
        .with_context(|| format!("cannot read or create {}", path.display()))
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    data_dir::read_secret_file(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))
}

/// The keys the platform's tokens are verified with. `embedded`: generate a development secret in the
/// data dir when none is configured.
pub fn platform_keys(
    auth: &AuthConfig,
    data: &DataDirConfig,
    embedded: bool,
) -> anyhow::Result<PlatformKeys> {
    if auth.jwt_signing_key_file.is_some() {
        bail!(
            "OVICE_SLACK_JWT_SIGNING_KEY_FILE (--jwt-signing-key-file) is no longer read: each service signs its \
             own calls with OVICE_SLACK_SERVICE_KEY_FILE, and no pod holds the platform's private key (make keys \
             with `ovice-slack service-key`)"
        );
    }
    let secret = match (&auth.jwt_secret, &auth.jwt_secret_file) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(path)) => Some(SecretString::from(read(path, "JWT secret")?)),
        (None, None) if embedded && auth.jwt_public_key_file.is_none() => {
            Some(SecretString::from(generated(data, "jwt-secret", || {
                let mut bytes = [0u8; 48];
                rand::rng().fill_bytes(&mut bytes);
                STANDARD.encode(bytes)
            })?))
        }
        (None, None) => None,
    };
    let public = auth
        .jwt_public_key_file
        .as_deref()
        .map(|p| read(p, "JWT public key"))
        .transpose()?;
    if secret.is_none() && public.is_none() {
        bail!(
            "no JWT key configured: set OVICE_SLACK_JWT_SECRET (or _FILE), or OVICE_SLACK_JWT_PUBLIC_KEY_FILE \
             (a generated secret is only for `--target all`)"
        );
    }
    Ok(PlatformKeys::new(secret.as_ref(), public.as_deref())?)
}

/// This process's own service key, for `targets`. `embedded`: generated in the data dir when none is
/// configured; otherwise `None` when unconfigured (a process whose targets call no peer needs none).
pub fn service_key(
    auth: &AuthConfig,
    data: &DataDirConfig,
    targets: &TargetSet,
    embedded: bool,
) -> anyhow::Result<Option<ServiceKey>> {
    let pem = match &auth.service_key_file {
        Some(path) => SecretString::from(read(path, "service key")?),
        None if embedded => SecretString::from(generated(data, "service-key.pem", || {
            ServiceKey::generate(targets.clone())
                .map(|(_, pem)| pem.expose_secret().to_owned())
                .unwrap_or_default()
        })?),
        None => return Ok(None),
    };
    let key = ServiceKey::from_pem(targets.clone(), &pem).with_context(|| match &auth.service_key_file {
        Some(path) => format!("cannot use the service key file {}", path.display()),
        None => "cannot use the generated service key in the data dir".to_owned(),
    })?;
    Ok(Some(key))
}

/// Every key a token is verified with: the platform's, the service key set, and `own`.
pub fn jwt_keys(
    auth: &AuthConfig,
    data: &DataDirConfig,
    embedded: bool,
    own: Option<&ServiceKey>,
) -> anyhow::Result<JwtKeys> {
    let platform = platform_keys(auth, data, embedded)?;
    let mut services = match &auth.service_keys_file {
        Some(path) => ServiceKeySet::from_jwks(&read(path, "service key set")?)
            .with_context(|| format!("cannot use the service key set {}", path.display()))?,
        None => ServiceKeySet::default(),
    };
    if let Some(own) = own {
        services = services.with(own);
    }
    Ok(JwtKeys::new(platform, services, auth.jwt_audience.clone()).with_max_lifetime(auth.jwt_max_lifetime))
}

/// The token cipher. `embedded`: generate a development key in the data dir when none is configured.
pub fn token_cipher(
    enc: &EncryptionConfig,
    data: &DataDirConfig,
    embedded: bool,
) -> anyhow::Result<TokenCipher> {
    let description = match (&enc.encryption_keys, &enc.encryption_keys_file) {
        (Some(k), _) => k.expose_secret().to_owned(),
        (None, Some(path)) => read(path, "encryption keys")?,
        (None, None) if embedded => generated(data, "encryption-keys", || KeyRing::generate_entry("dev1"))?,
        (None, None) => bail!(
            "no encryption key configured: set OVICE_SLACK_ENCRYPTION_KEYS or OVICE_SLACK_ENCRYPTION_KEYS_FILE \
             (a generated key is only for `--target all`)"
        ),
    };
    Ok(TokenCipher::new(KeyRing::parse(&description)?))
}

/// The Slack app's client secret, from the flag or its file.
pub fn client_secret(slack: &SlackConfig) -> anyhow::Result<Option<SecretString>> {
    match (&slack.slack_client_secret, &slack.slack_client_secret_file) {
        (Some(s), _) => Ok(Some(s.clone())),
        (None, Some(path)) => Ok(Some(SecretString::from(read(path, "Slack client secret")?))),
        (None, None) => Ok(None),
    }
}

/// The Slack app's signing secret, from the flag or its file.
pub fn signing_secret(slack: &SlackConfig) -> anyhow::Result<Option<SecretString>> {
    match (&slack.slack_signing_secret, &slack.slack_signing_secret_file) {
        (Some(s), _) => Ok(Some(s.clone())),
        (None, Some(path)) => Ok(Some(SecretString::from(read(path, "Slack signing secret")?))),
        (None, None) => Ok(None),
    }
}

/// The database URL. `embedded`: SQLite in the data dir when none is configured.
pub fn database_url(
    db: &DatabaseConfig,
    data: &DataDirConfig,
    embedded: bool,
) -> anyhow::Result<SecretString> {
    match (&db.database_url, &db.database_url_file) {
        (Some(url), _) => Ok(url.clone()),
        (None, Some(path)) => Ok(SecretString::from(read(path, "database URL")?)),
        (None, None) if embedded => {
            data_dir::ensure_dir(&data.data_dir)
                .with_context(|| format!("cannot create the data directory {}", data.data_dir.display()))?;
            Ok(SecretString::from(format!(
                "sqlite://{}/ovice-slack.db",
                data.data_dir.display()
            )))
        }
        (None, None) => {
            bail!("no database configured: set OVICE_SLACK_DATABASE_URL (sqlite://… or postgres://…)")
        }
    }
}
