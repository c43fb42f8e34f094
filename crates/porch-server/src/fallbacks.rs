//! Unanswered fallbacks (docs/routing.md): a queue may name what happens to a conversation that
//! waits there `after_secs` with no agent: a message to the guest, a move to another queue, or
//! a close with a message. Every node looks every `FALLBACK_SCAN_INTERVAL_MS`; the store says
//! which conversations are due (`Store::due_fallbacks`) and lets one write each fallback: the
//! entry commits only if the conversation's `last_seq` is still the one read
//! (`AppendRequest::expect_last_seq`), so of two nodes firing at once, the second finds it
//! changed and writes nothing. Each fallback is one entry, marked `fallback`.

use porch_core::limits::{FALLBACK_BATCH_MAX, FALLBACK_SCAN_INTERVAL_MS};
use porch_core::model::{Fallback, FallbackAction};
use porch_core::store::{AppendRequest, StoreError};
use porch_wire::rest::{Conversation, ConversationState};

use crate::state::AppState;

/// What a move to another queue says: the guest is not told which queue.
pub const MOVED_TEXT: &str =
    "Nobody was free to answer here: the conversation moved to another team";

/// The loop: a pass every `FALLBACK_SCAN_INTERVAL_MS` until the node shuts down.
pub async fn run(state: AppState) {
    let fired = "fallbacks: fired for unanswered conversations";
    crate::periodic::every(
        state,
        FALLBACK_SCAN_INTERVAL_MS,
        fired,
        |s| async move { pass(&s).await },
    )
    .await;
}

/// One pass over every queue with a fallback: how many fallbacks this node wrote.
pub async fn pass(state: &AppState) -> Result<usize, StoreError> {
    // Stored but not fanned out to other nodes' guests and agents: leave it to a node that can.
    if crate::conversation::check_broker(state).is_err() {
        return Ok(0);
    }
    let now_ms = porch_core::time::now_ms();
    let mut fired = 0;
    for queue in state.store.fallback_queues().await? {
        let Some(fallback) = &queue.fallback else { continue };
        let since_ms = now_ms - i64::from(fallback.after_secs) * 1_000;
        let due = state.store.due_fallbacks(&queue.name, since_ms, FALLBACK_BATCH_MAX).await?;
        for conversation in due {
            fired += usize::from(fire(state, fallback, &conversation, now_ms).await?);
        }
    }
    Ok(fired)
}

/// Writes the fallback's entry and tells everyone; false when another node (or a message, a
/// take) changed the conversation since it was read: the next pass decides again.
async fn fire(
    state: &AppState,
    fallback: &Fallback,
    conversation: &Conversation,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut request = AppendRequest::system(&conversation.id, String::new(), now_ms);
    request.fallback = true;
    match &fallback.action {
        FallbackAction::Message(text) => request.text = text.clone(),
        FallbackAction::Queue(queue) => {
            request.text = MOVED_TEXT.to_owned();
            request.event = Some(ConversationState::Waiting);
            request.queue = Some(queue.clone());
        }
        FallbackAction::Close(text) => {
            request.text = text.clone();
            request.event = Some(ConversationState::Closed);
        }
    }
    crate::periodic::write_once(state, conversation, request).await
}
