//! Agents' presence on this node (docs/routing.md): how many gateway connections each agent
//! holds here. An agent that connects while `offline` becomes `away` (it chooses when to take
//! conversations); when its last connection here ends and none comes back within
//! `agent_offline_grace_ms`, it becomes `offline`. A reload or a network blip is shorter than
//! the grace, so it does not take the agent out of routing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use porch_wire::rest::AgentStatus;

use crate::state::AppState;

/// Per agent, its connections on this node and a count of how often the last one ended (so a
/// grace timer knows whether the agent came back and left again meanwhile).
#[derive(Default)]
pub struct Presence {
    agents: Mutex<HashMap<String, Entry>>,
}

#[derive(Default)]
struct Entry {
    connections: u32,
    departures: u64,
}

/// Held by an agent's session; dropping it ends the connection's presence.
pub struct Connected {
    state: AppState,
    agent_id: String,
}

impl Presence {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        // A poisoned map only means a panic elsewhere; its counts are still whole.
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut agents)
    }
}

impl Presence {
    /// The agents with a gateway connection to this node now.
    pub fn here(&self) -> Vec<String> {
        self.with(|agents| {
            agents.iter().filter(|(_, e)| e.connections > 0).map(|(id, _)| id.clone()).collect()
        })
    }
}

/// Counts a connection of `agent_id` on this node, and wakes an `offline` agent as `away`.
pub async fn connected(state: &AppState, agent_id: &str) -> Connected {
    state.presence.with(|agents| agents.entry(agent_id.to_owned()).or_default().connections += 1);
    match state.store.agent_routing(agent_id).await {
        Ok(Some(agent)) if agent.status == AgentStatus::Offline => {
            match state.store.set_agent_status(agent_id, AgentStatus::Away).await {
                Ok(_) => crate::supervisor::live::agent_changed(state, agent_id).await,
                Err(e) => {
                    tracing::warn!(agent = agent_id, error = %e, "could not mark a connected agent away");
                }
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(agent = agent_id, error = %e, "could not read a connecting agent"),
    }
    state.offers.wake();
    Connected { state: state.clone(), agent_id: agent_id.to_owned() }
}

impl Drop for Connected {
    fn drop(&mut self) {
        let departure = self.state.presence.with(|agents| {
            let entry = agents.get_mut(&self.agent_id)?;
            entry.connections = entry.connections.saturating_sub(1);
            if entry.connections > 0 {
                return None;
            }
            entry.departures += 1;
            Some(entry.departures)
        });
        if let Some(departure) = departure {
            let (state, agent_id) = (self.state.clone(), std::mem::take(&mut self.agent_id));
            tokio::spawn(go_offline_after_grace(state, agent_id, departure));
        }
    }
}

/// After the grace, marks the agent `offline` unless it connected here again meanwhile.
async fn go_offline_after_grace(state: AppState, agent_id: String, departure: u64) {
    tokio::time::sleep(Duration::from_millis(state.config.limits.agent_offline_grace_ms)).await;
    let gone = state.presence.with(|agents| match agents.get(&agent_id) {
        Some(entry) if entry.connections == 0 && entry.departures == departure => {
            agents.remove(&agent_id);
            true
        }
        _ => false,
    });
    if !gone {
        return;
    }
    match state.store.set_agent_status(&agent_id, AgentStatus::Offline).await {
        Ok(_) => crate::supervisor::live::agent_changed(&state, &agent_id).await,
        Err(e) => {
            tracing::warn!(agent = %agent_id, error = %e, "could not mark a departed agent offline");
        }
    }
}
