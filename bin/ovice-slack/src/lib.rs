//! The library behind the `ovice-slack` binary: the commands, and the composition of the targets into
//! one process. Tests start servers through [`serve::run`] exactly as `main` does.

pub mod cli;
pub mod demo;
pub mod migrate;
pub mod secrets;
pub mod serve;
pub mod service_key;
pub mod token;
