//! Child processes: the real `ovice-slack serve` release binary and the B1 echo server, their
//! memory (from `/proc/PID/status`) and the time from spawn until gRPC health says SERVING.

use std::{
    fs::File,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// Where `cargo build` puts the workspace's binaries for the profile this benchmark was built with.
fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the benchmark's own executable")?;
    let dir = exe
        .parent()
        .context("the benchmark's executable has no parent directory")?;
    Ok(dir.join(name))
}

/// The `ovice-slack` binary of the same build profile as this benchmark. Under `cargo run` it is
/// built first (a no-op when fresh), so one command measures the current code.
pub fn server_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Ok(cargo) = std::env::var("CARGO") {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("the bench crate lies in the workspace")?;
        let mut build = Command::new(cargo);
        // The workspace's one build (scripts/build-release.sh): building the binary alone would
        // unify features differently and compile much of the tree a second time.
        build
            .current_dir(workspace)
            .args(["build", "--workspace", "--all-targets"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        eprintln!("building the server binary: {build:?}");
        let status = build.status().context("cannot run cargo build")?;
        if !status.success() {
            bail!("building ovice-slack failed ({status})");
        }
    }
    let path = sibling_binary("ovice-slack")?;
    if !path.exists() {
        bail!(
            "{} does not exist: build it (`scripts/build-release.sh`) or pass --server-bin",
            path.display()
        );
    }
    Ok(path)
}

/// A port that was free a moment ago (the child binds it; nothing else on this machine races us
/// for loopback ports in practice).
pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Memory of a process, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    })
}

/// A child process serving gRPC on `grpc`.
pub struct ServerProcess {
    child: Child,
    pub pid: u32,
    pub grpc: SocketAddr,
    /// From spawn until the first health check answered SERVING.
    pub serving_after: Duration,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Spawns `command` (stdout and stderr into `log`) and waits until `grpc` reports SERVING.
    pub async fn spawn(mut command: Command, grpc: SocketAddr, log: PathBuf) -> anyhow::Result<Self> {
        let out = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        for (k, _) in std::env::vars() {
            if k.starts_with("OVICE_SLACK_") || k.starts_with("OTEL_") {
                command.env_remove(k);
            }
        }
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let spawned = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {command:?}"))?;
        let pid = child.id();
        let mut me = Self {
            child,
            pid,
            grpc,
            serving_after: Duration::ZERO,
            log,
        };
        me.serving_after = me.wait_serving(spawned).await?;
        Ok(me)
    }

    async fn wait_serving(&mut self, spawned: Instant) -> anyhow::Result<Duration> {
        let endpoint = Endpoint::from_shared(format!("http://{}", self.grpc))?
            .connect_timeout(Duration::from_millis(200))
            .timeout(Duration::from_secs(2));
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the process exited ({status}) before serving; log:\n{}",
                    self.log_tail()
                );
            }
            if spawned.elapsed() > Duration::from_secs(60) {
                bail!("not SERVING 60 s after start; log:\n{}", self.log_tail());
            }
            if let Ok(channel) = endpoint.connect().await {
                let mut health = HealthClient::new(channel);
                let answer = health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await;
                if let Ok(answer) = answer
                    && answer.into_inner().status == ServingStatus::Serving as i32
                {
                    return Ok(spawned.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        memory(self.pid)
    }

    pub async fn channel(&self) -> anyhow::Result<Channel> {
        connect(self.grpc).await
    }

    /// SIGTERM, as Kubernetes stops a pod: the server finishes its calls in flight, records their
    /// outcomes and hands back its claims, so the next process finds a clean outbox. SIGKILL after
    /// `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILL, as a crash would (what was accepted is on disk already).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    // A failing benchmark must not leave servers behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/2 connection (the same settings for the service and for B1).
pub async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?)
}

/// `n` connections to `addr`.
pub async fn connections(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        out.push(connect(addr).await?);
    }
    Ok(out)
}
