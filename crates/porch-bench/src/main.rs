//! `porch-bench`: the load harness of BENCHMARKS.md. Each scenario starts the server under
//! test itself (Porch on a fresh data directory, the bare echo baseline, or a peer), drives it
//! over loopback with real WebSocket clients, stops it, and prints one table row per target;
//! `--json FILE` writes the same rows as JSON. Every run is bounded in count and time.
//! S6 (`cluster`) and S1b (`broadcast`) also use the machine's PostgreSQL and NATS, in a
//! schema and on a subject of their own per row; S1b re-runs this binary as worker processes
//! (`broadcast-worker`).

mod broadcast;
mod cli;
mod cluster;
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
mod stats;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::cli::{Cli, Command, Global, paths};
use crate::pingpong::PorchFrame;
use crate::server::{Kind, Paths, Server};
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

/// A started server, with `guests` guest tokens when it is Porch.
async fn start(
    paths: &Paths,
    kind: Kind,
    guests: usize,
) -> Result<(Server, Option<porch::Setup>, Vec<String>)> {
    eprintln!("starting {}", kind.name());
    let server = Server::start(kind, paths)?;
    if kind != Kind::Porch {
        return Ok((server, None, Vec::new()));
    }
    let setup = porch::setup(paths, &server).await?;
    let tokens =
        porch::create_guests(&setup, guests).await?.into_iter().map(|g| g.access_token).collect();
    Ok((server, Some(setup), tokens))
}

async fn run(cli: &Cli) -> Result<Vec<Report>> {
    let paths = paths(&cli.global)?;
    run_command(&paths, &cli.global, &cli.command).await
}

/// The commands `suite` runs, with the parameters of BENCHMARKS.md: every scenario on Porch
/// and the included peers, S1, S2 and S4 on bare too (S3 needs a publish API).
fn suite(peers: &[Kind]) -> Vec<Command> {
    let targets: Vec<Kind> = [Kind::Porch, Kind::Bare].iter().chain(peers).copied().collect();
    let delivery_targets = [Kind::Porch].iter().chain(peers).copied().collect();
    vec![
        Command::Idle { targets: targets.clone(), steps: vec![1000, 5000], settle_secs: 5 },
        Command::Handshake {
            targets: targets.clone(),
            count: 20_000,
            concurrency: 200,
            max_secs: 30,
        },
        Command::Pingpong {
            targets,
            conns: 100,
            sizes: vec![64, 1024],
            max_secs: 10,
            max_messages: 2_000_000,
            porch_frames: vec![PorchFrame::Send, PorchFrame::Ping],
            open_loop: false,
            ladder: openloop::Ladder::default(),
        },
        Command::Delivery {
            targets: delivery_targets,
            rates: vec![1000, 5000],
            guests: 1000,
            agents: 1,
            secs: 10,
        },
    ]
}

/// Fails before anything runs if a target cannot start: a peer not installed, or (for S3)
/// a target without a way to publish.
fn check_targets(paths: &Paths, targets: &[Kind], delivery: bool) -> Result<()> {
    for &kind in targets {
        kind.check_installed(paths)?;
        if delivery && kind == Kind::Bare {
            bail!(
                "bare has no publish API: delivery targets are porch, soketi, sockudo and ws-relay"
            );
        }
    }
    Ok(())
}

