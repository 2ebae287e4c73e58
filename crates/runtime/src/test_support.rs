//! Helpers for the tests of every crate: a fresh PostgreSQL database per test.

use secrecy::SecretString;
use sqlx::{Connection, PgConnection};

/// The variable naming a PostgreSQL server the tests may create databases on (the test command
/// `scripts/test.sh` starts one and sets it).
pub const POSTGRES_URL_VAR: &str = "OVICE_SLACK_TEST_POSTGRES_URL";

/// Creates an empty database on the test server and returns its URL. Fails loudly when no server is
/// configured: a PostgreSQL test that silently skips would prove nothing.
pub async fn fresh_postgres_database() -> anyhow::Result<SecretString> {
    let admin = std::env::var(POSTGRES_URL_VAR).map_err(|_| {
        anyhow::anyhow!(
            "{POSTGRES_URL_VAR} is not set: run the tests through scripts/test.sh, which starts PostgreSQL"
        )
    })?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin).await?;
    // The name is generated here from a UUID, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let mut url = url::Url::parse(&admin)?;
    url.set_path(&format!("/{name}"));
    Ok(SecretString::from(url.to_string()))
}

/// A fresh SQLite database file in a temporary directory (kept alive by the returned guard).
pub fn fresh_sqlite_database() -> anyhow::Result<(SecretString, TempDirGuard)> {
    let dir = std::env::temp_dir().join(format!("ovice-slack-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}/test.db", dir.display());
    Ok((SecretString::from(url), TempDirGuard(dir)))
}

/// Removes a test directory when dropped.
#[derive(Debug)]
pub struct TempDirGuard(pub std::path::PathBuf);

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The two storage backends every store test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connected, empty database of `backend` (migrations not yet run).
pub async fn fresh_database(backend: Backend) -> anyhow::Result<(crate::db::Database, Option<TempDirGuard>)> {
    let (url, guard) = match backend {
        Backend::Sqlite => {
            let (url, guard) = fresh_sqlite_database()?;
            (url, Some(guard))
        }
        Backend::Postgres => (fresh_postgres_database().await?, None),
    };
    Ok((crate::db::Database::connect(&url, 4).await?, guard))
}

/// Puts a fixed `authorization: Bearer …` header on every call of a generated client (none for
/// `Bearer::none()`, to test anonymous calls).
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// `token` is a JWT (or anything, to test refusals); it must be a valid header value.
    pub fn token(token: &str) -> anyhow::Result<Self> {
        Ok(Self(Some(format!("Bearer {token}").parse()?)))
    }

    pub fn none() -> Self {
        Self(None)
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Polls `check` every 20 ms until it yields a value; fails the test after `timeout`, naming `what`.
/// For conditions that become true by themselves (a worker's send, a peer's restart): never a sleep.
pub async fn eventually<T>(
    what: &str,
    timeout: std::time::Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Keys for tests and the benchmark: the platform's HS256 secret, and service keys made on the spot,
/// all trusted by [`TestKeys::verifier`].
#[derive(Clone, Debug)]
pub struct TestKeys {
    platform: crate::auth::PlatformKeys,
    services: Vec<crate::auth::ServiceKey>,
    audience: String,
}

impl TestKeys {
    /// `secret`: the platform's HS256 secret; `services`: the target sets to make a key for
    /// (`"gateway"`, `"all"`, …).
    pub fn new(secret: &str, audience: &str, services: &[&str]) -> anyhow::Result<Self> {
        let platform = crate::auth::PlatformKeys::new(Some(&SecretString::from(secret)), None)?;
        let services = services
            .iter()
            .map(|t| {
                let targets: crate::TargetSet = t.parse().map_err(anyhow::Error::msg)?;
                Ok(crate::auth::ServiceKey::generate(targets)?.0)
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            platform,
            services,
            audience: audience.to_owned(),
        })
    }

    /// What a server configured with the secret and these service keys verifies tokens with.
    pub fn verifier(&self) -> crate::auth::JwtKeys {
        let set = self
            .services
            .iter()
            .fold(crate::auth::ServiceKeySet::default(), |set, k| set.with(k));
        crate::auth::JwtKeys::new(self.platform.clone(), set, self.audience.clone())
    }

    /// The key set (JWKS) of the service keys, for `--service-keys-file`.
    pub fn jwks(&self) -> String {
        crate::auth::jwks(self.services.iter().map(|k| k.public_jwk()))
    }

    /// `claims` signed with the platform's secret.
    pub fn platform_token(&self, claims: &crate::auth::Claims) -> anyhow::Result<String> {
        let minter = self
            .platform
            .minter()
            .ok_or_else(|| anyhow::anyhow!("no secret"))?;
        Ok(minter.mint(claims)?)
    }

    /// The service key made for `targets`.
    pub fn service(&self, targets: &str) -> anyhow::Result<&crate::auth::ServiceKey> {
        let targets: crate::TargetSet = targets.parse().map_err(anyhow::Error::msg)?;
        self.services
            .iter()
            .find(|k| *k.targets() == targets)
            .ok_or_else(|| anyhow::anyhow!("no test key for {targets}"))
    }

    /// The tokens the service `targets` calls its peers with.
    pub fn service_tokens(&self, targets: &str) -> anyhow::Result<crate::auth::ServiceTokens> {
        Ok(crate::auth::ServiceTokens::new(
            self.service(targets)?.clone(),
            self.audience.clone(),
        ))
    }
}
