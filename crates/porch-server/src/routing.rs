//! Routing (docs/routing.md): who may hold a conversation, and how many, and the status an
//! agent chooses. The store decides every race (`Store::append` assigns only a conversation
//! nobody holds, to an agent below its capacity); this module resolves what the store checks
//! against.

use axum::extract::State;
use porch_core::model::{AgentRouting, QueueSettings, capacity_of};
use porch_core::store::{Assignee, StoreError};
use porch_wire::ErrorCode;
use porch_wire::rest::{AgentStatus, AgentStatusRequest, AgentStatusResponse, Conversation};

use crate::auth::AgentAuth;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The agent as an assignee, with its capacity as of now: its own, else its queues' smallest
/// default, else `agent_capacity_default` (`model::capacity_of`).
pub async fn assignee(state: &AppState, agent_id: &str) -> ApiResult<Assignee> {
    let (agent, capacity) = routing_of(state, agent_id).await?;
    Ok(Assignee { agent_id: agent.agent_id, capacity })
}

/// The agent's stored routing row and its capacity as resolved now.
pub(crate) async fn routing_of(state: &AppState, agent_id: &str) -> ApiResult<(AgentRouting, u32)> {
    let Some(agent) = state.store.agent_routing(agent_id).await? else {
        return Err(ApiError::from(StoreError::AgentUnknown(agent_id.to_owned())));
    };
    let queues = state.store.queue_settings(agent.queues.clone()).await?;
    let capacity = capacity_of(&agent, &queues, state.config.limits.agent_capacity_default);
    Ok((agent, capacity))
}

/// What the agent's status endpoint answers: status, capacity and load as stored.
async fn status_response(state: &AppState, agent_id: &str) -> ApiResult<AgentStatusResponse> {
    let (agent, capacity) = routing_of(state, agent_id).await?;
    Ok(AgentStatusResponse {
        agent_id: agent.agent_id,
        status: agent.status,
        capacity,
        load: agent.load,
    })
}

/// A queue's settings, `QueueSettings::unset` when nobody configured it.
pub async fn queue(state: &AppState, name: &str) -> ApiResult<QueueSettings> {
    let stored = state.store.queue_settings(vec![name.to_owned()]).await?;
    Ok(stored.into_iter().next().unwrap_or_else(|| QueueSettings::unset(name)))
}

/// Taking by hand (`/assign`, a first reply) is allowed only where the conversation's queue
/// allows it (`manual_take`); elsewhere agents accept offers.
pub async fn check_manual_take(state: &AppState, conversation: &Conversation) -> ApiResult<()> {
    if queue(state, &conversation.queue).await?.manual_take {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::ManualTakeOff,
        format!(
            "queue `{}` does not allow taking conversations by hand; accept an offer instead, or have an operator run `porch queues set {} --manual-take true`",
            crate::error::shown(&conversation.queue),
            crate::error::shown(&conversation.queue)
        ),
    ))
}

/// The status an agent asks for: `available` or `away`. `offline` is the server's to set
/// (when the agent's last connection ends), and anything else is not a status.
pub fn chosen_status(asked: &str) -> ApiResult<AgentStatus> {
    match AgentStatus::parse(asked) {
        Some(status @ (AgentStatus::Available | AgentStatus::Away)) => Ok(status),
        Some(AgentStatus::Offline) => Err(ApiError::new(
            ErrorCode::AgentStatusInvalid,
            "an agent cannot set itself offline: it is offline once its last connection ends; choose available or away",
        )),
        None => Err(ApiError::new(
            ErrorCode::AgentStatusInvalid,
            format!(
                "status `{}` does not exist; choose available (take conversations) or away (take none)",
                crate::error::shown(asked)
            ),
        )),
    }
}

/// Sets the agent's own status; nothing changes on a refusal.
pub async fn set_status(state: &AppState, agent_id: &str, asked: &str) -> ApiResult<AgentStatus> {
    let status = chosen_status(asked)?;
    if !state.store.set_agent_status(agent_id, status).await? {
        return Err(ApiError::from(StoreError::AgentUnknown(agent_id.to_owned())));
    }
    state.offers.wake();
    crate::supervisor::live::agent_changed(state, agent_id).await;
    Ok(status)
}

/// `PUT /api/v2/agent/status`: the agent chooses `available` or `away`.
pub async fn put_status(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    JsonBody(request): JsonBody<AgentStatusRequest>,
) -> ApiResult<axum::Json<AgentStatusResponse>> {
    set_status(&state, &agent.agent_id, &request.status).await?;
    Ok(axum::Json(status_response(&state, &agent.agent_id).await?))
}

/// `GET /api/v2/agent/status`: the agent's status, capacity and load, for the console.
pub async fn get_status(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
) -> ApiResult<axum::Json<AgentStatusResponse>> {
    Ok(axum::Json(status_response(&state, &agent.agent_id).await?))
}
