//! S5, the resume storm: `guests` guests, each in its own conversation, have seen their
//! conversation up to some `seq`; then every connection is cut at once and every guest
//! reconnects at once with `?afterSeq=<last seen>`, while the agent keeps writing.
//!
//! The cut (`Cut`):
//! - `restart`: the way clients see a deploy. Porch gets SIGTERM (it closes every session
//!   with 4200 "reconnect now") and starts again on the same data directory and port; each
//!   guest waits for its old connection to end, then reconnects.
//! - `drop`: the harness closes every guest's socket at once, without a close frame, as when a
//!   phone's network goes away; Porch stays up and learns of it at its next read of each
//!   socket (the kernel sends RST, since unread frames are waiting). Guests reconnect at once.
//! - `vanish`: the harness keeps every old socket open but never reads or writes it again:
//!   Porch gets no FIN or RST and keeps the old sessions until `idle_timeout_ms` (60 s), so
//!   every reconnect arrives while the guest's old session is still open.
//!
//! Before the cut the agent sends `missed` messages into every conversation that the guests do
//! not read: in flight when the connection drops, so every resume has something to replay.
//! From `LIVE_LEAD` before the cut until every guest has resumed, the agent keeps sending
//! `live_rate` messages/s more over all conversations, so replay and live delivery meet.
//! A guest is resumed when its `ready` says `resume.recovered = true` and it has every `seq`
//! up to the last one stored before its reconnect; the storm lasts from the cut until the last
//! guest resumed. Then the agent stops, and each guest must receive every `seq` up to its
//! conversation's final one, each once and in order, within a short drain.

mod arrivals;
mod feed;
mod gauge;
mod guest;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use porch_wire::frame::ServerFrame;
use tokio::sync::watch;

use crate::porch::{Setup, connect_ready, create_agent, create_guests};
use crate::procfs::CpuMeter;
use crate::server::{Paths, Server};
use crate::stats::{Counters, Latencies, Progress, Report};
use crate::ws::{Ws, source_addr};
use guest::{Ctx, Guest, Tally};

/// Guests connecting (before the cut) at the same time.
const CONNECT_CONCURRENCY: usize = 100;
/// How long a guest waits for the agent's first message before the cut, and how long the
/// storm may last before the run gives up on the guests not yet resumed.
const WAIT: Duration = Duration::from_secs(60);
/// The live feed starts this long before the cut, so messages are in flight at the cut.
const LIVE_LEAD: Duration = Duration::from_millis(250);
/// How often the harness checks whether every guest has resumed.
const POLL: Duration = Duration::from_millis(5);
/// File descriptors the harness needs besides the guests' sockets (agent calls, /proc, …).
const FD_MARGIN: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Cut {
    Restart,
    Drop,
    Vanish,
}

