//! CPU time of the processes sharing the machine during a window, from /proc: what each of the
//! server, PostgreSQL and the load generator used, in cores (CPU seconds per second of wall time).

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Cores used over the window (2.0 = both cores of this machine, busy the whole time).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct CoresUsed {
    pub server: f64,
    pub postgres: f64,
    pub load_generator: f64,
    pub slack_emulator: f64,
}

/// Clock ticks of user + system time of one process (0 when it is gone).
fn ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The command name is in parentheses and may hold spaces: count fields after its end.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// Every process whose name is `name`.
fn named(name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name))
        .collect()
}

fn postgres_ticks() -> u64 {
    named("postgres").into_iter().map(ticks).sum()
}

fn emulator_ticks() -> u64 {
    named("slack-emulator").into_iter().map(ticks).sum()
}

/// Started before the window; `finish` after it.
pub struct Window {
    started: Instant,
    server_pid: u32,
    server: u64,
    postgres: u64,
    me: u64,
    emulator: u64,
}

impl Window {
    pub fn start(server_pid: u32) -> Self {
        Self {
            started: Instant::now(),
            server_pid,
            server: ticks(server_pid),
            postgres: postgres_ticks(),
            me: ticks(std::process::id()),
            emulator: emulator_ticks(),
        }
    }

    pub fn finish(self) -> CoresUsed {
        // Linux reports these in USER_HZ, 100 on every platform this runs on.
        const HZ: f64 = 100.0;
        let wall = self.started.elapsed().as_secs_f64().max(1e-3);
        let cores = |now: u64, then: u64| now.saturating_sub(then) as f64 / HZ / wall;
        CoresUsed {
            server: cores(ticks(self.server_pid), self.server),
            // PostgreSQL's backends come and go; those that ended in the window are missed, so
            // this is a lower bound.
            postgres: cores(postgres_ticks(), self.postgres),
            load_generator: cores(ticks(std::process::id()), self.me),
            slack_emulator: cores(emulator_ticks(), self.emulator),
        }
    }
}
