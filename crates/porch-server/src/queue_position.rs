//! Queue positions (docs/routing.md, "Queue positions"): each waiting guest is told where it
//! stands in its queue and how long it may still wait, in `ready`, in `queue` frames as that
//! changes, and over REST.
//!
//! Positions are this node's to work out for its own guests: a `conversation` frame (a guest
//! joined, one was assigned or left, from this node's commits or, through NATS, another's)
//! marks its queue changed in the hub; this loop then reads the queue once (`queue_standing`,
//! and its agents) and tells each guest here whose position or estimate moved, through the
//! hub only. Reads of one queue are at least `QUEUE_POSITION_WINDOW_MS` apart, so a change in
//! a queue of 1,000 waiting guests costs one read, not 1,000; and every
//! `QUEUE_POSITION_REFRESH_MS` the queues with guests here are read again, for what no event
//! carries (an agent becoming available).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use porch_core::limits::{
    QUEUE_POSITION_REFRESH_MS, QUEUE_POSITION_WINDOW_MS, QUEUE_POSITIONS_MAX,
    QUEUE_WAIT_SAMPLES_MAX,
};
use porch_core::model::capacity_of;
use porch_core::queue::positions;
use porch_wire::event::LiveEvent;
use porch_wire::rest::{AgentStatus, Conversation, ConversationState, QueuePosition};

use crate::error::ApiResult;
use crate::hub::{HubEvent, conversation_topic};
use crate::state::AppState;

/// The queues this node's waiting guests are in, and what each was last read and told.
#[derive(Default)]
pub struct QueuePositions {
    queues: Mutex<HashMap<String, Arc<Entry>>>,
}

#[derive(Default)]
struct Entry {
    /// Changed since the loop last read it and told its guests.
    dirty: AtomicBool,
    /// Counts the times the queue was marked changed. A read records the count it started
    /// from, so a guest's `ready` reads again only for a change no read has seen yet: `dirty`
    /// stays set until the loop tells, and reading for it at every `ready` meant one read of
    /// 5,000 conversations per connecting guest after each refresh (S1).
    marks: AtomicU64,
    /// One read of the queue at a time: callers arriving during it wait and share it.
    snapshot: tokio::sync::Mutex<Snapshot>,
}

/// What a pass does for a changed queue (`Snapshot::due`).
#[derive(Debug, PartialEq)]
enum Due {
    Read,
    Tell,
    Wait(Instant),
}

#[derive(Default)]
struct Snapshot {
    read_at: Option<Instant>,
    /// When the loop last told this queue's guests here.
    told_at: Option<Instant>,
    /// `Entry::marks` when the last read began.
    read_mark: u64,
    /// Every waiting conversation of the last read, with its place.
    positions: HashMap<String, QueuePosition>,
    /// What this node's guests were last told, so only changes go out.
    told: HashMap<String, QueuePosition>,
}

impl Entry {
    /// The queue changed: the loop reads and tells it, and the next `ready` reads it again.
    fn mark(&self) {
        self.marks.fetch_add(1, Ordering::SeqCst);
        self.dirty.store(true, Ordering::SeqCst);
    }
}

impl Snapshot {
    /// Whether a `ready` of `conversation` must read the queue again, with the queue marked
    /// `mark` times and `pending` a change the hub heard that the loop has not taken yet.
    fn stale_for(&self, conversation: &str, mark: u64, pending: bool) -> bool {
        // Changed since the last read (heard by the hub, or marked by the loop).
        let changed = mark != self.read_mark || pending;
        // Unchanged, a read is what the queue is for as long as the loop's refresh keeps it
        // (what no event carries, the loop reads every `QUEUE_POSITION_REFRESH_MS` for every
        // guest here alike). Reading again once a 1 s window passed made every handshake of a
        // busy queue's guests read the whole queue once per window (S2,
        // bench/notes/session9-handshake.md).
        let refresh = Duration::from_millis(QUEUE_POSITION_REFRESH_MS);
        let recent = self.read_at.is_some_and(|at| at.elapsed() < refresh);
        // A guest missing from a read may have joined after it, so it reads again; but a read
        // that stopped at `QUEUE_POSITIONS_MAX` leaves out every guest past it, and re-reading
        // for each of those (thousands connecting at once) read the whole queue per guest.
        let past_full_read = self.positions.len() >= QUEUE_POSITIONS_MAX as usize;
        let missing = !self.positions.contains_key(conversation) && !past_full_read;
        changed || !recent || missing
    }

    /// What the loop's pass does for a queue marked `mark` times, at `now`: read and tell; tell
    /// from a read that another caller (a guest's `ready`) made within the window and that saw
    /// every change; or wait for the window to end. Without the middle case, a stream of guests
    /// connecting kept the window open with their own reads, and the guests already waiting
    /// heard nothing until the stream stopped.
    /// Either way the loop tells a queue's guests at most once per window.
    fn due(&self, mark: u64, now: Instant) -> Due {
        let window = Duration::from_millis(QUEUE_POSITION_WINDOW_MS);
        let open = |at: Option<Instant>| at.map(|at| at + window).filter(|until| *until > now);
        match (open(self.told_at), open(self.read_at)) {
            (Some(until), _) => Due::Wait(until),
            (None, None) => Due::Read,
            (None, Some(_)) if self.read_mark == mark => Due::Tell,
            (None, Some(until)) => Due::Wait(until),
        }
    }

