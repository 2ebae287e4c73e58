use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ovice_slack_runtime::{
    TargetSet,
    auth::{OrgRole, SpaceRole, SvcRole},
    config::{
        AuthConfig, DataDirConfig, DatabaseConfig, EncryptionConfig, PeerConfig, ServerConfig, SlackConfig,
        TelemetryConfig, TlsConfig,
    },
};

/// The Slack integration of ovice: direct messages received in ovice also reach people in Slack.
///
/// With no command, `ovice-slack` serves every service in one process (`serve` with its defaults).
#[derive(Parser, Debug)]
#[command(name = "ovice-slack", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The command to run: `serve` with its defaults (and `OVICE_SLACK_*` variables) when none is given.
    pub fn command(self) -> Command {
        self.command
            .unwrap_or_else(|| Command::Serve(Box::new(DefaultServe::parse_from(["ovice-slack"]).args)))
    }
}

/// Parses `serve`'s options from the environment alone, for a command line without a command.
#[derive(Parser, Debug)]
struct DefaultServe {
    #[command(flatten)]
    args: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve one or more targets (the default command: all of them in one process, SQLite under ./data).
    Serve(Box<ServeArgs>),
    /// Try it without a Slack app: every service plus a local Slack (the emulator) in one process, with
    /// a demo workspace, people and a Connect app; its web page shows what each Slack user received.
    Demo(Box<DemoArgs>),
    /// Mint a JWT from the configured secret, for grpcurl and tests.
    Token(Box<TokenArgs>),
    /// Make a service's own signing key (Ed25519), or read an existing one, and add its public half to
    /// a key set (JWKS) for the microservices form; prints the key id.
    ServiceKey(ServiceKeyArgs),
    /// Run every service's database migrations and exit (a Kubernetes Job before a rollout).
    Migrate(MigrateArgs),
    /// Re-seal every stored Slack token with the active encryption key (after adding a new key first
    /// in the key list), so the old key can be retired.
    ResealTokens(ResealArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Targets to run: all, or a comma list of integration-config, account-links, delivery, gateway.
    #[arg(long, env = "OVICE_SLACK_TARGET", default_value = "all")]
    pub target: TargetSet,
    #[command(flatten)]
    pub server: ServerConfig,
    #[command(flatten)]
    pub data: DataDirConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub encryption: EncryptionConfig,
    #[command(flatten)]
    pub peers: PeerConfig,
    #[command(flatten)]
    pub tls: TlsConfig,
    #[command(flatten)]
    pub slack: SlackConfig,
    #[command(flatten)]
    pub delivery: delivery::DeliveryConfig,
    #[command(flatten)]
    pub workspace_check: integration_config::HealthCheckConfig,
    #[command(flatten)]
    pub token_renewal: ovice_slack_runtime::config::TokenRenewalConfig,
    #[command(flatten)]
    pub gateway: gateway::GatewayConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

#[derive(Args, Debug, Clone)]
pub struct ServiceKeyArgs {
    /// The targets the key speaks for: the `--target` of the process that will hold it.
    #[arg(long)]
    pub target: TargetSet,
    /// The private key's file: read when it exists, otherwise made (mode 0600). Give it to that
    /// process only (OVICE_SLACK_SERVICE_KEY_FILE).
    #[arg(long)]
    pub key: PathBuf,
    /// The key set to add the public key to, created when missing. Give it to every process
    /// (OVICE_SLACK_SERVICE_KEYS_FILE).
    #[arg(long)]
    pub key_set: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Address of the local Slack (the emulator's web page, Web API under /api/, consent page).
    #[arg(long, env = "OVICE_SLACK_DEMO_SLACK_LISTEN", default_value = "127.0.0.1:3000")]
    pub slack_listen: std::net::SocketAddr,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    /// Subject: the ovice user id, or a service name.
    #[arg(long)]
    pub sub: String,
    /// Organization id.
    #[arg(long)]
    pub org: Option<String>,
    /// Email of the ovice account.
    #[arg(long)]
    pub email: Option<String>,
    /// Mark the email as not verified (`email_verified: false`); Connect then refuses the token.
    #[arg(long)]
    pub email_unverified: bool,
    /// Organization role.
    #[arg(long, value_enum)]
    pub org_role: Option<OrgRole>,
    /// Permission (repeatable), e.g. integrations.manage.
    #[arg(long = "perm")]
    pub perms: Vec<String>,
    /// Space id the call is about.
    #[arg(long)]
    pub space: Option<String>,
    /// Role in that space.
    #[arg(long, value_enum)]
    pub space_role: Option<SpaceRole>,
    /// Non-human caller role.
    #[arg(long, value_enum)]
    pub svc_role: Option<SvcRole>,
    /// The language of the person's ovice (a BCP 47 tag such as `ja`): the `locale` claim.
    #[arg(long)]
    pub locale: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: i64,
    #[command(flatten)]
    pub data: DataDirConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
}

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub data: DataDirConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
}

#[derive(Args, Debug, Clone)]
pub struct ResealArgs {
    #[command(flatten)]
    pub data: DataDirConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub encryption: EncryptionConfig,
}