impl Cut {
    fn name(self) -> &'static str {
        match self {
            Cut::Restart => "restart",
            Cut::Drop => "drop",
            Cut::Vanish => "vanish",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Params {
    pub guests: usize,
    /// Messages each guest misses (sent while it is away), so each resume replays this many.
    pub missed: usize,
    pub cut: Cut,
    /// Agent messages per second during the storm, over all conversations (0: none).
    pub live_rate: u64,
    pub spread: u8,
    /// After a 4200 close, each guest's first reconnect waits a uniform draw in [0, this)
    /// (the SDK's `RECONNECT_SPREAD_MS`); 0: at once.
    pub reconnect_spread_ms: u64,
}

pub use arrivals::SPREAD_MS_DEFAULT;

/// What the cut itself took (restart only: SIGTERM → exit, exit → listening; drop and
/// vanish: closing or abandoning the sockets).
enum CutTimes {
    Restart { exit: Duration, start: Duration },
    Sockets(Duration),
}

pub async fn run(paths: &Paths, server: &mut Server, setup: &Setup, p: &Params) -> Result<Report> {
    check_fd_budget(p)?;
    let (guests, conversations, agent) = prepare(paths, server, setup, p).await?;
    let stored: Vec<AtomicU64> = guests.iter().map(|g| AtomicU64::new(g.last_seen)).collect();
    let stored = Arc::new(stored);
    eprintln!(
        "S5: agent sends {} messages into each of {} conversations",
        p.missed,
        conversations.len()
    );
    let missed = feed::batch(&setup.api, &agent, &conversations, p.missed, "missed").await?;
    for (cell, seq) in stored.iter().zip(missed) {
        cell.fetch_max(seq, Ordering::Relaxed);
    }
    let live = (p.live_rate > 0).then(|| {
        eprintln!("S5: agent sends {} messages/s from now on", p.live_rate);
        let deadline = Instant::now() + LIVE_LEAD + WAIT;
        let conversations = conversations.clone();
        let api = setup.api.clone();
        feed::Live::start(api, &agent, conversations, stored.clone(), p.live_rate, deadline)
    });
    if live.is_some() {
        tokio::time::sleep(LIVE_LEAD).await;
    }
    let storm = storm(paths, server, setup, guests, stored, live, p).await?;
    server.check_alive()?;
    Ok(report(server, &storm, p))
}

/// What the storm measured.
struct Storm {
    ctx: Arc<Ctx>,
    /// From the cut to the last guest resumed.
    took: Duration,
    cut_times: CutTimes,
    cpu_per_resume: Option<f64>,
    cores: serde_json::Value,
    live: Option<feed::LiveStats>,
    gauge: gauge::GaugeStats,
    /// 4101 refusals Porch counted (`/metrics`), since it last started.
    server_refused_4101: Option<i64>,
}

/// The cut, every guest through it, the agent stopped, and every guest's drain.
async fn storm(
    paths: &Paths,
    server: &mut Server,
    setup: &Setup,
    guests: Vec<Guest>,
    stored: Arc<Vec<AtomicU64>>,
    live: Option<feed::Live>,
    p: &Params,
) -> Result<Storm> {
    // Drop and vanish: measured on this Porch from the cut (read before it, as reading the
    // threads' CPU takes a few ms); restart: on the new process once it listens.
    let early_cpu = match p.cut {
        Cut::Restart => None,
        _ => Some(CpuMeter::start(server.pid())?),
    };
    let (finals_tx, finals_rx) = watch::channel(false);
    let ctx = Arc::new(Ctx {
        addr: server.addr,
        url: server.ws_url.clone(),
        spread: p.spread,
        cut: Instant::now(),
        reconnect_spread_ms: p.reconnect_spread_ms,
        spread_seed: spread_seed(),
        arrivals: arrivals::Arrivals::default(),
        resume_times: Latencies::new(),
        stored,
        finals: finals_rx,
        tally: Tally::default(),
        done: Counters::default(),
        latencies: Latencies::new(),
        last_resumed_us: AtomicU64::new(0),
    });
    eprintln!("S5: the cut ({})", p.cut.name());
    let _progress = Progress::start(format!("S5 resume {} guests", p.guests), ctx.done.clone());
    let gauge = gauge::Gauge::start(setup.api.clone(), p.guests, ctx.cut);
    let (tasks, cut_times, cpu, abandoned) = cut(paths, server, guests, &ctx, p.cut, early_cpu)?;

    if !wait_all_counted(&ctx.done, p.guests).await {
        eprintln!("  not every guest resumed or failed within {WAIT:?}");
    }
    let took = Duration::from_micros(ctx.last_resumed_us.load(Ordering::Relaxed));
    let cpu_per_resume = cpu.per_op(ctx.done.ok());
    let cores = cpu.cores();

    eprintln!("S5: agent stops; guests drain");
    let live = match live {
        Some(live) => Some(live.stop().await?),
        None => None,
    };
    // Every agent call is answered: `stored` holds each conversation's final `seq`.
    finals_tx.send(true)?;
    for task in tasks {
        task.await?;
    }
    drop(abandoned);
    let gauge = gauge.stop().await;
    let server_refused_4101 = gauge::metrics(&setup.api).await.and_then(|text| {
        gauge::value(&text, "porch_refusals_total{code=\"too_many_connections\"}")
    });
    Ok(Storm { ctx, took, cut_times, cpu_per_resume, cores, live, gauge, server_refused_4101 })
}

fn report(server: &Server, storm: &Storm, p: &Params) -> Report {
    let ctx = &storm.ctx;
    let resumed = ctx.done.ok();
    let mut report = Report {
        scenario: "S5".into(),
        target: "porch".into(),
        params: format!(
            "{} guests, {} missed, cut {}, live {}/s, reconnect spread {} ms",
            p.guests,
            p.missed,
            p.cut.name(),
            p.live_rate,
            p.reconnect_spread_ms
        ),
        ops: resumed,
        errors: ctx.done.errors() + ctx.tally.drain_failed.load(Ordering::Relaxed),
        secs: storm.took.as_secs_f64(),
        rate: resumed as f64 / storm.took.as_secs_f64().max(1e-9),
        latency_ms: ctx.latencies.summary(),
        server_cpu_us_per_op: storm.cpu_per_resume,
        server_rss_kib: server.rss_kib().ok(),
        ..Default::default()
    };
    add_cut(&mut report, &storm.cut_times, storm.took);
    add_tally(&mut report, &ctx.tally);
    if let Some(live) = &storm.live {
        add_live(&mut report, live, p.live_rate, ctx.cut, storm.took);
    }
    add_gauge(&mut report, &storm.gauge, storm.server_refused_4101);
    add_arrivals(&mut report, ctx, p.reconnect_spread_ms);
    report.extra("cores", storm.cores.clone());
    report
}

/// Vanish keeps two sockets per guest open in this process (the abandoned one and the new
/// one); past the open-file limit the reconnects would fail with EMFILE, not on Porch.
fn check_fd_budget(p: &Params) -> Result<()> {
    if p.cut != Cut::Vanish {
        return Ok(());
    }
    let limit = open_files_limit().unwrap_or(usize::MAX);
    let needed = 2 * p.guests + FD_MARGIN;
    if needed > limit {
        bail!(
            "--cut vanish holds two sockets per guest: {needed} file descriptors, over this \
             process's limit of {limit} (ulimit -n); use at most --guests {}",
            limit.saturating_sub(FD_MARGIN) / 2
        );
    }
    Ok(())
}

/// The soft limit on open files (`Max open files` of /proc/self/limits).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Guests connected and each having read the agent's first message (its `afterSeq`), in
/// index order; their conversations; the agent's token.
async fn prepare(
    paths: &Paths,
    server: &mut Server,
    setup: &Setup,
    p: &Params,
) -> Result<(Vec<Guest>, Arc<Vec<String>>, String)> {
    let sessions = create_guests(setup, p.guests).await?;
    let agent = create_agent(paths, server, "bench-agent-resume").await?;
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
    let conversations: Arc<Vec<String>> = Arc::new(connected.iter().map(|c| c.2.clone()).collect());

    eprintln!("S5: agent sends one message into each conversation, guests read it");
    // "Seen up to some seq": one agent message (its first reply also assigns the
    // conversation: a system entry before it), read by the guest.
    let seen = feed::batch(&setup.api, &agent, &conversations, 1, "seen").await?;
    let guests: Vec<Result<Guest>> = stream::iter(connected)
        .map(|(index, token, _, mut ws)| {
            let target = seen[index];
            async move {
                let last_seen =
                    read_until(&mut ws, target).await.with_context(|| format!("guest {index}"))?;
                Ok(Guest { index, token, old: Some(ws), last_seen })
            }
        })
        .buffer_unordered(p.guests.max(1))
        .collect()
        .await;
    let mut guests = guests.into_iter().collect::<Result<Vec<_>>>()?;
    guests.sort_by_key(|g| g.index);
    Ok((guests, conversations, agent))
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

type Tasks = Vec<tokio::task::JoinHandle<()>>;

/// The cut, and every guest's task started. Returns the tasks, what the cut took, the CPU
/// meter on the Porch that serves the storm, and the abandoned sockets (vanish) to hold
/// until the end.
fn cut(
    paths: &Paths,
    server: &mut Server,
    guests: Vec<Guest>,
    ctx: &Arc<Ctx>,
    mode: Cut,
    cpu: Option<CpuMeter>,
) -> Result<(Tasks, CutTimes, CpuMeter, Vec<Ws>)> {
    let spawn = |g: Guest| tokio::spawn(guest::run(g, ctx.clone()));
    if mode == Cut::Restart {
        // Each guest waits for its own old connection to end.
        let tasks = guests.into_iter().map(spawn).collect();
        let (exit, start) = tokio::task::block_in_place(|| server.restart_porch(paths))?;
        let cpu = CpuMeter::start(server.pid())?;
        return Ok((tasks, CutTimes::Restart { exit, start }, cpu, Vec::new()));
    }
    let cpu = cpu.context("a CPU meter started before the cut")?;
    // Each guest reconnects as soon as its own socket is gone: closing 10,000 loopback sockets
    // takes the harness about 0.2 s (each close also runs the RST through the kernel), and a
    // real network would not make the first guests wait for the last.
    let mut tasks = Vec::with_capacity(guests.len());
    let mut abandoned = Vec::new();
    for mut g in guests {
        if let Some(old) = g.old.take() {
            match mode {
                // Closed with frames unread, so the kernel sends RST: no close frame.
                Cut::Drop => drop(old),
                _ => abandoned.push(old),
            }
        }
        tasks.push(spawn(g));
    }
    Ok((tasks, CutTimes::Sockets(ctx.cut.elapsed()), cpu, abandoned))
}

/// Waits until every guest resumed or failed; false if some had not after `WAIT`.
async fn wait_all_counted(done: &Counters, guests: usize) -> bool {
    let deadline = Instant::now() + WAIT;
    while (done.ok() + done.errors()) < guests as u64 {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    true
}

fn add_cut(report: &mut Report, times: &CutTimes, storm: Duration) {
    match times {
        CutTimes::Restart { exit, start } => {
            report.extra("sigterm_to_exit_ms", exit.as_millis() as u64);
            report.extra("exit_to_listening_ms", start.as_millis() as u64);
            let listening = *exit + *start;
            let after = storm.saturating_sub(listening);
            report.extra("listening_to_last_resumed_ms", after.as_millis() as u64);
        }
        CutTimes::Sockets(took) => {
            report.extra("cut_sockets_ms", took.as_millis() as u64);
        }
    }
}

fn add_tally(report: &mut Report, t: &Tally) {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    report.extra("expected", load(&t.expected));
    report.extra("received", load(&t.received));
    report.extra("lost", load(&t.lost));
    report.extra("duplicated", load(&t.duplicated));
    report.extra("order_violations", load(&t.order_violations));
    report.extra("beyond_final", load(&t.beyond_final));
    report.extra("not_recovered", load(&t.not_recovered));
    report.extra("drain_failed", load(&t.drain_failed));
    report.extra("closed_4200", load(&t.closed_4200));
    report.extra("refused_4101", load(&t.refused_4101));
    report.extra("connect_retries", load(&t.connect_retries));
}

fn add_live(report: &mut Report, live: &feed::LiveStats, rate: u64, cut: Instant, storm: Duration) {
    let end = cut + storm;
    let during = live.answered_at.iter().filter(|&&at| at >= cut && at <= end).count();
    let offered = (storm.as_secs_f64() * rate as f64).round() as u64;
    report.extra("live_stored", live.stored);
    report.extra("live_offered_during_storm", offered);
    report.extra("live_stored_during_storm", during as u64);
    if let Some(l) = live.latencies.summary() {
        report.extra("live_due_to_stored_p99_ms", l.p99);
        report.extra("live_due_to_stored_max_ms", l.max);
    }
    if let Some(l) = live.call_latencies.summary() {
        report.extra("live_call_p99_ms", l.p99);
        report.extra("live_call_max_ms", l.max);
    }
    report.extra("live_retries", live.retries);
    report.extra("live_duplicate_acks", live.duplicate_acks);
    report.extra("live_late_max_ms", live.late_max.as_millis() as u64);
}

fn add_gauge(report: &mut Report, g: &gauge::GaugeStats, too_many: Option<i64>) {
    report.extra("peak_sessions", g.peak_sessions);
    if let Some(at) = g.lingering_until {
        report.extra("sessions_over_guests_until_ms", at.as_millis() as u64);
    }
    if let Some(n) = too_many {
        report.extra("server_refusals_4101", n);
    }
}

/// The spread's effect: resumes per 250 ms after the cut, their peak, and the resume time
/// without the spread's wait.
fn add_arrivals(report: &mut Report, ctx: &Ctx, spread_ms: u64) {
    let counts = ctx.arrivals.counts();
    report.extra("reconnect_spread_ms", spread_ms);
    report.extra("reconnect_spread_seed", ctx.spread_seed);
    report.extra("resumes_per_bucket_ms", arrivals::BUCKET.as_millis() as u64);
    report.extra("resumes_per_bucket_max", counts.iter().copied().max().unwrap_or(0));
    report.extra("resumes_per_bucket", counts);
    if let Some(l) = ctx.resume_times.summary() {
        report.extra(
            "resume_from_attempt_ms",
            serde_json::json!({ "p50": l.p50, "p99": l.p99, "max": l.max }),
        );
    }
}

/// A new draw each run (the seed is in the report, to compare runs with the same draws).
fn spread_seed() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| d.as_nanos() as u64)
}
