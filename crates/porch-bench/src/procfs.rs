//! CPU time and memory from /proc. The harness shares the machine's cores with the server
//! (and, on a shared machine, with other people's work), so a rate alone says little: each run
//! also reports the server's CPU per operation, per thread name, and how many cores the
//! server, the harness and everything else used during the run.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

/// CPU time (user + system, all threads) of process `pid`, in microseconds.
pub fn cpu_us(pid: u32) -> Result<u64> {
    stat_cpu_us(&std::fs::read_to_string(format!("/proc/{pid}/stat"))?).map(|(_, us)| us)
}

/// CPU time per thread name (tokio's workers share one name and are summed).
pub fn cpu_us_by_thread(pid: u32) -> BTreeMap<String, u64> {
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        if let Ok((name, us)) = stat_cpu_us(&stat) {
            *by_name.entry(name).or_insert(0) += us;
        }
    }
    by_name
}

/// Resident set size in KiB (`VmRSS` of /proc/PID/status).
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
}

/// Busy CPU time of the whole machine (all cores, everything but idle and iowait), in µs.
fn machine_busy_us() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    let ticks: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 =
        ticks.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, t)| t).sum();
    busy * 1_000_000 / clock_ticks()
}

/// The command name and utime + stime (µs) of a /proc stat line.
fn stat_cpu_us(stat: &str) -> Result<(String, u64)> {
    let (head, rest) = stat.rsplit_once(')').context("odd /proc stat")?;
    let name = head.split_once('(').map_or("", |(_, n)| n).to_string();
    // Fields after the parenthesised name; utime and stime are fields 14 and 15 of the line.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok((name, ticks * 1_000_000 / clock_ticks()))
}

/// `sysconf(_SC_CLK_TCK)` without libc: asked once from `getconf`, 100 on every Linux we know.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output().ok();
        out.and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// CPU used across a measured phase: the server's in all and per thread name, the harness's,
/// and the machine's. The server may be several processes (the nodes of a cluster): their
/// CPU is summed, and their thread names are prefixed `node-1:`, `node-2:`, ….
pub struct CpuMeter {
    began: Instant,
    servers: Vec<ServerStart>,
    /// The harness's processes (this one first) and their CPU µs at the start.
    harness: Vec<(u32, u64)>,
    machine: u64,
}

/// One server process at the start of the phase.
struct ServerStart {
    pid: u32,
    /// Prefix of its thread names ("" for a single server).
    label: String,
    cpu_us: u64,
    threads: BTreeMap<String, u64>,
}

impl CpuMeter {
    /// A meter over one server process.
    pub fn start(pid: u32) -> Result<CpuMeter> {
        CpuMeter::start_all(&[pid])
    }

    /// One meter over several server processes.
    pub fn start_all(pids: &[u32]) -> Result<CpuMeter> {
        let several = pids.len() > 1;
        let servers = pids
            .iter()
            .enumerate()
            .map(|(i, &pid)| {
                Ok(ServerStart {
                    pid,
                    label: if several { format!("node-{}:", i + 1) } else { String::new() },
                    cpu_us: cpu_us(pid)?,
                    threads: cpu_us_by_thread(pid),
                })
            })
            .collect::<Result<_>>()?;
        Ok(CpuMeter {
            began: Instant::now(),
            servers,
            harness: vec![(std::process::id(), cpu_us(std::process::id())?)],
            machine: machine_busy_us(),
        })
    }

    /// Counts these processes (S1b's workers) as the harness too, not as "others".
    pub fn with_harness(mut self, pids: &[u32]) -> CpuMeter {
        let started = pids.iter().filter_map(|&pid| Some((pid, cpu_us(pid).ok()?)));
        self.harness.extend(started);
        self
    }

    /// Server CPU µs used since `start`, all processes together (a process that has exited
    /// counts as what it had used at the start).
    fn server_used_us(&self) -> u64 {
        self.servers
            .iter()
            .map(|s| cpu_us(s.pid).unwrap_or(s.cpu_us).saturating_sub(s.cpu_us))
            .sum()
    }

    /// Server CPU µs per operation.
    pub fn per_op(&self, ops: u64) -> Option<f64> {
        (ops > 0).then(|| self.server_used_us() as f64 / ops as f64)
    }

    /// Server CPU µs per operation of each thread name that used any (threads that exited
    /// during the phase are only in the total).
    pub fn per_op_by_thread(&self, ops: u64) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for server in &self.servers {
            for (name, us) in cpu_us_by_thread(server.pid) {
                let used = us.saturating_sub(server.threads.get(&name).copied().unwrap_or(0));
                if used > 0 && ops > 0 {
                    let name = format!("{}{name}", server.label);
                    out.insert(name, round1(used as f64 / ops as f64).into());
                }
            }
        }
        out.into()
    }

    /// Cores used on average since `start`: by the server, the harness, and everything else
    /// on the machine (other people's builds and tests on a shared machine; for a cluster,
    /// also PostgreSQL and NATS).
    pub fn cores(&self) -> serde_json::Value {
        let wall = self.began.elapsed().as_micros().max(1) as f64;
        let server = self.server_used_us() as f64 / wall;
        let harness_us: u64 = self
            .harness
            .iter()
            .map(|&(pid, start)| cpu_us(pid).unwrap_or(start).saturating_sub(start))
            .sum();
        let harness = harness_us as f64 / wall;
        let machine = machine_busy_us().saturating_sub(self.machine) as f64 / wall;
        serde_json::json!({
            "server": round2(server),
            "harness": round2(harness),
            "others": round2((machine - server - harness).max(0.0)),
        })
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
