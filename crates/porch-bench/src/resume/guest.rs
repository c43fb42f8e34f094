//! One guest through the cut: the old connection's end (restart) or none (drop, vanish: the
//! harness already dropped or abandoned the socket), reconnection with `afterSeq` (retried
//! while Porch is down or refuses with 4101), `ready` with `resume.recovered = true`, and
//! every `seq` after `afterSeq` checked until the conversation's final one, whether it came
//! in the replay or live.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use porch_wire::frame::{Ready, ServerFrame};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::stats::{Counters, Latencies};
use crate::ws::{Ws, connect, source_addr};

/// A reconnect that fails to connect (Porch down, the port refusing) is retried after this
/// long: "at once", but not a busy loop that would take the cores Porch needs to start.
const RETRY: Duration = Duration::from_millis(10);
/// A 4101 `too_many_connections` refusal means "back off at least 1 s" (docs/protocol.md);
/// each guest adds up to `BACKOFF_JITTER` more so the retries do not arrive together.
const BACKOFF_4101: Duration = Duration::from_secs(1);
const BACKOFF_JITTER_MS: u64 = 250;
/// Limits on each step of a guest: the old connection's end, reconnection, `ready`, catching
/// up, and (once the conversation's final `seq` is known) the drain.
const WAIT: Duration = Duration::from_secs(60);
const CATCH_UP: Duration = Duration::from_secs(30);
const DRAIN: Duration = Duration::from_secs(5);

/// One guest at the cut.
pub struct Guest {
    pub index: usize,
    pub token: String,
    /// The connection from before the cut, when the guest itself waits for its end (restart).
    pub old: Option<Ws>,
    /// The last `seq` this guest read before the cut: its `afterSeq`.
    pub last_seen: u64,
}

/// Problems and figures across guests; any problem fails the run. A guest that failed
/// counts every `seq` it did not receive by then as lost.
#[derive(Default)]
pub struct Tally {
    /// `seq`s the guests should have received after their `afterSeq`, and did (each once).
    pub expected: AtomicU64,
    pub received: AtomicU64,
    pub lost: AtomicU64,
    pub duplicated: AtomicU64,
    /// A `seq` that arrived after a later one of the same conversation.
    pub order_violations: AtomicU64,
    /// A `seq` past what the agent stored: something else wrote to the conversation.
    pub beyond_final: AtomicU64,
    pub not_recovered: AtomicU64,
    /// Guests that resumed but failed while draining (connection ended, drain timed out).
    pub drain_failed: AtomicU64,
    pub closed_4200: AtomicU64,
    pub refused_4101: AtomicU64,
    pub connect_retries: AtomicU64,
}

/// What every guest task shares.
pub struct Ctx {
    pub addr: SocketAddr,
    pub url: String,
    pub spread: u8,
    pub cut: Instant,
    /// After a 4200 close, each guest's first reconnect waits a draw in [0, this) (the SDK's
    /// `RECONNECT_SPREAD_MS`; `arrivals`), from `spread_seed`.
    pub reconnect_spread_ms: u64,
    pub spread_seed: u64,
    /// Resumes per 250 ms after the cut.
    pub arrivals: super::arrivals::Arrivals,
    /// Each guest's resume time: from its first reconnect attempt (after its spread draw) to
    /// resumed, the part the spread does not add.
    pub resume_times: Latencies,
    /// Per conversation (by guest index): the largest `seq` the agent's sends were stored at,
    /// as their answers arrive; final once `finals` says so.
    pub stored: Arc<Vec<AtomicU64>>,
    pub finals: watch::Receiver<bool>,
    pub tally: Tally,
    /// Resumed (ok) or failed before resuming (error): the storm ends when all are counted.
    pub done: Counters,
    pub latencies: Latencies,
    /// The latest resume, in µs after the cut.
    pub last_resumed_us: AtomicU64,
}

/// A guest's view of its conversation after the cut: every `seq` above `after`, once each,
/// in order.
struct Log {
    after: u64,
    seen: BTreeSet<u64>,
    /// Every `seq` in `after + 1 ..= contiguous` has arrived.
    contiguous: u64,
    max: u64,
}

impl Log {
    fn new(after: u64) -> Log {
        Log { after, seen: BTreeSet::new(), contiguous: after, max: after }
    }

