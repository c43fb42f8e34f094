//! One S1b worker process (`porch-bench broadcast-worker`, started by the coordinator, never
//! by hand): it holds its share of the guests' gateway connections, since one process may
//! have only 20,000 open files here. It reads orders on stdin and answers on stdout
//! (`wire.rs`); every connection is read by its own task, which answers the server's pings
//! (as a browser does) and timestamps each notice as it arrives.
//! It exits by itself when stdin ends (the coordinator is gone) or its deadline passes.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use futures_util::{StreamExt, stream};
use porch_wire::frame::ServerFrame;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::wire::{Answer, Order, now_us, parse_notice_text};
use crate::porch::connect_ready_at;
use crate::ws::{Ws, source_addr};

/// How long one guest may take from TCP connect to `ready`.
const HANDSHAKE_TIMEOUT_MS: u64 = 30_000;
/// How often `Collect` looks whether every guest has the notice.
const COLLECT_POLL_MS: u64 = 5;
/// Connection errors and closes printed to stderr (the rest are only counted).
const ERRORS_SHOWN: u64 = 5;

#[derive(clap::Args, Clone, Debug)]
pub struct WorkerArgs {
    /// This worker's number, for messages.
    #[arg(long)]
    pub worker: usize,
    /// The nodes' gateway URLs (`ws://127.0.0.1:PORT/api/v2/gateway`); a guest's `node` is an
    /// index into them.
    #[arg(long = "node-url", required = true)]
    pub node_urls: Vec<String>,
    /// Handshakes in flight at once in this worker.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// The worker exits after this many seconds whatever happens.
    #[arg(long, default_value_t = 1800)]
    pub deadline_secs: u64,
}

/// A node to connect to.
struct Node {
    addr: SocketAddr,
    url: String,
}

struct Guest {
    index: usize,
    node: usize,
    token: String,
}

/// The worker's main: never returns (the process exits with 0, or 1 after a `Failed`).
pub fn main(args: &WorkerArgs, spread: u8) -> ! {
    let code = match run(args, spread) {
        Ok(()) => 0,
        Err(e) => {
            answer(&Answer::Failed { error: format!("worker {}: {e:#}", args.worker) });
            1
        }
    };
    // Not a runtime shutdown: it would wait for the thread blocked on stdin.
    std::process::exit(code)
}

fn run(args: &WorkerArgs, spread: u8) -> Result<()> {
    let nodes = args.node_urls.iter().map(|url| node(url)).collect::<Result<Vec<_>>>()?;
    let orders = read_orders();
    let runtime = tokio::runtime::Runtime::new()?;
    let deadline = Duration::from_secs(args.deadline_secs);
    runtime.block_on(async {
        tokio::time::timeout(deadline, serve(args, spread, &nodes, orders))
            .await
            .map_err(|_| anyhow!("gave up after its deadline of {deadline:?}"))?
    })
}

/// `ws://host:port/path` → the node's socket address and URL.
fn node(url: &str) -> Result<Node> {
    let rest = url
        .strip_prefix("ws://")
        .with_context(|| format!("--node-url {url}: expected ws://HOST:PORT/…"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let addr = authority
        .parse()
        .with_context(|| format!("--node-url {url}: expected an IP address and port"))?;
    Ok(Node { addr, url: url.to_string() })
}

/// Orders from stdin, parsed on a thread of their own. The process exits when stdin ends:
/// the coordinator is gone (or done), and nobody would read what this worker measures.
fn read_orders() -> mpsc::UnboundedReceiver<Order> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str(&line) {
                Ok(order) => {
                    if tx.send(order).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    answer(&Answer::Failed {
                        error: format!("unreadable order ({e}): {line:.80}"),
                    });
                    std::process::exit(1);
                }
            }
        }
        std::process::exit(0);
    });
    rx
}

