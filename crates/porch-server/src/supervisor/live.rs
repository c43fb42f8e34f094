//! Supervisors' live view of agents (docs/routing.md, "Supervisors"): every change of an
//! agent's status or load becomes one `agent` frame on the supervisors' topic, on every node.
//!
//! The frame says the agent as stored after the change (a read of its row), not the change
//! itself: frames from two nodes may cross, and the last one heard is still a whole, recent
//! state. A supervisor that misses one (its session lagged, its node resynced) reconnects and
//! re-reads the overview, so these only make the view fast; the store stays its source.

use porch_core::store::AppendOutcome;
use porch_wire::event::LiveEvent;

use crate::error::ApiResult;
use crate::state::AppState;

/// Tells supervisors how `agent_id` stands now. A failed read is logged, not returned: the
/// change it follows is committed, and a supervisor re-reads the overview when it reconnects.
pub async fn agent_changed(state: &AppState, agent_id: &str) {
    if let Err(e) = publish(state, agent_id).await {
        tracing::warn!(agent = agent_id, error = %e.message, "could not tell supervisors of an agent's change");
    }
}

/// After an append: the agents whose load its commit moved (`AppendOutcome::moved_agents`: an
/// assignment, a release; rare), read and told on a task of their own, so the append's caller
/// (an accept, a reply) does not wait for the reads. A plain message moves none: no read.
pub fn loads_moved(state: &AppState, outcome: &AppendOutcome) {
    let moved: Vec<String> = outcome.moved_agents().into_iter().map(str::to_owned).collect();
    if moved.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        for agent_id in moved {
            agent_changed(&state, &agent_id).await;
        }
    });
}

/// Reads the agent and publishes it. The routing row (status, load) is read last, just
/// before the publish, so the frame is as fresh as it can be.
async fn publish(state: &AppState, agent_id: &str) -> ApiResult<()> {
    let Some(record) = state.store.agent(agent_id).await? else { return Ok(()) };
    let settings = state.store.queue_settings(record.queues.clone()).await?;
    let Some(row) = state.store.agent_routing(agent_id).await? else { return Ok(()) };
    let agent = super::agent_overview(state, record, &row, &settings);
    state.publish(LiveEvent::agent(agent));
    Ok(())
}
