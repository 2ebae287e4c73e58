//! Resolves the secrets of a process from flags, files, or (embedded default only) generated files in
//! the data directory, so that `ovice-slack serve` works with no configuration at all.

use std::path::Path;

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use ovice_slack_runtime::{
    auth::JwtKeys,
    config::{AuthConfig, DataDirConfig, DatabaseConfig, EncryptionConfig, SlackConfig},
    data_dir,
};
use ovice_slack_secrets::{KeyRing, TokenCipher};
use rand::RngCore;
use secrecy::SecretString;

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

/// The JWT keys. `embedded`: generate a development secret in the data dir when none is configured.
pub fn jwt_keys(auth: &AuthConfig, data: &DataDirConfig, embedded: bool) -> anyhow::Result<JwtKeys> {
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
    let signing = auth
        .jwt_signing_key_file
        .as_deref()
        .map(|p| read(p, "JWT signing key").map(SecretString::from))
        .transpose()?;
    if secret.is_none() && public.is_none() {
        bail!(
            "no JWT key configured: set OVICE_SLACK_JWT_SECRET (or _FILE), or OVICE_SLACK_JWT_PUBLIC_KEY_FILE \
             with OVICE_SLACK_JWT_SIGNING_KEY_FILE (generated keys are only for `--target all`)"
        );
    }
    Ok(JwtKeys::new(
        secret.as_ref(),
        public.as_deref(),
        signing.as_ref(),
        auth.jwt_audience.clone(),
    )?
    .with_max_lifetime(auth.jwt_max_lifetime))
}

/// The token cipher. `embedded`: generate a development key in the data dir when none is configured.
pub fn token_cipher(
    enc: &EncryptionConfig,
    data: &DataDirConfig,
    embedded: bool,
) -> anyhow::Result<TokenCipher> {
    use secrecy::ExposeSecret;
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
