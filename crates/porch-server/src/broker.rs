//! The broker: how one node's live events reach the other nodes of a cluster.
//!
//! A single node needs none: the hub fans out in process. Several nodes behind a load
//! balancer share the store (the only source of truth) and use a broker (NATS) so a guest on
//! node A and an agent on node B talk live. The broker is allowed to lose events: sessions fill
//! gaps from the store, and guests re-check the store's head on every heartbeat. While the
//! broker is down, sends are refused with `broker_unavailable` (nothing stored, so a retry is
//! safe) and `/readyz` is red, so the load balancer moves clients to a healthy node.

pub mod nats;

use std::sync::Arc;

use porch_wire::cluster::{ClusterEvent, ClusterEventKind};

use crate::hub::{HubEvent, HubEventKind, conversation_topic, deployment_topic, queue_topic};

/// Cluster transport, one implementation per broker.
pub trait Broker: Send + Sync + 'static {
    /// Sends an event to the other nodes. Never blocks; may drop when its queue is full.
    fn publish(&self, event: ClusterEvent);
    /// False while the connection is down.
    fn is_connected(&self) -> bool;
    /// For `/readyz` and logs: where and in what state, never with credentials.
    fn describe(&self) -> String;
}

/// A hub event as published to the other nodes.
pub fn to_cluster(node: &str, queue: &str, event: &HubEvent) -> ClusterEvent {
    let kind = match &event.kind {
        HubEventKind::Message(message) => ClusterEventKind::Message { message: message.clone() },
        HubEventKind::Conversation(c) => ClusterEventKind::Conversation { conversation: c.clone() },
        HubEventKind::Typing(p) => ClusterEventKind::Typing { participant: p.clone() },
        HubEventKind::Read { participant, seq } => {
            ClusterEventKind::Read { participant: participant.clone(), seq: *seq }
        }
        HubEventKind::Notice { deployment_id, notice } => ClusterEventKind::Notice {
            deployment_id: deployment_id.clone(),
            notice: notice.clone(),
        },
        HubEventKind::Resync => unreachable!("resync signals are local to a node"),
    };
    ClusterEvent {
        node: node.to_string(),
        conversation_id: event.conversation_id.clone(),
        queue: queue.to_string(),
        origin_session: event.origin_session.clone(),
        event: kind,
    }
}

/// An event from another node, delivered to this node's sessions.
pub fn deliver(hub: &crate::hub::Hub, event: ClusterEvent) {
    let kind = match event.event {
        ClusterEventKind::Message { message } => HubEventKind::Message(message),
        ClusterEventKind::Conversation { conversation } => HubEventKind::Conversation(conversation),
        ClusterEventKind::Typing { participant } => HubEventKind::Typing(participant),
        ClusterEventKind::Read { participant, seq } => HubEventKind::Read { participant, seq },
        ClusterEventKind::Notice { deployment_id, notice } => {
            let topics = [deployment_topic(&deployment_id)];
            hub.publish(
                &topics,
                HubEvent::new("", HubEventKind::Notice { deployment_id, notice }, None),
            );
            return;
        }
    };
    let topics = [conversation_topic(&event.conversation_id), queue_topic(&event.queue)];
    hub.publish(
        &topics,
        HubEvent::new(&event.conversation_id, kind, event.origin_session.as_deref()),
    );
}

pub type SharedBroker = Option<Arc<dyn Broker>>;
