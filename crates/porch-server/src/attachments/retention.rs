//! Retention (docs/attachments.md, "Retention and deletion"): the files of conversations closed
//! longer ago than `attachment_retention_secs` (0 keeps them), and those of erased entries,
//! lose their bytes and previews; their messages stay, marked deleted, so clients say "file
//! removed" rather than show a broken link.
//!
//! Bytes go first, marks second: a crash between the two leaves the files due, and the next
//! pass deletes nothing twice (a delete of a missing blob succeeds) and marks them. So two
//! nodes passing at once, or one retrying, do the same work harmlessly: no lease is needed.

use porch_core::limits::ATTACHMENT_SWEEP_BATCH_MAX;
use porch_core::store::StoreError;

use crate::state::AppState;

/// One pass: how many files it deleted (at most `ATTACHMENT_SWEEP_BATCH_MAX`; the next pass
/// takes the rest).
pub async fn once(state: &AppState) -> Result<usize, StoreError> {
    let retention_ms = state.config.limits.attachment_retention_secs.saturating_mul(1000);
    let cut = (retention_ms > 0).then(|| {
        porch_core::time::now_ms().saturating_sub(i64::try_from(retention_ms).unwrap_or(i64::MAX))
    });
    let due = state.store.attachments_due(cut, ATTACHMENT_SWEEP_BATCH_MAX).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let blobs = state.store.blobs();
    for id in &due {
        // The file before its preview: a preview being made meanwhile is kept only if its
        // maker sees the file after committing it (`preview::keep`), so one of the two
        // deletes it, whichever order they run in.
        blobs.delete(id).await?;
        blobs.delete(&super::preview::blob_id(id)).await?;
    }
    let count = due.len();
    state.store.mark_attachments_deleted(due).await?;
    Ok(count)
}
