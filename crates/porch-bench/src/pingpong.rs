//! S4, ping-pong throughput: `conns` connections, each sends one message and waits for its
//! answer before sending the next (closed loop: the rate is what the server sustains, and the
//! latency is the round trip). What a round trip is, per target:
//! - Porch, `--porch-frame send`: a guest `send` with a `size`-byte text, answered by `ack`
//!   once it is durably stored (the guest's own `message` echo arrives too and is skipped);
//! - Porch, `--porch-frame ping`: the protocol's application ping (`{"type":"ping","id":…}`,
//!   the id padded to `size` bytes) on an authenticated guest session, answered by `pong`
//!   with the same id: the gateway's whole frame path (read, parse, dispatch, serialize,
//!   write) without the store, like Soketi's `pusher:ping`;
//! - bare and the ws relay: a `size`-byte text frame echoed back;
//! - Soketi: `pusher:ping` padded to `size` bytes, answered by a small `pusher:pong`.
//!
//! With `--pipeline N` each connection writes N requests at once and then reads their N
//! answers (in order) before the next group: pipelined sends, which Porch stores in one commit.
//!
//! The open loop (`--open-loop`: fixed rates, latency without coordinated omission) is in
//! `openloop/`; it opens its connections with `open` and sends the same frames.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures_util::SinkExt;
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message;

use crate::porch::connect_ready;
use crate::procfs::CpuMeter;
use crate::server::{Kind, Server};
use crate::stats::{Counters, Latencies, Progress, Report};
use crate::ws::{Ws, connect, next_text, padding, source_addr};

#[derive(Clone, Debug)]
pub struct Params {
    pub conns: usize,
    pub size: usize,
    pub max_secs: u64,
    pub max_messages: u64,
    pub spread: u8,
    /// What Porch's round trip is; ignored by the other targets.
    pub porch_frame: PorchFrame,
    /// Requests a connection writes at once (one write) before it waits for their answers,
    /// which come in order; 1 is the plain ping-pong.
    pub pipeline: usize,
}

/// The most `--pipeline` takes: a group of requests must fit the server's read buffer many
/// times over, not be a flood.
pub const PIPELINE_MAX: i64 = 64;

/// Porch's two round trips (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PorchFrame {
    Send,
    Ping,
}

impl PorchFrame {
    pub fn name(self) -> &'static str {
        match self {
            PorchFrame::Send => "send",
            PorchFrame::Ping => "ping",
        }
    }
}

/// `tokens` holds one guest token per connection for Porch.
pub async fn run(server: &mut Server, tokens: &[String], p: &Params) -> Result<Report> {
    let sockets = open(server, tokens, p.conns, p.spread).await?;
    let counters = Counters::default();
    let latencies = Latencies::new();
    let sent = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(p.conns + 1));
    let deadline_after = Duration::from_secs(p.max_secs);
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(conn, ws)| {
            let (counters, latencies, sent, barrier) =
                (counters.clone(), latencies.clone(), sent.clone(), barrier.clone());
            let (kind, p) = (server.kind, p.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let deadline = Instant::now() + deadline_after;
                if let Err(e) =
                    ping_loop(ws, kind, conn, &p, &sent, &counters, &latencies, deadline).await
                {
                    eprintln!("  connection {conn}: {e:#}");
                    counters.add_error();
                }
            })
        })
        .collect();
    let label = format!("S4 ping-pong {} {} B", server.kind.name(), p.size);
    let _progress = Progress::start(label, counters.clone());
    let cpu = CpuMeter::start(server.pid())?;
    let start = Instant::now();
    barrier.wait().await;
    for task in tasks {
        task.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    server.check_alive()?;
    let mut report = Report {
        scenario: "S4".into(),
        target: server.kind.name().into(),
        params: match server.kind {
            Kind::Porch => format!(
                "{} conns, {} B, {}{}",
                p.conns,
                p.size,
                p.porch_frame.name(),
                pipelined(p.pipeline)
            ),
            _ => format!("{} conns, {} B{}", p.conns, p.size, pipelined(p.pipeline)),
        },
        ops: counters.ok(),
        errors: counters.errors(),
        secs,
        rate: counters.ok() as f64 / secs,
        latency_ms: latencies.summary(),
        server_cpu_us_per_op: cpu.per_op(counters.ok()),
        server_rss_kib: server.rss_kib().ok(),
        ..Default::default()
    };
    report.extra("cores", cpu.cores());
    report.extra("cpu_us_per_op_by_thread", cpu.per_op_by_thread(counters.ok()));
    Ok(report)
}

