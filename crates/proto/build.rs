//! Compiles `proto/` with protox (no protoc needed) and keeps the descriptor set for gRPC reflection.
use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "ovice/slack/v1/common.proto",
        "ovice/slack/v1/integration_config.proto",
        "ovice/slack/v1/account_link.proto",
        "ovice/slack/v1/chat_event.proto",
        "ovice/slack/v1/delivery.proto",
    ];
    let fds = protox::compile(files, [&root])?;
    // `file_descriptor_set_path` writes nothing with `compile_fds`, so the set is encoded here.
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("ovice_slack_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
