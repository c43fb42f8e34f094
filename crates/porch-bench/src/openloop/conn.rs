//! One connection during one step of the ladder: a sender that writes each message when it is
//! due, whether or not earlier answers came back, and a receiver that pairs answers with
//! requests and records each latency from the request's due time (so a late send, held back
//! by a slow server or by TCP backpressure, counts against the target: no coordinated
//! omission). The two run concurrently on the connection's halves: a sender blocked on a full
//! socket must not stop the answers from being read, or neither side would make progress.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{Result, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

use super::frames::{Answer, Frames};
use crate::stats::{Counters, Latencies};
use crate::ws::Ws;

/// A connection kept across the steps of a ladder.
pub struct Conn {
    sink: SplitSink<Ws, Message>,
    stream: SplitStream<Ws>,
    /// The next request's number: never reused on this connection (Porch would answer a
    /// reused `clientMessageId` as a duplicate).
    next_seq: u64,
}

impl Conn {
    pub fn new(ws: Ws) -> Conn {
        let (sink, stream) = ws.split();
        Conn { sink, stream, next_seq: 0 }
    }

    pub async fn close(self) {
        if let Ok(mut ws) = self.sink.reunite(self.stream) {
            let _ = ws.close(None).await;
        }
    }
}

/// This connection's share of a step.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// When message 0 of the step is due on a connection with phase 0.
    pub start: Instant,
    pub interval: Duration,
    /// This connection's offset within an interval, so the connections' messages interleave
    /// evenly instead of leaving in bursts of `conns`.
    pub phase: Duration,
    pub count: u64,
    /// Nothing is sent, and no answer waited for, after this.
    pub deadline: Instant,
    pub max_in_flight: usize,
}

impl Schedule {
    fn due(&self, i: u64) -> Instant {
        self.start + self.phase + self.interval.mul_f64(i as f64)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub sent: u64,
    pub answered: u64,
    /// Answers to no request in flight: a harness or target bug, never a timing.
    pub unmatched: u64,
    /// Requests still unanswered at the deadline (recorded at the deadline's latency).
    pub unanswered: u64,
    /// Messages due in the step but never sent (deadline passed or too many in flight).
    pub unsent: u64,
    pub max_in_flight: usize,
    /// The in-flight cap stopped the sender.
    pub overflowed: bool,
    pub last_answer: Option<Instant>,
}

/// Requests sent and not answered yet: number → due time.
type InFlight = Mutex<BTreeMap<u64, Instant>>;

/// Runs `schedule` on `conn`. Every answer's latency goes to `latencies`, and to `counters`
/// for the progress line.
pub async fn run_step(
    conn: &mut Conn,
    frames: &Frames,
    schedule: &Schedule,
    latencies: &Latencies,
    counters: &Counters,
) -> Result<Outcome> {
    let in_flight = InFlight::default();
    let sender_done = Notify::new();
    let Conn { sink, stream, next_seq } = conn;
    let send = send_due(sink, next_seq, frames, schedule, &in_flight, &sender_done);
    let receive = receive(stream, frames, schedule, &in_flight, &sender_done, latencies, counters);
    let (mut outcome, (answered, unmatched, last_answer)) = tokio::try_join!(send, receive)?;
    outcome.answered = answered;
    outcome.unmatched = unmatched;
    outcome.last_answer = last_answer;
    // Whatever is still in flight took at least until now: recording it keeps the p99
    // honest when a step overloads the target.
    let now = Instant::now();
    let left = std::mem::take(&mut *in_flight.lock().expect("not poisoned"));
    outcome.unanswered = left.len() as u64;
    for due in left.values() {
        latencies.record(now.saturating_duration_since(*due));
    }
    Ok(outcome)
}

async fn send_due(
    sink: &mut SplitSink<Ws, Message>,
    next_seq: &mut u64,
    frames: &Frames,
    schedule: &Schedule,
    in_flight: &InFlight,
    done: &Notify,
) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    // One timer, reset for each message: 100,000 messages/s would otherwise register as
    // many timers.
    let sleep = tokio::time::sleep_until(schedule.start);
    tokio::pin!(sleep);
    for i in 0..schedule.count {
        let due = schedule.due(i);
        // Only sleep when early: a late sender catches up at once rather than wait a tick.
        if due > Instant::now() {
            sleep.as_mut().reset(due);
            sleep.as_mut().await;
        }
        let outstanding = in_flight.lock().expect("not poisoned").len();
        outcome.max_in_flight = outcome.max_in_flight.max(outstanding + 1);
        if outstanding >= schedule.max_in_flight || Instant::now() >= schedule.deadline {
            outcome.overflowed = outstanding >= schedule.max_in_flight;
            outcome.unsent = schedule.count - i;
            break;
        }
        let seq = *next_seq;
        *next_seq += 1;
        // Before the write: the answer may be read before `send` returns.
        in_flight.lock().expect("not poisoned").insert(seq, due);
        sink.send(Message::text(frames.request(seq))).await?;
        outcome.sent += 1;
    }
    // A stored permit: the receiver learns it even if it is not waiting yet.
    done.notify_one();
    Ok(outcome)
}

/// Reads answers until the sender is done and nothing is in flight, or the deadline.
/// Returns (answered, unmatched, time of the last answer).
async fn receive(
    stream: &mut SplitStream<Ws>,
    frames: &Frames,
    schedule: &Schedule,
    in_flight: &InFlight,
    sender_done: &Notify,
    latencies: &Latencies,
    counters: &Counters,
) -> Result<(u64, u64, Option<Instant>)> {
    let (mut answered, mut unmatched, mut last_answer) = (0, 0, None);
    let mut done = false;
    // Made once, not per frame: each would take the Notify's lock and a timer entry.
    let deadline = tokio::time::sleep_until(schedule.deadline);
    let notified = sender_done.notified();
    tokio::pin!(deadline, notified);
    loop {
        if done && in_flight.lock().expect("not poisoned").is_empty() {
            break;
        }
        let item = tokio::select! {
            item = stream.next() => item,
            _ = &mut notified, if !done => { done = true; continue; }
            _ = &mut deadline => break,
        };
        let text = match item {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => bail!("closed by the server: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("{e}"),
            None => bail!("connection ended"),
        };
        let due = {
            let mut in_flight = in_flight.lock().expect("not poisoned");
            match frames.answer(text.as_str())? {
                Answer::Seq(seq) => in_flight.remove(&seq),
                Answer::Oldest => in_flight.pop_first().map(|(_, due)| due),
                Answer::Unrelated => continue,
            }
        };
        let Some(due) = due else {
            unmatched += 1;
            continue;
        };
        let now = Instant::now();
        latencies.record(now.saturating_duration_since(due));
        counters.add_ok();
        answered += 1;
        last_answer = Some(now);
    }
    Ok((answered, unmatched, last_answer))
}
