//! A guest as a careful client behaves: it sends at a fixed pace, keeps every unacknowledged
//! message in an outbox and resends it with the same id after a reconnect, resumes with
//! `afterSeq`, and pages history when resume is refused. Every tenth message goes over REST.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use porch_client::{Event, Gateway};
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::GuestSession;
use tokio::sync::watch;

use crate::endpoints::{self, Endpoint};
use crate::ledger::{Ledger, observe};

/// What the test tells the clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Send at the configured pace.
    Sending,
    /// Send nothing new; get every outbox entry acked and catch up with the store.
    Draining,
}

pub struct Guest {
    pub index: usize,
    /// Seeds this guest's own random choices (reconnect delays, voluntary drops).
    pub seed: u64,
    pub session: GuestSession,
    /// The nodes to connect to, one picked at random per connection.
    pub endpoints: Vec<Endpoint>,
    /// The one connected to (or last tried).
    pub current: usize,
    pub ledger: Arc<Ledger>,
    pub period: Duration,
    pub phase: watch::Receiver<Phase>,
    /// The deployment's notice (its id) as the test last set it, when the test sets notices:
    /// draining then also waits until this guest shows it.
    pub expected_notice: Option<watch::Receiver<Option<String>>>,
    /// The notice this guest shows now (its id), from `ready` and `notice` frames.
    pub notice: Option<String>,
}

struct Pending {
    client_message_id: String,
    text: String,
}

/// Socket reads wait at most this long, so pacing and phase changes are noticed.
const POLL: Duration = Duration::from_millis(20);
/// One send tick in this many, the guest drops its connection on purpose.
const VOLUNTARY_DROP_ONE_IN: u64 = 60;
/// Every this many send ticks, the guest refreshes its token (through its current node).
const REFRESH_EVERY: u64 = 25;
/// A REST call to a frozen node gives up after this long.
const REST_TIMEOUT: Duration = Duration::from_secs(3);
/// While draining, how often a client asks the store whether it has seen everything.
const CATCH_UP_CHECK: Duration = Duration::from_millis(200);

impl Guest {
    fn name(&self) -> String {
        format!("guest-{}", self.index)
    }

    /// Runs until draining is done: everything acked and the view at the store's head.
    pub async fn run(mut self) {
        let name = self.name();
        let conversation = self.session.conversation_id.clone();
        let mut view: Vec<(u64, String)> = Vec::new();
        let mut outbox: VecDeque<Pending> = VecDeque::new();
        let mut next = 0u64;
        let mut next_send = tokio::time::Instant::now();
        let mut next_check = tokio::time::Instant::now();
        loop {
            let last = view.last().map_or(0, |(s, _)| *s);
            let Some(mut socket) = self.connect(last, &mut view).await else { continue };
            let mut dropped = false;
            for p in &outbox {
                let frame = ClientFrame::Send {
                    client_message_id: p.client_message_id.clone(),
                    text: p.text.clone(),
                    conversation_id: None,
                };
                if socket.send(&frame).await.is_err() {
                    break;
                }
            }
            loop {
                let draining = *self.phase.borrow() == Phase::Draining;
                // Final only once every client's sends are acked: the agent's (or a guest's)
                // resend after a kill may still be stored after this client looks.
                let check = draining
                    && outbox.is_empty()
                    && self.ledger.unacked() == 0
                    && tokio::time::Instant::now() >= next_check;
                if check && self.caught_up(&view).await {
                    self.ledger.record_view(&name, HashMap::from([(conversation.clone(), view)]));
                    self.ledger.record_notice(&name, self.notice.clone());
                    return;
                }
                if check {
                    next_check = tokio::time::Instant::now() + CATCH_UP_CHECK;
                }
                if !draining && tokio::time::Instant::now() >= next_send {
                    next_send += self.period;
                    next += 1;
                    if next.is_multiple_of(REFRESH_EVERY) {
                        self.refresh().await;
                    }
                    // Now and then the guest goes away by itself (a tab sleeps, a phone
                    // changes networks) while the agent keeps writing: resume must replay.
                    if self.random().is_multiple_of(VOLUNTARY_DROP_ONE_IN) {
                        dropped = true;
                        break;
                    }
                    let pending = Pending {
                        client_message_id: format!("{name}-{next}"),
                        text: format!("{name} says {next}"),
                    };
                    self.ledger.sent(&pending.client_message_id, &conversation, &pending.text);
                    let via_rest = next.is_multiple_of(10);
                    if !(via_rest && self.send_rest(&pending).await) {
                        let frame = ClientFrame::Send {
                            client_message_id: pending.client_message_id.clone(),
                            text: pending.text.clone(),
                            conversation_id: None,
                        };
                        let _ = socket.send(&frame).await;
                        outbox.push_back(pending);
                    }
                }
                match socket.next(POLL).await {
                    None => {}
                    Some(Event::Frame(ServerFrame::Ack {
                        client_message_id,
                        message,
                        duplicate,
                    })) => {
                        self.ledger.acked(&client_message_id, &message.id, message.seq, duplicate);
                        outbox.retain(|p| p.client_message_id != client_message_id);
                    }
                    Some(Event::Frame(ServerFrame::Message { message })) => {
                        observe(&self.ledger, &name, &mut view, message.seq, &message.id)
                    }
                    Some(Event::Frame(ServerFrame::Notice { notice })) => {
                        self.notice = notice.map(|n| n.id);
                    }
                    // This node cannot take sends now: another may (nothing was stored).
                    Some(Event::Frame(ServerFrame::Error { code, .. }))
                        if endpoints::retry_elsewhere(code) =>
                    {
                        break;
                    }
                    Some(Event::Frame(_)) => {}
                    Some(Event::Closed { .. } | Event::Dropped(_)) => break,
                }
            }
            drop(socket);
            // Reconnect after a jittered pause, as a client with backoff does; messages sent
            // to the conversation meanwhile must come back in the resume.
            let pause_ms = self.random() % if dropped { 400 } else { 150 };
            tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        }
    }

