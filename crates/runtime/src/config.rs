//! Configuration blocks, flattened into the binary's commands. Every option is a flag with an
//! `OVICE_SLACK_*` environment variable; secrets are read as `SecretString` and never printed.

use std::{net::SocketAddr, num::NonZeroU32, path::PathBuf, time::Duration};

use secrecy::SecretString;
use url::Url;

fn secret(s: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(s.to_owned()))
}

/// The longest duration any option accepts: a year (a typo such as `6000000000` is refused).
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A duration option: a number of seconds (`30`, `0.5`), or a duration with units (`90s`, `5m`,
/// `1h 30m`, `250ms`). Every duration flag of every target parses through here.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let parsed = match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=MAX_DURATION.as_secs_f64()).contains(&v) => {
            Some(Duration::from_secs_f64(v))
        }
        Ok(_) => None,
        Err(_) => humantime::parse_duration(s).ok(),
    };
    parsed.filter(|d| *d <= MAX_DURATION).ok_or_else(|| {
        format!(
            "`{s}` is not a duration: a number of seconds (e.g. 30) or e.g. 90s, 5m, 1h 30m, at most a year"
        )
    })
}

/// Where the process keeps its embedded-mode files (SQLite database, generated development secrets).
#[derive(clap::Args, Clone, Debug)]
pub struct DataDirConfig {
    /// Directory for the embedded SQLite database and generated development secrets (mode 0600).
    #[arg(long, env = "OVICE_SLACK_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

/// The database.
#[derive(clap::Args, Clone, Debug)]
pub struct DatabaseConfig {
    /// Database URL: `sqlite://PATH` or `postgres://…`. Default: `sqlite://<data-dir>/ovice-slack.db`.
    #[arg(long, env = "OVICE_SLACK_DATABASE_URL", value_parser = secret, hide_env_values = true)]
    pub database_url: Option<SecretString>,
    /// File holding the database URL (it carries a password: mount it from a Secret).
    #[arg(long, env = "OVICE_SLACK_DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,
    /// Maximum connections in the pool (per process).
    #[arg(long, env = "OVICE_SLACK_DATABASE_MAX_CONNECTIONS", default_value_t = 8)]
    pub database_max_connections: u32,
}

/// Identity: how the platform's JWTs are verified, and the keys the services sign and verify their
/// calls to each other with.
#[derive(clap::Args, Clone, Debug)]
pub struct AuthConfig {
    /// HS256 shared secret (at least 32 bytes). Default with `--target all`: generated in the data dir.
    #[arg(long, env = "OVICE_SLACK_JWT_SECRET", value_parser = secret, hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// File holding the HS256 shared secret (e.g. a mounted Kubernetes Secret).
    #[arg(long, env = "OVICE_SLACK_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// PEM file with the platform's Ed25519 or RSA public key (EdDSA / RS256 tokens).
    #[arg(long, env = "OVICE_SLACK_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// Gone: the services no longer sign with the platform's keys (see `--service-key-file`). Kept
    /// hidden so that an old configuration fails with a message that says what to do.
    #[arg(long, env = "OVICE_SLACK_JWT_SIGNING_KEY_FILE", hide = true)]
    pub jwt_signing_key_file: Option<PathBuf>,
    /// PEM file with this process's own Ed25519 private key, with which it signs its calls to the
    /// other services (`ovice-slack service-key` makes one). Default with `--target all`: generated in
    /// the data dir.
    #[arg(long, env = "OVICE_SLACK_SERVICE_KEY_FILE")]
    pub service_key_file: Option<PathBuf>,
    /// JWKS file with the public keys of the services that call this process (`ovice-slack
    /// service-key` writes it). This process's own public key is always trusted.
    #[arg(long, env = "OVICE_SLACK_SERVICE_KEYS_FILE")]
    pub service_keys_file: Option<PathBuf>,
    /// The `aud` every token must carry.
    #[arg(long, env = "OVICE_SLACK_JWT_AUDIENCE", default_value = "ovice-slack")]
    pub jwt_audience: String,
    /// The longest a token may live (from `iat`, and from now); longer-lived tokens are refused.
    #[arg(long, env = "OVICE_SLACK_JWT_MAX_LIFETIME", value_parser = duration, default_value = "24h")]
    pub jwt_max_lifetime: Duration,
}

/// Encryption of Slack tokens at rest.
#[derive(clap::Args, Clone, Debug)]
pub struct EncryptionConfig {
    /// AES-256 keys as `id:base64key[,id:base64key…]`; the first seals new tokens, the others only open
    /// old ones (rotation). Default with `--target all`: generated in the data dir.
    #[arg(long, env = "OVICE_SLACK_ENCRYPTION_KEYS", value_parser = secret, hide_env_values = true)]
    pub encryption_keys: Option<SecretString>,
    /// File holding the keys in the same form, one per line or comma separated.
    #[arg(long, env = "OVICE_SLACK_ENCRYPTION_KEYS_FILE")]
    pub encryption_keys_file: Option<PathBuf>,
}

/// The gRPC server of this process.
#[derive(clap::Args, Clone, Debug)]
pub struct ServerConfig {
    /// Address the gRPC server listens on (all targets of the process share it).
    #[arg(long, env = "OVICE_SLACK_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Address of the HTTP server (OAuth callback pages, Prometheus metrics).
    #[arg(long, env = "OVICE_SLACK_HTTP_LISTEN", default_value = "127.0.0.1:8090")]
    pub http_listen: SocketAddr,
    /// HTTP/2 streams one client connection may have open at once.
    #[arg(long, env = "OVICE_SLACK_MAX_CONCURRENT_STREAMS", default_value_t = 256)]
    pub max_concurrent_streams: u32,
    /// Requests in flight in the whole process; beyond it calls are shed with UNAVAILABLE.
    #[arg(long, env = "OVICE_SLACK_MAX_IN_FLIGHT", default_value_t = 2048)]
    pub max_in_flight: usize,
    /// Largest request message accepted, in bytes.
    #[arg(long, env = "OVICE_SLACK_MAX_REQUEST_BYTES", default_value_t = 256 * 1024)]
    pub max_request_bytes: usize,
    /// Seconds a request may take before it is cancelled with DEADLINE_EXCEEDED.
    #[arg(long, env = "OVICE_SLACK_REQUEST_TIMEOUT", value_parser = duration, default_value = "30")]
    pub request_timeout: Duration,
    /// Seconds to finish in-flight work after SIGTERM before the process exits.
    #[arg(long, env = "OVICE_SLACK_SHUTDOWN_GRACE", value_parser = duration, default_value = "20")]
    pub shutdown_grace: Duration,
}

/// Transport security of the gRPC port and of the calls to peers (microservices form). Off unless
/// all three files are given; the embedded default stays plaintext on 127.0.0.1.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TlsConfig {
    /// PEM certificate chain this process presents: as the server of its gRPC port and as a client to
    /// its peers (`tls.crt` of a cert-manager Secret).
    #[arg(long, env = "OVICE_SLACK_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of that certificate (`tls.key`).
    #[arg(long, env = "OVICE_SLACK_TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// PEM CA certificate (`ca.crt`): peers' server certificates must chain to it, and so must the
    /// certificate of every client of this gRPC port.
    #[arg(long, env = "OVICE_SLACK_TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// `required`: a client without a certificate signed by the CA is refused (mutual TLS). `optional`:
    /// a client may connect with server TLS only, for a port the platform calls without a client
    /// certificate (the gateway); a certificate it does present must still be valid.
    #[arg(
        long,
        env = "OVICE_SLACK_TLS_CLIENT_AUTH",
        value_enum,
        default_value = "required"
    )]
    pub tls_client_auth: ClientAuth,
}

