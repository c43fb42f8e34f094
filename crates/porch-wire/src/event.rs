//! Live events: what a commit tells the sessions that show it, on this node and on the others.
//!
//! One type from the commit to the socket. A `LiveEvent` is a `ServerFrame` (what every
//! session sends, serialized once) and its `Route` (who hears it). The hub fans it out in
//! process; the broker carries the same value to the other nodes of a cluster as a
//! `ClusterEvent`. The store stays the only source of truth: these only make delivery fast, and
//! a session that misses one recovers from the store.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::frame::ServerFrame;
use crate::rest::{Conversation, Message, Notice, Participant};

/// Default subject every node of a cluster publishes to and subscribes to. Clusters sharing
/// one NATS server need one subject each (`--broker-subject`).
pub const SUBJECT: &str = "porch.events";

/// Who hears a live event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Route {
    /// The sessions of one conversation (its guest's) and the agents of its queue.
    Conversation { conversation_id: String, queue: String },
    /// Every guest session of a deployment (its notice).
    Deployment { deployment_id: String },
    /// Every session of one agent (its offers), on whichever node it is connected.
    Agent { agent_id: String },
    /// Every supervisor's sessions (the hub's every-queue topic), on every node: agents'
    /// status and load. Plain agents never hear it.
    Supervisors,
    /// The guest sessions of one conversation on this node only (its queue position): never
    /// sent to other nodes, which work positions out themselves.
    Guest { conversation_id: String },
}

/// One live event. Build it with the constructors below: they pair each live frame
/// (`message`, `conversation`, `typing`, `read`, `notice`) with the route it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveEvent {
    pub route: Route,
    /// The session that caused it, so typing and read receipts are not echoed back to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_session: Option<String>,
    /// What every session that hears it sends its client.
    pub frame: ServerFrame,
}

impl LiveEvent {
    /// A new entry in a conversation's log (ordered by `seq`).
    pub fn message(
        conversation: &Conversation,
        message: Message,
        origin_session: Option<&str>,
    ) -> Self {
        Self::in_conversation(conversation, ServerFrame::Message { message }, origin_session)
    }

    /// A conversation appeared or changed state (informational: not ordered).
    pub fn conversation(conversation: &Conversation) -> Self {
        let frame = ServerFrame::Conversation { conversation: conversation.clone() };
        Self::in_conversation(conversation, frame, None)
    }

    /// Someone in the conversation is typing.
    pub fn typing(
        conversation: &Conversation,
        participant: Participant,
        origin_session: &str,
    ) -> Self {
        let frame = ServerFrame::Typing { conversation_id: conversation.id.clone(), participant };
        Self::in_conversation(conversation, frame, Some(origin_session))
    }

    /// Someone read the conversation up to `seq`.
    pub fn read(
        conversation: &Conversation,
        participant: Participant,
        seq: u64,
        origin_session: &str,
    ) -> Self {
        let frame =
            ServerFrame::Read { conversation_id: conversation.id.clone(), participant, seq };
        Self::in_conversation(conversation, frame, Some(origin_session))
    }

    /// A deployment's notice was set (`Some`) or cleared (`None`). Not ordered: a session that
    /// falls behind re-reads the current one.
    pub fn notice(deployment_id: &str, notice: Option<Notice>) -> Self {
        LiveEvent {
            route: Route::Deployment { deployment_id: deployment_id.to_string() },
            origin_session: None,
            frame: ServerFrame::Notice { notice },
        }
    }

    /// A frame for one agent's sessions only (an offer, its end, a status the server set).
    pub fn to_agent(agent_id: &str, frame: ServerFrame) -> Self {
        LiveEvent {
            route: Route::Agent { agent_id: agent_id.to_string() },
            origin_session: None,
            frame,
        }
    }

    /// An agent's status, capacity, queues or load as stored now, for supervisors.
    pub fn agent(agent: crate::supervisor::AgentOverview) -> Self {
        LiveEvent {
            route: Route::Supervisors,
            origin_session: None,
            frame: ServerFrame::Agent { agent },
        }
    }

    /// A waiting guest's place in its queue, for its sessions on this node.
    pub fn queue_position(conversation_id: &str, at: crate::rest::QueuePosition) -> Self {
        LiveEvent {
            route: Route::Guest { conversation_id: conversation_id.to_string() },
            origin_session: None,
            frame: ServerFrame::Queue {
                conversation_id: conversation_id.to_string(),
                position: at.position,
                estimated_wait_ms: at.estimated_wait_ms,
            },
        }
    }

    fn in_conversation(
        conversation: &Conversation,
        frame: ServerFrame,
        origin_session: Option<&str>,
    ) -> Self {
        LiveEvent {
            route: Route::Conversation {
                conversation_id: conversation.id.clone(),
                queue: conversation.queue.clone(),
            },
            origin_session: origin_session.map(str::to_string),
            frame,
        }
    }
}

/// A live event as one node publishes it to the others. Borrowed when sent (no copy of the
/// event), owned when received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterEvent<'a> {
    /// The publishing node; a node ignores its own events (it delivered them already).
    pub node: Cow<'a, str>,
    pub event: Cow<'a, LiveEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::Role;

    #[test]
    fn events_cross_nodes_unchanged() {
        let conversation: Conversation = serde_json::from_value(serde_json::json!({
            "id": "cnv_1", "deploymentId": "dep_1", "queue": "sales", "state": "waiting",
            "guest": {"id": "gst_1", "createdAtMs": 1}, "lastSeq": 3,
            "createdAtMs": 1, "updatedAtMs": 2,
        }))
        .unwrap();
        let who = Participant { role: Role::Guest, id: "gst_1".into(), display_name: None };
        let event = LiveEvent::typing(&conversation, who, "ses_1");
        assert_eq!(
            event.route,
            Route::Conversation { conversation_id: "cnv_1".into(), queue: "sales".into() }
        );
        let sent = serde_json::to_string(&ClusterEvent {
            node: Cow::Borrowed("n1"),
            event: Cow::Borrowed(&event),
        })
        .unwrap();
        let received: ClusterEvent<'static> = serde_json::from_str(&sent).unwrap();
        assert_eq!(received.event.as_ref(), &event);
        assert_eq!(received.node, "n1");
    }
}
