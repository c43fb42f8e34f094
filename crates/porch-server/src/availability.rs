//! Whether anyone can answer a queue now, for the widget endpoint (`agentsAvailable`): an agent
//! of the queue `available` with spare capacity (the rule offers use, `offer::choose_offeree`),
//! or a bot the queue starts with (docs/bots.md: a bot answers at any hour). Agents' status and
//! load are the store's, so every node gives the same answer.
//!
//! Each page view of a site with the widget reads the widget endpoint, so the answer is kept per
//! queue for `widget_availability_cache_ms`: a busy site costs one read per queue in that time.
//! Misses wait for one read at a time and then find its answer, so the end of a window costs
//! one read, not one per page view that arrived meanwhile. Only known deployments' queues get
//! here (the endpoint reads the deployment first), so strangers cannot grow the map.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use porch_core::model::capacity_of;
use porch_wire::rest::AgentStatus;

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Default)]
pub struct Availability {
    /// Per queue: when it was read, and the answer.
    seen: Mutex<HashMap<String, (Instant, bool)>>,
    /// Held while the store is read: the misses behind it reuse its answer.
    reading: tokio::sync::Mutex<()>,
}

impl Availability {
    /// Whether someone can answer `queue` now, as of a read at most
    /// `widget_availability_cache_ms` old.
    pub async fn of_queue(&self, state: &AppState, queue: &str) -> ApiResult<bool> {
        let max_age = Duration::from_millis(state.config.limits.widget_availability_cache_ms);
        if let Some(answer) = self.fresh(queue, max_age) {
            return Ok(answer);
        }
        let _reading = self.reading.lock().await;
        if let Some(answer) = self.fresh(queue, max_age) {
            return Ok(answer);
        }
        let answer = read(state, queue).await?;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Old answers go here rather than on a timer: the map holds at most the queues read
        // within one window.
        seen.retain(|_, (at, _)| at.elapsed() < max_age);
        seen.insert(queue.to_owned(), (Instant::now(), answer));
        Ok(answer)
    }

    fn fresh(&self, queue: &str, max_age: Duration) -> Option<bool> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(queue).filter(|(at, _)| at.elapsed() < max_age).map(|(_, answer)| *answer)
    }
}

/// The store's answer: the queue's bot, else its agents' status, load and capacity.
async fn read(state: &AppState, queue: &str) -> ApiResult<bool> {
    if crate::routing::queue(state, queue).await?.bot_id.is_some() {
        return Ok(true);
    }
    let ready: Vec<_> = state
        .store
        .queue_agents(queue)
        .await?
        .into_iter()
        .filter(|a| a.status == AgentStatus::Available)
        .collect();
    if ready.is_empty() {
        return Ok(false);
    }
    // An agent's capacity may come from any of its queues' defaults (`capacity_of`).
    let names: BTreeSet<String> = ready.iter().flat_map(|a| a.queues.clone()).collect();
    let settings = state.store.queue_settings(names.into_iter().collect()).await?;
    let default = state.config.limits.agent_capacity_default;
    Ok(ready.iter().any(|a| a.load < capacity_of(a, &settings, default)))
}