/// Whether clients of the gRPC port must present a certificate.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    #[default]
    Required,
    Optional,
}

/// Where the services of other processes are (microservices form). Targets run in this process are
/// reached in-process whatever these say.
#[derive(clap::Args, Clone, Debug)]
pub struct PeerConfig {
    /// gRPC address of IntegrationConfigService, e.g. `http://integration-config:50051`.
    #[arg(long, env = "OVICE_SLACK_INTEGRATION_CONFIG_ADDR")]
    pub integration_config_addr: Option<String>,
    /// gRPC address of AccountLinkService.
    #[arg(long, env = "OVICE_SLACK_ACCOUNT_LINKS_ADDR")]
    pub account_links_addr: Option<String>,
    /// gRPC address of DeliveryService.
    #[arg(long, env = "OVICE_SLACK_DELIVERY_ADDR")]
    pub delivery_addr: Option<String>,
}

/// Slack: the Web API, and the operator's distributed Slack app for Connect.
#[derive(clap::Args, Clone, Debug)]
pub struct SlackConfig {
    /// Slack Web API base URL (the emulator's `/api/` in tests and local trials).
    #[arg(
        long = "api-base-url",
        env = "OVICE_SLACK_API_BASE_URL",
        default_value = "https://slack.com/api/"
    )]
    pub api_base_url: Url,
    /// Slack's OAuth authorize endpoint.
    #[arg(
        long = "authorize-url",
        env = "OVICE_SLACK_AUTHORIZE_URL",
        default_value = "https://slack.com/oauth/v2/authorize"
    )]
    pub authorize_url: Url,
    /// Client id of the operator's distributed Slack app (Connect).
    #[arg(long, env = "OVICE_SLACK_CLIENT_ID")]
    pub slack_client_id: Option<String>,
    /// Client secret of that app.
    #[arg(long, env = "OVICE_SLACK_CLIENT_SECRET", value_parser = secret, hide_env_values = true)]
    pub slack_client_secret: Option<SecretString>,
    /// File holding the client secret (a mounted Secret).
    #[arg(long, env = "OVICE_SLACK_CLIENT_SECRET_FILE")]
    pub slack_client_secret_file: Option<PathBuf>,
    /// Signing secret of that app (Basic Information in the app's settings): requests to
    /// `POST /slack/events` are believed only when signed with it.
    #[arg(long, env = "OVICE_SLACK_SIGNING_SECRET", value_parser = secret, hide_env_values = true)]
    pub slack_signing_secret: Option<SecretString>,
    /// File holding the signing secret (a mounted Secret).
    #[arg(long, env = "OVICE_SLACK_SIGNING_SECRET_FILE")]
    pub slack_signing_secret_file: Option<PathBuf>,
    /// The public URL of `GET /oauth/slack/callback`, registered as the app's redirect URL.
    #[arg(long, env = "OVICE_SLACK_OAUTH_REDIRECT_URL")]
    pub oauth_redirect_url: Option<Url>,
    /// How many Connect flows one person may start per minute (per account-links process).
    #[arg(long, env = "OVICE_SLACK_CONNECT_STARTS_PER_MINUTE", default_value = "20")]
    pub connect_starts_per_minute: NonZeroU32,
    /// Seconds before a Slack call is abandoned (and retried where that is safe).
    #[arg(long, env = "OVICE_SLACK_HTTP_TIMEOUT", value_parser = duration, default_value = "10")]
    pub slack_timeout: Duration,
}

