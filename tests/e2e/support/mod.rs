//! Starting servers and minting tokens for the tests.

pub mod browser;
pub mod consent;
pub mod otlp;
pub mod process;
pub mod server;
pub mod tokens;

pub use server::{SlackUrls, TestServer};
pub use tokens::Who;
