//! Supervisors (docs/routing.md, "Supervisors"): an agent an operator flagged sees every queue
//! and every live conversation, and transfers or closes any of them (`agents::acting` says
//! whose hold the store checks). Here: which queues an agent sees, the supervisor's overview,
//! and the options the console offers any agent handing a conversation on.
//!
//! Agents are not scoped to deployments, so "every queue" is every queue of this Porch: those
//! deployments send conversations to and those agents serve (bots' holding queues are the
//! bots' own, docs/bots.md, and left out).

pub mod live;

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use porch_core::limits::CONVERSATION_LIST_MAX;
use porch_core::model::{AgentRecord, AgentRouting, QueueSettings, capacity_of};
use porch_core::store::ConversationFilter;
use porch_wire::ErrorCode;
use porch_wire::rest::{AgentStatus, Conversation, ConversationState};
use porch_wire::supervisor::{AgentOverview, HandoverOptions, QueueOverview, SupervisorOverview};

use crate::auth::{AgentAuth, AgentPrincipal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Every queue of this Porch: deployments' and agents', by name.
pub async fn known_queues(state: &AppState) -> ApiResult<Vec<String>> {
    let mut queues: BTreeSet<String> =
        state.store.deployments().await?.into_iter().map(|d| d.queue).collect();
    for agent in state.store.agents().await? {
        queues.extend(agent.queues);
    }
    queues.retain(|q| porch_core::bot::holder(q).is_none());
    Ok(queues.into_iter().collect())
}

/// The queues whose conversations an agent lists and follows live: its own, or, for a
/// supervisor, every queue.
pub async fn seen_queues(state: &AppState, agent: &AgentPrincipal) -> ApiResult<Vec<String>> {
    if agent.supervisor { known_queues(state).await } else { Ok(agent.queues.clone()) }
}

/// `GET /api/v2/agent/supervisor/overview`: every queue with its waiting count, longest wait
/// and agents; every agent with its status and load; every live conversation.
pub async fn overview(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
) -> ApiResult<axum::Json<SupervisorOverview>> {
    if !agent.supervisor {
        return Err(ApiError::new(
            ErrorCode::NotSupervisor,
            format!(
                "agent `{}` is not a supervisor, so it sees only its own queues; have an operator run `porch agents set {} --supervisor true`",
                crate::error::shown(&agent.name),
                crate::error::shown(&agent.name)
            ),
        ));
    }
    let queues = known_queues(&state).await?;
    let agents = agents_overview(&state, &queues).await?;
    let filter = ConversationFilter {
        queues: queues.clone(),
        states: vec![ConversationState::Waiting, ConversationState::Assigned],
        limit: CONVERSATION_LIST_MAX + 1,
    };
    let mut conversations = state.store.conversations(filter).await?;
    let more_conversations = conversations.len() > CONVERSATION_LIST_MAX as usize;
    conversations.truncate(CONVERSATION_LIST_MAX as usize);
    let at_ms = porch_core::time::now_ms();
    let queues = queues.iter().map(|q| queue_overview(q, &agents, &conversations, at_ms)).collect();
    Ok(axum::Json(SupervisorOverview { queues, agents, conversations, more_conversations, at_ms }))
}

/// One queue's counts, from the live conversations read.
fn queue_overview(
    name: &str,
    agents: &[AgentOverview],
    conversations: &[Conversation],
    now_ms: i64,
) -> QueueOverview {
    let of_queue = || conversations.iter().filter(move |c| c.queue == name);
    let waiting: Vec<&Conversation> =
        of_queue().filter(|c| c.state == ConversationState::Waiting).collect();
    let oldest_ms = waiting.iter().map(|c| c.created_at_ms).min();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    QueueOverview {
        name: name.to_owned(),
        waiting: count(waiting.len()),
        assigned: count(of_queue().filter(|c| c.state == ConversationState::Assigned).count()),
        longest_wait_ms: oldest_ms.map_or(0, |t| (now_ms - t).max(0)),
        agent_ids: agents
            .iter()
            .filter(|a| a.queues.iter().any(|q| q == name))
            .map(|a| a.id.clone())
            .collect(),
    }
}

/// Every agent with its routing state, by name: one read per queue (its agents' routing
/// rows), and one per agent that serves none.
async fn agents_overview(state: &AppState, queues: &[String]) -> ApiResult<Vec<AgentOverview>> {
    let mut routing: BTreeMap<String, AgentRouting> = BTreeMap::new();
    for queue in queues {
        for row in state.store.queue_agents(queue).await? {
            routing.insert(row.agent_id.clone(), row);
        }
    }
    let settings = state.store.queue_settings(queues.to_vec()).await?;
    let mut agents = Vec::new();
    for record in state.store.agents().await? {
        let row = match routing.remove(&record.id) {
            Some(row) => Some(row),
            None => state.store.agent_routing(&record.id).await?,
        };
        if let Some(row) = row {
            agents.push(agent_overview(state, record, &row, &settings));
        }
    }
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(agents)
}

fn agent_overview(
    state: &AppState,
    record: AgentRecord,
    row: &AgentRouting,
    settings: &[QueueSettings],
) -> AgentOverview {
    AgentOverview {
        capacity: capacity_of(row, settings, state.config.limits.agent_capacity_default),
        id: record.id,
        name: record.name,
        status: row.status,
        load: row.load,
        queues: record.queues,
        supervisor: record.supervisor,
    }
}

/// `GET /api/v2/agent/conversations/{id}/handover`: the agents of the conversation's queue
/// (not its holder; `available` first), the other queues, the deployment's wrap-up codes.
pub async fn handover_options(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<HandoverOptions>> {
    let conversation = crate::agents::visible(&state, &agent, &id).await?;
    let holder = conversation
        .assigned_agent_id
        .as_deref()
        .filter(|_| conversation.state == ConversationState::Assigned);
    let mut queues = known_queues(&state).await?;
    let settings = state.store.queue_settings(queues.clone()).await?;
    let records = state.store.agents().await?;
    let mut agents: Vec<AgentOverview> = Vec::new();
    for row in state.store.queue_agents(&conversation.queue).await? {
        let Some(record) = records.iter().find(|r| r.id == row.agent_id) else { continue };
        if Some(row.agent_id.as_str()) == holder || !record.standing.enabled {
            continue;
        }
        agents.push(agent_overview(&state, record.clone(), &row, &settings));
    }
    agents.sort_by_key(|a| (a.status != AgentStatus::Available, a.name.clone()));
    queues.retain(|q| *q != conversation.queue);
    let wrap_up_codes = state.store.wrap_up_codes(&conversation.deployment_id).await?;
    Ok(axum::Json(HandoverOptions { agents, queues, wrap_up_codes }))
}
