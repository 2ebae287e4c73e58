//! The Slack emulator in a process of its own (`target/release/slack-emulator`), driven through
//! its `/_emulator/…` control API, so that the traffic it serves does not share the benchmark's
//! runtime (the load generator) or the server's.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, bail};
use serde::Deserialize;
use slack_emulator::{Fault, RateLimitConfig, Seed};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use url::Url;

/// A message the emulator holds.
#[derive(Clone, Debug, Deserialize)]
pub struct Posted {
    pub text: String,
}

/// A Web API call the emulator answered.
#[derive(Clone, Debug, Deserialize)]
pub struct Call {
    pub method: String,
    pub status: u16,
    pub error: Option<String>,
    /// Wall-clock microseconds (comparable with this process's clock on the same machine).
    pub at_unix_us: u64,
}

impl Call {
    pub fn ok_post(&self) -> bool {
        self.method == "chat.postMessage" && self.status == 200 && self.error.is_none()
    }
}

pub struct SlackProcess {
    child: Child,
    base: Url,
    http: reqwest::Client,
}

/// Where the emulator binary is: beside the server's.
pub fn binary_beside(server_bin: &Path) -> PathBuf {
    server_bin.with_file_name("slack-emulator")
}

impl SlackProcess {
    pub async fn start(bin: &Path, seed: &Seed, dir: &Path) -> anyhow::Result<Self> {
        let seed_file = dir.join("slack-seed.json");
        std::fs::write(&seed_file, serde_json::to_vec(seed)?)?;
        let mut child = Command::new(bin)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--seed")
            .arg(&seed_file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} (scripts/build-release.sh builds it)", bin.display()))?;
        let stdout = child.stdout.take().context("the emulator's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .context("the emulator did not say where it listens within 10 s")??
            .context("the emulator exited before listening")?;
        let Some(address) = line.strip_prefix("slack-emulator listening on ") else {
            bail!("unexpected first line from the emulator: {line}");
        };
        let base = Url::parse(address.trim())?;
        // The rest of its output is not needed; keep the pipe drained.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        // reqwest needs rustls' crypto provider installed before its first client.
        slack_client::install_crypto_provider();
        Ok(Self {
            child,
            base,
            http: reqwest::Client::new(),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub fn api_url(&self) -> Url {
        self.base.join("api/").unwrap_or_else(|_| self.base.clone())
    }

    pub fn authorize_url(&self) -> Url {
        self.base
            .join("oauth/v2/authorize")
            .unwrap_or_else(|_| self.base.clone())
    }

    fn control(&self, path: &str) -> anyhow::Result<Url> {
        Ok(self.base.join(&format!("_emulator/{path}"))?)
    }

    async fn post(&self, path: &str, body: &impl serde::Serialize) -> anyhow::Result<bool> {
        let answer = self.http.post(self.control(path)?).json(body).send().await?;
        Ok(answer.status().is_success())
    }

    async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.http
            .delete(self.control(path)?)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    pub async fn add_redirect_uri(&self, client_id: &str, uri: &str) -> anyhow::Result<bool> {
        self.post(
            "oauth/redirect_uris",
            &serde_json::json!({"client_id": client_id, "uri": uri}),
        )
        .await
    }

    pub async fn inject_fault(&self, fault: &Fault) -> anyhow::Result<()> {
        if !self.post("faults", fault).await? {
            bail!("the emulator refused a fault");
        }
        Ok(())
    }

    pub async fn clear_faults(&self) -> anyhow::Result<()> {
        self.delete("faults").await
    }

    pub async fn set_rate_limits(&self, config: RateLimitConfig) -> anyhow::Result<()> {
        if !self.post("rate_limits", &config).await? {
            bail!("the emulator refused the rate limits");
        }
        Ok(())
    }

    pub async fn clear_calls(&self) -> anyhow::Result<()> {
        self.delete("calls").await
    }

    pub async fn clear_messages(&self) -> anyhow::Result<()> {
        self.delete("messages").await
    }

    /// Forgets what the previous phase left: messages, calls, faults.
    pub async fn reset(&self) -> anyhow::Result<()> {
        self.clear_faults().await?;
        self.clear_calls().await?;
        self.clear_messages().await
    }

    pub async fn messages(&self) -> anyhow::Result<Vec<Posted>> {
        Ok(self
            .http
            .get(self.control("messages")?)
            .send()
            .await?
            .json()
            .await?)
    }

    pub async fn calls(&self) -> anyhow::Result<Vec<Call>> {
        Ok(self.http.get(self.control("calls")?).send().await?.json().await?)
    }

    pub async fn stop(mut self) {
        drop(self.child.kill().await);
    }
}
