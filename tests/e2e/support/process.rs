//! The real `ovice-slack` binary as a child process, as an operator or Kubernetes runs it.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_ovice-slack");

/// A connected gRPC channel to `addr` (host:port).
pub async fn channel(addr: &str) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// `ovice-slack ARGS` with the operator's environment kept out of the test's configuration.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("OVICE_SLACK_") || k.starts_with("OTEL_") {
            c.env_remove(k);
        }
    }
    c
}

/// A running `serve`, with the addresses from its "serving" log line.
pub struct ServeProcess {
    pub child: Child,
    pub grpc_addr: String,
    pub http_addr: String,
    /// How a test client reaches its gRPC port when it serves TLS.
    pub client_tls: Option<tonic::transport::ClientTlsConfig>,
}

impl ServeProcess {
    /// Starts `serve ARGS --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --log-format json` and waits
    /// until it reports that it is serving.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// Like [`ServeProcess::start`], with extra environment variables (e.g. the OTLP endpoint).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ]);
        let mut child = command(&all)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let (grpc_addr, http_addr) = loop {
            let line = lines.next().expect("serve exited before it was serving").unwrap();
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if event["message"] == "serving" {
                break (
                    event["addr"].as_str().unwrap().to_owned(),
                    event["http_addr"].as_str().unwrap().to_owned(),
                );
            }
        };
        // Keep draining the log so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            grpc_addr,
            http_addr,
            client_tls: None,
        }
    }

    /// The process serves TLS: test clients connect with `tls`.
    pub fn with_client_tls(mut self, tls: tonic::transport::ClientTlsConfig) -> Self {
        self.client_tls = Some(tls);
        self
    }

    /// A connected channel to the gRPC port (over TLS when the process serves it).
    pub async fn channel(&self) -> tonic::transport::Channel {
        match &self.client_tls {
            Some(tls) => crate::support::tls::tls_channel(&self.grpc_addr, tls.clone())
                .await
                .unwrap(),
            None => channel(&self.grpc_addr).await,
        }
    }

    /// SIGKILL: the process dies at once, as in a crash or an OOM kill.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to exit (after a signal sent elsewhere); it must exit cleanly.
    pub fn wait_success(mut self) {
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve did not exit cleanly: {status}");
    }

    /// SIGTERM, and the process must exit cleanly.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "serve did not exit cleanly on SIGTERM: {status}"
        );
    }
}

impl Drop for ServeProcess {
    // A failing test must not leave servers behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
