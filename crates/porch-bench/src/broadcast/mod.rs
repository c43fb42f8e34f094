//! S1b, a broadcast to 100,000 guests held on this one machine. One process may have only
//! 20,000 open files here, so Porch runs as a cluster (`--nodes` processes on the machine's
//! PostgreSQL and NATS, as S6: a schema and a subject of their own, dropped afterwards) and
//! the guests' connections are held by `--workers` processes of this same binary
//! (`worker.rs`), on several source addresses (`--spread`) past the 28,232 ephemeral ports
//! one address has.
//!
//! Guests are created over REST through the nodes in turn and each connects to the *next*
//! node (a load balancer would not send it back where it was created; its token is good on
//! every node). Once every guest has `ready`, the nodes' RSS and idle CPU are read; then
//! `--notices` deployment notices are set on node 1, `--gap-secs` apart, and each reaches its
//! guests through node 1's own fan-out or NATS and the other nodes'. Each notice's text
//! carries its send time; every worker reports each guest's latency (`fanout.rs`).
//! The run fails if a guest could not connect or missed a notice; never on timings.

mod fanout;
pub mod wire;
pub mod worker;
mod workers;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use porch_client::Api;

use self::fanout::{Outcome, WITHIN_MS};
use self::wire::{Answer, Order};
use self::workers::{Spawn, Workers};
use crate::cluster::{Backends, Nodes, postgres_connections};
use crate::porch;
use crate::server::Paths;
use crate::stats::Report;

/// Guests per node at most: Porch's `connections_max` is 19,000 by default, under the 20,000
/// open files a process may have here, and a node also holds its store's pool and listener.
const NODE_GUESTS_MAX: usize = 18_000;
/// Connections per worker at most (20,000 open files per process, less its pipes).
const WORKER_GUESTS_MAX: usize = 19_000;
/// Connections per source address at most. Of its 28,232 ephemeral ports, `bind()` looks in
/// the odd half (14,116) first, one port after another: measured here (session 4, when the
/// harness still let `bind()` choose), 100,000 guests on 6 addresses connected at ~3,000/s
/// until about 14,000 per address, then at ~80/s. Without `--spread` the kernel's `connect()`
/// has the same cliff in the even half, per node. Since `ws::connect` leaves the port to
/// `connect()` (`IP_BIND_ADDRESS_NO_PORT`) the cliff may sit elsewhere; not measured again,
/// and 10,000 stays under both halves.
const SOURCE_GUESTS_MAX: usize = 10_000;
/// Each node's PostgreSQL pool: `porch serve`'s default (`--postgres-pool-size`), which the
/// harness leaves as it is.
const NODE_POOL_CONNECTIONS: u64 = 16;
/// Lines of each node's log printed at the end.
const NODE_LOG_LINES_SHOWN: usize = 3;
/// Longest quiet spell from the workers while they connect (they report every second).
const CONNECT_SILENCE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct Params {
    pub guests: usize,
    pub nodes: usize,
    pub workers: usize,
    pub notices: u32,
    pub gap_secs: u64,
    pub settle_secs: u64,
    pub notice_timeout_secs: u64,
    /// Handshakes in flight per worker.
    pub connect_concurrency: usize,
    /// Guest creations in flight per node.
    pub create_concurrency: usize,
    pub spread: u8,
    /// The workers exit by themselves after this long (the run's `--timeout-secs`).
    pub deadline_secs: u64,
}

impl Params {
    /// Refuses a run that cannot fit this machine's limits, saying which flag to change.
    fn check(&self) -> Result<()> {
        let per_node = self.guests.div_ceil(self.nodes.max(1));
        let per_worker = self.guests.div_ceil(self.workers.max(1));
        if self.nodes == 0 || self.workers == 0 || self.guests == 0 {
            bail!("--guests, --nodes and --workers must be at least 1");
        }
        if per_node > NODE_GUESTS_MAX {
            bail!(
                "{per_node} guests per node is over {NODE_GUESTS_MAX} (20,000 open files per \
                 process): pass --nodes {}",
                self.guests.div_ceil(NODE_GUESTS_MAX)
            );
        }
        if per_worker > WORKER_GUESTS_MAX {
            bail!(
                "{per_worker} guests per worker is over {WORKER_GUESTS_MAX}: pass --workers {}",
                self.guests.div_ceil(WORKER_GUESTS_MAX)
            );
        }
        // Without --spread the kernel picks ports per node (per destination); with it, every
        // node shares each source address's ports.
        let per_source =
            if self.spread == 0 { per_node } else { self.guests.div_ceil(self.spread.into()) };
        if per_source > SOURCE_GUESTS_MAX {
            bail!(
                "{per_source} connections per source address is over {SOURCE_GUESTS_MAX}: pass \
                 --spread {}",
                self.guests.div_ceil(SOURCE_GUESTS_MAX)
            );
        }
        Ok(())
    }

