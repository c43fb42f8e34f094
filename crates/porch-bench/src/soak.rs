//! S7, the soak: connections churn for a bounded time, the way real visitors and agents come
//! and go (connect, chat, disconnect cleanly or by dropping the socket, reconnect resuming
//! with `afterSeq`, refresh the token), in rounds. After each round every client has left, and
//! once the server says so (`porch_gateway_sessions` 0) its resident memory, open files,
//! threads and runtime tasks are sampled. A leak grows from one quiet sample to the next;
//! the run is broken when the last quiet sample exceeds the first (round 0 is the warm-up)
//! by more than the bounds. A bound on growth, never a speed target.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use porch_client::{Api, Event, Gateway};
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::GuestSession;
use tokio::sync::Mutex;

use crate::porch::Setup;
use crate::server::Server;
use crate::stats::{Counters, Progress, Report};

#[derive(Clone, Debug)]
pub struct Params {
    pub secs: u64,
    pub round_secs: u64,
    /// Guests taking turns (each its own conversation).
    pub guests: usize,
    /// Clients churning at once.
    pub concurrency: usize,
    pub rss_growth_kib_max: u64,
    pub fds_growth_max: u64,
    pub tasks_growth_max: u64,
}

/// Messages a client sends per visit before it leaves.
const MESSAGES_PER_VISIT: usize = 3;
/// One visit in this many refreshes the guest's token first.
const REFRESH_ONE_IN: u64 = 4;
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the server may take to notice every client has left.
const QUIET_TIMEOUT: Duration = Duration::from_secs(30);

/// One quiet sample.
#[derive(Clone, Copy, Debug, serde::Serialize)]
struct Sample {
    rss_kib: u64,
    fds: u64,
    threads: u64,
    tasks: u64,
}

/// A guest's token and the last seq it saw, shared by the visits that take turns on it.
struct Visitor {
    session: GuestSession,
    token: String,
    last_seq: u64,
}

pub async fn run(
    server: &mut Server,
    setup: &Setup,
    agent_token: String,
    p: &Params,
) -> Result<Report> {
    let guests = crate::porch::create_guests(setup, p.guests).await?;
    let visitors: Arc<Vec<Mutex<Visitor>>> = Arc::new(
        guests
            .into_iter()
            .map(|session| {
                Mutex::new(Visitor { token: session.access_token.clone(), session, last_seq: 0 })
            })
            .collect(),
    );
    let counters = Counters::default();
    let _progress = Progress::start("S7 soak".into(), counters.clone());
    let api = setup.api.clone();
    let mut agent_token = agent_token;
    let mut samples = Vec::new();
    let visits = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let rounds = (p.secs / p.round_secs.max(1)).max(2);
    for round in 0..rounds {
        let until = Instant::now() + Duration::from_secs(p.round_secs);
        agent_token = api
            .refresh_agent(&agent_token)
            .await
            .context("refreshing the agent's token")?
            .access_token;
        let agent = tokio::spawn(agent_visit(
            server.ws_url.clone(),
            agent_token.clone(),
            until,
            counters.clone(),
        ));
        let workers: Vec<_> = (0..p.concurrency)
            .map(|w| {
                let worker = Worker {
                    api: api.clone(),
                    ws_url: server.ws_url.clone(),
                    visitors: visitors.clone(),
                    visits: visits.clone(),
                    counters: counters.clone(),
                };
                tokio::spawn(worker.run(w, until))
            })
            .collect();
        for worker in workers {
            worker.await?;
        }
        agent.await?;
        server.check_alive()?;
        let sample = quiet_sample(server, &api).await?;
        eprintln!("  round {round}: {sample:?}");
        samples.push(sample);
    }
    let secs = start.elapsed().as_secs_f64();
    let mut report = Report {
        scenario: "S7".into(),
        target: "porch".into(),
        params: format!("{} s, {} guests, {} at once", p.secs, p.guests, p.concurrency),
        ops: counters.ok(),
        errors: counters.errors(),
        secs,
        rate: counters.ok() as f64 / secs,
        server_rss_kib: samples.last().map(|s| s.rss_kib),
        ..Default::default()
    };
    judge(&mut report, &samples, p);
    report.extra("visits", visits.load(Ordering::Relaxed));
    Ok(report)
}

/// Growth from the first quiet sample after the warm-up round to the last, held to the bounds.
fn judge(report: &mut Report, samples: &[Sample], p: &Params) {
    let (first, last) = (samples[1.min(samples.len() - 1)], samples[samples.len() - 1]);
    let growth = |a: u64, b: u64| b as i64 - a as i64;
    let checks = [
        ("rss_kib", growth(first.rss_kib, last.rss_kib), p.rss_growth_kib_max),
        ("fds", growth(first.fds, last.fds), p.fds_growth_max),
        ("tasks", growth(first.tasks, last.tasks), p.tasks_growth_max),
    ];
    let mut grew = Vec::new();
    for (name, delta, bound) in checks {
        report.extra(&format!("{name}_growth"), delta);
        report.extra(&format!("{name}_growth_max"), bound);
        if delta > bound as i64 {
            grew.push(format!("{name} +{delta} (bound {bound})"));
        }
    }
    report.extra("threads_growth", growth(first.threads, last.threads));
    report.extra("samples", serde_json::to_value(samples).unwrap_or_default());
    if !grew.is_empty() {
        eprintln!("  grew beyond the bounds: {}", grew.join(", "));
    }
    report.extra("grew", grew.len() as u64);
}

