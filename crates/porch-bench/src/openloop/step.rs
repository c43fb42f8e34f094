//! One step of the ladder: every connection sends its share of one total rate for
//! `step_secs`, then waits up to `drain_secs` for the last answers.

use std::sync::Arc;

use anyhow::Result;
use tokio::time::{Duration, Instant};

use super::Params;
use super::conn::{self, Conn, Outcome, Schedule};
use super::frames::Frames;
use crate::procfs::CpuMeter;
use crate::server::Server;
use crate::stats::{Counters, Latencies, Progress, Report};

/// Time for the connections' tasks to start before the first message is due.
const START_DELAY: Duration = Duration::from_millis(100);

/// What the ladder needs from a step, besides its report row.
pub struct Step {
    pub offered_rate_per_sec: f64,
    pub achieved_rate_per_sec: f64,
    pub p99_ms: Option<f64>,
    pub errors: u64,
    pub totals: Outcome,
    pub report: Report,
}

/// Runs one step at `rate_per_sec` in all; the connections come back for the next step.
pub async fn run(
    server: &mut Server,
    conns: Vec<Conn>,
    frames: &Arc<Frames>,
    p: &Params,
    rate_per_sec: u64,
) -> Result<(Vec<Conn>, Step)> {
    let n = conns.len() as u64;
    let step_secs = p.ladder.step_secs;
    let per_conn = (rate_per_sec * step_secs).div_ceil(n);
    let interval = Duration::from_secs_f64(n as f64 / rate_per_sec as f64);
    let start = Instant::now() + START_DELAY;
    let deadline = start + Duration::from_secs(step_secs + p.ladder.drain_secs);
    let counters = Counters::default();
    let latencies = Latencies::new();
    let label =
        format!("S4 open loop {} {} @ {rate_per_sec}/s", server.kind.name(), p.label(server.kind));
    let _progress = Progress::start(label, counters.clone());
    let cpu = CpuMeter::start(server.pid())?;
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut conn)| {
            let schedule = Schedule {
                start,
                interval,
                phase: interval.mul_f64(i as f64 / n as f64),
                count: per_conn,
                deadline,
                max_in_flight: p.ladder.max_in_flight_per_conn,
            };
            let (frames, latencies, counters) =
                (frames.clone(), latencies.clone(), counters.clone());
            tokio::spawn(async move {
                let result =
                    conn::run_step(&mut conn, &frames, &schedule, &latencies, &counters).await;
                if let Err(e) = &result {
                    eprintln!("  connection {i}: {e:#}");
                    counters.add_error();
                }
                (conn, result.unwrap_or_default())
            })
        })
        .collect();
    let mut conns = Vec::with_capacity(tasks.len());
    let mut totals = Outcome::default();
    for task in tasks {
        let (conn, outcome) = task.await?;
        conns.push(conn);
        add(&mut totals, &outcome);
    }
    server.check_alive()?;
    let offered = (per_conn * n) as f64 / step_secs as f64;
    // Answers that trail past the step stretch it: the rate is what came back, per second.
    let secs = totals
        .last_answer
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64())
        .max(step_secs as f64);
    let achieved = totals.answered as f64 / secs;
    let latency_ms = latencies.summary();
    let mut report = Report {
        scenario: "S4-open".into(),
        target: server.kind.name().into(),
        params: format!("{}, {rate_per_sec}/s", p.label(server.kind)),
        ops: totals.answered,
        errors: counters.errors(),
        secs,
        rate: achieved,
        latency_ms,
        server_cpu_us_per_op: cpu.per_op(totals.answered),
        server_rss_kib: server.rss_kib().ok(),
        ..Default::default()
    };
    report.extra("offered_rate", offered.round());
    report.extra("sent", totals.sent);
    report.extra("unanswered", totals.unanswered);
    report.extra("unsent", totals.unsent);
    report.extra("unmatched", totals.unmatched);
    report.extra("max_in_flight_per_conn", totals.max_in_flight);
    report.extra("matching", frames.matching().name());
    report.extra("cores", cpu.cores());
    report.extra("cpu_us_per_op_by_thread", cpu.per_op_by_thread(totals.answered));
    let step = Step {
        offered_rate_per_sec: offered,
        achieved_rate_per_sec: achieved,
        p99_ms: latency_ms.map(|l| l.p99),
        errors: report.errors,
        totals,
        report,
    };
    Ok((conns, step))
}

fn add(totals: &mut Outcome, o: &Outcome) {
    totals.sent += o.sent;
    totals.answered += o.answered;
    totals.unmatched += o.unmatched;
    totals.unanswered += o.unanswered;
    totals.unsent += o.unsent;
    totals.max_in_flight = totals.max_in_flight.max(o.max_in_flight);
    totals.overflowed |= o.overflowed;
    totals.last_answer = totals.last_answer.max(o.last_answer);
}
