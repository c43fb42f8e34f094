//! WAL checkpoints, off the writer thread.
//!
//! In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into
//! the database file and fsyncs it. SQLite's default runs that checkpoint inside the COMMIT
//! that takes the WAL past 1,000 pages, on the committing connection: with one writer thread,
//! every queued write then waits for the copy (measured in S4: 26% of the writer thread's
//! CPU, BENCHMARKS.md). So the write connection runs with `wal_autocheckpoint=0`, and this
//! thread, on a connection of its own, checkpoints instead.
//!
//! It checkpoints once the writer has committed `WAL_CHECKPOINT_PAGES` pages since the last
//! checkpoint, or once the writer has had nothing to do for `WAL_CHECKPOINT_QUIET_MS`;
//! commits made while a checkpoint runs are covered by the next one (the nudge channel holds
//! one). The writer learns the WAL's length from SQLite's WAL hook after each commit. Until
//! session 9 it checkpointed after every commit: at low rates that was a second fsync per
//! message (the database file's, after the WAL's), and every hot page (a conversation's row,
//! an index leaf) was copied back once per commit instead of once per checkpoint. Under load
//! the threshold changes little: while one checkpoint runs, more than `WAL_CHECKPOINT_PAGES`
//! pile up, and the next follows at once, as before. It is a page count and not a delay on
//! purpose: waiting 10 or 50 ms before each checkpoint saved CPU at 1,000 messages/s but raised
//! S3's p99 1.6- to 3.2-fold at 5,000 and 10,000, each late checkpoint copying more at once
//! beside the writer (BENCHMARKS.md, session 6). Checkpoints are `PASSIVE`: they never wait for
//! the writer or readers, and WAL mode lets them run while the writer commits. Idle, both
//! threads sleep: no wake-ups without writes.
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

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use porch_core::limits::{
    SQLITE_BUSY_TIMEOUT_MS, WAL_CHECKPOINT_PAGES, WAL_RESTART_PAGES, WAL_RESTART_WAIT_MS,
};
use porch_core::store::StoreError;
use rusqlite::Connection;
use rusqlite::hooks::Wal;

thread_local! {
    /// The WAL's length in frames (pages) after the last commit on this thread, from SQLite's
    /// WAL hook: only the writer thread's connection has the hook (`watch_wal`).
    static WAL_FRAMES: Cell<i64> = const { Cell::new(0) };
}

/// SQLite calls it after each commit in WAL mode, on the committing thread, with the WAL's
/// length in frames. A plain function is all the hook takes, hence the thread-local.
fn wal_committed(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(i64::from(frames));
    Ok(())
}

/// Has SQLite report the WAL's length after each commit on `conn`, the write connection
/// (which has no autocheckpoint for the hook to replace: `wal_autocheckpoint=0`).
pub(crate) fn watch_wal(conn: &Connection) {
    conn.wal_hook(Some(wal_committed));
}

/// The writer's end: a non-blocking nudge once enough has been committed, and the WAL's length
/// as the last checkpoint saw it.
pub(crate) struct Nudge {
    nudges: SyncSender<()>,
    wal_pages: Arc<AtomicI64>,
    /// The WAL length past which the writer restarts it; raised after a restart that readers
    /// held up, so a stuck reader costs one wait per `WAL_RESTART_PAGES`, not one per batch.
    restart_at_pages: i64,
    /// The WAL's length (frames) at the last nudge: the frames past it wait to be copied back.
    nudged_at_frames: i64,
}

impl Nudge {
    /// After each commit: nudges the checkpoint thread once `WAL_CHECKPOINT_PAGES` frames wait.
    pub(crate) fn commit_done(&mut self) {
        if self.uncopied_frames() >= WAL_CHECKPOINT_PAGES {
            self.nudge();
        }
    }

    /// The writer has been idle for `WAL_CHECKPOINT_QUIET_MS`: copy back whatever waits.
    pub(crate) fn quiet(&mut self) {
        if self.uncopied_frames() > 0 {
            self.nudge();
        }
    }

    /// Frames committed since the last nudge. A WAL shorter than at the nudge has started
    /// over (SQLite does at the first write after a checkpoint copied it all), so all of it is
    /// new, and so are the frames the next commits append to it.
    pub(crate) fn uncopied_frames(&mut self) -> i64 {
        let frames = WAL_FRAMES.get();
        if frames < self.nudged_at_frames {
            self.nudged_at_frames = 0;
        }
        frames - self.nudged_at_frames
    }

    /// Never blocks: a nudge already pending covers these commits too.
    fn nudge(&mut self) {
        self.nudged_at_frames = WAL_FRAMES.get();
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
                // Everything is copied back, and the next commit starts the WAL over.
                self.nudged_at_frames = 0;
                WAL_FRAMES.set(0);
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
    let nudge = Nudge {
        nudges: nudges_tx,
        wal_pages,
        restart_at_pages: WAL_RESTART_PAGES,
        nudged_at_frames: 0,
    };
    Ok((nudge, thread))
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
