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
//!
//! A ring slot holds one `Arc<HubEvent>`, a pointer, and nothing else: each guest's
//! conversation topic has `CONVERSATION_TOPIC_FRAMES_MAX` slots, so a word more per slot (an
//! enum beside the pointer, to carry a control signal) costs every idle guest a word per slot (S1).
//! The one control signal, "resync", has a channel of its own (`Feed::resync`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use porch_core::limits::{CONVERSATION_TOPIC_FRAMES_MAX, DEPLOYMENT_TOPIC_FRAMES_MAX};
use porch_wire::event::{LiveEvent, Route};
use porch_wire::frame::ServerFrame;
use tokio::sync::{broadcast, watch};

/// A live event as the hub fans it out: the event, and its frame serialized once for every
/// session that sends it.
#[derive(Debug)]
pub struct HubEvent {
    pub event: LiveEvent,
    json: OnceLock<Arc<str>>,
}

impl HubEvent {
    pub fn new(event: LiveEvent) -> Arc<HubEvent> {
        Arc::new(HubEvent { event, json: OnceLock::new() })
    }

    /// The frame's JSON, serialized on first use and shared after.
    pub fn json(&self) -> Arc<str> {
        self.json
            .get_or_init(|| {
                serde_json::to_string(&self.event.frame)
                    .expect("server frames always serialize")
                    .into()
            })
            .clone()
    }

    /// True when `session` caused this event (its typing, its read receipt).
    pub fn is_from(&self, session: &str) -> bool {
        self.event.origin_session.as_deref() == Some(session)
    }

    /// The topics that hear this event.
    fn topics(&self) -> Vec<String> {
        match &self.event.route {
            Route::Conversation { conversation_id, queue } => vec![
                conversation_topic(conversation_id),
                queue_topic(queue),
                EVERY_QUEUE_TOPIC.to_owned(),
            ],
            Route::Deployment { deployment_id } => vec![deployment_topic(deployment_id)],
            Route::Agent { agent_id } => vec![agent_topic(agent_id)],
            Route::Supervisors => vec![EVERY_QUEUE_TOPIC.to_owned()],
            Route::Guest { conversation_id } => vec![conversation_topic(conversation_id)],
        }
    }

