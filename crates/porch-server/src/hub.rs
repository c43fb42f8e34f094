//! The hub: live fan-out of conversation events inside one process.
//!
//! Each topic (one per conversation, one per queue, one per deployment) is a bounded `tokio::sync::broadcast`
//! channel. Publishing never blocks and never allocates per subscriber: a slow subscriber
//! lags, and a lagging session recovers the entries it missed from the store, which is the
//! only source of truth. The hub may therefore lose or reorder events without harm; sessions
//! deliver in `seq` order by filling gaps from the store (see `gateway::cursor`).
//!
//! Topics exist only while someone listens: the entry is removed when the last subscriber
//! releases it, so memory follows the number of live sessions, not of conversations ever seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use porch_wire::frame::ServerFrame;
use porch_wire::rest::{Conversation, Message, Notice, Participant};
use tokio::sync::broadcast;

/// Something that happened in a conversation, as fanned out to live sessions.
#[derive(Debug)]
pub struct HubEvent {
    pub conversation_id: String,
    pub kind: HubEventKind,
    /// The session that caused it, so typing is not echoed back to the typist.
    pub origin_session: Option<String>,
    /// The frame, serialized once for every recipient.
    json: OnceLock<Arc<str>>,
}

#[derive(Debug)]
pub enum HubEventKind {
    /// A new log entry (ordered by `seq`).
    Message(Message),
    /// A conversation appeared or changed state (not ordered; informational).
    Conversation(Conversation),
    Typing(Participant),
    Read {
        participant: Participant,
        seq: u64,
    },
    /// A deployment's notice was set or cleared (published on the deployment's topic; not
    /// ordered: a session that lags re-reads the current one).
    Notice {
        deployment_id: String,
        notice: Option<Notice>,
    },
    /// Local only: this node may have missed events (its broker connection came back), so
    /// sessions check the store. Never serialized, never sent to clients.
    Resync,
}

impl HubEvent {
    pub fn new(
        conversation_id: &str,
        kind: HubEventKind,
        origin_session: Option<&str>,
    ) -> Arc<HubEvent> {
        Arc::new(HubEvent {
            conversation_id: conversation_id.to_string(),
            kind,
            origin_session: origin_session.map(str::to_string),
            json: OnceLock::new(),
        })
    }

    /// The log position of this event, if it is a log entry.
    pub fn seq(&self) -> Option<u64> {
        match &self.kind {
            HubEventKind::Message(m) => Some(m.seq),
            _ => None,
        }
    }

    /// The server frame for this event, serialized on first use and shared after.
    pub fn json(&self) -> Arc<str> {
        self.json
            .get_or_init(|| {
                let frame = self.frame();
                serde_json::to_string(&frame).expect("server frames always serialize").into()
            })
            .clone()
    }

    fn frame(&self) -> ServerFrame {
        let conversation_id = self.conversation_id.clone();
        match &self.kind {
            HubEventKind::Message(m) => ServerFrame::Message { message: m.clone() },
            HubEventKind::Conversation(c) => ServerFrame::Conversation { conversation: c.clone() },
            HubEventKind::Typing(p) => {
                ServerFrame::Typing { conversation_id, participant: p.clone() }
            }
            HubEventKind::Read { participant, seq } => {
                ServerFrame::Read { conversation_id, participant: participant.clone(), seq: *seq }
            }
            HubEventKind::Notice { notice, .. } => ServerFrame::Notice { notice: notice.clone() },
            HubEventKind::Resync => unreachable!("sessions handle resync signals themselves"),
        }
    }
}

/// Topic names. Conversations, queues and deployments share one map, so they get distinct
/// prefixes.
const CONVERSATION_PREFIX: &str = "c:";
const DEPLOYMENT_PREFIX: &str = "d:";

pub fn conversation_topic(conversation_id: &str) -> String {
    format!("{CONVERSATION_PREFIX}{conversation_id}")
}

