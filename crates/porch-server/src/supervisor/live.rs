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

use porch_core::limits::SUPERVISOR_LIVE_QUEUE_MAX;
use porch_core::store::AppendOutcome;
use porch_wire::event::LiveEvent;
use tokio::sync::mpsc::{self, Receiver, Sender, error::TrySendError};

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
    let Some(mut rx) = state.loads_moved.take_receiver() else { return };
    let mut shutdown = state.shutdown.clone();
    loop {
        let agent_id = match state.loads_moved.try_next(&mut rx) {
            Some(id) => id,
            None => tokio::select! {
                id = rx.recv() => match id {
                    Some(id) => state.loads_moved.taken(id),
                    None => return,
                },
                _ = shutdown.changed() => return,
            },
        };
        // Supervisors are closed with 4200 and re-read the overview: no read is owed them.
        tokio::select! {
            () = agent_changed(&state, &agent_id) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The agents waiting for this node's worker: in the channel (at most
/// `SUPERVISOR_LIVE_QUEUE_MAX`), or, when it was full, in `overflow`, which the worker drains
/// once the channel is empty. `ids` holds both, so an agent waits at most once, and the whole
/// is bounded by the number of agents.
pub struct LoadsMoved {
    waiting: Mutex<Waiting>,
    tx: Sender<String>,
    /// Taken by the worker when it starts.
    rx: Mutex<Option<Receiver<String>>>,
}

#[derive(Default)]
struct Waiting {
    ids: HashSet<String>,
    overflow: VecDeque<String>,
}

impl Default for LoadsMoved {
    fn default() -> Self {
        LoadsMoved::with_capacity(SUPERVISOR_LIVE_QUEUE_MAX)
    }
}

impl LoadsMoved {
    fn with_capacity(capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity);
        LoadsMoved { waiting: Mutex::default(), tx, rx: Mutex::new(Some(rx)) }
    }

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
        // Under the lock, so the worker cannot find the channel and the overflow both empty
        // between this refusal and the push below.
        if let Err(TrySendError::Full(id)) = self.tx.try_send(agent_id.to_owned()) {
            waiting.overflow.push_back(id);
        }
        true
    }

    fn take_receiver(&self) -> Option<Receiver<String>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The agent's read starts: a change from now on queues it again.
    fn taken(&self, agent_id: String) -> String {
        self.waiting().ids.remove(&agent_id);
        agent_id
    }

    /// The next agent to read without waiting: the channel's first, else the overflow's.
    fn try_next(&self, rx: &mut Receiver<String>) -> Option<String> {
        if let Ok(id) = rx.try_recv() {
            return Some(self.taken(id));
        }
        let mut waiting = self.waiting();
        let id = waiting.overflow.pop_front()?;
        waiting.ids.remove(&id);
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

    fn drain(moved: &LoadsMoved, rx: &mut tokio::sync::mpsc::Receiver<String>) -> Vec<String> {
        std::iter::from_fn(|| moved.try_next(rx)).collect()
    }

    /// A burst queues each agent once; past the channel's room the rest still get their read
    /// (none lost); an agent whose read has started is queued again by its next change.
    #[test]
    fn a_burst_reads_each_agent_once_and_loses_none_past_the_queue() {
        let moved = LoadsMoved::with_capacity(2);
        let mut rx = moved.take_receiver().unwrap();
        assert!(moved.take_receiver().is_none(), "one worker");
        let pushed: Vec<bool> =
            ["a", "b", "c", "a", "b", "c", "d"].iter().map(|id| moved.push(id)).collect();
        assert_eq!(pushed, [true, true, true, false, false, false, true]);
        assert_eq!(drain(&moved, &mut rx), ["a", "b", "c", "d"]);
        assert!(moved.waiting().ids.is_empty());

        assert!(moved.push("a"));
        assert_eq!(moved.try_next(&mut rx).as_deref(), Some("a"));
        assert!(moved.push("a"), "a change during the read is told by another");
        assert_eq!(drain(&moved, &mut rx), ["a"]);
    }
}
