//! Starting servers and minting tokens for the tests.

pub mod server;
pub mod tokens;

pub use server::TestServer;
pub use tokens::Who;
