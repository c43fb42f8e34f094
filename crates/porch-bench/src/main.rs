//! `porch-bench`: the load harness of BENCHMARKS.md. Each scenario starts the server under
//! test itself (Porch on a fresh data directory, the bare echo baseline, or a peer), drives it
//! over loopback with real WebSocket clients, stops it, and prints one table row per target;
//! `--json FILE` writes the same rows as JSON. Every run is bounded in count and time.
//! S6 (`cluster`) and S1b (`broadcast`) also use the machine's PostgreSQL and NATS, in a
//! schema and on a subject of their own per row; S1b re-runs this binary as worker processes
//! (`broadcast-worker`).

mod assign;
mod broadcast;
mod cli;
mod cluster;
mod commands;
mod delivery;
mod handshake;
mod hardening;
mod idle;
mod openloop;
mod peer_delivery;
mod pingpong;
mod porch;
mod procfs;
mod publish;
mod resume;
mod server;
mod soak;
mod stats;
mod webhook_hang;
mod ws;

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::cli::{Cli, Command, paths};
use crate::stats::Report;

fn main() -> Result<()> {
    // reqwest is built without a TLS provider of its own: every client the harness builds
    // (not only porch-client's) needs ring installed first, or it panics.
    porch_client::tls::install_default_provider();
    let cli = Cli::parse();
    if let Command::BroadcastWorker(args) = &cli.command {
        broadcast::worker::main(args, cli.global.spread);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let timeout = Duration::from_secs(cli.global.timeout_secs);
    let reports = runtime.block_on(async {
        // Dropping the run (on a signal or the deadline) kills the servers it started.
        tokio::select! {
            result = tokio::time::timeout(timeout, run(&cli)) => result.map_err(|_| anyhow::anyhow!("gave up after {timeout:?}"))?,
            _ = interrupted() => bail!("interrupted"),
        }
    })?;
    stats::print_table(&reports);
    if let Some(path) = &cli.global.json {
        std::fs::write(path, serde_json::to_string_pretty(&reports)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let broken: Vec<String> = reports.iter().filter_map(broken).collect();
    if !broken.is_empty() {
        bail!("broken runs:\n  {}", broken.join("\n  "));
    }
    // Runtime shutdown would wait for blocking reads of servers already gone.
    runtime.shutdown_background();
    Ok(())
}

/// Why a run is broken, if it is: no operation done, errors, losses, order violations,
/// duplicates, resumes not recovered.
fn broken(r: &Report) -> Option<String> {
    let count = |key: &str| r.extra.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
    let problems = [
        ("ops=0", r.ops == 0),
        ("errors", r.errors > 0),
        ("lost", count("lost") > 0),
        ("unmatched answers", count("unmatched") > 0),
        ("order", count("order_violations") > 0),
        ("duplicated", count("duplicated") > 0),
        ("not recovered", count("not_recovered") > 0),
        ("grew beyond its bounds", count("grew") > 0),
    ];
    let found: Vec<&str> = problems.iter().filter(|p| p.1).map(|p| p.0).collect();
    (!found.is_empty())
        .then(|| format!("{} {} {}: {}", r.scenario, r.target, r.params, found.join(", ")))
}

async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("signal handler");
    tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
}

async fn run(cli: &Cli) -> Result<Vec<Report>> {
    let paths = paths(&cli.global)?;
    commands::run(&paths, &cli.global, &cli.command).await
}