async fn run_command(paths: &Paths, global: &Global, command: &Command) -> Result<Vec<Report>> {
    let spread = global.spread;
    let mut reports = Vec::new();
    match command {
        Command::Suite { no_soketi, no_ws_relay, sockudo } => {
            let peers: Vec<Kind> = [
                (Kind::Soketi, *no_soketi),
                (Kind::WsRelay, *no_ws_relay),
                (Kind::Sockudo, !*sockudo),
            ]
            .into_iter()
            .filter_map(|(kind, left_out)| (!left_out).then_some(kind))
            .collect();
            check_targets(paths, &peers, false).map_err(|e| {
                e.context(
                    "a peer of the suite is missing (or leave it out: --no-soketi, --no-ws-relay)",
                )
            })?;
            for command in suite(&peers) {
                // Boxed: the future is recursive.
                reports.extend(Box::pin(run_command(paths, global, &command)).await?);
            }
        }
        Command::Idle { targets, steps, settle_secs } => {
            check_targets(paths, targets, false)?;
            let p = idle::Params { steps: steps.clone(), settle_secs: *settle_secs, spread };
            for &kind in targets {
                let (mut server, _, tokens) =
                    start(paths, kind, steps.iter().copied().max().unwrap_or(0)).await?;
                reports.push(idle::run(&mut server, &tokens, &p).await?);
            }
        }
        Command::Handshake { targets, count, concurrency, max_secs } => {
            check_targets(paths, targets, false)?;
            let p = handshake::Params {
                count: *count,
                concurrency: *concurrency,
                max_secs: *max_secs,
                spread,
            };
            for &kind in targets {
                reports.push(run_handshake(paths, kind, &p).await?);
            }
        }
        Command::Delivery { targets, rates, guests, agents, secs } => {
            check_targets(paths, targets, true)?;
            for &kind in targets {
                for &rate in rates {
                    let p = delivery::Params {
                        scenario: "S3",
                        rate,
                        secs: *secs,
                        agents: *agents,
                        spread,
                    };
                    reports.push(match kind {
                        Kind::Porch => run_delivery(paths, *guests, &p).await?,
                        peer => run_peer_delivery(paths, peer, *guests, &p).await?,
                    });
                }
            }
        }
        Command::Cluster { topologies, rates, guests, agents, secs, backends } => {
            let p: Vec<delivery::Params> = rates
                .iter()
                .map(|&rate| delivery::Params {
                    scenario: "S6",
                    rate,
                    secs: *secs,
                    agents: *agents,
                    spread,
                })
                .collect();
            reports.extend(cluster::run(paths, topologies, backends, *guests, &p).await?);
        }
        Command::Broadcast {
            guests,
            nodes,
            workers,
            notices,
            gap_secs,
            settle_secs,
            notice_timeout_secs,
            connect_concurrency,
            create_concurrency,
            backends,
        } => {
            let p = broadcast::Params {
                guests: *guests,
                nodes: *nodes,
                workers: *workers,
                notices: *notices,
                gap_secs: *gap_secs,
                settle_secs: *settle_secs,
                notice_timeout_secs: *notice_timeout_secs,
                connect_concurrency: *connect_concurrency,
                create_concurrency: *create_concurrency,
                spread,
                // The workers outlive nothing: they stop when the whole command would.
                deadline_secs: global.timeout_secs,
            };
            reports.extend(broadcast::run(paths, backends, &p).await?);
        }
        Command::BroadcastWorker(_) => {
            bail!("broadcast-worker is started by broadcast, not by hand")
        }
        Command::Resume { guests, missed, cut, live_rate } => {
            let mut server = Server::start(Kind::Porch, paths)?;
            let setup = porch::setup(paths, &server).await?;
            let p = resume::Params {
                guests: *guests,
                missed: *missed,
                cut: *cut,
                live_rate: *live_rate,
                spread,
            };
            reports.push(resume::run(paths, &mut server, &setup, &p).await?);
        }
        Command::Pingpong {
            targets,
            conns,
            sizes,
            max_secs,
            max_messages,
            porch_frames,
            open_loop,
            ladder,
        } => {
            check_targets(paths, targets, false)?;
            if *open_loop {
                ladder.check()?;
            }
            for &kind in targets {
                // The peers have one kind of round trip; Porch has one row per frame asked for.
                let frames =
                    if kind == Kind::Porch { porch_frames.as_slice() } else { &[PorchFrame::Send] };
                for &size in sizes {
                    for &porch_frame in frames {
                        if *open_loop {
                            let p = openloop::Params {
                                conns: *conns,
                                size,
                                spread,
                                porch_frame,
                                ladder: ladder.clone(),
                            };
                            reports.extend(run_open_loop(paths, kind, &p).await?);
                            continue;
                        }
                        let p = pingpong::Params {
                            conns: *conns,
                            size,
                            max_secs: *max_secs,
                            max_messages: *max_messages,
                            spread,
                            porch_frame,
                        };
                        reports.push(run_pingpong(paths, kind, &p).await?);
                    }
                }
            }
        }
        Command::Hardening { repeat } => {
            let (mut server, setup, tokens) = start(paths, Kind::Porch, *repeat).await?;
            let setup = setup.context("porch setup")?;
            let p = hardening::Params { repeat: *repeat };
            reports.extend(hardening::run(&mut server, &tokens, &setup.client_token, &p).await?);
        }
        Command::Smoke => {
            for kind in [Kind::Porch, Kind::Bare] {
                let p = handshake::Params { count: 200, concurrency: 20, max_secs: 2, spread };
                reports.push(run_handshake(paths, kind, &p).await?);
                let frames: &[PorchFrame] = if kind == Kind::Porch {
                    &[PorchFrame::Send, PorchFrame::Ping]
                } else {
                    &[PorchFrame::Send]
                };
                for &porch_frame in frames {
                    let p = pingpong::Params {
                        conns: 10,
                        size: 64,
                        max_secs: 2,
                        max_messages: 100_000,
                        spread,
                        porch_frame,
                    };
                    reports.push(run_pingpong(paths, kind, &p).await?);
                }
            }
            let p = delivery::Params { scenario: "S3", rate: 200, secs: 2, agents: 1, spread };
            reports.push(run_delivery(paths, 20, &p).await?);
            // Keeps `hardening` from rotting: every abusive handshake still gets its answer.
            reports.extend(
                Box::pin(run_command(paths, global, &Command::Hardening { repeat: 10 })).await?,
            );
        }
    }
    Ok(reports)
}

async fn run_handshake(paths: &Paths, kind: Kind, p: &handshake::Params) -> Result<Report> {
    let (mut server, _, tokens) = start(paths, kind, p.count).await?;
    handshake::run(&mut server, Arc::new(tokens), p).await
}

async fn run_pingpong(paths: &Paths, kind: Kind, p: &pingpong::Params) -> Result<Report> {
    let (mut server, _, tokens) = start(paths, kind, p.conns).await?;
    pingpong::run(&mut server, &tokens, p).await
}

/// S4 in open loop: a fresh server per target, size and frame, as in the closed loop.
async fn run_open_loop(paths: &Paths, kind: Kind, p: &openloop::Params) -> Result<Vec<Report>> {
    let (mut server, _, tokens) = start(paths, kind, p.conns).await?;
    openloop::run(&mut server, &tokens, p).await
}

async fn run_delivery(paths: &Paths, guests: usize, p: &delivery::Params) -> Result<Report> {
    let (server, setup, _) = start(paths, Kind::Porch, 0).await?;
    let mut nodes = cluster::Nodes::single(server);
    delivery::run(paths, &mut nodes, &setup.context("porch setup")?, guests, p).await
}

/// S3 on a peer: `subscribers` channels, HTTP publish; a fresh peer process per row.
async fn run_peer_delivery(
    paths: &Paths,
    kind: Kind,
    subscribers: usize,
    p: &delivery::Params,
) -> Result<Report> {
    let (mut server, _, _) = start(paths, kind, 0).await?;
    peer_delivery::run(&mut server, subscribers, p).await
}