/// `conns` connections ready for round trips: Porch's guests (one token each) past their
/// `ready`, the others past their first frame. Shared with the open-loop ladder.
pub async fn open(server: &Server, tokens: &[String], conns: usize, spread: u8) -> Result<Vec<Ws>> {
    let mut sockets = Vec::with_capacity(conns);
    for i in 0..conns {
        let source = source_addr(i, spread);
        let ws = match server.kind {
            Kind::Porch => {
                connect_ready(server, tokens.get(i).map_or("", String::as_str), source).await?
            }
            kind => {
                let mut ws = connect(server.addr, &server.ws_url, None, source).await?;
                let first = next_text(&mut ws, Duration::from_secs(10)).await?;
                anyhow::ensure!(
                    first.contains(crate::handshake::first_frame_marker(kind)),
                    "first frame: {first}"
                );
                ws
            }
        };
        sockets.push(ws);
    }
    Ok(sockets)
}

/// How a report names its pipeline: nothing for the plain ping-pong.
fn pipelined(pipeline: usize) -> String {
    if pipeline > 1 { format!(", pipeline {pipeline}") } else { String::new() }
}

/// One request and what its answer contains.
fn request(kind: Kind, frame: PorchFrame, id: &str, pad: &str) -> (String, String) {
    match (kind, frame) {
        (Kind::Porch, PorchFrame::Send) => (
            format!(r#"{{"type":"send","clientMessageId":"{id}","text":"{pad}"}}"#),
            format!(r#""clientMessageId":"{id}""#),
        ),
        (Kind::Porch, PorchFrame::Ping) => (
            format!(r#"{{"type":"ping","id":"{id}:{pad}"}}"#),
            format!(r#"{{"type":"pong","id":"{id}:"#),
        ),
        (Kind::Bare | Kind::WsRelay, _) => (pad.to_owned(), pad.to_owned()),
        (Kind::Soketi | Kind::Sockudo, _) => (
            format!(r#"{{"event":"pusher:ping","data":{{"pad":"{pad}"}}}}"#),
            "pusher:pong".to_string(),
        ),
    }
}

fn is_answer(kind: Kind, frame: PorchFrame, text: &str, answer: &str) -> bool {
    match kind {
        Kind::Porch => match frame {
            PorchFrame::Send => text.starts_with(r#"{"type":"ack""#) && text.contains(answer),
            PorchFrame::Ping => text.starts_with(answer),
        },
        Kind::Bare | Kind::WsRelay => text == answer,
        Kind::Soketi | Kind::Sockudo => text.contains(answer),
    }
}

#[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
async fn ping_loop(
    mut ws: Ws,
    kind: Kind,
    conn: usize,
    p: &Params,
    sent: &AtomicU64,
    counters: &Counters,
    latencies: &Latencies,
    deadline: Instant,
) -> Result<()> {
    let pad = padding(p.size);
    let mut n = 0u64;
    let group = p.pipeline as u64;
    while Instant::now() < deadline && sent.fetch_add(group, Ordering::Relaxed) < p.max_messages {
        let mut answers = Vec::with_capacity(p.pipeline);
        for _ in 0..p.pipeline {
            n += 1;
            let (request, answer) = request(kind, p.porch_frame, &format!("b{conn}-{n}"), &pad);
            ws.feed(Message::text(request)).await?;
            answers.push(answer);
        }
        let began = Instant::now();
        ws.flush().await?;
        // Answers come in the order of their requests; each is timed from the group's write.
        for answer in &answers {
            loop {
                let text = next_text(&mut ws, Duration::from_secs(10)).await?;
                if kind == Kind::Porch && text.contains(r#""type":"error""#) {
                    bail!("error frame: {text}");
                }
                if is_answer(kind, p.porch_frame, &text, answer) {
                    break;
                }
            }
            latencies.record(began.elapsed());
            counters.add_ok();
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}
