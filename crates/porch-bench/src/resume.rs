//! S5, the resume storm: `guests` guests, each in its own conversation, have seen the
//! conversation up to some `seq`; then every connection is cut at once the way clients see it
//! in production — Porch is stopped with SIGTERM (it closes every session with 4200 "reconnect
//! now") and started again on the same data directory and port — and every guest reconnects at
//! once with `?afterSeq=<last seen>`.
//!
//! Before the cut, one agent sends `missed` messages into every conversation that the guests
//! do not read: they are in flight when the connection drops, as a phone that lost its network
//! would miss them, so every resume has something to replay. (Porch is down during the cut
//! itself, so nothing can be stored then.) Each guest's time is "its `ready` with
//! `resume.recovered = true` and every missed `seq` received" minus the moment of the SIGTERM;
//! the storm lasts until the last guest. Each guest checks the replay: `seq`s after its
//! `afterSeq` each once, in order, up to the last one the agent's sends were stored at.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{StreamExt, stream};
use porch_wire::frame::ServerFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::porch::{Setup, connect_ready, create_agent, create_guests};
use crate::procfs::CpuMeter;
use crate::server::{Paths, Server};
use crate::stats::{Counters, Latencies, Progress, Report};
use crate::ws::{Ws, connect, source_addr};

/// Guests connecting (before the cut) at the same time.
const CONNECT_CONCURRENCY: usize = 100;
/// A reconnect refused while Porch is down is retried after this long: "at once", but not a
/// busy loop that would take the cores Porch needs to start.
const RETRY_MS: u64 = 10;
/// How long a guest waits for the old connection's close, for the agent's message, and for
/// its replay to complete.
const WAIT: Duration = Duration::from_secs(60);
/// Agent REST calls in flight. (One agent WebSocket on the queue is not used: replies to
/// hundreds of conversations at once got it closed with 4201 `slow_consumer`.)
const AGENT_CONCURRENCY: usize = 16;

#[derive(Clone, Debug)]
pub struct Params {
    pub guests: usize,
    /// Messages each guest misses (sent while it is away), so each resume replays this many.
    pub missed: usize,
    pub spread: u8,
}

/// Problems across guests; any non-zero value fails the run.
#[derive(Default)]
struct Tally {
    lost: AtomicU64,
    duplicated: AtomicU64,
    order_violations: AtomicU64,
    not_recovered: AtomicU64,
    replayed: AtomicU64,
    closed_4200: AtomicU64,
    connect_retries: AtomicU64,
}

/// One guest between the first connection and the cut.
struct Guest {
    index: usize,
    token: String,
    ws: Ws,
    /// The last `seq` this guest read before the cut.
    last_seen: u64,
    /// The last `seq` the agent stored in its conversation (from the REST answers).
    last_stored: u64,
}

