//! S1, idle capacity: connections are opened in steps (e.g. 1,000 then 5,000 in all) and held
//! open, each read by its own task so the server's heartbeat pings are answered as a browser
//! would. After each step settles, the server's RSS is read; KiB per connection is the slope
//! of a least-squares line through (connections, RSS) at the steps (`fit_points`).
//! Porch connections are authenticated guests, each in its own conversation.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{StreamExt, stream};

use crate::porch::connect_ready;
use crate::procfs::CpuMeter;
use crate::server::{Kind, Server};
use crate::stats::{Counters, Progress, Report};
use crate::ws::{Ws, connect, next_text, source_addr};

/// Connections opened at once while stepping up.
const CONNECT_CONCURRENCY: usize = 100;

#[derive(Clone, Debug)]
pub struct Params {
    pub steps: Vec<usize>,
    pub settle_secs: u64,
    pub spread: u8,
}

/// `tokens` holds at least `max(steps)` guest tokens for Porch.
pub async fn run(server: &mut Server, tokens: &[String], p: &Params) -> Result<Report> {
    let counters = Counters::default();
    let _progress = Progress::start(format!("S1 idle {}", server.kind.name()), counters.clone());
    tokio::time::sleep(Duration::from_secs(p.settle_secs)).await;
    let mut points = vec![(0usize, server.rss_kib()?)];
    let mut holders = Vec::new();
    let start = Instant::now();
    let mut idle_cpu = None;
    for &step in &p.steps {
        let from = holders.len();
        let opened: Vec<Result<Ws>> = stream::iter(from..step)
            .map(|i| {
                let counters = counters.clone();
                let server = &*server;
                async move {
                    let ws = open(server, tokens.get(i).map(String::as_str), i, p.spread).await;
                    match &ws {
                        Ok(_) => counters.add_ok(),
                        Err(e) => {
                            if counters.errors() < 5 {
                                eprintln!("  connection {i}: {e:#}");
                            }
                            counters.add_error();
                        }
                    }
                    ws
                }
            })
            .buffer_unordered(CONNECT_CONCURRENCY)
            .collect()
            .await;
        for ws in opened.into_iter().flatten() {
            holders.push(tokio::spawn(hold(ws)));
        }
        // Quiet time, during which only heartbeats run: its CPU is the idle cost.
        let cpu = CpuMeter::start(server.pid())?;
        tokio::time::sleep(Duration::from_secs(p.settle_secs)).await;
        idle_cpu = cpu.per_op(p.settle_secs * 1_000_000).map(|share| share * 100.0);
        points.push((holders.len(), server.rss_kib()?));
        eprintln!("  {} connections: RSS {} KiB", holders.len(), points.last().map_or(0, |p| p.1));
    }
    server.check_alive()?;
    for holder in &holders {
        holder.abort();
    }
    let secs = start.elapsed().as_secs_f64();
    let mut report = Report {
        scenario: "S1".into(),
        target: server.kind.name().into(),
        params: format!("steps {:?}", p.steps),
        ops: counters.ok(),
        errors: counters.errors(),
        secs,
        server_rss_kib: points.last().map(|p| p.1),
        ..Default::default()
    };
    report.extra("kib_per_conn", (slope(fit_points(&points)) * 10.0).round() / 10.0);
    report.extra("rss_kib_points", serde_json::json!(points));
    report.extra("idle_cpu_percent", idle_cpu.map(|c| (c * 100.0).round() / 100.0));
    Ok(report)
}

async fn open(server: &Server, token: Option<&str>, i: usize, spread: u8) -> Result<Ws> {
    let source = source_addr(i, spread);
    if server.kind == Kind::Porch {
        return connect_ready(server, token.unwrap_or_default(), source).await;
    }
    let mut ws = connect(server.addr, &server.ws_url, None, source).await?;
    next_text(&mut ws, Duration::from_secs(30)).await?;
    Ok(ws)
}

/// Reads until the connection ends: protocol pings are answered as they are read.
async fn hold(mut ws: Ws) {
    while let Some(Ok(_)) = ws.next().await {}
}

/// Least-squares slope of y over x.
/// The points the slope is fitted to: the steps, without the point at 0 connections when there
/// are two steps or more. At 0 the server still holds what creating the guests left behind
/// (REST requests, Argon2 and SQLite buffers), and an allocator that returns memory lazily
/// (mimalloc) gives some of it back only once the connections' allocations run: Porch measured
/// 51 MiB at 0, then 41 MiB at 1,000 connections, which drags a fit through 0 low.
fn fit_points(points: &[(usize, u64)]) -> &[(usize, u64)] {
    if points.len() >= 3 { &points[1..] } else { points }
}

fn slope(points: &[(usize, u64)]) -> f64 {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 as f64 - mx) * (p.1 as f64 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 as f64 - mx).powi(2)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_point_at_zero_is_left_out_once_there_are_two_steps() {
        // RSS in KiB as Porch on mimalloc gave it: high at 0, lower at 1,000.
        let points = [(0, 51_148), (1_000, 41_056), (5_000, 71_132)];
        assert_eq!(fit_points(&points), &points[1..]);
        let per_conn = slope(fit_points(&points));
        assert!((per_conn - 7.519).abs() < 0.001, "{per_conn}");
        // One step: two points, both needed for a line.
        assert_eq!(fit_points(&points[..2]).len(), 2);
    }
}
