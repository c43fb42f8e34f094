//! The shape of a node's store-driven background loops (unanswered fallbacks, a disabled bot's
//! conversations): a pass, then the loop's interval, until the node shuts down.
//!
//! A pass reads what is due from the store and writes each change conditionally (`write_once`),
//! so every node may run the same loop: a failed pass loses nothing, the next one finds the
//! same work.

use std::future::Future;
use std::time::Duration;

use porch_core::store::{AppendOutcome, AppendRequest, StoreError};
use porch_wire::rest::Conversation;

use crate::state::AppState;

/// Runs `pass` now and then every `interval_ms` until the node shuts down. A pass answers how
/// many changes it wrote; `done` names them in the log (`fallbacks: fired`), and a failure is
/// logged and retried at the next interval.
pub async fn every<F, Fut>(state: AppState, interval_ms: u64, done: &'static str, pass: F)
where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = Result<usize, StoreError>>,
{
    let mut shutdown = state.shutdown.clone();
    loop {
        match pass(state.clone()).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "{done}"),
            Err(e) => tracing::warn!("{done}: a pass failed, retrying in {interval_ms} ms: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(interval_ms)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// A pass's write of one conversation it read as `before`: `request`, conditional on
/// `before.last_seq` (`AppendRequest::expect_last_seq`), appended and, once committed, told to
/// everyone as a hand-over is, waking the offer loop for the queue it may have come to. True
/// when written (or found written, its own fresh key, after a lost commit answer); false when
/// another node, a guest's message or an agent changed the conversation since it was read: the
/// next pass decides again.
pub async fn write_once(
    state: &AppState,
    before: &Conversation,
    mut request: AppendRequest,
) -> Result<bool, StoreError> {
    request.expect_last_seq = Some(before.last_seq);
    match crate::conversation::append(state, request).await {
        Ok(AppendOutcome::Created { message, conversation: after, .. }) => {
            crate::handover::publish(state, before, &after, message).await;
            state.offers.wake();
            Ok(true)
        }
        Ok(AppendOutcome::Duplicate { .. }) => Ok(true),
        Err(StoreError::Changed(_) | StoreError::ConversationClosed(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