pub async fn run(paths: &Paths, server: &mut Server, setup: &Setup, p: &Params) -> Result<Report> {
    let sessions = create_guests(setup, p.guests).await?;
    let token = create_agent(paths, server, "bench-agent-resume").await?;
    eprintln!("S5: connecting {} guests", sessions.len());
    let srv: &Server = server;
    let connected: Vec<Result<(usize, String, String, Ws)>> =
        stream::iter(sessions.into_iter().enumerate())
            .map(|(i, s)| async move {
                let ws = connect_ready(srv, &s.access_token, source_addr(i, p.spread))
                    .await
                    .with_context(|| format!("guest {i}"))?;
                Ok((i, s.access_token, s.conversation_id, ws))
            })
            .buffer_unordered(CONNECT_CONCURRENCY)
            .collect()
            .await;
    let mut connected = connected.into_iter().collect::<Result<Vec<_>>>()?;
    connected.sort_by_key(|c| c.0);
    let conversations: Vec<String> = connected.iter().map(|c| c.2.clone()).collect();

    eprintln!("S5: agent sends one message into each conversation, guests read it");
    // "Seen up to some seq": one agent message (its first reply also assigns the
    // conversation: a system entry before it), read by the guest.
    let seen = agent_send(setup, &token, &conversations, 1, "seen").await?;
    let guests: Vec<Result<Guest>> = stream::iter(connected)
        .map(|(index, token, conversation, mut ws)| {
            let target = seen[&conversation];
            async move {
                let last_seen = read_until(&mut ws, target)
                    .await
                    .with_context(|| format!("guest {index}"))?;
                Ok(Guest {
                    index,
                    token,
                    ws,
                    last_seen,
                    last_stored: 0,
                })
            }
        })
        .buffer_unordered(p.guests.max(1))
        .collect()
        .await;
    let mut guests = guests.into_iter().collect::<Result<Vec<_>>>()?;
    guests.sort_by_key(|g| g.index);

    // While the guests are away (not reading), `missed` messages each.
    eprintln!(
        "S5: agent sends {} messages into each of {} conversations",
        p.missed,
        conversations.len()
    );
    let stored = agent_send(setup, &token, &conversations, p.missed, "missed").await?;
    for g in &mut guests {
        g.last_stored = stored[&conversations[g.index]];
    }
    let expected: u64 = guests.iter().map(|g| g.last_stored - g.last_seen).sum();

    // The cut. Guests wait on their old connection for the close, then reconnect.
    let tally = Arc::new(Tally::default());
    let latencies = Latencies::new();
    let done = Counters::default();
    let _progress = Progress::start(format!("S5 resume {} guests", guests.len()), done.clone());
    let cut = Instant::now();
    let url = server.ws_url.clone();
    let addr = server.addr;
    let mut tasks = Vec::with_capacity(guests.len());
    for g in guests {
        let (tally, latencies, done, url) =
            (tally.clone(), latencies.clone(), done.clone(), url.clone());
        let source = source_addr(g.index, p.spread);
        tasks.push(tokio::spawn(async move {
            let result = resume(g, addr, &url, source, &tally).await;
            match result {
                Ok(()) => {
                    latencies.record(cut.elapsed());
                    done.add_ok();
                }
                Err(e) => {
                    if done.errors() < 5 {
                        eprintln!("  guest failed: {e:#}");
                    }
                    done.add_error();
                }
            }
            cut.elapsed()
        }));
    }
    let (exit, start) = tokio::task::block_in_place(|| server.restart_porch(paths))?;
    let cpu = CpuMeter::start(server)?;
    let listening = cut.elapsed();
    let mut storm = Duration::ZERO;
    for task in tasks {
        storm = storm.max(task.await?);
    }
    server.check_alive()?;
    let resumed = done.ok();
    let received = tally.replayed.load(Ordering::Relaxed);
    let mut report = Report {
        scenario: "S5".into(),
        target: "porch".into(),
        params: format!("{} guests, {} missed each", p.guests, p.missed),
        ops: resumed,
        errors: done.errors(),
        secs: storm.as_secs_f64(),
        rate: resumed as f64 / storm.as_secs_f64().max(1e-9),
        latency_ms: latencies.summary(),
        server_cpu_us_per_op: cpu.per_op(resumed),
        server_rss_kib: server.rss_kib().ok(),
        ..Default::default()
    };
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    report.extra("sigterm_to_exit_ms", exit.as_millis() as u64);
    report.extra("exit_to_listening_ms", start.as_millis() as u64);
    report.extra(
        "listening_to_last_resumed_ms",
        storm.saturating_sub(listening).as_millis() as u64,
    );
    report.extra("missed_expected", expected);
    report.extra("missed_received", received);
    report.extra("lost", load(&tally.lost));
    report.extra("duplicated", load(&tally.duplicated));
    report.extra("order_violations", load(&tally.order_violations));
    report.extra("not_recovered", load(&tally.not_recovered));
    report.extra("closed_4200", load(&tally.closed_4200));
    report.extra("connect_retries", load(&tally.connect_retries));
    report.extra("cores", cpu.cores());
    Ok(report)
}