/// Logs and traces.
#[derive(clap::Args, Clone, Debug)]
pub struct TelemetryConfig {
    /// `human` or `json` log lines.
    #[arg(long, env = "OVICE_SLACK_LOG_FORMAT", default_value = "human")]
    pub log_format: LogFormat,
    /// Log filter, `tracing` syntax (e.g. `info,ovice=debug`).
    #[arg(long, env = "OVICE_SLACK_LOG", default_value = "info")]
    pub log: String,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_in_seconds_or_with_units() {
        assert_eq!(duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(duration("0.25").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["-1", "NaN", "inf", "soon", "", "400days", "31536001"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}

/// When rotating Slack tokens (bot and user) are renewed (`--token-refresh-*`).
#[derive(clap::Args, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenRenewalConfig {
    /// How long before a rotating Slack token expires it is renewed (never later than half its life).
    #[arg(long = "token-refresh-margin", env = "OVICE_SLACK_TOKEN_REFRESH_MARGIN",
          value_parser = duration, default_value = "2h")]
    pub margin: Duration,
    /// How often this process looks for rotating tokens due for renewal.
    #[arg(long = "token-refresh-poll", env = "OVICE_SLACK_TOKEN_REFRESH_POLL",
          value_parser = duration, default_value = "30")]
    pub poll: Duration,
}

impl Default for TokenRenewalConfig {
    fn default() -> Self {
        Self {
            margin: ovice_slack_model::token_renewal::DEFAULT_MARGIN,
            poll: Duration::from_secs(30),
        }
    }
}