    /// The node guest `i` connects to: the one after the node that created it.
    fn node_of(&self, i: usize) -> usize {
        (i + 1) % self.nodes
    }

    /// The worker that holds guest `i`: runs of `nodes` guests, so each worker talks to every
    /// node.
    fn worker_of(&self, i: usize) -> usize {
        (i / self.nodes) % self.workers
    }
}

pub async fn run(paths: &Paths, backends: &Backends, p: &Params) -> Result<Vec<Report>> {
    p.check()?;
    let postgres = check_postgres(backends, p.nodes);
    let mut nodes = Nodes::cluster(paths, backends, p.nodes, &format!("porch {} nodes", p.nodes))?;
    // `--notices 0` (the connection part alone) asks only for what it uses.
    let scopes: &[&str] = if p.notices > 0 {
        &[porch_wire::scope::GUESTS, porch_wire::scope::NOTICES]
    } else {
        &[porch_wire::scope::GUESTS]
    };
    let setup = porch::setup_with_scopes(paths, &nodes.servers()[0], scopes).await?;
    let apis: Vec<Api> =
        nodes.servers().iter().map(|s| Api::new(&format!("http://{}", s.addr))).collect();
    let created = Instant::now();
    let sessions =
        porch::create_guests_across(&setup, &apis, p.guests, p.create_concurrency * p.nodes)
            .await?;
    let create_secs = created.elapsed().as_secs_f64();
    eprintln!("S1b: {} guests created in {create_secs:.1} s", p.guests);

    let node_urls: Vec<String> = nodes.servers().iter().map(|s| s.ws_url.clone()).collect();
    let mut workers = Workers::spawn(&Spawn {
        count: p.workers,
        node_urls: &node_urls,
        spread: p.spread,
        connect_concurrency: p.connect_concurrency,
        deadline_secs: p.deadline_secs,
    })?;
    for (i, session) in sessions.into_iter().enumerate() {
        let order = Order::Guest { index: i, node: p.node_of(i), token: session.access_token };
        workers.send(p.worker_of(i), &order)?;
    }

    let mut connect = connect(&mut nodes, &mut workers, p).await?;
    connect.extra("create_secs", round1(create_secs));
    connect.extra("postgres", postgres);
    let mut reports = vec![connect];
    for seq in 1..=p.notices {
        tokio::time::sleep(Duration::from_secs(p.gap_secs)).await;
        let timeout = Duration::from_secs(p.notice_timeout_secs);
        let outcome = fanout::notice(&setup, &nodes, &mut workers, seq, timeout).await?;
        nodes.check_alive()?;
        reports.push(notice_report(&nodes, p, &outcome));
    }
    reports[0].extra("node_log_lines", node_logs(&nodes));
    Ok(reports)
}

/// Lines each node logged (at `warn`, so each is a warning or an error), the first few of
/// each printed: the logs go with the nodes' data directories when the run ends.
fn node_logs(nodes: &Nodes) -> serde_json::Value {
    let counts: Vec<usize> = nodes
        .servers()
        .iter()
        .enumerate()
        .map(|(i, server)| {
            let Some(dir) = &server.dir else { return 0 };
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
            for line in lines.iter().take(NODE_LOG_LINES_SHOWN) {
                eprintln!("  node {} log: {line:.300}", i + 1);
            }
            lines.len()
        })
        .collect();
    counts.into()
}

/// Connects every guest through the workers, then reads the nodes' RSS and idle CPU. The row:
/// ops = guests that got `ready`, errors = those that did not.
async fn connect(nodes: &mut Nodes, workers: &mut Workers, p: &Params) -> Result<Report> {
    let rss_before = nodes.rss_kib().unwrap_or(0);
    let meter = nodes.cpu_meter()?.with_harness(&workers.pids());
    let began = Instant::now();
    workers.send_all(&Order::Connect)?;
    let (ready, failed) = wait_connected(workers, p).await?;
    let secs = began.elapsed().as_secs_f64();
    let connect_cpu = meter.per_op(ready);
    let connect_cores = meter.cores();
    nodes.check_alive()?;
    eprintln!(
        "S1b: {ready} guests ready, {failed} failed, in {secs:.1} s; {} s of quiet",
        p.settle_secs
    );

    let idle = nodes.cpu_meter()?.with_harness(&workers.pids());
    tokio::time::sleep(Duration::from_secs(p.settle_secs)).await;
    let idle_cpu_percent =
        idle.per_op(p.settle_secs * 1_000_000).map(|share| round1(share * 100.0));
    let idle_cores = idle.cores();
    let rss_after = nodes.rss_kib().unwrap_or(0);
    let kib_per_guest =
        (ready > 0).then(|| round1(rss_after.saturating_sub(rss_before) as f64 / ready as f64));

    let mut report = Report {
        scenario: "S1b".into(),
        target: nodes.name().into(),
        params: format!("connect {} guests, {} workers", p.guests, p.workers),
        ops: ready,
        errors: failed,
        secs,
        rate: ready as f64 / secs.max(1e-9),
        server_cpu_us_per_op: connect_cpu.map(round1),
        server_rss_kib: Some(rss_after),
        ..Default::default()
    };
    report.extra("rss_before_kib", rss_before);
    report.extra("kib_per_guest", kib_per_guest);
    report.extra("idle_cpu_percent", idle_cpu_percent);
    report.extra("idle_cores", idle_cores);
    report.extra("connect_cores", connect_cores);
    report.extra("guests_per_node", p.guests.div_ceil(p.nodes));
    report.extra("spread", p.spread);
    Ok(report)
}

