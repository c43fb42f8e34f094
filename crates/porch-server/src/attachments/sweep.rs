//! The sweep: each node, at start and then every `ATTACHMENT_SWEEP_INTERVAL_MS`, deletes
//! uploads nobody has written to for `ATTACHMENT_ORPHAN_GRACE_MS` (abandoned, cut off, or
//! from a process that crashed) and complete, unsettled files that old which no message names
//! (a crash between a file's commit and its message's append); one a message names is settled.
//! A preview left unsettled (a crash between its commit and its file's check, `preview::keep`)
//! is settled if its file is there, else deleted. So a failed upload or preview leaves nothing
//! behind for longer than the grace, also across a crash. Each pass then deletes the files
//! retention says are due (`retention`).

use std::time::Duration;

use porch_core::limits::{
    ATTACHMENT_ORPHAN_GRACE_MS, ATTACHMENT_SWEEP_BATCH_MAX, ATTACHMENT_SWEEP_INTERVAL_MS,
};
use porch_core::store::StoreError;

use super::preview;
use crate::state::AppState;

/// Runs until the server shuts down.
pub async fn run(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    loop {
        match once(&state).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "attachments: swept abandoned uploads"),
            Err(e) => tracing::warn!("attachments: the sweep failed, retrying later: {e}"),
        }
        match super::retention::once(&state).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "attachments: deleted files past retention"),
            Err(e) => tracing::warn!("attachments: retention failed, retrying later: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(ATTACHMENT_SWEEP_INTERVAL_MS)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One sweep: how many blobs it removed.
pub async fn once(state: &AppState) -> Result<usize, StoreError> {
    once_before(state, porch_core::time::now_ms() - ATTACHMENT_ORPHAN_GRACE_MS as i64).await
}

/// One sweep of the unsettled blobs last touched before `cut_ms` (`once`'s is the grace ago;
/// a test passes a later one rather than wait for the grace).
pub async fn once_before(state: &AppState, cut_ms: i64) -> Result<usize, StoreError> {
    let blobs = state.store.blobs();
    let stale = blobs.stale(cut_ms, cut_ms, ATTACHMENT_SWEEP_BATCH_MAX).await?;
    let files = stale.iter().filter(|b| b.complete && preview::attachment_of(&b.id).is_none());
    let complete: Vec<String> = files.map(|b| b.id.clone()).collect();
    let named = if complete.is_empty() {
        Vec::new()
    } else {
        state.store.attachments_named(complete).await?
    };
    let mut removed = 0;
    for blob in &stale {
        if let (Some(file), true) = (preview::attachment_of(&blob.id), blob.complete) {
            // Named by no message, a preview lives as long as its file.
            removed += usize::from(preview::settle_or_delete(blobs.as_ref(), file).await?);
        } else if named.contains(&blob.id) {
            // Its message is in the log; the upload that made it stopped before settling it.
            blobs.settle(&blob.id).await?;
        } else {
            blobs.delete(&blob.id).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
