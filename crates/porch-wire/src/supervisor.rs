//! What a supervisor reads (docs/routing.md, "Supervisors"), and what the console offers an
//! agent handing a conversation on. A supervisor's live view is the same `message` and
//! `conversation` frames every agent gets, of every queue, and `agent` frames (an
//! `AgentOverview` each) when an agent's status or load changes.

use serde::{Deserialize, Serialize};

use crate::rest::{AgentStatus, Conversation};

/// `GET /api/v2/agent/supervisor/overview`: every queue, every agent, every live conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupervisorOverview {
    /// Every queue a deployment sends conversations to or an agent serves, by name.
    pub queues: Vec<QueueOverview>,
    /// Every agent, by name.
    pub agents: Vec<AgentOverview>,
    /// Every conversation `waiting` or `assigned`, most recently active first, at most
    /// `CONVERSATION_LIST_MAX`.
    pub conversations: Vec<Conversation>,
    /// True when more live conversations exist than `conversations` holds.
    pub more_conversations: bool,
    /// The server's clock when it read this, so waits are measured on one clock.
    pub at_ms: i64,
}

/// One queue as a supervisor sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueOverview {
    pub name: String,
    /// Conversations waiting in it now.
    pub waiting: u32,
    /// Conversations of it an agent holds now.
    pub assigned: u32,
    /// How long its oldest waiting conversation has existed (0 when none waits).
    pub longest_wait_ms: i64,
    /// The ids of the agents serving it.
    pub agent_ids: Vec<String>,
}

/// One agent as a supervisor (or an agent handing a conversation on) sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentOverview {
    pub id: String,
    pub name: String,
    pub status: AgentStatus,
    /// As routing resolves it now (docs/routing.md, "Capacity").
    pub capacity: u32,
    /// Conversations it holds now.
    pub load: u32,
    pub queues: Vec<String>,
    pub supervisor: bool,
}

/// `GET /api/v2/agent/conversations/{id}/handover`: where a conversation may go and how it
/// may close, for the console's transfer and close forms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandoverOptions {
    /// The other agents of the conversation's queue (its holder left out), `available` first:
    /// only an `available` one can take a transfer.
    pub agents: Vec<AgentOverview>,
    /// The queues it may be transferred to: every known queue but its own.
    pub queues: Vec<String>,
    /// The deployment's wrap-up codes; empty when a close needs none.
    pub wrap_up_codes: Vec<String>,
}
