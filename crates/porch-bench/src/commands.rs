//! One function per command of the harness; `run` dispatches. Each starts the servers it
//! measures (fresh per row) and returns its table rows.

use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::cli::{Command, Global};
use crate::cluster::{Backends, Nodes, Topology};
use crate::pingpong::PorchFrame;
use crate::server::{Kind, Paths, Server};
use crate::stats::Report;
use crate::{
    assign, broadcast, delivery, handshake, hardening, idle, openloop, peer_delivery, pingpong,
    porch, resume, soak, webhook_hang,
};

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
            pipeline: 1,
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

/// Runs one command: a dispatcher, one function per command below.
pub async fn run(paths: &Paths, global: &Global, command: &Command) -> Result<Vec<Report>> {
    let spread = global.spread;
    match command {
        Command::Suite { no_soketi, no_ws_relay, sockudo } => {
            suite_all(paths, global, *no_soketi, *no_ws_relay, *sockudo).await
        }
        Command::Idle { targets, steps, settle_secs } => {
            let p = idle::Params { steps: steps.clone(), settle_secs: *settle_secs, spread };
            idle_all(paths, targets, &p).await
        }
        Command::Handshake { targets, count, concurrency, max_secs } => {
            check_targets(paths, targets, false)?;
            let p = handshake::Params {
                count: *count,
                concurrency: *concurrency,
                max_secs: *max_secs,
                spread,
            };
            let mut reports = Vec::new();
            for &kind in targets {
                reports.push(run_handshake(paths, kind, &p).await?);
            }
            Ok(reports)
        }
        Command::Delivery { targets, rates, guests, agents, secs } => {
            let p = |rate| delivery::Params {
                scenario: "S3",
                rate,
                secs: *secs,
                agents: *agents,
                spread,
            };
            delivery_all(paths, targets, *guests, &rates.iter().map(|&r| p(r)).collect::<Vec<_>>())
                .await
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
            cluster_all(paths, topologies, backends, *guests, &p).await
        }
        Command::Assign { topologies, rate, secs, agents, auto_accept, backends } => {
            let p =
                assign::Params { rate: *rate, secs: *secs, agents: *agents, auto_accept: false };
            assign_all(paths, topologies, backends, &p, *auto_accept).await
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
            broadcast::run(paths, backends, &p).await
        }
        Command::BroadcastWorker(_) => {
            bail!("broadcast-worker is started by broadcast, not by hand")
        }
        Command::Resume { guests, missed, cut, live_rate, reconnect_spread_ms } => {
            let p = resume::Params {
                guests: *guests,
                missed: *missed,
                cut: *cut,
                live_rate: *live_rate,
                spread,
                reconnect_spread_ms: *reconnect_spread_ms,
            };
            let mut server = Server::start(Kind::Porch, paths)?;
            let setup = porch::setup(paths, &server).await?;
            Ok(vec![resume::run(paths, &mut server, &setup, &p).await?])
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
            pipeline,
        } => {
            let shape = PingpongShape {
                pipeline: usize::from(*pipeline),
                conns: *conns,
                sizes,
                max_secs: *max_secs,
                max_messages: *max_messages,
                porch_frames,
                open_loop: open_loop.then_some(ladder),
                spread,
            };
            pingpong_all(paths, targets, &shape).await
        }
        Command::Hardening { repeat } => hardening(paths, *repeat).await,
        Command::Soak {
            secs,
            round_secs,
            guests,
            concurrency,
            rss_growth_kib_max,
            fds_growth_max,
            tasks_growth_max,
        } => {
            let p = soak::Params {
                secs: *secs,
                round_secs: *round_secs,
                guests: *guests,
                concurrency: *concurrency,
                rss_growth_kib_max: *rss_growth_kib_max,
                fds_growth_max: *fds_growth_max,
                tasks_growth_max: *tasks_growth_max,
            };
            let mut server = Server::start(Kind::Porch, paths)?;
            let setup = porch::setup(paths, &server).await?;
            let agent = porch::create_agent(paths, &server, "soak-agent").await?;
            Ok(vec![soak::run(&mut server, &setup, agent, &p).await?])
        }
        Command::WebhookHang { rate, guests, secs } => {
            let p =
                delivery::Params { scenario: "S9", rate: *rate, secs: *secs, agents: 1, spread };
            webhook_hang::run(paths, *guests, &p).await
        }
        Command::Smoke => smoke(paths, spread).await,
    }
}

/// Every scenario on Porch and the peers asked for (`suite`'s list).
async fn suite_all(
    paths: &Paths,
    global: &Global,
    no_soketi: bool,
    no_ws_relay: bool,
    sockudo: bool,
) -> Result<Vec<Report>> {
    let peers: Vec<Kind> =
        [(Kind::Soketi, no_soketi), (Kind::WsRelay, no_ws_relay), (Kind::Sockudo, !sockudo)]
            .into_iter()
            .filter_map(|(kind, left_out)| (!left_out).then_some(kind))
            .collect();
    check_targets(paths, &peers, false).map_err(|e| {
        e.context("a peer of the suite is missing (or leave it out: --no-soketi, --no-ws-relay)")
    })?;
    let mut reports = Vec::new();
    for command in suite(&peers) {
        // Boxed: the future is recursive.
        reports.extend(Box::pin(run(paths, global, &command)).await?);
    }
    Ok(reports)
}

