//! S2, handshake rate: `concurrency` workers each open a connection, wait for the server's
//! first frame (Porch: `ready` after token verification; bare and the ws relay: their
//! `ready`; Soketi: `pusher:connection_established`), record the time from connect to that frame, close, and
//! go again, until `count` handshakes or `max_secs`. Porch gets a distinct guest token per
//! connection, prepared beforehand, so verification and session lookup are never cached.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::procfs::CpuMeter;
use crate::server::{Kind, Server};
use crate::stats::{Counters, Latencies, Progress, Report};
use crate::ws::{connect, next_text, source_addr};

#[derive(Clone, Debug)]
pub struct Params {
    pub count: usize,
    pub concurrency: usize,
    pub max_secs: u64,
    pub spread: u8,
}

/// What the first server frame contains on each target.
pub fn first_frame_marker(kind: Kind) -> &'static str {
    match kind {
        Kind::Porch | Kind::Bare | Kind::WsRelay => r#""type":"ready""#,
        Kind::Soketi | Kind::Sockudo => "pusher:connection_established",
    }
}

/// `tokens` holds one guest token per handshake for Porch and is empty for the others.
pub async fn run(server: &mut Server, tokens: Arc<Vec<String>>, p: &Params) -> Result<Report> {
    let count = if server.kind == Kind::Porch { p.count.min(tokens.len()) } else { p.count };
    let counters = Counters::default();
    let latencies = Latencies::new();
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(p.max_secs);
    let label = format!("S2 handshake {}", server.kind.name());
    let _progress = Progress::start(label, counters.clone());
    let cpu = CpuMeter::start(server.pid())?;
    let start = Instant::now();
    let workers: Vec<_> = (0..p.concurrency)
        .map(|_| {
            let (tokens, next, counters, latencies) =
                (tokens.clone(), next.clone(), counters.clone(), latencies.clone());
            let (addr, url, kind, spread) =
                (server.addr, server.ws_url.clone(), server.kind, p.spread);
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count || Instant::now() > deadline {
                        return;
                    }
                    let token = tokens.get(i).map(String::as_str);
                    let began = Instant::now();
                    match handshake(addr, &url, token, kind, source_addr(i, spread)).await {
                        Ok(()) => {
                            latencies.record(began.elapsed());
                            counters.add_ok();
                        }
                        Err(e) => {
                            if counters.errors() < 5 {
                                eprintln!("  handshake {i}: {e:#}");
                            }
                            counters.add_error();
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    server.check_alive()?;
    let mut report = Report {
        scenario: "S2".into(),
        target: server.kind.name().into(),
        params: format!("{count} conns, {} concurrent", p.concurrency),
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
    report.extra("unfinished", (count as u64).saturating_sub(counters.ok() + counters.errors()));
    Ok(report)
}

async fn handshake(
    addr: std::net::SocketAddr,
    url: &str,
    token: Option<&str>,
    kind: Kind,
    source: Option<std::net::IpAddr>,
) -> Result<()> {
    let mut ws = connect(addr, url, token, source).await?;
    let first = next_text(&mut ws, Duration::from_secs(10)).await?;
    anyhow::ensure!(first.contains(first_frame_marker(kind)), "unexpected first frame: {first}");
    // A close frame, not a wait for the server's answer: the handshake is what is measured.
    let _ = ws.close(None).await;
    Ok(())
}
