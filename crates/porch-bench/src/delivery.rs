//! S3, guest → agent delivery latency at a fixed rate on Porch: `guests` guests,
//! each in its own conversation, and `agents` agent connections on the same queue, each of
//! which receives every message. S6 runs the same on other deployments of Porch (`cluster`):
//! guests connect to the first node, agents to the last, so on two nodes every message
//! crosses the broker. One scheduler sends message `i` at its intended time
//! `start + i / rate` (open loop) through guest `i % guests`; the text carries `i` and that
//! intended time, and an agent's latency is "received − intended". A late scheduler or a
//! stalled socket therefore shows up as latency instead of as a lower send rate (no
//! coordinated omission). Each agent also checks that every conversation's `seq` and `i`
//! only grow (order violations) and that it got every message (losses).
//! The peers' S3 (`peer_delivery.rs`) reuses the schedule, the payload and the drain.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use porch_wire::frame::ServerFrame;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::cluster::Nodes;
use crate::porch::{Setup, connect_ready, create_agent, create_guests};
use crate::server::Paths;
use crate::stats::{Counters, Latencies, Progress, Report};
use crate::ws::{Ws, source_addr};

/// Message texts are padded to this many bytes.
const TEXT_BYTES: usize = 100;
/// How long to wait for the last messages after the last send.
const DRAIN: Duration = Duration::from_secs(10);

/// Message `i`'s text: `i`, its intended send time (µs since the run's epoch), padding.
pub fn payload(i: u64, intended_us: u64) -> String {
    let mut text = format!("{i} {intended_us} ");
    text.extend(std::iter::repeat_n('x', TEXT_BYTES.saturating_sub(text.len())));
    text
}

/// `(i, intended_us)` from a text `payload` wrote; `None` for any other text.
pub fn parse_payload(text: &str) -> Option<(u64, u64)> {
    let mut words = text.split(' ');
    let i = words.next()?.parse().ok()?;
    let intended_us = words.next()?.parse().ok()?;
    Some((i, intended_us))
}

/// The open-loop schedule: hands message `i` (and its intended time in µs since `epoch`) to
/// `send` at `start + i / rate`, for `rate * secs` messages, whatever happened to the earlier
/// ones. Returns when the last is handed over, with `start`.
pub async fn open_loop(
    rate: u64,
    secs: u64,
    epoch: Instant,
    mut send: impl FnMut(u64, u64),
) -> tokio::time::Instant {
    let start = tokio::time::Instant::now();
    for i in 0..rate * secs {
        let intended = start + Duration::from_nanos(i * 1_000_000_000 / rate);
        tokio::time::sleep_until(intended).await;
        send(i, (intended.into_std() - epoch).as_micros() as u64);
    }
    start
}

/// Waits (up to `DRAIN`) until `expected` deliveries have been counted.
pub async fn drain(deliveries: &Counters, expected: u64) {
    let drain_until = Instant::now() + DRAIN;
    while deliveries.ok() < expected && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Clone, Debug)]
pub struct Params {
    /// "S3", or "S6" for the cluster comparison.
    pub scenario: &'static str,
    pub rate: u64,
    pub secs: u64,
    pub agents: usize,
    pub spread: u8,
}

#[derive(Default)]
struct AgentTally {
    received: AtomicU64,
    order_violations: AtomicU64,
}

