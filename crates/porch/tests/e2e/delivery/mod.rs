//! Delivery under a hostile network and a hostile client (issue 6, "Done means" 2 and 3):
//! the network cut mid-stream, a client that stops reading, and resumes racing live traffic.
//! Each test plays the client the way `docs/delivery.md` says a client must behave, and checks
//! its view against the store (REST history) at the end. This file holds the client model and
//! helpers; each test has its own file.

mod network_cut;
mod resume_race;
mod slow_consumer;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use porch_client::{Api, Event, Gateway};
use porch_wire::frame::{ClientFrame, Ready, ServerFrame};
use porch_wire::rest::{Message, Role};
use tokio::sync::watch;
use tokio::time::{Instant, timeout};

use crate::proxy::Proxy;
use crate::support::*;

fn send(id: &str, text: &str) -> ClientFrame {
    ClientFrame::Send { client_message_id: id.into(), text: text.into(), conversation_id: None }
}

fn server_addr(server: &TestServer) -> SocketAddr {
    server
        .api
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("the test server listens on ip:port")
}

/// The whole log as REST serves it to the guest, paged with `after=`.
async fn guest_history(api: &Api, token: &str) -> Vec<Message> {
    guest_history_after(api, token, 0).await
}

/// What a client that was told to page history reads: everything after `after`.
async fn guest_history_after(api: &Api, token: &str, after: u64) -> Vec<Message> {
    guest_history_range(api, token, after, u64::MAX).await
}

/// History pages after `after`, until an entry at or beyond `upto` (which is kept).
async fn guest_history_range(api: &Api, token: &str, after: u64, upto: u64) -> Vec<Message> {
    let mut all: Vec<Message> = Vec::new();
    loop {
        let from = all.last().map_or(after, |m| m.seq);
        let page = api
            .guest_history(token, &format!("after={from}&limit=200"))
            .await
            .expect("history page");
        let more = page.has_more;
        all.extend(page.messages);
        if !more || all.last().is_some_and(|m| m.seq >= upto) {
            all.retain(|m| m.seq <= upto);
            return all;
        }
    }
}

/// `None` when `seqs` is exactly `1..=n`; else what is wrong with it.
fn seq_problems(seqs: &[u64], n: u64) -> Option<String> {
    if seqs.iter().copied().eq(1..=n) {
        return None;
    }
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for &s in seqs {
        *counts.entry(s).or_default() += 1;
    }
    let missing: Vec<u64> = (1..=n).filter(|s| !counts.contains_key(s)).collect();
    let doubled: Vec<u64> = counts.iter().filter(|(_, c)| **c > 1).map(|(s, _)| *s).collect();
    let beyond: Vec<u64> = counts.keys().copied().filter(|&s| s == 0 || s > n).collect();
    let first_bad = seqs.iter().zip(1..).position(|(&s, e)| s != e).unwrap_or(seqs.len());
    let around = &seqs[first_bad.saturating_sub(3)..(first_bad + 4).min(seqs.len())];
    Some(format!(
        "expected seq 1..={n} once each in order; got {} entries; missing {missing:?}; doubled {doubled:?}; \
         beyond {beyond:?}; first out of place at index {first_bad}, around it {around:?}",
        seqs.len()
    ))
}

