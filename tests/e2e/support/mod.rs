//! Starting servers and minting tokens for the tests.

pub mod browser;
pub mod consent;
pub mod otlp;
pub mod process;
pub mod server;
pub mod tls;
pub mod tokens;

pub use server::{SlackUrls, TestServer};
pub use tokens::Who;

/// How long an end-to-end test waits for something that happens by itself (a send, a flush) before
/// it fails (with `ovice_slack_runtime::test_support::eventually`).
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);