/// Agents connect first, then `guests` guest sessions are created (as in production, where
/// agents are online when visitors arrive; an agent's `ready` lists every open conversation).
pub async fn run(
    paths: &Paths,
    nodes: &mut Nodes,
    setup: &Setup,
    guests: usize,
    p: &Params,
) -> Result<Report> {
    let epoch = Instant::now();
    let latencies = Latencies::new();
    let deliveries = Counters::default();
    let mut tallies = Vec::new();
    let agent_node = nodes.agents();
    for a in 0..p.agents {
        let token = create_agent(paths, agent_node, &format!("bench-agent-{a}")).await?;
        let ws = connect_ready(agent_node, &token, None)
            .await
            .with_context(|| format!("agent {a}{}", agent_node.log_tail()))?;
        let tally = Arc::new(AgentTally::default());
        tallies.push(tally.clone());
        tokio::spawn(agent(ws, epoch, latencies.clone(), deliveries.clone(), tally));
    }
    let sessions = create_guests(setup, guests).await?;
    let tokens: Vec<String> = sessions.into_iter().map(|s| s.access_token).collect();
    let acks = Counters::default();
    let mut senders = Vec::with_capacity(tokens.len());
    for (g, token) in tokens.iter().enumerate() {
        let ws = connect_ready(nodes.guests(), token, source_addr(g, p.spread)).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(guest(ws, rx, acks.clone()));
        senders.push(tx);
    }
    let total = p.rate * p.secs;
    let _progress = Progress::start(
        format!("{} delivery {} {}/s", p.scenario, nodes.name(), p.rate),
        deliveries.clone(),
    );
    let cpu = nodes.cpu_meter()?;
    let backends = nodes.backend_meter();
    let start = open_loop(p.rate, p.secs, epoch, |i, intended_us| {
        let _ = senders[i as usize % senders.len()].send((i, intended_us));
    })
    .await;
    drain(&deliveries, total * p.agents as u64).await;
    let secs = start.elapsed().as_secs_f64();
    nodes.check_alive()?;
    let mut report = Report {
        scenario: p.scenario.into(),
        target: nodes.name().into(),
        params: format!("{}/s, {} guests, {} agents", p.rate, tokens.len(), p.agents),
        ops: deliveries.ok(),
        errors: acks.errors(),
        secs,
        rate: deliveries.ok() as f64 / secs,
        latency_ms: latencies.summary(),
        server_cpu_us_per_op: cpu.per_op(total),
        server_rss_kib: nodes.rss_kib(),
        ..Default::default()
    };
    let min_received =
        tallies.iter().map(|t| t.received.load(Ordering::Relaxed)).min().unwrap_or(0);
    report.extra("sent", total);
    report.extra("cores", cpu.cores());
    report.extra("cpu_us_per_op_by_thread", cpu.per_op_by_thread(total));
    backends.finish(&mut report, cpu.per_op(total), total);
    report.extra("acked", acks.ok());
    report.extra("lost", total.saturating_sub(min_received));
    report.extra(
        "order_violations",
        tallies.iter().map(|t| t.order_violations.load(Ordering::Relaxed)).sum::<u64>(),
    );
    Ok(report)
}

/// A guest: sends what the scheduler hands it, counts its acks, and reads everything else so
/// the server never waits on it.
async fn guest(ws: Ws, mut rx: mpsc::UnboundedReceiver<(u64, u64)>, acks: Counters) {
    let (mut sink, mut stream) = ws.split();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            if let Message::Text(text) = message {
                if text.starts_with(r#"{"type":"ack""#) {
                    acks.add_ok();
                } else if text.starts_with(r#"{"type":"error""#) {
                    eprintln!("  guest error: {}", text.as_str());
                    acks.add_error();
                }
            }
        }
    });
    while let Some((i, intended_us)) = rx.recv().await {
        let text = payload(i, intended_us);
        let frame = format!(r#"{{"type":"send","clientMessageId":"m{i}","text":"{text}"}}"#);
        if sink.send(Message::text(frame)).await.is_err() {
            break;
        }
    }
    reader.abort();
}

/// An agent: every `message` whose text the scheduler wrote is a delivery.
async fn agent(
    mut ws: Ws,
    epoch: Instant,
    latencies: Latencies,
    deliveries: Counters,
    tally: Arc<AgentTally>,
) {
    // Per conversation: the last seq and the last message index seen.
    let mut last: HashMap<String, (u64, u64)> = HashMap::new();
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        if !text.starts_with(r#"{"type":"message""#) {
            continue;
        }
        let received_us = epoch.elapsed().as_micros() as u64;
        let Ok(ServerFrame::Message { message }) =
            serde_json::from_str::<ServerFrame>(text.as_str())
        else {
            continue;
        };
        let Some((i, intended_us)) = parse_payload(&message.text) else {
            continue; // not one of ours (a system entry)
        };
        latencies.record(Duration::from_micros(received_us.saturating_sub(intended_us)));
        let entry = last.entry(message.conversation_id).or_insert((0, 0));
        if message.seq <= entry.0 || (entry.0 > 0 && i <= entry.1) {
            tally.order_violations.fetch_add(1, Ordering::Relaxed);
        }
        *entry = (entry.0.max(message.seq), entry.1.max(i));
        tally.received.fetch_add(1, Ordering::Relaxed);
        deliveries.add_ok();
    }
}