/// A small deterministic generator (xorshift64*), seeded from the clock and printed, so a
/// failing run can be replayed by pinning the seed.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Rng {
        let seed = std::env::var("PORCH_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("seed {seed} (set PORCH_TEST_SEED={seed} to replay)");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Connects and reads `ready`; any failure (the proxy may cut a connection in its handshake)
/// comes back as a string so the caller retries.
async fn connect_ready(
    url: &str,
    token: &str,
    after_seq: Option<u64>,
) -> Result<(Gateway, Ready), String> {
    let mut socket = timeout(WAIT, Gateway::connect(url, token, after_seq))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    match socket.next(WAIT).await {
        Some(Event::Frame(ServerFrame::Ready(ready))) => Ok((socket, ready)),
        other => Err(format!("expected ready, got {other:?}")),
    }
}

/// Checks `ready.resume` for a reconnect with `afterSeq = last`.
fn check_resumed(ready: &Ready, last: u64) -> Result<(), String> {
    let resume = ready.resume.as_ref().ok_or_else(|| format!("no resume in ready: {ready:?}"))?;
    let head = ready.last_seq.ok_or("a guest ready carries lastSeq")?;
    if !resume.recovered || resume.after_seq != last || resume.replayed != head - last {
        return Err(format!(
            "after afterSeq={last} with lastSeq {head}, expected recovered with {} replayed; got {resume:?}",
            head - last
        ));
    }
    Ok(())
}

/// Reads the process's resident set size from `/proc/self/status`.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// The client a guest should be: remembers the last `seq`, resends unacked sends with the same
/// id after a reconnect, and records everything for the checks at the end.
#[derive(Default)]
struct GuestView {
    /// Every `message` frame, in arrival order, across all connections.
    seen: Vec<Message>,
    last: u64,
    /// Out-of-order or repeated entries, as they happened.
    anomalies: Vec<String>,
    /// Sent, not acked yet: id -> text.
    pending: BTreeMap<String, String>,
    /// Every ack per id: (seq, duplicate).
    acks: HashMap<String, Vec<(u64, bool)>>,
    /// Ids in first-send order.
    sent: Vec<String>,
    /// Ids sent more than once, with how often they were resent.
    resent: BTreeMap<String, usize>,
    /// How each connection ended.
    ends: Vec<String>,
}

impl GuestView {
    fn on_message(&mut self, message: Message, context: &str) {
        if message.seq != self.last + 1 {
            self.anomalies.push(format!("{context}: seq {} after {}", message.seq, self.last));
        }
        self.last = self.last.max(message.seq);
        self.seen.push(message);
    }

    fn on_ack(&mut self, client_message_id: String, message: &Message, duplicate: bool) {
        self.pending.remove(&client_message_id);
        self.acks.entry(client_message_id).or_default().push((message.seq, duplicate));
    }

    async fn send_new(
        &mut self,
        socket: &mut Gateway,
        id: String,
        text: String,
    ) -> Result<(), String> {
        self.sent.push(id.clone());
        self.pending.insert(id.clone(), text.clone());
        socket.send(&send(&id, &text)).await
    }

    async fn resend_pending(&mut self, socket: &mut Gateway) -> Result<(), String> {
        for (id, text) in self.pending.clone() {
            *self.resent.entry(id.clone()).or_default() += 1;
            socket.send(&send(&id, &text)).await?;
        }
        Ok(())
    }

    /// The checks every test ends with: the view is exactly the store's log.
    fn assert_matches_store(&self, history: &[Message]) {
        let n = history.last().map_or(0, |m| m.seq);
        let seqs: Vec<u64> = self.seen.iter().map(|m| m.seq).collect();
        if let Some(problem) = seq_problems(&seqs, n) {
            panic!(
                "the guest's view is not the log: {problem}; anomalies as they happened: {:?}",
                self.anomalies
            );
        }
        let history_seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
        assert_eq!(seq_problems(&history_seqs, n), None, "REST history itself has gaps");
        for (seen, stored) in self.seen.iter().zip(history) {
            assert_eq!(
                seen, stored,
                "the entry delivered as seq {} differs from the stored one",
                seen.seq
            );
        }
        assert!(self.anomalies.is_empty(), "out-of-order deliveries: {:?}", self.anomalies);
    }

    /// Every id the guest sent is stored exactly once, every send resolved with an ack that
    /// names the stored entry, and only resends were ever acked as duplicates.
    fn assert_sends_resolved(&self, history: &[Message]) -> usize {
        assert!(
            self.pending.is_empty(),
            "sends never acked: {:?}",
            self.pending.keys().collect::<Vec<_>>()
        );
        let mut stored: HashMap<&str, Vec<u64>> = HashMap::new();
        for m in history.iter().filter(|m| m.sender.role == Role::Guest) {
            stored
                .entry(m.client_message_id.as_deref().expect("guest entries carry their id"))
                .or_default()
                .push(m.seq);
        }
        assert_eq!(
            stored.len(),
            self.sent.len(),
            "stored guest ids {} vs sent {}",
            stored.len(),
            self.sent.len()
        );
        let mut duplicates = 0;
        for id in &self.sent {
            let seqs = stored
                .get(id.as_str())
                .unwrap_or_else(|| panic!("{id} was acked but is not stored"));
            assert_eq!(seqs.len(), 1, "{id} is stored {} times, at {seqs:?}", seqs.len());
            let acks = self.acks.get(id).unwrap_or_else(|| panic!("{id} never acked"));
            assert!(
                acks.iter().all(|(seq, _)| *seq == seqs[0]),
                "{id}: acks {acks:?} vs stored at {}",
                seqs[0]
            );
            let fresh = acks.iter().filter(|(_, dup)| !dup).count();
            assert!(fresh <= 1, "{id} was created {fresh} times: {acks:?}");
            if !self.resent.contains_key(id) {
                assert_eq!(
                    acks,
                    &vec![(seqs[0], false)],
                    "{id} was sent once, so acked once as new"
                );
            }
            duplicates += acks.iter().filter(|(_, dup)| *dup).count();
        }
        duplicates
    }
}
