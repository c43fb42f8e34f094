//! Routing (docs/routing.md): who may hold a conversation, and how many. The store decides
//! every race (`Store::append` assigns only a conversation nobody holds, to an agent below its
//! capacity); this module resolves what the store checks against.

use porch_core::model::{QueueSettings, capacity_of};
use porch_core::store::Assignee;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The agent as an assignee, with its capacity as of now: its own, else its queues' smallest
/// default, else `agent_capacity_default` (`model::capacity_of`).
pub async fn assignee(state: &AppState, agent_id: &str) -> ApiResult<Assignee> {
    let Some(agent) = state.store.agent_routing(agent_id).await? else {
        return Err(ApiError::from(porch_core::store::StoreError::AgentUnknown(
            agent_id.to_owned(),
        )));
    };
    let queues = state.store.queue_settings(agent.queues.clone()).await?;
    let capacity = capacity_of(&agent, &queues, state.config.limits.agent_capacity_default);
    Ok(Assignee { agent_id: agent.agent_id, capacity })
}

/// A queue's settings, `QueueSettings::unset` when nobody configured it.
pub async fn queue(state: &AppState, name: &str) -> ApiResult<QueueSettings> {
    let stored = state.store.queue_settings(vec![name.to_owned()]).await?;
    Ok(stored.into_iter().next().unwrap_or_else(|| QueueSettings::unset(name)))
}
