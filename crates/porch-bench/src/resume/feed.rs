//! The agent's messages, over REST (`POST /agent/conversations/{id}/messages`): batches before
//! the cut, and the live feed that keeps appending during the storm. (One agent WebSocket on
//! the queue is not used: replies to hundreds of conversations at once got it closed with
//! 4201 `slow_consumer`.)

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{StreamExt, stream};
use porch_client::Api;
use porch_client::api::ApiError;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::stats::Latencies;

/// Agent REST calls in flight before the cut.
const BATCH_CONCURRENCY: usize = 16;
/// Live-feed calls in flight. At 10,000 guests Porch took up to 0.9 s to answer one during
/// the storm, so 1,000/s would need ~1,000; bounded (an agent backend would not open that
/// many) so a stalled server queues sends in the harness, behind schedule (`late_max`).
const LIVE_IN_FLIGHT: usize = 128;
/// One live call that takes longer is abandoned and sent again with the same
/// `clientMessageId` (safe: Porch stores it once).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A live send refused while Porch restarts (or is busy) is retried after this long.
const SEND_RETRY: Duration = Duration::from_millis(10);

/// `per_conversation` messages into each conversation, `BATCH_CONCURRENCY` at a time, each
/// stored once its call returns. Returns the largest stored `seq` per conversation (by index).
pub async fn batch(
    api: &Api,
    agent_token: &str,
    conversations: &[String],
    per_conversation: usize,
    tag: &str,
) -> Result<Vec<u64>> {
    let sends = (0..per_conversation).flat_map(|j| (0..conversations.len()).map(move |c| (c, j)));
    let stored: Vec<Result<(usize, u64)>> = stream::iter(sends)
        .map(|(c, j)| async move {
            let id = format!("{tag}-{c}-{j}");
            let conversation = &conversations[c];
            let sent = api
                .agent_send(agent_token, conversation, &id, &id)
                .await
                .map_err(|e| anyhow!("agent send into {conversation}: {e:?}"))?;
            Ok((c, sent.body.message.seq))
        })
        .buffer_unordered(BATCH_CONCURRENCY)
        .collect()
        .await;
    let mut last = vec![0; conversations.len()];
    for result in stored {
        let (c, seq) = result?;
        last[c] = last[c].max(seq);
    }
    Ok(last)
}

/// What the live feed did.
pub struct LiveStats {
    /// Messages stored (answered 201, or 200 `duplicate` for a retried one).
    pub stored: u64,
    /// Stored by an earlier attempt whose answer was lost (a retry answered `duplicate`).
    pub duplicate_acks: u64,
    pub retries: u64,
    /// The most a send started behind its schedule (`start + i / rate`).
    pub late_max: Duration,
    /// When each answer arrived, to count those of the storm.
    pub answered_at: Vec<Instant>,
    /// From each message's due time to its answer: how long the storm held up agent writes,
    /// waiting for a free call included.
    pub latencies: Latencies,
    /// From each message's first call to its answer: Porch's part of it.
    pub call_latencies: Latencies,
}

/// The live feed: `rate` messages/s in total, open loop (message `i` is due at
/// `start + i / rate` whether or not earlier ones were answered), conversation `i % n` in
/// turn, at most `LIVE_IN_FLIGHT` calls at a time, each retried until stored or `deadline`.
/// Every answer raises its conversation's entry of `stored`.
pub struct Live {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Result<LiveStats>>,
}

/// What one live send needs.
#[derive(Clone)]
struct Sender {
    api: Api,
    token: Arc<str>,
    conversations: Arc<Vec<String>>,
    stored: Arc<Vec<AtomicU64>>,
    deadline: Instant,
}

/// One answered live send.
struct Sent {
    duplicate: bool,
    retries: u64,
    due: Instant,
    called: Instant,
    at: Instant,
}

impl Live {
    pub fn start(
        api: Api,
        token: &str,
        conversations: Arc<Vec<String>>,
        stored: Arc<Vec<AtomicU64>>,
        rate: u64,
        deadline: Instant,
    ) -> Live {
        let stop = Arc::new(AtomicBool::new(false));
        let sender = Sender { api, token: token.into(), conversations, stored, deadline };
        let task = tokio::spawn(feed(sender, rate, stop.clone()));
        Live { stop, task }
    }

    /// Stops sending and waits until every send in flight is answered.
    pub async fn stop(self) -> Result<LiveStats> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await?
    }
}

async fn feed(sender: Sender, rate: u64, stop: Arc<AtomicBool>) -> Result<LiveStats> {
    let permits = Arc::new(Semaphore::new(LIVE_IN_FLIGHT));
    let stats = Mutex::new(LiveStats {
        stored: 0,
        duplicate_acks: 0,
        retries: 0,
        late_max: Duration::ZERO,
        answered_at: Vec::new(),
        latencies: Latencies::new(),
        call_latencies: Latencies::new(),
    });
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    for i in 0u64.. {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        if stop.load(Ordering::Relaxed) || Instant::now() > sender.deadline {
            break;
        }
        let permit = permits.clone().acquire_owned().await?;
        {
            let mut s = stats.lock().expect("not poisoned");
            s.late_max = s.late_max.max(due.elapsed());
        }
        let sender = sender.clone();
        tasks.spawn(async move {
            let _permit = permit;
            sender.send(i, due).await
        });
        while let Some(done) = tasks.try_join_next() {
            add(&stats, done??);
        }
    }
    while let Some(done) = tasks.join_next().await {
        add(&stats, done??);
    }
    Ok(stats.into_inner().expect("not poisoned"))
}

fn add(stats: &Mutex<LiveStats>, sent: Sent) {
    let mut s = stats.lock().expect("not poisoned");
    s.stored += 1;
    s.duplicate_acks += u64::from(sent.duplicate);
    s.retries += sent.retries;
    s.answered_at.push(sent.at);
    s.latencies.record(sent.at - sent.due);
    s.call_latencies.record(sent.at - sent.called);
}

impl Sender {
    /// Live message `i`, retried with the same `clientMessageId` until it is stored.
    async fn send(&self, i: u64, due: Instant) -> Result<Sent> {
        let c = (i % self.conversations.len() as u64) as usize;
        let conversation = &self.conversations[c];
        let id = format!("live-{i}");
        let called = Instant::now();
        let mut retries = 0;
        loop {
            let call = self.api.agent_send(&self.token, conversation, &id, &id);
            let error = match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
                Ok(Ok(sent)) => {
                    self.stored[c].fetch_max(sent.body.message.seq, Ordering::Relaxed);
                    return Ok(Sent {
                        duplicate: sent.body.duplicate,
                        retries,
                        due,
                        called,
                        at: Instant::now(),
                    });
                }
                Ok(Err(e)) if !retryable(&e) => {
                    bail!("live message {id} into {conversation} refused: {e:?}")
                }
                Ok(Err(e)) => format!("{e:?}"),
                Err(_) => format!("no answer within {REQUEST_TIMEOUT:?}"),
            };
            if Instant::now() > self.deadline {
                return Err(anyhow!("{error}")).with_context(|| {
                    format!("live message {id} into {conversation} not stored by the deadline ({retries} retries)")
                });
            }
            retries += 1;
            tokio::time::sleep(SEND_RETRY).await;
        }
    }
}

/// Worth sending again with the same id: the server was down or restarting, or said so.
fn retryable(e: &ApiError) -> bool {
    match e {
        ApiError::Transport(_) => true,
        ApiError::Http { status, .. } => matches!(status, 429 | 502 | 503 | 504),
        ApiError::Decode(_) => false,
    }
}
