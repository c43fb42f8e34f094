//! Where attachments' bytes live (docs/attachments.md): a small trait, so the server streams
//! the same way to a data directory (one node) or to PostgreSQL (a cluster: every node reads
//! what any node wrote).
//!
//! A blob is invisible until its writer commits: a reader sees a whole, checked file or
//! nothing. Once its message is in the log, the blob is settled (`settle`). An upload that
//! fails or is abandoned leaves an incomplete blob at most, which `stale` finds and the
//! server's sweep deletes; so does a complete, unsettled blob no message names (a crash
//! between the commit and the message's append). Settled blobs are never listed, so a sweep
//! costs the few unsettled ones, not every file kept.

use crate::store::{StoreError, StoreFuture};

/// A blob `stale` found: incomplete and untouched since the cut-off, or complete, unsettled
/// and older than the cut-off: perhaps named by no message (the caller checks the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleBlob {
    pub id: String,
    pub complete: bool,
}

/// Blob storage.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Starts blob `id`. `NameTaken` when a blob with this id exists, complete or not: the
    /// id is used once (a second upload to the same URL is refused, not merged).
    fn create(&self, id: &str) -> StoreFuture<'_, Box<dyn BlobWriter>>;
    /// The size of complete blob `id`; `None` when there is none (or it is not complete).
    fn size(&self, id: &str) -> StoreFuture<'_, Option<u64>>;
    /// Up to `len` bytes of complete blob `id` from `offset` (fewer only at its end).
    fn read(&self, id: &str, offset: u64, len: usize) -> StoreFuture<'_, Vec<u8>>;
    /// Marks complete blob `id` as named by a message: `stale` no longer lists it.
    fn settle(&self, id: &str) -> StoreFuture<'_, ()>;
    /// Removes blob `id`, complete or not; no error when there is none.
    fn delete(&self, id: &str) -> StoreFuture<'_, ()>;
    /// Up to `limit` unsettled blobs: incomplete ones last written before
    /// `incomplete_before_ms`, and complete ones committed before `complete_before_ms`.
    fn stale(
        &self,
        incomplete_before_ms: i64,
        complete_before_ms: i64,
        limit: usize,
    ) -> StoreFuture<'_, Vec<StaleBlob>>;
}

/// One blob being written, in order. Dropped without `commit`, it stays incomplete (and the
/// data directory's writer removes its file at once).
pub trait BlobWriter: Send {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> StoreFuture<'a, ()>;
    /// Makes the blob visible, whole, durably. `NameTaken` if another writer completed the same
    /// id meanwhile.
    fn commit(self: Box<Self>) -> StoreFuture<'static, ()>;
    /// Removes what was written.
    fn abort(self: Box<Self>) -> StoreFuture<'static, ()>;
}

/// The error of a second blob with the same id.
pub fn taken(id: &str) -> StoreError {
    StoreError::NameTaken(format!("attachment {id} exists already"))
}