    fn record(&mut self, seq: u64, tally: &Tally) {
        if seq <= self.after || !self.seen.insert(seq) {
            // Seen before the cut, or earlier since.
            tally.duplicated.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if seq < self.max {
            tally.order_violations.fetch_add(1, Ordering::Relaxed);
        }
        self.max = self.max.max(seq);
        while self.seen.contains(&(self.contiguous + 1)) {
            self.contiguous += 1;
        }
    }

    /// Adds this guest's counts against the conversation's final `seq`.
    fn tally(&self, last: u64, tally: &Tally) {
        let expected = last.saturating_sub(self.after);
        let received = self.seen.range(self.after + 1..=last).count() as u64;
        let beyond = self.seen.range(last + 1..).count() as u64;
        tally.expected.fetch_add(expected, Ordering::Relaxed);
        tally.received.fetch_add(received, Ordering::Relaxed);
        tally.lost.fetch_add(expected - received, Ordering::Relaxed);
        tally.beyond_final.fetch_add(beyond, Ordering::Relaxed);
    }
}

/// One guest from the cut to the end of the drain; everything it finds goes into `ctx`.
pub async fn run(mut g: Guest, ctx: Arc<Ctx>) {
    let mut log = Log::new(g.last_seen);
    let ws = match resume(&mut g, &ctx, &mut log).await {
        Ok(ws) => {
            let at = ctx.cut.elapsed();
            ctx.latencies.record(at);
            ctx.arrivals.record(at);
            ctx.last_resumed_us.fetch_max(at.as_micros() as u64, Ordering::Relaxed);
            ctx.done.add_ok();
            Some(ws)
        }
        Err(e) => {
            report_failure(&ctx, g.index, &e);
            ctx.done.add_error();
            None
        }
    };
    let mut finals = ctx.finals.clone();
    let drained = match ws {
        Some(mut ws) => drain(&mut ws, &mut log, &ctx, g.index, &mut finals).await,
        // Failed already; only the tally waits for the final `seq`s.
        None => finals.wait_for(|known| *known).await.map(|_| ()).map_err(Into::into),
    };
    if let Err(e) = drained {
        ctx.tally.drain_failed.fetch_add(1, Ordering::Relaxed);
        report_failure(&ctx, g.index, &e.context("after resuming"));
    }
    log.tally(ctx.stored[g.index].load(Ordering::Relaxed), &ctx.tally);
}

/// The first few failures are printed; the rest only counted.
fn report_failure(ctx: &Ctx, index: usize, e: &anyhow::Error) {
    let failures = ctx.done.errors() + ctx.tally.drain_failed.load(Ordering::Relaxed);
    if failures < 5 {
        eprintln!("  guest {index} failed: {e:#}");
    }
}

/// From the cut to "resumed": reconnected, `ready` with `recovered = true`, and caught up to
/// the last `seq` stored before the reconnect.
async fn resume(g: &mut Guest, ctx: &Ctx, log: &mut Log) -> Result<Ws> {
    if let Some(old) = g.old.take()
        && wait_end(old, &ctx.tally).await? == Some(4200)
    {
        // As the SDK after a 42xx close: a uniform draw in the spread window, then reconnect.
        let wait = super::arrivals::first_delay(g.index, ctx.spread_seed, ctx.reconnect_spread_ms);
        tokio::time::sleep(wait).await;
    }
    let attempt = Instant::now();
    let (mut ws, target) = reconnect(g, ctx).await?;
    tokio::time::timeout(CATCH_UP, async {
        while log.contiguous < target {
            let seq = next_seq(&mut ws, CATCH_UP).await?;
            log.record(seq, &ctx.tally);
        }
        anyhow::Ok(())
    })
    .await
    .with_context(|| {
        format!(
            "not caught up to seq {target} within {CATCH_UP:?} (have every seq up to {})",
            log.contiguous
        )
    })??;
    ctx.resume_times.record(attempt.elapsed());
    Ok(ws)
}

/// Restart: the old connection until Porch ends it; whatever was in flight is dropped unread,
/// as a phone that lost its network would lose it. Returns the close code, if any.
async fn wait_end(mut old: Ws, tally: &Tally) -> Result<Option<u16>> {
    let code = tokio::time::timeout(WAIT, async {
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
    .context("the old connection did not end")?;
    if code == Some(4200) {
        tally.closed_4200.fetch_add(1, Ordering::Relaxed);
    }
    Ok(code)
}

/// Connects with `afterSeq` until a `ready` with a recovered resume. Returns the connection
/// and the conversation's last stored `seq` when the successful attempt began.
async fn reconnect(g: &Guest, ctx: &Ctx) -> Result<(Ws, u64)> {
    let url = format!("{}?afterSeq={}", ctx.url, g.last_seen);
    let source = source_addr(g.index, ctx.spread);
    let deadline = Instant::now() + WAIT;
    loop {
        let target = ctx.stored[g.index].load(Ordering::Relaxed);
        let retry = match connect(ctx.addr, &url, Some(&g.token), source).await {
            Err(e) => {
                ctx.tally.connect_retries.fetch_add(1, Ordering::Relaxed);
                (RETRY, e)
            }
            Ok(mut ws) => match first_frame(&mut ws).await? {
                First::Ready(ready) => {
                    check_recovered(&ready, &ctx.tally)?;
                    return Ok((ws, target));
                }
                First::Closed(4101, reason) => {
                    ctx.tally.refused_4101.fetch_add(1, Ordering::Relaxed);
                    let jitter = (g.index as u64 * 7919) % BACKOFF_JITTER_MS;
                    let wait = BACKOFF_4101 + Duration::from_millis(jitter);
                    (wait, anyhow::anyhow!("refused with 4101: {reason}"))
                }
                // The old process accepted before it stopped listening: reconnect now.
                First::Closed(4200, reason) => (RETRY, anyhow::anyhow!("4200: {reason}")),
                First::Closed(code, reason) => bail!("refused with {code}: {reason}"),
            },
        };
        if Instant::now() + retry.0 > deadline {
            bail!("no resume within {WAIT:?}; last attempt: {:#}", retry.1);
        }
        tokio::time::sleep(retry.0).await;
    }
}

fn check_recovered(ready: &Ready, tally: &Tally) -> Result<()> {
    match &ready.resume {
        Some(r) if r.recovered => Ok(()),
        other => {
            tally.not_recovered.fetch_add(1, Ordering::Relaxed);
            bail!("`ready` did not recover the resume: {other:?}")
        }
    }
}

enum First {
    Ready(Box<Ready>),
    Closed(u16, String),
}

/// The server's first frame: `ready`, or the close of a refusal given after the upgrade.
async fn first_frame(ws: &mut Ws) -> Result<First> {
    let item = tokio::time::timeout(WAIT, ws.next())
        .await
        .with_context(|| format!("no first frame within {WAIT:?}"))?;
    match item {
        Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
            Ok(ServerFrame::Ready(ready)) => Ok(First::Ready(Box::new(ready))),
            _ => bail!("first frame is not `ready`: {}", text.as_str()),
        },
        Some(Ok(Message::Close(frame))) => {
            let (code, reason) = frame.map_or((1005, String::new()), |f| {
                (u16::from(f.code), f.reason.as_str().to_owned())
            });
            Ok(First::Closed(code, reason))
        }
        Some(Ok(other)) => bail!("first frame is not `ready`: {other:?}"),
        Some(Err(e)) => bail!("reading the first frame: {e}"),
        None => bail!("the connection ended before `ready`"),
    }
}

/// The `seq` of the next `message` frame (other frames are skipped), within `limit`.
async fn next_seq(ws: &mut Ws, limit: Duration) -> Result<u64> {
    loop {
        let text = crate::ws::next_text(ws, limit).await?;
        if let Ok(ServerFrame::Message { message }) = serde_json::from_str(&text) {
            return Ok(message.seq);
        }
    }
}

/// After resuming: live messages keep coming until the agent stops; then every `seq` up to
/// the conversation's final one must arrive within `DRAIN`.
async fn drain(
    ws: &mut Ws,
    log: &mut Log,
    ctx: &Ctx,
    index: usize,
    finals: &mut watch::Receiver<bool>,
) -> Result<()> {
    while !*finals.borrow() {
        tokio::select! {
            // The storm and the agent's stop are bounded by `WAIT` each.
            seq = next_seq(ws, 2 * WAIT) => log.record(seq?, &ctx.tally),
            changed = finals.changed() => changed?,
        }
    }
    let last = ctx.stored[index].load(Ordering::Relaxed);
    tokio::time::timeout(DRAIN, async {
        while log.contiguous < last {
            log.record(next_seq(ws, DRAIN).await?, &ctx.tally);
        }
        anyhow::Ok(())
    })
    .await
    .with_context(|| {
        format!(
            "seq {} never arrived (drained {DRAIN:?}; conversation ends at {last})",
            log.contiguous + 1
        )
    })?
}
