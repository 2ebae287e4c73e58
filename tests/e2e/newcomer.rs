//! A newcomer's first hour, as the README tells it: the run command serves every service, the demo's
//! walk-through works as pasted (the README's own shell blocks are run), the forwarded message shows on
//! the local Slack's page in a real browser, and the repository explains itself with no file outside it.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use fantoccini::Locator;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use ovice_slack_runtime::test_support::eventually;

use crate::support::{
    PATIENCE,
    browser::Browser,
    process::{BIN, channel, command},
};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `ovice-slack` (any command) whose JSON log is read until a line says what we wait for.
struct Running {
    child: Child,
    log: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .env("OVICE_SLACK_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let log = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, log }
    }

    /// The fields of the first log event with this message (other lines, e.g. the banner, skipped).
    fn wait_for(&mut self, message: &str) -> serde_json::Value {
        loop {
            let line = self
                .log
                .next()
                .unwrap_or_else(|| panic!("exited before logging {message:?}"))
                .unwrap();
            if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
                && event["message"] == message
            {
                return event;
            }
        }
    }

    /// Keeps reading the log so the child never blocks on a full pipe.
    fn drain(self) -> Child {
        let Running { child, log } = self;
        std::thread::spawn(move || for _ in log {});
        child
    }
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The README's run command: the built binary with no arguments, in a fresh directory. Only the
/// addresses come from the environment, so a `cargo run --release` already serving on the default
/// ports (a newcomer's other terminal) is not in the way.
#[tokio::test(flavor = "multi_thread")]
async fn the_run_command_serves_every_service_in_a_fresh_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(&[]);
    cmd.current_dir(dir.path())
        .env("OVICE_SLACK_LISTEN", "127.0.0.1:0")
        .env("OVICE_SLACK_HTTP_LISTEN", "127.0.0.1:0");
    let mut serving = Running::spawn(cmd);
    let event = serving.wait_for("serving");
    let child = serving.drain();
    assert_eq!(
        event["targets"],
        "integration-config,account-links,delivery,gateway"
    );
    assert_eq!(event["database"], "sqlite");