/// Gathers the workers' progress (printed every second) until each has tried all its guests.
async fn wait_connected(workers: &mut Workers, p: &Params) -> Result<(u64, u64)> {
    let mut progress = vec![(0u64, 0u64); workers.count()];
    let mut done = vec![false; workers.count()];
    let began = Instant::now();
    let mut printed = Instant::now();
    let mut last_ready = 0;
    while done.iter().any(|d| !d) {
        match workers.next(CONNECT_SILENCE).await? {
            // A late tick can follow `Connected`: the count it carries is already known.
            (w, Answer::Progress { ready, failed }) if !done[w] => progress[w] = (ready, failed),
            (_, Answer::Progress { .. }) => {}
            (w, Answer::Connected { ready, failed, first_errors }) => {
                progress[w] = (ready, failed);
                done[w] = true;
                if !first_errors.is_empty() {
                    eprintln!("  worker {w}: {failed} failed, first: {}", first_errors.join("; "));
                }
            }
            (w, other) => bail!("worker {w} answered {other:?} while connecting"),
        }
        if printed.elapsed() >= Duration::from_secs(1) {
            let ready: u64 = progress.iter().map(|p| p.0).sum();
            let failed: u64 = progress.iter().map(|p| p.1).sum();
            eprintln!(
                "  S1b connecting: t={:.0}s ready={ready} of {} failed={failed} rate={:.0}/s",
                began.elapsed().as_secs_f64(),
                p.guests,
                (ready - last_ready) as f64 / printed.elapsed().as_secs_f64()
            );
            last_ready = ready;
            printed = Instant::now();
        }
    }
    Ok((progress.iter().map(|p| p.0).sum(), progress.iter().map(|p| p.1).sum()))
}

/// One row per notice: ops = guests reached, errors = guests that missed it, latency =
/// receipt − send, secs = until the last guest had it. A guest that got it twice is counted
/// (`received_twice`) but is no error: a notice is state, and the client shows the latest.
fn notice_report(nodes: &Nodes, p: &Params, o: &Outcome) -> Report {
    let until_last_secs = o.latency.map_or(0.0, |l| l.max / 1000.0);
    let mut report = Report {
        scenario: "S1b".into(),
        target: nodes.name().into(),
        params: format!("notice {} of {} to {}", o.seq, p.notices, p.guests),
        ops: o.reached,
        errors: o.missed,
        secs: until_last_secs,
        rate: if until_last_secs > 0.0 { o.reached as f64 / until_last_secs } else { 0.0 },
        latency_ms: o.latency,
        server_cpu_us_per_op: (o.reached > 0).then(|| round1(o.cpu_us / o.reached as f64)),
        server_rss_kib: nodes.rss_kib(),
        ..Default::default()
    };
    report.extra(&format!("within_{WITHIN_MS}_ms"), o.within);
    report.extra("missed", o.missed);
    report.extra("received_twice", o.duplicated);
    report.extra("connections_closed", o.closed);
    report.extra("put_ms", round1(o.put_ms));
    report.extra("fanout_cpu_ms", round1(o.cpu_us / 1000.0));
    report.extra("cores", o.cores.clone());
    report
}

/// PostgreSQL's room for the nodes' pools, for the report; warns when it looks too small
/// (the nodes then wait for connections, or fail to get one).
fn check_postgres(backends: &Backends, nodes: usize) -> serde_json::Value {
    match postgres_connections(&backends.postgres_url) {
        Ok((max, open)) => {
            let wanted = nodes as u64 * NODE_POOL_CONNECTIONS;
            if open + wanted > max {
                eprintln!(
                    "warning: {nodes} nodes may open {wanted} PostgreSQL connections, {open} are \
                     open and max_connections is {max}: some nodes may wait for one (fewer nodes, \
                     a larger max_connections, or --porch-env PORCH_POSTGRES_POOL_SIZE=N)"
                );
            }
            serde_json::json!({
                "max_connections": max,
                "open_before": open,
                "nodes_may_open": wanted,
            })
        }
        Err(e) => {
            eprintln!("warning: cannot read PostgreSQL's max_connections: {e:#}");
            serde_json::Value::Null
        }
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
