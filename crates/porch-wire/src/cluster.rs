//! What nodes of one Porch cluster tell each other over the broker: the live events of
//! conversations. The store stays the only source of truth; these only make delivery fast, and
//! a node that misses some recovers from the store.

use serde::{Deserialize, Serialize};

use crate::rest::{Conversation, Message, Notice, Participant};

/// Default subject every node of a cluster publishes to and subscribes to. Clusters sharing
/// one NATS server need one subject each (`--broker-subject`).
pub const SUBJECT: &str = "porch.events";

/// One live event, as published by the node where it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterEvent {
    /// The publishing node; a node ignores its own events (it delivered them already).
    pub node: String,
    /// Empty for deployment-wide events (`Notice`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub conversation_id: String,
    /// Empty for deployment-wide events (`Notice`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_session: Option<String>,
    pub event: ClusterEventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ClusterEventKind {
    Message {
        message: Message,
    },
    Conversation {
        conversation: Conversation,
    },
    Typing {
        participant: Participant,
    },
    Read {
        participant: Participant,
        seq: u64,
    },
    /// A deployment's notice was set or cleared; for every guest of the deployment.
    Notice {
        deployment_id: String,
        notice: Option<Notice>,
    },
}
