//! The shape of a node's store-driven background loops (unanswered fallbacks, a disabled bot's
//! conversations): a pass, then the loop's interval, until the node shuts down.
//!
//! A pass reads what is due from the store and writes each change conditionally, so every node
//! may run the same loop: a failed pass loses nothing, the next one finds the same work.

use std::future::Future;
use std::time::Duration;

use porch_core::store::StoreError;

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
