//! `--perf`: a CPU profile of the serve process during a measured window (`perf record` with the
//! cpu-clock software event, which works in VMs without hardware counters), summarised as the
//! hottest symbols.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use anyhow::{Context, bail};

pub struct Recording {
    child: Child,
    data: PathBuf,
}

/// Starts sampling `pid` at 499 Hz with call graphs into `data`.
pub fn start(pid: u32, data: &Path) -> anyhow::Result<Recording> {
    let child = Command::new("perf")
        .args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "499",
            "-g",
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run perf (apt-get install linux-perf)")?;
    Ok(Recording {
        child,
        data: data.to_owned(),
    })
}

impl Recording {
    /// Stops sampling and writes the flat profile (self time by symbol) next to the data.
    pub fn finish(mut self) -> anyhow::Result<PathBuf> {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("could not stop perf");
        }
        self.child.wait()?;
        let report = Command::new("perf")
            .args([
                "report",
                "--no-children",
                "--stdio",
                "--sort",
                "dso,symbol",
                "--percent-limit",
                "0.7",
                "-g",
                "none",
                "-i",
            ])
            .arg(&self.data)
            .output()
            .context("perf report")?;
        let text = self.data.with_extension("txt");
        std::fs::write(&text, &report.stdout)?;
        Ok(text)
    }
}