    /// Reads the queue into the snapshot, as of `mark`, loaded before the read began.
    async fn read(&mut self, state: &AppState, queue: &str, mark: u64) -> ApiResult<()> {
        self.positions = read(state, queue).await?;
        self.read_at = Some(Instant::now());
        self.read_mark = mark;
        Ok(())
    }
}

impl QueuePositions {
    fn entry(&self, queue: &str, create: bool) -> Option<Arc<Entry>> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if !create {
            return queues.get(queue).cloned();
        }
        Some(queues.entry(queue.to_owned()).or_default().clone())
    }

    fn all(&self) -> Vec<(String, Arc<Entry>)> {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.iter().map(|(q, e)| (q.clone(), e.clone())).collect()
    }

    /// Forgets a queue no guest here waits in, unless it changed meanwhile.
    fn forget(&self, queue: &str, entry: &Arc<Entry>) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let same = queues.get(queue).is_some_and(|e| Arc::ptr_eq(e, entry));
        if same && !entry.dirty.load(Ordering::SeqCst) {
            queues.remove(queue);
        }
    }
}

/// Where the waiting `conversation` stands, for its guest's `ready` or a REST read: from the
/// queue's last read when that is within `QUEUE_POSITION_REFRESH_MS`, has it, and nothing
/// changed since; else from a read made now (a guest that just joined is in no earlier read).
/// `None` once an agent holds it, and past `QUEUE_POSITIONS_MAX`. What it answers counts as
/// told.
pub async fn position_of(
    state: &AppState,
    conversation: &Conversation,
) -> ApiResult<Option<QueuePosition>> {
    if conversation.state != ConversationState::Waiting {
        return Ok(None);
    }
    let positions = &state.queue_positions;
    let Some(entry) = positions.entry(&conversation.queue, true) else { return Ok(None) };
    let mut snapshot = entry.snapshot.lock().await;
    let mark = entry.marks.load(Ordering::SeqCst);
    let pending = state.hub.queue_pending(&conversation.queue);
    if snapshot.stale_for(&conversation.id, mark, pending) {
        snapshot.read(state, &conversation.queue, mark).await?;
    }
    let at = snapshot.positions.get(&conversation.id).copied();
    if let Some(at) = at {
        snapshot.told.insert(conversation.id.clone(), at);
    }
    Ok(at)
}

/// One read of a queue: its waiting conversations' places and estimates.
async fn read(state: &AppState, queue: &str) -> ApiResult<HashMap<String, QueuePosition>> {
    let standing =
        state.store.queue_standing(queue, QUEUE_POSITIONS_MAX, QUEUE_WAIT_SAMPLES_MAX).await?;
    let free = agents_free(state, queue).await?;
    Ok(positions(&standing, free).map(|(id, at)| (id.to_owned(), at)).collect())
}

/// The queue's agents who could take a conversation now: `available`, below their capacity.
async fn agents_free(state: &AppState, queue: &str) -> ApiResult<u32> {
    let agents = state.store.queue_agents(queue).await?;
    let names: BTreeSet<String> = agents.iter().flat_map(|a| a.queues.clone()).collect();
    let settings = state.store.queue_settings(names.into_iter().collect()).await?;
    let default = state.config.limits.agent_capacity_default;
    let free = agents
        .iter()
        .filter(|a| a.status == AgentStatus::Available)
        .filter(|a| a.load < capacity_of(a, &settings, default))
        .count();
    Ok(u32::try_from(free).unwrap_or(u32::MAX))
}

