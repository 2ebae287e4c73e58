//! What every ovice-slack service shares: the `Target` enum, configuration blocks, JWT identity, one
//! tonic server builder (health, reflection, auth, limits, trace context), peer clients that work the
//! same in one process and across processes, database connections, telemetry and shutdown.

pub mod auth;
pub mod config;
pub mod data_dir;
pub mod db;
pub mod http;
pub mod localized;
pub mod metrics;
pub mod peer;
pub mod peer_clients;
pub mod server;
pub mod shutdown;
pub mod target;
pub mod telemetry;
/// Helpers for tests and the benchmark; not part of the product (`test-support` feature).
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod tls;
pub mod token_renewal;

pub use target::{Target, TargetSet};

/// Makes the crypto backends explicit once per process: rustls (reqwest's TLS to Slack) uses ring, and
/// jsonwebtoken uses RustCrypto. Idempotent.
pub fn install_crypto_providers() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}
