//! The agent: one live feed over every conversation, replying to random ones at a fixed pace.
//! After a reconnect it resyncs as documented: `ready` lists each open conversation with its
//! `lastSeq`, and the agent pages what it lacks over REST; live entries it already has from
//! that paging are skipped (the only overlap the protocol allows, and only for agents).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use porch_client::{Event, Gateway};
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::AgentSession;
use tokio::sync::watch;

use crate::endpoints::{self, Endpoint};
use crate::guest::Phase;
use crate::ledger::{Ledger, observe};

pub struct Agent {
    pub session: AgentSession,
    /// The nodes to connect to, one picked at random per connection.
    pub endpoints: Vec<Endpoint>,
    /// The one connected to (or last tried).
    pub current: usize,
    pub ledger: Arc<Ledger>,
    pub conversations: Vec<String>,
    pub period: Duration,
    pub phase: watch::Receiver<Phase>,
    pub seed: u64,
}

struct Pending {
    conversation_id: String,
    client_message_id: String,
    text: String,
}

const POLL: Duration = Duration::from_millis(20);
/// Every this many sends, the agent refreshes its token (through its current node).
const REFRESH_EVERY: u64 = 100;
const NAME: &str = "agent";

impl Agent {
    pub async fn run(mut self) {
        let mut views: HashMap<String, Vec<(u64, String)>> =
            self.conversations.iter().map(|c| (c.clone(), Vec::new())).collect();
        let mut outbox: VecDeque<Pending> = VecDeque::new();
        let mut next = 0u64;
        let mut next_send = tokio::time::Instant::now();
        let mut next_check = tokio::time::Instant::now();
        loop {
            let Some(mut socket) = self.connect(&mut views).await else { continue };
            for p in &outbox {
                if socket.send(&send_frame(p)).await.is_err() {
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
                if check && self.caught_up(&views).await {
                    self.ledger.record_view(NAME, views);
                    return;
                }
                if check {
                    next_check = tokio::time::Instant::now() + Duration::from_millis(200);
                }
                if !draining && tokio::time::Instant::now() >= next_send {
                    next_send += self.period;
                    next += 1;
                    if next.is_multiple_of(REFRESH_EVERY) {
                        self.refresh().await;
                    }
                    let pick = (self.random() % self.conversations.len() as u64) as usize;
                    let conversation_id = self.conversations[pick].clone();
                    let p = Pending {
                        conversation_id,
                        client_message_id: format!("agent-{next}"),
                        text: format!("agent reply {next}"),
                    };
                    self.ledger.sent(&p.client_message_id, &p.conversation_id, &p.text);
                    let _ = socket.send(&send_frame(&p)).await;
                    outbox.push_back(p);
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
                        let view = views.entry(message.conversation_id.clone()).or_default();
                        // Entries already paged over REST during the resync may arrive live too.
                        if message.seq > view.last().map_or(0, |(s, _)| *s) {
                            observe(&self.ledger, NAME, view, message.seq, &message.id);
                        }
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
        }
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoints[self.current]
    }

    /// Connects to a node picked at random and pages what it lacks of each open conversation.
    async fn connect(
        &mut self,
        views: &mut HashMap<String, Vec<(u64, String)>>,
    ) -> Option<Gateway> {
        self.current = (self.random() % self.endpoints.len() as u64) as usize;
        let token = &self.session.access_token;
        let Some(mut socket) = endpoints::connect(self.endpoint(), token, None).await else {
            tokio::time::sleep(Duration::from_millis(25)).await;
            return None;
        };
        let Some(Event::Frame(ServerFrame::Ready(ready))) =
            socket.next(Duration::from_secs(2)).await
        else {
            return None;
        };
        for conversation in &ready.conversations {
            let view = views.entry(conversation.id.clone()).or_default();
            if conversation.last_seq > view.last().map_or(0, |(s, _)| *s) {
                self.page_after(&conversation.id, view).await?;
            }
        }
        Some(socket)
    }

    async fn page_after(&self, conversation_id: &str, view: &mut Vec<(u64, String)>) -> Option<()> {
        loop {
            let last = view.last().map_or(0, |(s, _)| *s);
            let query = format!("after={last}&limit=200");
            let page = self
                .endpoint()
                .api
                .agent_history(&self.session.access_token, conversation_id, &query)
                .await
                .ok()?;
            for m in &page.messages {
                observe(&self.ledger, NAME, view, m.seq, &m.id);
            }
            if !page.has_more {
                return Some(());
            }
        }
    }

    async fn caught_up(&self, views: &HashMap<String, Vec<(u64, String)>>) -> bool {
        let Ok(list) = self
            .endpoint()
            .api
            .agent_conversations(&self.session.access_token, "state=waiting,assigned&limit=500")
            .await
        else {
            return false;
        };
        list.conversations
            .iter()
            .all(|c| views.get(&c.id).and_then(|v| v.last()).map_or(0, |(s, _)| *s) == c.last_seq)
    }

    /// A new token, as the console keeps its session alive; a failed refresh changes nothing.
    async fn refresh(&mut self) {
        let call = self.endpoint().api.refresh_agent(&self.session.access_token);
        if let Ok(Ok(session)) = tokio::time::timeout(Duration::from_secs(3), call).await {
            self.session.access_token = session.access_token;
            self.ledger.refreshes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// xorshift64: reproducible from the printed seed, no dependency.
    fn random(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }
}

fn send_frame(p: &Pending) -> ClientFrame {
    ClientFrame::Send {
        client_message_id: p.client_message_id.clone(),
        text: p.text.clone(),
        conversation_id: Some(p.conversation_id.clone()),
    }
}