/// The loop: marks the queues the hub heard change, reads each changed queue once its window
/// is over, and tells its guests here; until the node shuts down.
pub async fn run(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    let refresh = Duration::from_millis(QUEUE_POSITION_REFRESH_MS);
    let mut next_refresh = Instant::now() + refresh;
    loop {
        for (queue, guest_here) in state.hub.take_changed_queues() {
            if let Some(entry) = state.queue_positions.entry(&queue, guest_here) {
                entry.mark();
            }
        }
        if Instant::now() >= next_refresh {
            next_refresh = Instant::now() + refresh;
            for (_, entry) in state.queue_positions.all() {
                entry.mark();
            }
        }
        let next_due = pass(&state).await;
        let wake_at = next_due.map_or(next_refresh, |due| due.min(next_refresh));
        tokio::select! {
            () = state.hub.queues_changed() => {}
            () = tokio::time::sleep_until(wake_at.into()) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Reads and tells every changed queue whose window is over; returns when the next changed
/// one's window ends.
async fn pass(state: &AppState) -> Option<Instant> {
    let mut next_due: Option<Instant> = None;
    for (queue, entry) in state.queue_positions.all() {
        if !entry.dirty.load(Ordering::SeqCst) {
            continue;
        }
        let mut snapshot = entry.snapshot.lock().await;
        let mark = entry.marks.load(Ordering::SeqCst);
        let read = match snapshot.due(mark, Instant::now()) {
            Due::Read => true,
            Due::Tell => false,
            Due::Wait(until) => {
                next_due = Some(next_due.map_or(until, |n| n.min(until)));
                continue;
            }
        };
        entry.dirty.store(false, Ordering::SeqCst);
        match tell(state, &queue, &mut snapshot, mark, read).await {
            Ok(true) => {}
            Ok(false) => {
                drop(snapshot);
                state.queue_positions.forget(&queue, &entry);
            }
            Err(e) => {
                tracing::warn!(queue, error = ?e, "could not read a queue's positions; retrying");
                entry.dirty.store(true, Ordering::SeqCst);
                snapshot.read_at = Some(Instant::now());
            }
        }
    }
    next_due
}

/// Reads the queue (unless `read` is false: the snapshot is fresh) and sends a `queue` frame
/// to each guest here whose place changed. False when no guest of the queue's waiting
/// conversations is connected here.
async fn tell(
    state: &AppState,
    queue: &str,
    snapshot: &mut Snapshot,
    mark: u64,
    read: bool,
) -> ApiResult<bool> {
    if read {
        snapshot.read(state, queue, mark).await?;
    }
    let mut told = HashMap::new();
    for (id, at) in &snapshot.positions {
        if !state.hub.listens(&conversation_topic(id)) {
            continue;
        }
        if snapshot.told.get(id) != Some(at) {
            state.hub.publish(HubEvent::new(LiveEvent::queue_position(id, *at)));
        }
        told.insert(id.clone(), *at);
    }
    snapshot.told = told;
    snapshot.told_at = Some(Instant::now());
    Ok(!snapshot.told.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_just_now(mark: u64, ids: &[&str]) -> Snapshot {
        let at = QueuePosition { position: 1, estimated_wait_ms: None };
        Snapshot {
            read_at: Some(Instant::now()),
            told_at: None,
            read_mark: mark,
            positions: ids.iter().map(|id| ((*id).to_owned(), at)).collect(),
            told: HashMap::new(),
        }
    }

    #[test]
    fn a_change_is_read_once_not_at_every_ready() {
        let entry = Entry::default();
        entry.mark();
        let mark = entry.marks.load(Ordering::SeqCst);
        let snapshot = read_just_now(mark - 1, &["cnv_a", "cnv_b"]);
        assert!(snapshot.stale_for("cnv_a", mark, false), "a mark after the read");
        // The first `ready` after the mark read the queue; the loop has not told yet, so the
        // queue is still dirty, and the next `ready`s answer from that read.
        let snapshot = read_just_now(mark, &["cnv_a", "cnv_b"]);
        assert!(entry.dirty.load(Ordering::SeqCst));
        assert!(!snapshot.stale_for("cnv_b", mark, false));
        assert!(snapshot.stale_for("cnv_b", mark, true), "a change the loop has not taken yet");
        entry.mark();
        assert!(snapshot.stale_for("cnv_b", entry.marks.load(Ordering::SeqCst), false));
    }

    #[test]
    fn a_guest_missing_from_a_read_reads_again_unless_the_read_was_full() {
        let snapshot = read_just_now(0, &["cnv_a"]);
        assert!(snapshot.stale_for("cnv_new", 0, false), "it may have joined after the read");
        let ids: Vec<String> = (0..QUEUE_POSITIONS_MAX).map(|i| format!("cnv_{i}")).collect();
        let full = read_just_now(0, &ids.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!full.stale_for("cnv_new", 0, false), "past the read's limit: no position");
    }

    #[test]
    fn a_pass_tells_from_a_fresh_read_that_saw_every_change_and_else_waits_its_window() {
        let snapshot = read_just_now(3, &["cnv_a"]);
        let now = Instant::now();
        assert_eq!(snapshot.due(3, now), Due::Tell, "a guest's `ready` read it after the mark");
        let waits = snapshot.due(4, now);
        assert!(matches!(waits, Due::Wait(until) if until > now), "a later mark: {waits:?}");
        let window = Duration::from_millis(QUEUE_POSITION_WINDOW_MS);
        assert_eq!(snapshot.due(4, now + window), Due::Read);
        assert_eq!(Snapshot::default().due(0, now), Due::Read, "never read");
        // Told from it: the next tell waits a window, however fresh the next read.
        let told =
            Snapshot { told_at: Some(now), read_at: Some(now), ..read_just_now(3, &["cnv_a"]) };
        assert_eq!(told.due(3, now), Due::Wait(now + window));
        assert_eq!(told.due(3, now + window), Due::Read, "both windows over");
    }

    #[test]
    fn an_old_read_is_read_again() {
        let mut snapshot = read_just_now(0, &["cnv_a"]);
        snapshot.read_at = None;
        assert!(snapshot.stale_for("cnv_a", 0, false));
    }
}