/// S1: a fresh server per target, holding as many guests as the largest step.
async fn idle_all(paths: &Paths, targets: &[Kind], p: &idle::Params) -> Result<Vec<Report>> {
    check_targets(paths, targets, false)?;
    let mut reports = Vec::new();
    for &kind in targets {
        let (mut server, _, tokens) =
            start(paths, kind, p.steps.iter().copied().max().unwrap_or(0)).await?;
        reports.push(idle::run(&mut server, &tokens, p).await?);
    }
    Ok(reports)
}

/// S3: each rate on each target, a fresh server per row.
async fn delivery_all(
    paths: &Paths,
    targets: &[Kind],
    guests: usize,
    rates: &[delivery::Params],
) -> Result<Vec<Report>> {
    check_targets(paths, targets, true)?;
    let mut reports = Vec::new();
    for &kind in targets {
        for p in rates {
            reports.push(match kind {
                Kind::Porch => run_delivery(paths, guests, p).await?,
                peer => run_peer_delivery(paths, peer, guests, p).await?,
            });
        }
    }
    Ok(reports)
}

/// S6's rows: each rate on each topology, fresh nodes (and schema) per row.
async fn cluster_all(
    paths: &Paths,
    topologies: &[Topology],
    backends: &Backends,
    guests: usize,
    rates: &[delivery::Params],
) -> Result<Vec<Report>> {
    let mut reports = Vec::new();
    for params in rates {
        for &topology in topologies {
            let mut nodes = Nodes::start(paths, topology, backends)?;
            let setup = porch::setup(paths, nodes.guests()).await?;
            reports.push(delivery::run(paths, &mut nodes, &setup, guests, params).await?);
        }
    }
    Ok(reports)
}

/// S8: each store, to the offer, then (with `auto_accept`) to the assignment on an
/// auto-accept queue; fresh nodes per row.
async fn assign_all(
    paths: &Paths,
    topologies: &[Topology],
    backends: &Backends,
    p: &assign::Params,
    auto_accept: bool,
) -> Result<Vec<Report>> {
    let mut reports = Vec::new();
    let modes: &[bool] = if auto_accept { &[false, true] } else { &[false] };
    for &topology in topologies {
        for &auto_accept in modes {
            let mut nodes = Nodes::start(paths, topology, backends)?;
            let setup = porch::setup(paths, nodes.guests()).await?;
            if auto_accept {
                porch::set_auto_accept(paths, nodes.guests())?;
            }
            let p = assign::Params { auto_accept, ..p.clone() };
            reports.push(assign::run(paths, &mut nodes, &setup, &p).await?);
        }
    }
    Ok(reports)
}

/// S4's shape, as given on the command line.
struct PingpongShape<'a> {
    conns: usize,
    sizes: &'a [usize],
    max_secs: u64,
    max_messages: u64,
    porch_frames: &'a [PorchFrame],
    /// In open loop, the ladder of rates.
    open_loop: Option<&'a openloop::Ladder>,
    spread: u8,
    /// Closed loop: requests each connection writes at once.
    pipeline: usize,
}

/// S4: each size and frame on each target, closed or open loop, a fresh server per row.
async fn pingpong_all(
    paths: &Paths,
    targets: &[Kind],
    shape: &PingpongShape<'_>,
) -> Result<Vec<Report>> {
    check_targets(paths, targets, false)?;
    if let Some(ladder) = shape.open_loop {
        ladder.check()?;
    }
    let mut reports = Vec::new();
    for &kind in targets {
        // The peers have one kind of round trip; Porch has one row per frame asked for.
        let frames = if kind == Kind::Porch { shape.porch_frames } else { &[PorchFrame::Send] };
        for &size in shape.sizes {
            for &porch_frame in frames {
                if let Some(ladder) = shape.open_loop {
                    let p = openloop::Params {
                        conns: shape.conns,
                        size,
                        spread: shape.spread,
                        porch_frame,
                        ladder: ladder.clone(),
                    };
                    reports.extend(run_open_loop(paths, kind, &p).await?);
                    continue;
                }
                let p = pingpong::Params {
                    conns: shape.conns,
                    size,
                    max_secs: shape.max_secs,
                    max_messages: shape.max_messages,
                    spread: shape.spread,
                    porch_frame,
                    pipeline: shape.pipeline,
                };
                reports.push(run_pingpong(paths, kind, &p).await?);
            }
        }
    }
    Ok(reports)
}

/// Every abusive handshake of `hardening`, `repeat` times.
async fn hardening(paths: &Paths, repeat: usize) -> Result<Vec<Report>> {
    let (mut server, setup, tokens) = start(paths, Kind::Porch, repeat).await?;
    let setup = setup.context("porch setup")?;
    let p = hardening::Params { repeat };
    hardening::run(&mut server, &tokens, &setup.client_token, &p).await
}

/// The seconds-long CI run: S2, S4 and S3 tiny, on Porch and bare, and `hardening`.
async fn smoke(paths: &Paths, spread: u8) -> Result<Vec<Report>> {
    let mut reports = Vec::new();
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
                pipeline: 1,
            };
            reports.push(run_pingpong(paths, kind, &p).await?);
        }
    }
    let p = delivery::Params { scenario: "S3", rate: 200, secs: 2, agents: 1, spread };
    reports.push(run_delivery(paths, 20, &p).await?);
    // Keeps `hardening` from rotting: every abusive handshake still gets its answer.
    reports.extend(hardening(paths, 10).await?);
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
    let mut nodes = Nodes::single(server);
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
