//! S3 on the peers (Soketi, the ws relay): HTTP publish → WebSocket delivery at a fixed rate.
//! `subscribers` connections each subscribe to a channel of their own (Soketi: a public
//! channel `conv-c` with `pusher:subscribe`; relay: `sub`), as Porch's guests each have their
//! own conversation. The schedule, the payload and the latency are Porch's (`delivery.rs`):
//! message `i` is due at `start + i / rate` on channel `i % subscribers`, carries `i` and
//! that intended time, and its latency is "received − intended", so a slow publisher counts
//! against the peer (no coordinated omission). Each subscriber checks that `i` only grows on
//! its channel (order violations) and the run counts what each channel missed (losses).
//!
//! Publishing is spread over `PUBLISHERS` keep-alive HTTP connections; every channel always
//! goes through the same one, one request at a time, so a channel's messages leave in order
//! (as a Porch guest's do over its socket) and a reordering is the peer's.
//! Not like for like: the peers store nothing, where Porch acknowledges a send once it is
//! durably stored; and the peers' path starts with an HTTP request, Porch's with a frame.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::delivery::{Params, drain, open_loop, parse_payload, payload};
use crate::handshake::first_frame_marker;
use crate::procfs::CpuMeter;
use crate::publish::{Publisher, channel};
use crate::server::{Kind, Server};
use crate::stats::{Counters, Latencies, Progress, Report};
use crate::ws::{Ws, connect, next_text, source_addr};

/// Concurrent publish requests (one keep-alive connection each): enough that one slow
/// answer does not hold up the rate, few enough not to need more sockets than the peer.
const PUBLISHERS: usize = 64;
/// How long a connect, a subscription or its confirmation may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// What one subscriber saw on its channel.
#[derive(Default)]
struct ChannelTally {
    received: AtomicU64,
    order_violations: AtomicU64,
}

pub async fn run(server: &mut Server, subscribers: usize, p: &Params) -> Result<Report> {
    if subscribers == 0 {
        bail!("delivery needs at least one subscriber (--guests)");
    }
    let epoch = Instant::now();
    let latencies = Latencies::new();
    let deliveries = Counters::default();
    let mut tallies = Vec::with_capacity(subscribers);
    for c in 0..subscribers {
        let ws = subscribe(server, c, p.spread)
            .await
            .with_context(|| format!("subscriber {c} on {}", server.kind.name()))?;
        let tally = Arc::new(ChannelTally::default());
        tallies.push(tally.clone());
        let (latencies, deliveries) = (latencies.clone(), deliveries.clone());
        tokio::spawn(subscriber(ws, server.kind, epoch, latencies, deliveries, tally));
    }
    let publisher = Publisher::new(server.kind, server.addr)?;
    let published = Counters::default();
    let senders: Vec<_> = (0..PUBLISHERS.min(subscribers))
        .map(|_| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(publish_loop(rx, publisher.clone(), published.clone()));
            tx
        })
        .collect();
    let total = p.rate * p.secs;
    let label = format!("{} delivery {} {}/s", p.scenario, server.kind.name(), p.rate);
    let _progress = Progress::start(label, deliveries.clone());
    let cpu = CpuMeter::start(server.pid())?;
    let start = open_loop(p.rate, p.secs, epoch, |i, intended_us| {
        let c = i as usize % subscribers;
        let _ = senders[c % senders.len()].send((c, i, intended_us));
    })
    .await;
    drain(&deliveries, total).await;
    let secs = start.elapsed().as_secs_f64();
    server.check_alive()?;
    let mut report = Report {
        scenario: p.scenario.into(),
        target: server.kind.name().into(),
        params: format!("{}/s, {subscribers} subscribers", p.rate),
        ops: deliveries.ok(),
        errors: published.errors(),
        secs,
        rate: deliveries.ok() as f64 / secs,
        latency_ms: latencies.summary(),
        server_cpu_us_per_op: cpu.per_op(total),
        server_rss_kib: server.rss_kib().ok(),
        ..Default::default()
    };
    report.extra("sent", total);
    report.extra("cores", cpu.cores());
    report.extra("cpu_us_per_op_by_thread", cpu.per_op_by_thread(total));
    report.extra("accepted", published.ok());
    report.extra("lost", lost(&tallies, total));
    report.extra(
        "order_violations",
        tallies.iter().map(|t| t.order_violations.load(Ordering::Relaxed)).sum::<u64>(),
    );
    Ok(report)
}

/// Messages missing, channel by channel: channel `c` was sent every `i` with
/// `i % channels == c`.
fn lost(tallies: &[Arc<ChannelTally>], total: u64) -> u64 {
    let channels = tallies.len() as u64;
    tallies
        .iter()
        .enumerate()
        .map(|(c, t)| {
            let c = c as u64;
            let sent = total / channels + u64::from(c < total % channels);
            sent.saturating_sub(t.received.load(Ordering::Relaxed))
        })
        .sum()
}

