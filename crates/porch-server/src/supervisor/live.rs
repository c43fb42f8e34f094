//! Supervisors' live view of agents (docs/routing.md, "Supervisors"): every change of an
//! agent's status or load becomes one `agent` frame on the supervisors' topic, on every node.
//!
//! The frame says the agent as stored after the change (a read of its row), not the change
//! itself: frames from two nodes may cross, and the last one heard is still a whole, recent
//! state. A supervisor that misses one (its session lagged, its node resynced) reconnects and
//! re-reads the overview, so these only make the view fast; the store stays its source.
//!
//! Loads moved by appends are told by one worker per node (`run`), not a task per append: an
//! agent waiting to be read is queued once however many appends moved it, since one read after
//! them all says the same as one read after each.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use porch_core::store::AppendOutcome;
use porch_wire::event::LiveEvent;
use tokio::sync::Notify;

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
/// assignment, a release; rare), handed to this node's worker, so the append's caller (an
/// accept, a reply) does not wait for the reads. A plain message moves none: nothing queued.
pub fn loads_moved(state: &AppState, outcome: &AppendOutcome) {
    for agent_id in outcome.moved_agents() {
        state.loads_moved.push(agent_id);
    }
}

/// The worker: reads and tells each queued agent in turn until the node shuts down. An agent
/// leaves the waiting set when its read starts, so a change committed during the read queues
/// it again and is told too.
pub async fn run(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    loop {
        let Some(agent_id) = state.loads_moved.next() else {
            tokio::select! {
                () = state.loads_moved.pushed.notified() => continue,
                _ = shutdown.changed() => return,
            }
        };
        // Supervisors are closed with 4200 and re-read the overview: no read is owed them.
        tokio::select! {
            () = agent_changed(&state, &agent_id) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The agents waiting for this node's worker, in the order their loads moved. An agent waits
/// at most once (`ids`), so the queue is bounded by the number of agents, however many
/// appends move them: a burst neither spawns tasks nor loses a change.
#[derive(Default)]
pub struct LoadsMoved {
    waiting: Mutex<Waiting>,
    /// Wakes the worker. `notify_one` keeps a permit when the worker is busy reading, so a
    /// push between its `next` and its wait is not missed.
    pushed: Notify,
}

#[derive(Default)]
struct Waiting {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl LoadsMoved {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `agent_id` for a read; false when it already waits (that read will see this
    /// change, whose commit came first).
    fn push(&self, agent_id: &str) -> bool {
        let mut waiting = self.waiting();
        if !waiting.ids.insert(agent_id.to_owned()) {
            return false;
        }
        waiting.order.push_back(agent_id.to_owned());
        drop(waiting);
        self.pushed.notify_one();
        true
    }

    /// The next agent to read; its read starts, so a change from now on queues it again.
    fn next(&self) -> Option<String> {
        let mut waiting = self.waiting();
        let id = waiting.order.pop_front()?;
        waiting.ids.remove(&id);
        debug_assert_eq!(waiting.ids.len(), waiting.order.len(), "each waiting agent once");
        Some(id)
    }
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

#[cfg(test)]
mod tests {
    use super::LoadsMoved;

    fn drain(moved: &LoadsMoved) -> Vec<String> {
        std::iter::from_fn(|| moved.next()).collect()
    }

    /// A burst queues each agent once, in order; an agent whose read has started is queued
    /// again by its next change.
    #[test]
    fn a_burst_reads_each_agent_once_in_order() {
        let moved = LoadsMoved::default();
        let pushed: Vec<bool> =
            ["a", "b", "c", "a", "b", "c", "d"].iter().map(|id| moved.push(id)).collect();
        assert_eq!(pushed, [true, true, true, false, false, false, true]);
        assert_eq!(drain(&moved), ["a", "b", "c", "d"]);
        assert!(moved.waiting().ids.is_empty());

        assert!(moved.push("a"));
        assert_eq!(moved.next().as_deref(), Some("a"));
        assert!(moved.push("a"), "a change during the read is told by another");
        assert_eq!(drain(&moved), ["a"]);
    }

    /// The worker's wake-up survives a push made while it was not waiting.
    #[tokio::test]
    async fn a_push_before_the_wait_still_wakes_the_worker() {
        let moved = LoadsMoved::default();
        assert!(moved.push("a"));
        tokio::time::timeout(std::time::Duration::from_secs(5), moved.pushed.notified())
            .await
            .expect("the permit kept by notify_one");
    }
}
