//! Starting servers and minting tokens for the tests.

pub mod browser;
pub mod consent;
pub mod otlp;
pub mod process;
pub mod server;
pub mod tokens;

pub use server::{SlackUrls, TestServer};
pub use tokens::Who;

/// Polls `check` every 50 ms until it holds; fails the test after 30 s, naming `what`.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