/// Connects subscriber `c` and subscribes it to its channel, returning once the peer has
/// confirmed the subscription (so no message is published before it counts).
async fn subscribe(server: &Server, c: usize, spread: u8) -> Result<Ws> {
    let mut ws = connect(server.addr, &server.ws_url, None, source_addr(c, spread)).await?;
    let first = next_text(&mut ws, SETUP_TIMEOUT).await?;
    anyhow::ensure!(
        first.contains(first_frame_marker(server.kind)),
        "unexpected first frame: {first}"
    );
    let name = channel(c);
    let (request, confirmation) = match server.kind {
        Kind::Soketi | Kind::Sockudo => (
            serde_json::json!({ "event": "pusher:subscribe", "data": { "channel": name } }),
            "pusher_internal:subscription_succeeded",
        ),
        Kind::WsRelay => {
            (serde_json::json!({ "type": "sub", "channel": name }), r#""type":"subscribed""#)
        }
        kind => bail!("{} has no channels to subscribe to", kind.name()),
    };
    ws.send(Message::text(request.to_string())).await?;
    loop {
        let text = next_text(&mut ws, SETUP_TIMEOUT).await?;
        if text.contains(confirmation) {
            return Ok(ws);
        }
        if text.contains("pusher:error") {
            bail!("subscription refused: {text}");
        }
    }
}

/// One HTTP connection's worth of publishing: the messages of its channels, one request at
/// a time, in the order the schedule handed them over.
async fn publish_loop(
    mut rx: mpsc::UnboundedReceiver<(usize, u64, u64)>,
    publisher: Publisher,
    published: Counters,
) {
    while let Some((c, i, intended_us)) = rx.recv().await {
        match publisher.publish(&channel(c), &payload(i, intended_us)).await {
            Ok(()) => published.add_ok(),
            Err(e) => {
                if published.errors() < 5 {
                    eprintln!("  publish {i} on {}: {e:#}", channel(c));
                }
                published.add_error();
            }
        }
    }
}

/// A Pusher protocol frame, as far as a subscriber reads it.
#[derive(Deserialize)]
struct PusherFrame {
    event: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// A subscriber: every text the schedule wrote is a delivery. Soketi's `pusher:ping` is
/// answered, as a Pusher client must to stay connected.
async fn subscriber(
    ws: Ws,
    kind: Kind,
    epoch: Instant,
    latencies: Latencies,
    deliveries: Counters,
    tally: Arc<ChannelTally>,
) {
    let (mut sink, mut stream) = ws.split();
    let mut last: Option<u64> = None;
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let received_us = epoch.elapsed().as_micros() as u64;
        let data = match kind {
            Kind::Soketi | Kind::Sockudo => {
                let Ok(frame) = serde_json::from_str::<PusherFrame>(text.as_str()) else {
                    continue;
                };
                if frame.event == "pusher:ping" {
                    let pong = r#"{"event":"pusher:pong","data":{}}"#;
                    if sink.send(Message::text(pong)).await.is_err() {
                        break;
                    }
                    continue;
                }
                match frame.data {
                    serde_json::Value::String(data) => data,
                    _ => continue,
                }
            }
            _ => text.as_str().to_owned(),
        };
        let Some((i, intended_us)) = parse_payload(&data) else {
            continue; // not one of ours
        };
        latencies.record(Duration::from_micros(received_us.saturating_sub(intended_us)));
        if last.is_some_and(|last| i <= last) {
            tally.order_violations.fetch_add(1, Ordering::Relaxed);
        }
        last = Some(last.map_or(i, |last| last.max(i)));
        tally.received.fetch_add(1, Ordering::Relaxed);
        deliveries.add_ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_are_counted_per_channel() {
        // 10 messages on 3 channels: channel 0 gets 4 (i = 0, 3, 6, 9), 1 and 2 get 3 each.
        let tallies: Vec<Arc<ChannelTally>> = [4, 3, 3]
            .iter()
            .map(|&n| {
                let t = ChannelTally::default();
                t.received.store(n, Ordering::Relaxed);
                Arc::new(t)
            })
            .collect();
        assert_eq!(lost(&tallies, 10), 0);
        tallies[0].received.store(3, Ordering::Relaxed);
        // A surplus on one channel (a duplicate) does not hide a loss on another.
        tallies[1].received.store(4, Ordering::Relaxed);
        assert_eq!(lost(&tallies, 10), 1);
    }

    #[test]
    fn payloads_round_trip() {
        let text = payload(42, 1_234_567);
        assert_eq!(text.len(), 100);
        assert_eq!(parse_payload(&text), Some((42, 1_234_567)));
        assert_eq!(parse_payload(r#"{"type":"subscribed","channel":"conv-1"}"#), None);
    }
}
