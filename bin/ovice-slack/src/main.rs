//! `ovice-slack`: parse the command line, then hand over to the library.

use clap::Parser;
use ovice_slack::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command() {
            Command::Serve(args) => ovice_slack::serve::main(*args).await,
            Command::Demo(args) => ovice_slack::demo::main(*args).await,
            Command::Token(args) => ovice_slack::token::main(*args),
            Command::ServiceKey(args) => ovice_slack::service_key::main(args),
            Command::Migrate(args) => ovice_slack::migrate::main(args).await,
            Command::ResealTokens(args) => ovice_slack::migrate::reseal(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