    /// xorshift64: reproducible from the printed seed, no dependency.
    fn random(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoints[self.current]
    }

    /// Connects with `afterSeq` to a node picked at random; on `recovered: false`, pages the
    /// gap over REST.
    async fn connect(&mut self, last: u64, view: &mut Vec<(u64, String)>) -> Option<Gateway> {
        self.current = (self.random() % self.endpoints.len() as u64) as usize;
        let token = &self.session.access_token;
        let Some(mut socket) = endpoints::connect(self.endpoint(), token, Some(last)).await else {
            tokio::time::sleep(Duration::from_millis(25)).await;
            return None;
        };
        match socket.next(Duration::from_secs(2)).await {
            Some(Event::Frame(ServerFrame::Ready(ready))) => {
                self.notice = ready.notice.as_ref().map(|n| n.id.clone());
                if let Some(resume) = &ready.resume {
                    self.ledger.resumes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    self.ledger
                        .replayed
                        .fetch_add(resume.replayed, std::sync::atomic::Ordering::Relaxed);
                }
                if ready.resume.as_ref().is_some_and(|r| !r.recovered) {
                    self.page_after(last, view).await?;
                }
                Some(socket)
            }
            _ => None,
        }
    }

    async fn page_after(&self, mut last: u64, view: &mut Vec<(u64, String)>) -> Option<()> {
        loop {
            let page = self
                .endpoint()
                .api
                .guest_history(&self.session.access_token, &format!("after={last}&limit=200"))
                .await
                .ok()?;
            for m in &page.messages {
                observe(&self.ledger, &self.name(), view, m.seq, &m.id);
                last = m.seq;
            }
            if !page.has_more {
                return Some(());
            }
        }
    }

    /// A new token for this guest, as a page keeps its session alive; the old one stays valid
    /// until it expires, so a refresh that fails changes nothing.
    async fn refresh(&mut self) {
        let call = self.endpoint().api.refresh_guest(&self.session.access_token);
        if let Ok(Ok(session)) = tokio::time::timeout(REST_TIMEOUT, call).await {
            self.session.access_token = session.access_token;
            self.ledger.refreshes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Sends over REST; true when the answer (201 or a 200 duplicate) was received.
    async fn send_rest(&self, p: &Pending) -> bool {
        let api = &self.endpoint().api;
        match api.guest_send(&self.session.access_token, &p.client_message_id, &p.text).await {
            Ok(r) => {
                self.ledger.acked(
                    &p.client_message_id,
                    &r.body.message.id,
                    r.body.message.seq,
                    r.body.duplicate,
                );
                true
            }
            Err(_) => false,
        }
    }

    /// True when this guest has seen everything the store holds for its conversation, and
    /// shows the notice the test set last (when it sets them).
    async fn caught_up(&self, view: &[(u64, String)]) -> bool {
        if let Some(expected) = &self.expected_notice
            && *expected.borrow() != self.notice
        {
            return false;
        }
        let last = view.last().map_or(0, |(s, _)| *s);
        match self.endpoint().api.guest_history(&self.session.access_token, "limit=1").await {
            Ok(page) => page.last_seq == last,
            Err(_) => false,
        }
    }
}