pub fn queue_topic(queue: &str) -> String {
    format!("q:{queue}")
}

/// Every guest session of a deployment listens here, for its notices.
pub fn deployment_topic(deployment_id: &str) -> String {
    format!("{DEPLOYMENT_PREFIX}{deployment_id}")
}

/// Events a conversation topic buffers, at most. Only guest sessions listen there, and a
/// lagging guest session refills from the store, so a deep ring buys nothing; each slot costs
/// about 30 bytes per live conversation (256 slots were a quarter of an idle guest's memory).
/// Queue topics keep the full `connection_send_queue_frames_max`: an agent that lags resyncs.
pub const CONVERSATION_TOPIC_FRAMES_MAX: usize = 32;

/// Events a deployment topic buffers, at most. Its events are notices, each replacing the last,
/// so a session that lags needs only the current one, which it re-reads from the store.
pub const DEPLOYMENT_TOPIC_FRAMES_MAX: usize = 4;

/// In-process fan-out.
pub struct Hub {
    topics: Mutex<HashMap<String, broadcast::Sender<Arc<HubEvent>>>>,
    /// Events buffered per queue topic before a subscriber lags.
    capacity: usize,
}

impl Hub {
    pub fn new(capacity: usize) -> Hub {
        assert!(capacity > 0, "a broadcast channel needs capacity");
        Hub { topics: Mutex::new(HashMap::new()), capacity }
    }

    fn capacity_of(&self, topic: &str) -> usize {
        let max = if topic.starts_with(CONVERSATION_PREFIX) {
            CONVERSATION_TOPIC_FRAMES_MAX
        } else if topic.starts_with(DEPLOYMENT_PREFIX) {
            DEPLOYMENT_TOPIC_FRAMES_MAX
        } else {
            usize::MAX
        };
        self.capacity.min(max)
    }

    pub fn subscribe(&self, topic: &str) -> broadcast::Receiver<Arc<HubEvent>> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        match topics.get(topic) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = broadcast::channel(self.capacity_of(topic));
                topics.insert(topic.to_string(), sender);
                receiver
            }
        }
    }

    /// Drops the topic if nobody listens any more. Call after dropping a receiver.
    pub fn release(&self, topic: &str) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if topics.get(topic).is_some_and(|s| s.receiver_count() == 0) {
            topics.remove(topic);
        }
    }

    /// Sends an event to every listed topic that has listeners.
    pub fn publish(&self, topics: &[String], event: Arc<HubEvent>) {
        let senders: Vec<_> = {
            let map = self.topics.lock().unwrap_or_else(|e| e.into_inner());
            topics.iter().filter_map(|t| map.get(t).cloned()).collect()
        };
        for sender in senders {
            // An error only means every receiver is gone; `release` cleans the topic up.
            let _ = sender.send(event.clone());
        }
    }

    /// Subscribes to `topics`, in order, for as long as the returned `Feed` lives.
    pub fn feed(self: &Arc<Hub>, topics: Vec<String>) -> Feed {
        let receivers = topics.iter().map(|t| self.subscribe(t)).collect();
        Feed { hub: Arc::clone(self), topics, receivers }
    }

    /// Tells every session on this node to resync from the store.
    pub fn resync_all(&self) {
        let senders: Vec<_> =
            self.topics.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        let event = HubEvent::new("", HubEventKind::Resync, None);
        for sender in senders {
            let _ = sender.send(event.clone());
        }
    }

    /// Live topics, for metrics and tests.
    pub fn topic_count(&self) -> usize {
        self.topics.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A session's subscriptions: one receiver per topic, in the order of its topics. Dropping
/// it unsubscribes, and drops every topic nobody else listens to, on every path out (a
/// refused handshake included).
pub struct Feed {
    hub: Arc<Hub>,
    topics: Vec<String>,
    pub receivers: Vec<broadcast::Receiver<Arc<HubEvent>>>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        // `release` drops a topic only once its receivers are gone, this feed's included.
        self.receivers.clear();
        for topic in &self.topics {
            self.hub.release(topic);
        }
    }
}