/// One answer line on stdout; exits if the coordinator no longer reads.
fn answer(answer: &Answer) {
    let line = serde_json::to_string(answer).expect("answers serialize");
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

async fn serve(
    args: &WorkerArgs,
    spread: u8,
    nodes: &[Node],
    mut orders: mpsc::UnboundedReceiver<Order>,
) -> Result<()> {
    let mut guests = Vec::new();
    let tally = Arc::new(Tally::default());
    while let Some(order) = orders.recv().await {
        match order {
            Order::Guest { index, node, token } => {
                if node >= nodes.len() {
                    anyhow::bail!("guest {index}: node {node} of {}", nodes.len());
                }
                guests.push(Guest { index, node, token });
            }
            Order::Connect => {
                let guests = std::mem::take(&mut guests);
                answer(&connect_all(args, spread, nodes, guests, &tally).await);
            }
            Order::Collect { seq, deadline_us } => {
                answer(&collect(&tally, seq, deadline_us).await);
            }
        }
    }
    Ok(())
}

/// What the connection tasks saw.
#[derive(Default)]
struct Tally {
    ready: AtomicU64,
    failed: AtomicU64,
    /// Connections that ended after `ready`.
    closed: AtomicU64,
    notices: Mutex<HashMap<u32, Receipts>>,
}

#[derive(Default)]
struct Receipts {
    latencies_us: Vec<u64>,
    duplicated: u64,
}

impl Tally {
    fn received(&self, seq: u32, latency_us: u64, duplicate: bool) {
        let mut notices = self.notices.lock().expect("not poisoned");
        let receipts = notices.entry(seq).or_default();
        if duplicate {
            receipts.duplicated += 1;
        } else {
            receipts.latencies_us.push(latency_us);
        }
    }

    fn count(&self, seq: u32) -> u64 {
        let notices = self.notices.lock().expect("not poisoned");
        notices.get(&seq).map_or(0, |r| r.latencies_us.len() as u64)
    }
}

/// Opens every guest's connection, `connect_concurrency` at a time, reporting progress every
/// second; each connection that gets `ready` is then held by a task of its own.
async fn connect_all(
    args: &WorkerArgs,
    spread: u8,
    nodes: &[Node],
    guests: Vec<Guest>,
    tally: &Arc<Tally>,
) -> Answer {
    let progress = {
        let tally = tally.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                answer(&Answer::Progress {
                    ready: tally.ready.load(Ordering::Relaxed),
                    failed: tally.failed.load(Ordering::Relaxed),
                });
            }
        })
    };
    let mut first_errors = Vec::new();
    let mut opened = stream::iter(guests)
        .map(|guest| async move {
            let node = &nodes[guest.node];
            let source = source_addr(guest.index, spread);
            let handshake = connect_ready_at(node.addr, &node.url, &guest.token, source);
            let result =
                tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), handshake)
                    .await
                    .unwrap_or_else(|_| {
                        Err(anyhow!("no `ready` within {HANDSHAKE_TIMEOUT_MS} ms"))
                    });
            (guest.index, node.addr, result)
        })
        .buffer_unordered(args.connect_concurrency.max(1));
    while let Some((index, addr, result)) = opened.next().await {
        match result {
            Ok(ws) => {
                tally.ready.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(hold(ws, tally.clone()));
            }
            Err(e) => {
                let failed = tally.failed.fetch_add(1, Ordering::Relaxed);
                if failed < ERRORS_SHOWN {
                    let error = format!("guest {index} to {addr}: {e:#}");
                    eprintln!("  worker {}: {error}", args.worker);
                    first_errors.push(error);
                }
            }
        }
    }
    progress.abort();
    Answer::Connected {
        ready: tally.ready.load(Ordering::Relaxed),
        failed: tally.failed.load(Ordering::Relaxed),
        first_errors,
    }
}

/// Reads one connection until it ends (tungstenite answers pings as it reads) and records
/// every notice with its latency: this process's clock at receipt − the send time in its text.
async fn hold(mut ws: Ws, tally: Arc<Tally>) {
    let mut last_seq = 0;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let at_us = now_us();
                if let Some((seq, sent_us)) = notice_of(text.as_str()) {
                    tally.received(seq, at_us.saturating_sub(sent_us), seq <= last_seq);
                    last_seq = last_seq.max(seq);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                ended(&tally, &format!("closed by the server: {frame:?}"));
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                ended(&tally, &e.to_string());
                return;
            }
            None => {
                ended(&tally, "connection ended");
                return;
            }
        }
    }
}

fn ended(tally: &Tally, why: &str) {
    if tally.closed.fetch_add(1, Ordering::Relaxed) < ERRORS_SHOWN {
        eprintln!("  a held connection ended: {why}");
    }
}

/// `(seq, sent_us)` of a `notice` frame that S1b sent; `None` for every other frame.
fn notice_of(text: &str) -> Option<(u32, u64)> {
    // Cheap test first: every other frame is skipped without parsing it.
    if !text.contains(r#""type":"notice""#) {
        return None;
    }
    match serde_json::from_str(text).ok()? {
        ServerFrame::Notice { notice: Some(notice) } => parse_notice_text(&notice.text),
        _ => None,
    }
}

/// Waits until every guest that got `ready` has notice `seq`, or the deadline, and hands over
/// its receipts.
async fn collect(tally: &Tally, seq: u32, deadline_us: u64) -> Answer {
    let ready = tally.ready.load(Ordering::Relaxed);
    while tally.count(seq) < ready && now_us() < deadline_us {
        tokio::time::sleep(Duration::from_millis(COLLECT_POLL_MS)).await;
    }
    let receipts = tally.notices.lock().expect("not poisoned").remove(&seq).unwrap_or_default();
    Answer::Received {
        seq,
        missed: ready.saturating_sub(receipts.latencies_us.len() as u64),
        duplicated: receipts.duplicated,
        latencies_us: receipts.latencies_us,
        closed: tally.closed.load(Ordering::Relaxed),
    }
}
