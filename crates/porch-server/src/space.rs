//! The disk under the SQLite store: how much room is left (a metric and a readiness warning),
//! and whether the store's last write failed for want of it (readiness turns 503).
//!
//! A write that finds the disk full is refused with `store_full` and nothing of it is kept
//! (SQLite rolls the transaction back); the next write after space returns simply commits.
//! `/readyz` is 503 from such a refusal until the disk has more free space than it had then
//! or a write commits again, so a load balancer sends clients elsewhere meanwhile and takes
//! the node back once an operator frees space, without a write having to succeed first.

use std::path::PathBuf;
use std::sync::Mutex;

use porch_core::store::StoreError;

/// What `/readyz` and `/metrics` say about the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceReport {
    /// Bytes an unprivileged process may still write there (`statvfs`'s `f_bavail`).
    pub free_bytes: u64,
    /// Below `data_dir_free_warn_bytes`: ready, with a warning.
    pub low: bool,
    /// A write was refused for a full disk and no room has been freed since: not ready.
    pub full: bool,
}

pub struct DiskSpace {
    /// The directory holding the SQLite file; `None` on PostgreSQL, whose disk is not ours.
    dir: Option<PathBuf>,
    warn_below_bytes: u64,
    /// Free bytes measured when a write was last refused for a full disk.
    full_at_free_bytes: Mutex<Option<u64>>,
}

impl DiskSpace {
    pub fn new(dir: Option<PathBuf>, warn_below_bytes: u64) -> DiskSpace {
        DiskSpace { dir, warn_below_bytes, full_at_free_bytes: Mutex::new(None) }
    }

    /// Notes a store write's outcome: a full-disk refusal, or a commit that proves room.
    pub fn observe<T>(&self, result: &Result<T, StoreError>) {
        match result {
            Err(StoreError::Full(_)) => *self.full_at() = Some(self.free_bytes().unwrap_or(0)),
            Ok(_) => *self.full_at() = None,
            Err(_) => {}
        }
    }

    /// `None` when there is no data directory to measure (PostgreSQL) or it cannot be read.
    pub fn report(&self) -> Option<SpaceReport> {
        let free_bytes = self.free_bytes()?;
        let full = self.full_at().is_some_and(|at| free_bytes <= at);
        Some(SpaceReport { free_bytes, low: free_bytes < self.warn_below_bytes, full })
    }

    pub fn warn_below_bytes(&self) -> u64 {
        self.warn_below_bytes
    }

    fn free_bytes(&self) -> Option<u64> {
        let stat = rustix::fs::statvfs(self.dir.as_deref()?).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    fn full_at(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.full_at_free_bytes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `12.5 MiB`: free space for people (logs, `/readyz`).
pub fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Result<(), StoreError> {
        Err(StoreError::Full("disk full".into()))
    }

    #[test]
    fn a_full_refusal_is_not_ready_until_a_commit_or_more_room() {
        let space = DiskSpace::new(Some(std::env::temp_dir()), 0);
        assert!(!space.report().unwrap().full);
        space.observe(&full());
        assert!(space.report().unwrap().full, "no room freed since the refusal");
        space.observe(&Err::<(), _>(StoreError::Unavailable("down".into())));
        assert!(space.report().unwrap().full, "other failures say nothing about room");
        space.observe(&Ok(()));
        assert!(!space.report().unwrap().full, "a commit proves room");
        // Room freed since the refusal (the temp dir's disk has more than 0 bytes free):
        // ready again before any write.
        space.observe(&full());
        *space.full_at() = Some(0);
        assert!(!space.report().unwrap().full, "more room than at the refusal");
    }

    #[test]
    fn low_below_the_warning_and_none_without_a_directory() {
        let space = DiskSpace::new(Some(std::env::temp_dir()), u64::MAX);
        assert!(space.report().unwrap().low);
        assert_eq!(DiskSpace::new(None, 1).report(), None);
    }
}