    /// The queues a `conversation` frame says changed (its queue's waiting guests may have
    /// moved): its own, and the one it left after a transfer.
    fn changed_queues(&self) -> Option<(&str, &str, &str)> {
        match (&self.event.route, &self.event.frame) {
            (Route::Conversation { queue, .. }, ServerFrame::Conversation { conversation }) => {
                Some((queue.as_str(), conversation.queue.as_str(), conversation.id.as_str()))
            }
            _ => None,
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

/// Supervisors' sessions listen here: every conversation's events, of every queue (a queue
/// created after they connected included), and agents' status and load. Nobody else does, so on a node without a connected
/// supervisor the topic does not exist and publishing skips it.
pub const EVERY_QUEUE_TOPIC: &str = "q*";

/// Every session of an agent listens here, for its offers.
pub fn agent_topic(agent_id: &str) -> String {
    format!("a:{agent_id}")
}

/// Every guest session of a deployment listens here, for its notices.
pub fn deployment_topic(deployment_id: &str) -> String {
    format!("{DEPLOYMENT_PREFIX}{deployment_id}")
}

/// In-process fan-out.
pub struct Hub {
    topics: Mutex<HashMap<String, broadcast::Sender<Arc<HubEvent>>>>,
    /// Events buffered per queue topic before a subscriber lags.
    capacity: usize,
    /// Bumped when this node may have missed events (its broker connection came back):
    /// every session checks the store. Local to a node; never sent to a client or a node.
    resync: watch::Sender<u64>,
    /// Queues whose conversations changed since the queue-position loop last looked, from this
    /// node's commits and other nodes' alike, each with whether a guest of one of those
    /// conversations is connected here (`queue_position`). Queue names are few (operators
    /// and deployments choose them), and the loop drains the set.
    changed: Mutex<HashMap<String, bool>>,
    changed_notify: tokio::sync::Notify,
    /// Notified at every conversation event, this node's or another node's (through the
    /// broker): the offer loop waits on it besides its timers, so a conversation created or
    /// returned on another node is offered to this node's agents at once, not at its next scan.
    conversation_notify: tokio::sync::Notify,
}

impl Hub {
    pub fn new(capacity: usize) -> Hub {
        assert!(capacity > 0, "a broadcast channel needs capacity");
        Hub {
            topics: Mutex::new(HashMap::new()),
            capacity,
            resync: watch::Sender::new(0),
            changed: Mutex::new(HashMap::new()),
            changed_notify: tokio::sync::Notify::new(),
            conversation_notify: tokio::sync::Notify::new(),
        }
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

    /// Sends an event to every session on this node that hears it (its route's topics that
    /// have listeners).
    pub fn publish(&self, event: Arc<HubEvent>) {
        let topics = event.topics();
        let senders: Vec<_> = {
            let map = self.topics.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((old, new, conversation_id)) = event.changed_queues() {
                let here = map.contains_key(&conversation_topic(conversation_id));
                self.queue_changed(old, here);
                self.queue_changed(new, here);
                self.conversation_notify.notify_one();
            }
            topics.iter().filter_map(|t| map.get(t).cloned()).collect()
        };
        for sender in senders {
            // An error only means every receiver is gone; `release` cleans the topic up.
            let _ = sender.send(event.clone());
        }
    }

    /// Waits for the next conversation event (a stored permit: one that came while nobody
    /// waited is not lost).
    pub async fn conversation_changed(&self) {
        self.conversation_notify.notified().await;
    }

    fn queue_changed(&self, queue: &str, guest_here: bool) {
        let mut changed = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        *changed.entry(queue.to_owned()).or_insert(false) |= guest_here;
        self.changed_notify.notify_one();
    }

    /// Takes the queues that changed since the last call (see `changed`).
    pub fn take_changed_queues(&self) -> HashMap<String, bool> {
        std::mem::take(&mut *self.changed.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// True when `queue` changed since the last `take_changed_queues`.
    pub fn queue_pending(&self, queue: &str) -> bool {
        self.changed.lock().unwrap_or_else(|e| e.into_inner()).contains_key(queue)
    }

    /// Resolves once a queue changed since the last `take_changed_queues` (a permit is kept
    /// when nobody waits, so no change is missed).
    pub async fn queues_changed(&self) {
        self.changed_notify.notified().await;
    }

    /// True when some session on this node listens to `topic` (a guest of a conversation).
    pub fn listens(&self, topic: &str) -> bool {
        self.topics.lock().unwrap_or_else(|e| e.into_inner()).contains_key(topic)
    }

    /// Subscribes to `topics`, in order, for as long as the returned `Feed` lives.
    pub fn feed(self: &Arc<Hub>, topics: Vec<String>) -> Feed {
        let receivers = topics.iter().map(|t| self.subscribe(t)).collect();
        Feed { hub: Arc::clone(self), topics, receivers, resync: self.resync.subscribe() }
    }

    /// Tells every session on this node to resync from the store.
    pub fn resync_all(&self) {
        self.resync.send_modify(|generation| *generation += 1);
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
    /// Changes when the session must check the store (`Hub::resync_all`).
    pub resync: watch::Receiver<u64>,
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
    use porch_wire::frame::ServerFrame;
    use porch_wire::rest::{Participant, Role};

    /// A guest of `conversation` (in `queue`) typing.
    fn typing(conversation: &str, queue: &str) -> Arc<HubEvent> {
        let participant = Participant { role: Role::Guest, id: "gst_1".into(), display_name: None };
        HubEvent::new(LiveEvent {
            route: Route::Conversation {
                conversation_id: conversation.into(),
                queue: queue.into(),
            },
            origin_session: None,
            frame: ServerFrame::Typing { conversation_id: conversation.into(), participant },
        })
    }

    #[tokio::test]
    async fn events_reach_subscribers_and_topics_go_away_with_them() {
        let hub = Hub::new(4);
        let topic = conversation_topic("cnv_1");
        let mut rx = hub.subscribe(&topic);
        hub.publish(typing("cnv_1", "nobody"));
        let got = rx.recv().await.expect("an event");
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
        hub.publish(typing("cnv_1", "default"));
        assert!(feed.receivers[0].recv().await.is_ok(), "receivers follow the order of the topics");
        hub.publish(HubEvent::new(LiveEvent::notice("dep_1", None)));
        assert!(feed.receivers[1].recv().await.is_ok(), "notices reach the deployment's topic");
        drop(feed);
        assert_eq!(hub.topic_count(), 1, "the deployment's topic stays for the neighbour");
        drop(neighbour);
        assert_eq!(hub.topic_count(), 0);
    }

    #[tokio::test]
    async fn resync_reaches_every_feed_and_takes_no_ring_slot() {
        let hub = Arc::new(Hub::new(4));
        let mut guest = hub.feed(vec![conversation_topic("cnv_1"), deployment_topic("dep_1")]);
        let mut agent = hub.feed(vec![queue_topic("default")]);
        assert!(!guest.resync.has_changed().expect("the hub lives"), "nothing to resync yet");
        hub.resync_all();
        guest.resync.changed().await.expect("the guest hears it");
        agent.resync.changed().await.expect("the agent hears it");
        hub.publish(typing("cnv_1", "default"));
        let first = guest.receivers[0].recv().await.expect("the ring holds only events");
        assert!(first.json().contains(r#""type":"typing""#));
    }

    #[tokio::test]
    async fn agents_frames_reach_supervisors_only() {
        let hub = Hub::new(4);
        let (mut supervisor, mut agent) =
            (hub.subscribe(EVERY_QUEUE_TOPIC), hub.subscribe(&queue_topic("default")));
        let mut own = hub.subscribe(&agent_topic("agt_1"));
        let row = porch_wire::supervisor::AgentOverview {
            id: "agt_1".into(),
            name: "alice".into(),
            status: porch_wire::rest::AgentStatus::Available,
            capacity: 3,
            load: 1,
            queues: vec!["default".into()],
            supervisor: false,
        };
        hub.publish(HubEvent::new(LiveEvent::agent(row)));
        let heard = supervisor.recv().await.expect("the supervisors' topic hears it");
        assert!(heard.json().starts_with(r#"{"type":"agent","agent":{"id":"agt_1""#));
        assert!(agent.try_recv().is_err(), "not the agent's queue");
        assert!(own.try_recv().is_err(), "not the agent's own topic");
    }

    #[tokio::test]
    async fn conversation_topics_buffer_less_than_queue_topics() {
        let hub = Hub::new(256);
        let (conversation, queue) = (conversation_topic("cnv_1"), queue_topic("default"));
        let (mut guest, mut agent) = (hub.subscribe(&conversation), hub.subscribe(&queue));
        for _ in 0..100 {
            hub.publish(typing("cnv_1", "default"));
        }
        // The guest lags past its 16 slots (and refills from the store); the agent does not.
        let missed = 100 - CONVERSATION_TOPIC_FRAMES_MAX as u64;
        assert!(
            matches!(guest.recv().await, Err(broadcast::error::RecvError::Lagged(n)) if n == missed)
        );
        assert!(agent.recv().await.is_ok());
    }
}