    let mut health = HealthClient::new(channel(event["addr"].as_str().unwrap()).await);
    for service in [
        "",
        "ovice.slack.v1.IntegrationConfigService",
        "ovice.slack.v1.AccountLinkService",
        "ovice.slack.v1.ChatEventService",
        "ovice.slack.v1.DeliveryService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    // The embedded default made its database and development secrets in ./data, readable by the owner only.
    for file in [
        "ovice-slack.db",
        "jwt-secret",
        "encryption-keys",
        "service-key.pem",
    ] {
        assert!(dir.path().join("data").join(file).exists(), "{file}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("data/jwt-secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    stop(child);

    let help = command(&["--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for sub in ["serve", "demo", "token", "migrate", "reseal-tokens"] {
        assert!(help.contains(sub), "--help lists {sub}:\n{help}");
    }
}

/// A configuration mistake is reported before any port is bound: it never shows up as "address in
/// use", and a refused process never holds a port.
#[test]
fn configuration_errors_come_before_any_port_is_bound() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = command(&[
        "serve",
        "--target",
        "gateway",
        "--jwt-secret",
        "0123456789abcdef0123456789abcdef",
        "--listen",
        &addr,
        "--http-listen",
        &addr,
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--delivery-addr"), "{stderr}");
    assert!(!stderr.contains("cannot listen"), "{stderr}");
}

/// The README section "Try it: the demo", cut into its shell blocks.
fn demo_walkthrough_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(repository_root().join("README.md")).unwrap();
    let start = readme
        .find("\n## Try it: the demo\n")
        .expect("the README has a section \"Try it: the demo\"");
    let section = &readme[start + 1..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(i) = rest.find("```sh\n") {
        let body = &rest[i + 6..];
        let end = body.find("\n```").expect("a closed shell block");
        blocks.push(body[..end].to_owned());
        rest = &body[end + 4..];
    }
    blocks
}

/// The walk-through exactly as the README writes it, against the demo, then the recipient's Slack
/// page in a real browser. The only changes to the README's commands: `cargo run --release -q --` is
/// the binary the tests built, and the default addresses are the ones this demo was given, so that a
/// newcomer's own `cargo run --release` on the default ports does not get in the way.
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_walkthrough_works_against_the_demo_and_shows_the_dm_in_slack() {
    let blocks = demo_walkthrough_blocks();
    assert!(
        blocks.len() >= 5,
        "the walk-through has its shell blocks: {blocks:?}"
    );
    assert_eq!(
        blocks[0], "cargo run --release -- demo",
        "the first block starts the demo"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(&["demo"]);
    cmd.current_dir(dir.path())
        .env("OVICE_SLACK_LISTEN", "127.0.0.1:0")
        .env("OVICE_SLACK_HTTP_LISTEN", "127.0.0.1:0")
        .env("OVICE_SLACK_DEMO_SLACK_LISTEN", "127.0.0.1:0");
    let mut demo = Running::spawn(cmd);
    let slack = demo.wait_for("local Slack listening")["addr"]
        .as_str()
        .unwrap()
        .to_owned();
    let serving = demo.wait_for("serving");
    let demo = demo.drain();
    let grpc = serving["addr"].as_str().unwrap();
    let http = serving["http_addr"].as_str().unwrap();

    let mut script = String::from("set -euo pipefail\n");
    for block in &blocks[1..] {
        script.push_str(block);
        script.push('\n');
    }
    for (from, to) in [
        ("cargo run --release -q --", format!("'{BIN}'")),
        ("localhost:50051", grpc.to_owned()),
        ("localhost:8090", http.to_owned()),
        ("localhost:3000", slack.clone()),
    ] {
        assert!(script.contains(from), "the walk-through uses {from}");
        script = script.replace(from, &to);
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walk-through failed:\n{stdout}\n{stderr}"
    );
    for (step, expected) in [
        ("workspace set up", "\"teamId\": \"T0ACME\""),
        ("workspace set up", "WORKSPACE_STATUS_ACTIVE"),
        ("consent answered", "Connected as @alice in acme.slack.com"),
        ("Alice connected", "CONNECTION_STATE_CONNECTED"),
        ("DM published", "DISPOSITION_ACCEPTED"),
        ("delivery inspected", "\"messageId\": \"m-1\""),
        ("Japanese chosen", "\"effectiveLanguage\": \"ja\""),
    ] {
        assert!(stdout.contains(expected), "{step}: {expected:?} not in\n{stdout}");
    }

    // The message in Slack: the app's DM to Alice, with Carol's text escaped as sent.
    slack_client::install_crypto_provider();
    let http_client = reqwest::Client::new();
    let messages_url = format!("http://{slack}/_emulator/messages");
    // The notification text beside the blocks.
    let sent = "Carol in Tokyo Office: Lunch at *noon*? &lt;!channel&gt; &amp; snacks";
    // And the second, framed in Japanese.
    let sent_ja = "東京オフィスのCarol：明日の定例は *10時* からです";
    eventually("both DMs in the emulator", PATIENCE, async || {
        let messages: serde_json::Value = http_client
            .get(&messages_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let messages = messages.as_array().unwrap();
        let english = messages
            .iter()
            .any(|m| m["text"].as_str().is_some_and(|t| t.starts_with(sent)) && m["is_bot"] == true);
        let japanese = messages.iter().any(|m| m["text"] == sent_ja);
        (english && japanese).then_some(())
    })
    .await;

    let browser = Browser::start().await;
    let client = &browser.client;
    client
        .goto(&format!("http://{slack}/client/T0ACME/U0ALICE"))
        .await
        .unwrap();
    let message = client
        .find(Locator::Css("main[data-user=U0ALICE] .conversation .message"))
        .await
        .unwrap();
    let author = message
        .find(Locator::Css(".author"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(author, "ovice", "a bot DM from the org's app");
    assert!(
        message.find(Locator::Css(".meta .app")).await.is_ok(),
        "with the APP badge"
    );
    let text = message
        .find(Locator::Css(".text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("Lunch at noon? <!channel> & snacks"),
        "escaped text shows literally: {text:?}"
    );
    let context = message
        .find(Locator::Css(".text .context"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(context, "Carol in Tokyo Office", "who and where, above the text");
    let bold = message
        .find(Locator::Css(".text .section b"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(bold, "noon", "Slack formats *noon*");
    assert!(
        message.find(Locator::Css(".text .broadcast")).await.is_err(),
        "<!channel> notifies nobody"
    );
    let link = message
        .find(Locator::Css(".text .actions a.button"))
        .await
        .unwrap();
    assert_eq!(link.text().await.unwrap(), "Open in ovice");
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some("https://app.ovice.example/space-1/chat/m-1")
    );
    // The second DM, after Alice chose Japanese: the same frame in Japanese, Carol's words as written.
    let texts = client
        .find_all(Locator::Css(
            "main[data-user=U0ALICE] .conversation .message .text",
        ))
        .await
        .unwrap();
    assert_eq!(texts.len(), 2, "two DMs from Carol");
    let japanese = texts[1].text().await.unwrap();
    assert!(japanese.contains("東京オフィスの Carol"), "{japanese:?}");
    assert!(japanese.contains("明日の定例は 10時 からです"), "{japanese:?}");
    assert!(japanese.contains("ovice で開く"), "{japanese:?}");

    // The screenshot: an artifact of every run, and the one under docs/ when asked for.
    let png = client.screenshot().await.unwrap();
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join("demo-slack-dm.png"), &png).unwrap();
    if std::env::var_os("OVICE_SLACK_UPDATE_DOCS_SCREENSHOT").is_some() {
        std::fs::write(repository_root().join("docs/images/demo-slack-dm.png"), &png).unwrap();
    }
    browser.close().await;
    stop(demo);
}

/// Every path a file names is inside the repository: the README, the docs and the code comments must
/// explain the product without anything that a clone from a code host does not have.
#[test]
fn no_file_refers_to_a_path_outside_the_repository() {
    let root = repository_root();
    let files = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(files.status.success());
    // Spelled in pieces so that this file does not match itself.
    let outside = [
        ["..", "/shared"].concat(),
        ["shared/", "SPEC"].concat(),
        ["SPEC", ".md"].concat(),
        ["shared/", "reference"].concat(),
        ["/work", "/"].concat(),
    ];
    let mut found = Vec::new();
    for name in String::from_utf8(files.stdout).unwrap().split('\0') {
        if name.is_empty() || name == "Cargo.lock" {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(name)) else {
            continue; // binary files
        };
        for (n, line) in text.lines().enumerate() {
            if outside.iter().any(|p| line.contains(p.as_str())) {
                found.push(format!("{name}:{}: {line}", n + 1));
            }
            if name.ends_with(".md") {
                found.extend(
                    markdown_links(line)
                        .filter(|target| !link_stays_inside(&root, name, target))
                        .map(|target| format!("{name}:{}: link to {target}", n + 1)),
                );
            }
        }
    }
    assert!(
        found.is_empty(),
        "paths outside the repository:\n{}",
        found.join("\n")
    );
}

/// The relative targets of `[text](target)` links on a line.
fn markdown_links(line: &str) -> impl Iterator<Item = &str> {
    line.match_indices("](").filter_map(|(i, _)| {
        let rest = &line[i + 2..];
        let target = &rest[..rest.find(')')?];
        let target = target.split('#').next().unwrap_or("");
        (!target.is_empty() && !target.contains("://") && !target.starts_with("mailto:")).then_some(target)
    })
}

/// A relative link from `file` resolves to a file or folder of the repository.
fn link_stays_inside(root: &Path, file: &str, target: &str) -> bool {
    let base = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut depth = base.components().count() as i64;
    for part in Path::new(target).components() {
        match part {
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    root.join(base).join(target).exists()
}

#[test]
fn the_demo_is_refused_with_a_database_of_your_own() {
    let out = command(&["demo", "--database-url", "sqlite://elsewhere.db"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the demo keeps its own database"), "{stderr}");
}