/// The agent replies over REST (`POST /agent/conversations/{id}/messages`), `AGENT_CONCURRENCY`
/// at a time: `per_conversation` messages into each conversation, each stored once the call
/// returns. Returns the largest stored `seq` per conversation.
async fn agent_send(
    setup: &Setup,
    agent_token: &str,
    conversations: &[String],
    per_conversation: usize,
    tag: &str,
) -> Result<HashMap<String, u64>> {
    let sends = (0..per_conversation).flat_map(|j| {
        conversations
            .iter()
            .enumerate()
            .map(move |(c, id)| (c, j, id))
    });
    let stored: Vec<Result<(String, u64)>> = stream::iter(sends)
        .map(|(c, j, conversation)| async move {
            let id = format!("{tag}-{c}-{j}");
            let sent = setup
                .api
                .agent_send(agent_token, conversation, &id, &id)
                .await
                .map_err(|e| anyhow!("agent send into {conversation}: {e:?}"))?;
            Ok((conversation.clone(), sent.body.message.seq))
        })
        .buffer_unordered(AGENT_CONCURRENCY)
        .collect()
        .await;
    let mut last = HashMap::with_capacity(conversations.len());
    for result in stored {
        let (conversation, seq) = result?;
        let last = last.entry(conversation).or_insert(0);
        *last = seq.max(*last);
    }
    Ok(last)
}

/// Reads until the message with `seq` arrives; returns it.
async fn read_until(ws: &mut Ws, seq: u64) -> Result<u64> {
    loop {
        let text = crate::ws::next_text(ws, WAIT).await?;
        if let Ok(ServerFrame::Message { message }) = serde_json::from_str(&text)
            && message.seq >= seq
        {
            return Ok(message.seq);
        }
    }
}

/// One guest through the cut: the old connection's close (whatever was in flight is
/// dropped unread), reconnection with `afterSeq` (retried while Porch is down), `ready`,
/// and the replay checked `seq` by `seq`.
async fn resume(
    g: Guest,
    addr: std::net::SocketAddr,
    url: &str,
    source: Option<std::net::IpAddr>,
    tally: &Tally,
) -> Result<()> {
    let mut old = g.ws;
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(item) = old.next().await {
            match item {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .context("the old connection was not closed")?;
    if closed == Some(4200) {
        tally.closed_4200.fetch_add(1, Ordering::Relaxed);
    }
    drop(old);
    let url = format!("{url}?afterSeq={}", g.last_seen);
    let deadline = Instant::now() + WAIT;
    let mut ws = loop {
        match connect(addr, &url, Some(&g.token), source).await {
            Ok(ws) => break ws,
            Err(e) if Instant::now() > deadline => bail!("no reconnect within {WAIT:?}: {e:#}"),
            Err(_) => {
                tally.connect_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(RETRY_MS)).await;
            }
        }
    };
    let first = crate::ws::next_text(&mut ws, WAIT).await?;
    let Ok(ServerFrame::Ready(ready)) = serde_json::from_str(&first) else {
        bail!("first frame is not `ready`: {first}");
    };
    match ready.resume {
        Some(r) if r.recovered => {}
        other => {
            tally.not_recovered.fetch_add(1, Ordering::Relaxed);
            bail!("not recovered: {other:?}");
        }
    }
    let mut last = g.last_seen;
    let mut received = 0;
    let checked = tokio::time::timeout(WAIT, async {
        while last < g.last_stored {
            let text = crate::ws::next_text(&mut ws, WAIT).await?;
            let Ok(ServerFrame::Message { message }) = serde_json::from_str(&text) else {
                continue;
            };
            if message.seq <= last {
                // Seen before the cut or earlier in this replay.
                tally.duplicated.fetch_add(1, Ordering::Relaxed);
            } else {
                if message.seq != last + 1 {
                    tally.order_violations.fetch_add(1, Ordering::Relaxed);
                }
                last = message.seq;
                received += 1;
            }
        }
        anyhow::Ok(())
    })
    .await;
    tally.replayed.fetch_add(received, Ordering::Relaxed);
    let missing = (g.last_stored - g.last_seen).saturating_sub(received);
    tally.lost.fetch_add(missing, Ordering::Relaxed);
    match checked {
        Ok(result) => result,
        Err(_) => bail!("replay incomplete after {WAIT:?}: {received} received"),
    }
}
