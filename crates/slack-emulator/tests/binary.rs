//! The `slack-emulator` binary: seed file, port 0, the printed address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use slack_emulator::Seed;

#[tokio::test]
async fn binary_serves_a_seed_file_on_the_printed_address() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exe = env!("CARGO_BIN_EXE_slack-emulator");
    let demo = Command::new(exe).arg("--print-demo-seed").output().unwrap();
    let mut seed: Seed = serde_json::from_slice(&demo.stdout).unwrap();
    assert_eq!(seed, Seed::demo());
    seed.workspaces[0].name = "Acme From File".into();
    let dir = std::env::temp_dir().join(format!("slack-emulator-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seed.json");
    std::fs::write(&path, serde_json::to_vec(&seed).unwrap()).unwrap();

    let mut child = Command::new(exe)
        .args(["--listen", "127.0.0.1:0", "--seed"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("slack-emulator listening on ")
        .unwrap()
        .to_owned();

    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}api/auth.test"))
        .bearer_auth("xoxb-acme-good")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(body["team"], "Acme From File");
}
