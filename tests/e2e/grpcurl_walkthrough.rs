//! The README's operator walk-through, for real: the `ovice-slack` binary with no configuration but a
//! data dir, a token from `ovice-slack token`, and grpcurl with no proto files at hand.

use std::{os::unix::fs::PermissionsExt, path::Path, process::Command};

use slack_emulator::{Emulator, Seed};

use crate::support::process::{ServeProcess, command};

/// Starts `serve` and returns it with the address from its "serving" log line.
fn serve(data_dir: &Path, slack_api: &str) -> (ServeProcess, String) {
    let process = ServeProcess::start(&[
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--api-base-url",
        slack_api,
    ]);
    let addr = process.grpc_addr.clone();
    (process, addr)
}

async fn metrics(process: &ServeProcess) -> String {
    slack_client::install_crypto_provider();
    let response = reqwest::get(format!("http://{}/metrics", process.http_addr))
        .await
        .unwrap();
    assert!(response.status().is_success());
    response.text().await.unwrap()
}

fn token(data_dir: &Path) -> String {
    let out = command(&[
        "token",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--sub",
        "alice",
        "--org",
        "org-1",
        "--org-role",
        "owner",
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn grpcurl(args: &[&str]) -> String {
    let out = Command::new("grpcurl")
        .args(args)
        .output()
        .expect("grpcurl is not installed: scripts/install-test-deps.sh installs it");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "grpcurl {args:?} failed: {text}");
    text
}

fn stop(process: ServeProcess) {
    process.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_walkthrough_with_grpcurl() {
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let api = slack.api_url().to_string();
    let data = tempfile::tempdir().unwrap();
    let (child, addr) = serve(data.path(), &api);

    let listed = grpcurl(&["-plaintext", &addr, "list"]);
    for service in [
        "ovice.slack.v1.IntegrationConfigService",
        "ovice.slack.v1.AccountLinkService",
        "ovice.slack.v1.ChatEventService",
        "ovice.slack.v1.DeliveryService",
        "grpc.health.v1.Health",
    ] {
        assert!(listed.contains(service), "{service} not listed:\n{listed}");
    }
    let described = grpcurl(&[
        "-plaintext",
        &addr,
        "describe",
        "ovice.slack.v1.IntegrationConfigService",
    ]);
    assert!(
        described.contains("Checks the bot token live"),
        "comments missing:\n{described}"
    );

    let health = grpcurl(&["-plaintext", &addr, "grpc.health.v1.Health/Check"]);
    assert!(health.contains("SERVING"), "{health}");
    let health = grpcurl(&[
        "-plaintext",
        "-d",
        r#"{"service":"ovice.slack.v1.IntegrationConfigService"}"#,
        &addr,
        "grpc.health.v1.Health/Check",
    ]);
    assert!(health.contains("SERVING"), "{health}");

    let jwt = token(data.path());
    let auth = format!("authorization: Bearer {jwt}");
    let put = grpcurl(&[
        "-plaintext",
        "-H",
        &auth,
        "-d",
        r#"{"org_id":"org-1","access_token":"xoxb-acme-good","workspace_domain":"acme.slack.com"}"#,
        &addr,
        "ovice.slack.v1.IntegrationConfigService/PutSlackWorkspace",
    ]);
    assert!(put.contains(r#""teamId": "T0ACME""#), "{put}");
    assert!(put.contains("WORKSPACE_STATUS_ACTIVE"), "{put}");
    assert!(!put.contains("xoxb"), "token echoed: {put}");
    let get_args = [
        "-plaintext",
        "-H",
        &auth,
        "-d",
        r#"{"org_id":"org-1"}"#,
        &addr,
        "ovice.slack.v1.IntegrationConfigService/GetSlackWorkspace",
    ];
    let got = grpcurl(&get_args);
    assert!(got.contains(r#""workspaceDomain": "acme""#), "{got}");

    // Operators scrape the Slack calls just made.
    let scraped = metrics(&child).await;
    assert!(
        scraped
            .lines()
            .any(|l| l.starts_with("ovice_slack_slack_calls_total{")
                && l.contains(r#"method="auth.test""#)
                && l.contains(r#"outcome="ok""#)
                && l.ends_with(" 1")),
        "{scraped}"
    );

    // The generated development secrets are private to the owner of the process.
    for file in ["jwt-secret", "encryption-keys", "service-key.pem"] {
        let mode = std::fs::metadata(data.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    stop(child);

    // After a restart the same secret and key are reused: the old token still works and the stored
    // workspace is still readable.
    let (child, addr) = serve(data.path(), &api);
    let get_args: Vec<&str> = get_args
        .iter()
        .map(|a| {
            if a.starts_with("127.0.0.1") {
                addr.as_str()
            } else {
                a
            }
        })
        .collect();
    let got = grpcurl(&get_args);
    assert!(got.contains(r#""teamId": "T0ACME""#), "{got}");
    stop(child);
    slack.shutdown().await;
}

/// The `token` command mints nothing the services would refuse: a lifetime over
/// `--jwt-max-lifetime` (a day by default) is an error that names the flag.
#[test]
fn the_token_command_refuses_a_lifetime_the_services_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let base = [
        "token",
        "--data-dir",
        data,
        "--sub",
        "ops",
        "--svc-role",
        "operator",
    ];
    let too_long = command(&[&base[..], &["--ttl", "172800"]].concat())
        .output()
        .unwrap();
    assert!(!too_long.status.success());
    let stderr = String::from_utf8_lossy(&too_long.stderr);
    assert!(
        stderr.contains("--jwt-max-lifetime") && stderr.contains("1day"),
        "{stderr}"
    );
    let allowed = command(&[&base[..], &["--ttl", "172800", "--jwt-max-lifetime", "3d"]].concat())
        .output()
        .unwrap();
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}
