//! The command line: global options and one subcommand per scenario.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::server::{Kind, Paths};

#[derive(Parser)]
#[command(
    about = "Porch's load harness: scenarios S1-S4 against Porch, the bare echo server and the peers (Soketi, a Node ws relay); S5 (resume storm) on Porch; S6 on a two-node cluster; S1b (a broadcast to 100,000 guests) on a cluster of six."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// The porch binary (default: `porch` next to this binary).
    #[arg(long, global = true)]
    pub porch_bin: Option<PathBuf>,
    /// The bare echo server (default: `porch-bench-echo` next to this binary).
    #[arg(long, global = true)]
    pub echo_bin: Option<PathBuf>,
    /// Where bench/peers/install-soketi.sh installed Soketi.
    #[arg(long, global = true, env = "PORCH_SOKETI_DIR")]
    pub soketi_dir: Option<PathBuf>,
    /// Where bench/peers/install-ws-relay.sh installed `ws` for the ws-relay peer.
    #[arg(long, global = true, env = "PORCH_WS_RELAY_DIR")]
    pub ws_relay_dir: Option<PathBuf>,
    /// Where bench/peers/install-sockudo.sh installed Sockudo.
    #[arg(long, global = true, env = "PORCH_SOCKUDO_DIR")]
    pub sockudo_dir: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long, global = true)]
    pub json: Option<PathBuf>,
    /// Spread client sockets over this many source addresses 127.0.0.2, 127.0.0.3, … (0: the
    /// kernel's choice). Needed past ~28k connections to one port.
    #[arg(long, global = true, default_value_t = 0)]
    pub spread: u8,
    /// Extra settings for every porch started, e.g. `PORCH_SQLITE_SYNCHRONOUS=normal` to see
    /// what the durable commit costs (repeatable).
    #[arg(long = "porch-env", global = true, value_parser = parse_key_value)]
    pub porch_env: Vec<(String, String)>,
    /// Hard limit on the whole command, in seconds.
    #[arg(long, global = true, default_value_t = 1800)]
    pub timeout_secs: u64,
}