/// Waits for the next event on any of a session's receivers (`Feed::receivers`). Broadcast
/// `recv` is cancel-safe, so dropping the losers loses nothing.
///
/// A guest has two receivers (its conversation, its deployment) and waits on them for hours:
/// they are polled in place, as `select_all` would box each wait (about 0.3 KiB per idle
/// guest, measured in S1). Agents with many queues take the general path.
pub async fn recv_any(
    receivers: &mut [broadcast::Receiver<Arc<HubEvent>>],
) -> (Result<Arc<HubEvent>, broadcast::error::RecvError>, usize) {
    match receivers {
        [] => std::future::pending().await,
        [only] => (only.recv().await, 0),
        [first, second] => tokio::select! {
            event = first.recv() => (event, 0),
            event = second.recv() => (event, 1),
        },
        many => {
            let futures = many.iter_mut().map(|r| Box::pin(r.recv()));
            let (result, index, _) = futures_util::future::select_all(futures).await;
            (result, index)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use porch_wire::rest::Role;

    #[tokio::test]
    async fn events_reach_subscribers_and_topics_go_away_with_them() {
        let hub = Hub::new(4);
        let topic = conversation_topic("cnv_1");
        let mut rx = hub.subscribe(&topic);
        let p = Participant { role: Role::Guest, id: "gst_1".into(), display_name: None };
        hub.publish(
            &[topic.clone(), queue_topic("nobody")],
            HubEvent::new("cnv_1", HubEventKind::Typing(p), None),
        );
        let got = rx.recv().await.unwrap();
        assert!(got.json().contains(r#""type":"typing""#));
        drop(rx);
        hub.release(&topic);
        assert_eq!(hub.topic_count(), 0);
    }

    #[tokio::test]
    async fn a_dropped_feed_releases_only_the_topics_nobody_else_hears() {
        let hub = Arc::new(Hub::new(4));
        let (conversation, deployment) = (conversation_topic("cnv_1"), deployment_topic("dep_1"));
        let mut feed = hub.feed(vec![conversation.clone(), deployment.clone()]);
        let neighbour = hub.feed(vec![deployment.clone()]);
        assert_eq!(hub.topic_count(), 2);
        let p = Participant { role: Role::Guest, id: "gst_1".into(), display_name: None };
        hub.publish(
            std::slice::from_ref(&conversation),
            HubEvent::new("cnv_1", HubEventKind::Typing(p), None),
        );
        assert!(feed.receivers[0].recv().await.is_ok(), "receivers follow the order of the topics");
        drop(feed);
        assert_eq!(hub.topic_count(), 1, "the deployment's topic stays for the neighbour");
        drop(neighbour);
        assert_eq!(hub.topic_count(), 0);
    }

    #[tokio::test]
    async fn conversation_topics_buffer_less_than_queue_topics() {
        let hub = Hub::new(256);
        let p = Participant { role: Role::Guest, id: "gst_1".into(), display_name: None };
        let (conversation, queue) = (conversation_topic("cnv_1"), queue_topic("default"));
        let (mut guest, mut agent) = (hub.subscribe(&conversation), hub.subscribe(&queue));
        for _ in 0..100 {
            hub.publish(
                &[conversation.clone(), queue.clone()],
                HubEvent::new("cnv_1", HubEventKind::Typing(p.clone()), None),
            );
        }
        // The guest lags past its 32 slots (and refills from the store); the agent does not.
        let missed = 100 - CONVERSATION_TOPIC_FRAMES_MAX as u64;
        assert!(
            matches!(guest.recv().await, Err(broadcast::error::RecvError::Lagged(n)) if n == missed)
        );
        assert!(agent.recv().await.is_ok());
    }
}
