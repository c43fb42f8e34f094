//! WAL checkpoints, off the writer thread.
//!
//! In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into
//! the database file and fsyncs it. SQLite's default runs that checkpoint inside the COMMIT
//! that takes the WAL past 1,000 pages, on the committing connection: with one writer thread,
//! every queued write then waits for the copy (measured in S4: 26% of the writer thread's
//! CPU, BENCHMARKS.md). So the write connection runs with `wal_autocheckpoint=0`, and this
//! thread, on a connection of its own, checkpoints instead.
//!
//! It checkpoints after every commit; commits made while a checkpoint runs are covered by the
//! next one (the nudge channel holds one). The point is latency, not CPU: with the WAL bounded
//! (below), waiting 10 or 50 ms before each checkpoint saved over a quarter of the CPU per message
//! at 1,000 messages/s, but raised S3's p99 1.6- to 3.2-fold at 5,000 and 10,000, each late
//! checkpoint copying more at once beside the writer (BENCHMARKS.md, session 6). Checkpoints
//! are `PASSIVE`: they never wait for the writer or readers, and WAL mode lets them run while
//! the writer commits. Idle, the thread sleeps: no wake-ups without writes.
//!
//! A short WAL is what makes commits cheap: the writer reuses the file from its start instead
//! of growing it, and its look-ups in the WAL index stay small. Under sustained load
//! checkpoints alone do not keep it short, and the writer bounds the WAL itself (`Nudge::
//! bound_wal`). SQLite starts the WAL over from its beginning only when a write transaction
//! begins with every frame already copied back and no reader still in the WAL; with commits
//! back to back, the next `BEGIN` always comes while a checkpoint is still copying, so the
//! WAL never restarts. Measured at 10,000 messages/s: it grew to 1 GB in 12 s, every write
//! extended the file, and the writer's cost per message rose by a third or more. So once the last
//! checkpoint saw more than `WAL_RESTART_PAGES`, the writer, between two batches, runs a
//! `RESTART` checkpoint itself: it copies the few frames left and waits (at most
//! `WAL_RESTART_WAIT_MS`) for readers to leave the WAL, so its next `BEGIN` starts the WAL over.
//! Measured at 10,000 messages/s: about 6 restarts a second, each holding the writer for 0.6
//! to 3.6 ms (15 ms at worst), and the WAL at most 25-67 MB.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use porch_core::limits::{SQLITE_BUSY_TIMEOUT_MS, WAL_RESTART_PAGES, WAL_RESTART_WAIT_MS};
use porch_core::store::StoreError;
use rusqlite::Connection;

/// The writer's end: a non-blocking nudge after each commit, and the WAL's length as the
/// last checkpoint saw it.
pub(crate) struct Nudge {
    nudges: SyncSender<()>,
    wal_pages: Arc<AtomicI64>,
    /// The WAL length past which the writer restarts it; raised after a restart that readers
    /// held up, so a stuck reader costs one wait per `WAL_RESTART_PAGES`, not one per batch.
    restart_at_pages: i64,
}

impl Nudge {
    /// Never blocks: a nudge already pending covers this commit too.
    pub(crate) fn commit_done(&self) {
        match self.nudges.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            // The checkpointer is gone (it failed); the final close still checkpoints.
            Err(TrySendError::Disconnected(())) => {}
        }
    }

    /// Called by the writer between batches, on the write connection: restarts the WAL once
    /// it has outgrown `WAL_RESTART_PAGES` (see the module).
    pub(crate) fn bound_wal(&mut self, conn: &Connection) {
        let pages = self.wal_pages.load(Ordering::Relaxed);
        if pages <= self.restart_at_pages {
            return;
        }
        match restart(conn) {
            Ok(Checkpoint { busy: false, .. }) => {
                self.wal_pages.store(0, Ordering::Relaxed);
                self.restart_at_pages = WAL_RESTART_PAGES;
            }
            // The checkpoint thread holds the checkpoint lock, which SQLite does not wait for:
            // it reports no pages, and the next batch tries again (a few microseconds each).
            Ok(Checkpoint { wal_pages: ..0, .. }) => {}
            Ok(Checkpoint { wal_pages, .. }) => {
                tracing::debug!(
                    wal_pages,
                    "a reader kept the WAL from restarting; the next restart waits for more pages"
                );
                self.restart_at_pages = wal_pages + WAL_RESTART_PAGES;
            }
            Err(e) => {
                tracing::warn!(error = %e, "restarting the WAL failed; the checkpoint thread goes on copying")
            }
        }
    }
}

/// Starts the checkpoint thread on `conn`. It ends, closing `conn`, when the `Nudge` is dropped.
pub(crate) fn spawn(conn: Connection) -> Result<(Nudge, JoinHandle<()>), StoreError> {
    let (nudges_tx, nudges) = sync_channel(1);
    let wal_pages = Arc::new(AtomicI64::new(0));
    let seen = wal_pages.clone();
    let thread = std::thread::Builder::new()
        .name("porch-sqlite-ckpt".to_owned())
        .spawn(move || run(conn, nudges, &seen))
        .map_err(|e| {
            StoreError::Unavailable(format!("starting the sqlite checkpoint thread: {e}"))
        })?;
    Ok((Nudge { nudges: nudges_tx, wal_pages, restart_at_pages: WAL_RESTART_PAGES }, thread))
}

fn run(conn: Connection, nudges: Receiver<()>, wal_pages: &AtomicI64) {
    while nudges.recv().is_ok() {
        match checkpoint(&conn) {
            Ok(done) if done.wal_pages >= 0 => wal_pages.store(done.wal_pages, Ordering::Relaxed),
            // The writer's restart held the lock and reported no length: keep the last one.
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "a WAL checkpoint failed; the next commit will retry")
            }
        }
    }
    // The writer has closed; whichever connection closes last checkpoints what is left.
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the sqlite checkpoint connection");
    }
}

/// What a checkpoint reports: whether it was held up, and the WAL's length in pages.
struct Checkpoint {
    busy: bool,
    wal_pages: i64,
}

/// One passive checkpoint. Returns an error only for SQLite failures, not for a checkpoint
/// that could not copy everything (a reader still using old pages): the next one will.
fn checkpoint(conn: &Connection) -> rusqlite::Result<Checkpoint> {
    checkpoint_in(conn, "PRAGMA wal_checkpoint(PASSIVE)")
}

/// A `RESTART` checkpoint, waiting at most `WAL_RESTART_WAIT_MS` for readers to leave the
/// WAL; on the write connection, between batches, so no write waits on the lock. It fails at
/// once, reporting `-1` pages, while the checkpoint thread is copying.
fn restart(conn: &Connection) -> rusqlite::Result<Checkpoint> {
    conn.busy_timeout(Duration::from_millis(WAL_RESTART_WAIT_MS))?;
    let done = checkpoint_in(conn, "PRAGMA wal_checkpoint(RESTART)");
    conn.busy_timeout(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS))?;
    done
}

fn checkpoint_in(conn: &Connection, pragma: &str) -> rusqlite::Result<Checkpoint> {
    conn.query_row(pragma, [], |row| {
        let busy: i64 = row.get(0)?;
        let wal_pages: i64 = row.get(1)?;
        let copied_pages: i64 = row.get(2)?;
        tracing::trace!(busy, wal_pages, copied_pages, pragma, "checkpointed the WAL");
        Ok(Checkpoint { busy: busy != 0, wal_pages })
    })
}