#[derive(Subcommand)]
pub enum Command {
    /// S1: idle connections held in steps; server RSS per connection by linear fit.
    Idle {
        #[arg(long = "target", value_delimiter = ',', default_value = "porch,bare")]
        targets: Vec<Kind>,
        #[arg(long, value_delimiter = ',', default_value = "1000,5000")]
        steps: Vec<usize>,
        #[arg(long, default_value_t = 5)]
        settle_secs: u64,
    },
    /// S2: handshakes per second, `concurrency` at a time, until `count` or `max-secs`.
    Handshake {
        #[arg(long = "target", value_delimiter = ',', default_value = "porch,bare")]
        targets: Vec<Kind>,
        #[arg(long, default_value_t = 5000)]
        count: usize,
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        #[arg(long, default_value_t = 30)]
        max_secs: u64,
    },
    /// S3: delivery latency at fixed rates. Porch: guest -> agent over WebSocket, stored
    /// durably. Peers (soketi, ws-relay): HTTP publish -> one WebSocket subscriber per
    /// channel, stored nowhere.
    Delivery {
        #[arg(long = "target", value_delimiter = ',', default_value = "porch")]
        targets: Vec<Kind>,
        #[arg(long = "rate", value_delimiter = ',', default_value = "1000,5000")]
        rates: Vec<u64>,
        /// Porch: guests, each in its own conversation. Peers: subscribers, each on its own
        /// channel.
        #[arg(long, default_value_t = 1000)]
        guests: usize,
        /// Agent connections, each receiving every message (Porch only).
        #[arg(long, default_value_t = 1)]
        agents: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// S6: S3 on one SQLite node, one PostgreSQL node, and two nodes on PostgreSQL + NATS
    /// (guests on node 1, agents on node 2), each rate on each, fresh nodes per row.
    Cluster {
        #[arg(long = "store", value_delimiter = ',', default_value = "sqlite,postgres,two-nodes")]
        topologies: Vec<crate::cluster::Topology>,
        #[arg(long = "rate", value_delimiter = ',', default_value = "500,2000")]
        rates: Vec<u64>,
        #[arg(long, default_value_t = 1000)]
        guests: usize,
        #[arg(long, default_value_t = 1)]
        agents: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        #[command(flatten)]
        backends: crate::cluster::Backends,
    },
    /// S8: assignment latency (issue 18): a visitor's first message (its guest session, then
    /// the message, at `rate` conversations/s) → the offer on an agent's socket, or with
    /// `--auto-accept` the assignment an agent hears; one SQLite node and two nodes on
    /// PostgreSQL + NATS (guests on node 1, agents on node 2), fresh nodes per row.
    Assign {
        #[arg(long = "store", value_delimiter = ',', default_value = "sqlite,two-nodes")]
        topologies: Vec<crate::cluster::Topology>,
        #[arg(long, default_value_t = 20)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Agents, all `available`, each accepting every offer it gets at once.
        #[arg(long, default_value_t = 4)]
        agents: usize,
        /// Also measure to the assignment on an auto-accept queue (a second row per store).
        #[arg(long)]
        auto_accept: bool,
        #[command(flatten)]
        backends: crate::cluster::Backends,
    },
    /// S5: resume storm. `guests` guests have each seen their conversation up to some seq
    /// and missed `missed` more; every connection is cut at once (`--cut`) and all reconnect
    /// at once with `afterSeq`, while an agent keeps sending `live-rate` messages/s. Fails on
    /// losses, duplicates, reordering or a resume that is not recovered.
    Resume {
        #[arg(long, default_value_t = 2000)]
        guests: usize,
        #[arg(long, default_value_t = 3)]
        missed: usize,
        /// restart: SIGTERM to Porch (4200 to every session) and the same Porch again;
        /// drop: the harness closes every guest's socket (no close frame), Porch stays up;
        /// vanish: the harness stops using every socket but keeps it open, so Porch holds the
        /// old sessions (until idle_timeout_ms) while the guests reconnect.
        #[arg(long, value_enum, default_value = "restart")]
        cut: crate::resume::Cut,
        /// Agent messages per second in total (open loop, over all conversations in turn)
        /// from just before the cut until every guest has resumed; 0 for none.
        #[arg(long, default_value_t = 1000)]
        live_rate: u64,
        /// After a 4200 close (restart), each guest waits a uniform draw in [0, this) before
        /// its first reconnect, as the SDK does (RECONNECT_SPREAD_MS); 0 reconnects at once.
        /// drop and vanish send no close: their guests reconnect at once.
        #[arg(long, default_value_t = crate::resume::SPREAD_MS_DEFAULT)]
        reconnect_spread_ms: u64,
    },
    /// S4: ping-pong round trips on `conns` connections: closed loop (each connection waits
    /// for its answer), or with `--open-loop` the rate at which p99 passes 50 ms.
    Pingpong {
        #[arg(long = "target", value_delimiter = ',', default_value = "porch,bare")]
        targets: Vec<Kind>,
        #[arg(long, default_value_t = 100)]
        conns: usize,
        #[arg(long = "size", value_delimiter = ',', default_value = "64,1024")]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 10)]
        max_secs: u64,
        #[arg(long, default_value_t = 2_000_000)]
        max_messages: u64,
        /// Porch's round trip: `send` (stored, then acked) and/or `ping` (the protocol's
        /// application ping: the gateway without the store).
        #[arg(long = "porch-frame", value_delimiter = ',', default_value = "send,ping")]
        porch_frames: Vec<crate::pingpong::PorchFrame>,
        /// Open loop instead: a ladder of fixed total rates (`--start-rate` … `--max-rate`),
        /// latency from each message's due time, until p99 passes 50 ms. `--max-secs` and
        /// `--max-messages` do not apply; the ladder's own bounds do.
        #[arg(long)]
        open_loop: bool,
        #[command(flatten)]
        ladder: crate::openloop::Ladder,
        /// Closed loop only: each connection writes this many requests back to back (one
        /// write), then waits for all their answers, in order, before the next group. 1 is the
        /// plain ping-pong; more shows what pipelined sends cost the server.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=crate::pingpong::PIPELINE_MAX))]
        pipeline: u16,
    },
    /// The core of BENCHMARKS.md in one run: S1, S2 and S4 against Porch, bare, Soketi and the
    /// ws relay, S3 at 1k and 5k messages/s against Porch and the two peers (S1 to 19.5k, S3 at
    /// 10k/s, S5 and S6 are separate commands there). About 4 minutes. Refuses to start if a
    /// peer it includes is not installed.
    Suite {
        /// Leave Soketi out (not installed, or to save time).
        #[arg(long)]
        no_soketi: bool,
        /// Leave the Node `ws` relay out (not installed, or to save time).
        #[arg(long)]
        no_ws_relay: bool,
        /// Include Sockudo (bench/peers/install-sockudo.sh builds it: about 9 minutes, so it
        /// is not in the suite unless asked for).
        #[arg(long)]
        sockudo: bool,
    },
    /// Abusive handshakes (docs/handshake.md, "The matrix"): latency and server CPU per
    /// request of each, the 20 MB header included. Fails if an answer is not the documented one.
    Hardening {
        /// Requests per case (a tenth, at least 3, for the megabyte-sized ones).
        #[arg(long, default_value_t = 200)]
        repeat: usize,
    },
    /// S1b: `guests` guests held on `nodes` Porch processes (a cluster on PostgreSQL + NATS)
    /// by `workers` client processes, then `notices` deployment notices set on node 1, each
    /// timed until every guest has it. Fails if a guest cannot connect or misses a notice.
    /// Keep each source address under 10,000 connections with `--spread` (`--spread 12` for
    /// 100,000 guests).
    Broadcast {
        #[arg(long, default_value_t = 100_000)]
        guests: usize,
        /// Porch processes (each holds at most 18,000 guests: 20,000 open files per process).
        #[arg(long, default_value_t = 6)]
        nodes: usize,
        /// Client processes holding the guests' connections (at most 19,000 each).
        #[arg(long, default_value_t = 6)]
        workers: usize,
        #[arg(long, default_value_t = 3)]
        notices: u32,
        /// Pause before each notice, in seconds.
        #[arg(long, default_value_t = 3)]
        gap_secs: u64,
        /// Quiet time once every guest is connected: the nodes' idle CPU and RSS. At least
        /// Porch's heartbeat interval (25 s), or the idle CPU leaves out the heartbeats' store
        /// reads.
        #[arg(long, default_value_t = 30)]
        settle_secs: u64,
        /// A guest without a notice this long after it was set has missed it.
        #[arg(long, default_value_t = 30)]
        notice_timeout_secs: u64,
        /// Handshakes in flight per worker.
        #[arg(long, default_value_t = 64)]
        connect_concurrency: usize,
        /// Guest creations (`POST /guests`) in flight per node.
        #[arg(long, default_value_t = 8)]
        create_concurrency: usize,
        #[command(flatten)]
        backends: crate::cluster::Backends,
    },
    /// S7: the soak. Guests churn for `secs` in rounds of `round-secs` (connect, send, get the
    /// acks, leave cleanly or by dropping the socket, reconnect resuming, refresh the token; an
    /// agent replies and reconnects each round). Between rounds, once every client has left,
    /// the server's RSS, open files, threads and runtime tasks are sampled. Fails on errors or
    /// when the last sample exceeds the first after the warm-up round by more than the bounds.
    Soak {
        #[arg(long, default_value_t = 60)]
        secs: u64,
        #[arg(long, default_value_t = 15)]
        round_secs: u64,
        #[arg(long, default_value_t = 200)]
        guests: usize,
        /// Clients churning at once.
        #[arg(long, default_value_t = 20)]
        concurrency: usize,
        /// Allowed growth of the server's resident memory, KiB.
        #[arg(long, default_value_t = 16 * 1024)]
        rss_growth_kib_max: u64,
        /// Allowed growth of the server's open file descriptors.
        #[arg(long, default_value_t = 8)]
        fds_growth_max: u64,
        /// Allowed growth of the server's live runtime tasks (`porch_runtime_tasks`).
        #[arg(long, default_value_t = 16)]
        tasks_growth_max: u64,
    },
    /// S9: S3 at one rate with no webhook endpoint, then with one whose receiver accepts
    /// connections and never answers (fresh Porch per row): a hanging receiver must not slow
    /// the guests' messages.
    WebhookHang {
        #[arg(long, default_value_t = 500)]
        rate: u64,
        #[arg(long, default_value_t = 200)]
        guests: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// One S1b worker process, started by `broadcast` (orders on stdin, answers on stdout).
    #[command(hide = true)]
    BroadcastWorker(crate::broadcast::worker::WorkerArgs),
    /// CI smoke run: tiny S2, S3 and S4 against Porch and the bare server, ~2 s each, and
    /// `hardening` with 10 requests per case. Fails on
    /// errors, losses or order violations; never on timings.
    Smoke,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    let (key, value) = s.split_once('=').ok_or("expected KEY=VALUE")?;
    if !key.starts_with("PORCH_") {
        return Err("only PORCH_* settings".into());
    }
    Ok((key.to_string(), value.to_string()))
}

pub fn paths(global: &Global) -> Result<Paths> {
    let dir = std::env::current_exe()?.parent().context("binary directory")?.to_path_buf();
    // The same folder as bench/peers/install-soketi.sh and install-ws-relay.sh.
    let peers = match std::env::var_os("PORCH_PEERS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(".cache/porch-peers"),
    };
    Ok(Paths {
        porch: global.porch_bin.clone().unwrap_or_else(|| dir.join("porch")),
        echo: global.echo_bin.clone().unwrap_or_else(|| dir.join("porch-bench-echo")),
        soketi_dir: global.soketi_dir.clone().unwrap_or_else(|| peers.join("soketi")),
        ws_relay_dir: global.ws_relay_dir.clone().unwrap_or_else(|| peers.join("ws-relay")),
        sockudo_dir: global.sockudo_dir.clone().unwrap_or_else(|| peers.join("sockudo")),
        porch_env: global.porch_env.clone(),
    })
}