/// Waits until the server holds no session and at most the one HTTP connection asking, then
/// samples it.
async fn quiet_sample(server: &Server, api: &Api) -> Result<Sample> {
    let deadline = Instant::now() + QUIET_TIMEOUT;
    loop {
        let metrics = api.http().get(api.url("/metrics")).send().await?.text().await?;
        let gauge = |name: &str| -> u64 {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or(u64::MAX)
        };
        if gauge("porch_gateway_sessions") == 0 && gauge("porch_tcp_connections") <= 1 {
            let pid = server.pid();
            return Ok(Sample {
                rss_kib: server.rss_kib()?,
                fds: std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64,
                threads: std::fs::read_dir(format!("/proc/{pid}/task"))?.count() as u64,
                tasks: gauge("porch_runtime_tasks"),
            });
        }
        if Instant::now() > deadline {
            bail!("the server still holds sessions {QUIET_TIMEOUT:?} after every client left");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Worker {
    api: Api,
    ws_url: String,
    visitors: Arc<Vec<Mutex<Visitor>>>,
    visits: Arc<AtomicU64>,
    counters: Counters,
}

impl Worker {
    /// Visits guests in turn until `until`: each visit is one connection.
    async fn run(self, worker: usize, until: Instant) {
        let mut turn = worker;
        while Instant::now() < until {
            let visit = self.visits.fetch_add(1, Ordering::Relaxed);
            let mut visitor = self.visitors[turn % self.visitors.len()].lock().await;
            match self.visit(&mut visitor, visit).await {
                Ok(()) => {}
                Err(e) => {
                    if self.counters.errors() < 5 {
                        eprintln!("  visit {visit}: {e:#}");
                    }
                    self.counters.add_error();
                }
            }
            turn += 1 + worker;
        }
    }

    /// Connect (resuming every other time), send and get the acks, leave (cleanly or not).
    async fn visit(&self, v: &mut Visitor, visit: u64) -> Result<()> {
        if visit.is_multiple_of(REFRESH_ONE_IN) {
            v.token = self
                .api
                .refresh_guest(&v.token)
                .await
                .context("refreshing a guest token")?
                .access_token;
        }
        let resume = visit.is_multiple_of(2).then_some(v.last_seq);
        let mut socket = Gateway::connect(&self.ws_url, &v.token, resume)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        socket
            .wait_for(ANSWER_TIMEOUT, |f| matches!(f, ServerFrame::Ready(_)))
            .await
            .map_err(|e| anyhow::anyhow!("no ready: {e:?}"))?;
        for n in 0..MESSAGES_PER_VISIT {
            let frame = ClientFrame::Send {
                client_message_id: format!("{}-{visit}-{n}", v.session.guest_id),
                text: format!("soak visit {visit} message {n}"),
                conversation_id: None,
            };
            socket.send(&frame).await.map_err(anyhow::Error::msg)?;
            match socket
                .wait_for(ANSWER_TIMEOUT, |f| {
                    matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. })
                })
                .await
            {
                Ok(ServerFrame::Ack { message, .. }) => {
                    v.last_seq = v.last_seq.max(message.seq);
                    self.counters.add_ok();
                }
                other => bail!("send refused or unanswered: {other:?}"),
            }
        }
        if visit.is_multiple_of(3) {
            drop(socket); // gone without a close frame, as a tab killed
        } else {
            socket.close().await;
        }
        Ok(())
    }
}

/// The agent: one connection per round, replying now and then, left at the round's end.
async fn agent_visit(ws_url: String, token: String, until: Instant, counters: Counters) {
    let Ok(mut socket) = Gateway::connect(&ws_url, &token, None).await else {
        counters.add_error();
        return;
    };
    let mut replies = 0u64;
    while Instant::now() < until {
        match socket.next(Duration::from_millis(200)).await {
            Some(Event::Frame(ServerFrame::Message { message }))
                if replies < 200 && message.seq % 7 == 0 =>
            {
                replies += 1;
                let frame = ClientFrame::Send {
                    client_message_id: format!("agent-{}-{}", message.conversation_id, message.seq),
                    text: "noted".into(),
                    conversation_id: Some(message.conversation_id),
                };
                if socket.send(&frame).await.is_err() {
                    break;
                }
            }
            Some(Event::Closed { .. } | Event::Dropped(_)) => break,
            _ => {}
        }
    }
    socket.close().await;
}
