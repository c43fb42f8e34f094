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
//! next one (the nudge channel holds one). Keeping the WAL that short is what makes commits
//! cheap: the writer reuses the WAL from its start (overwriting in place rather than growing
//! the file) and its look-ups in the WAL index stay small. Measured in S4 and S3: with a
//! checkpoint at most every 100 ms instead, the writer spent 59-61 us per message instead of
//! 36-44, more than the checkpoints saved. Checkpoints are `PASSIVE`: they never wait for the
//! writer or readers, and WAL mode lets them run while the writer commits. Idle, the thread
//! sleeps: no wake-ups without writes.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use porch_core::store::StoreError;
use rusqlite::Connection;

/// The writer's end: a non-blocking nudge after each commit.
pub(crate) struct Nudge(SyncSender<()>);

impl Nudge {
    /// Never blocks: a nudge already pending covers this commit too.
    pub(crate) fn commit_done(&self) {
        match self.0.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            // The checkpointer is gone (it failed); the final close still checkpoints.
            Err(TrySendError::Disconnected(())) => {}
        }
    }
}

/// Starts the checkpoint thread on `conn`. It ends, closing `conn`, when the `Nudge` is dropped.
pub(crate) fn spawn(conn: Connection) -> Result<(Nudge, JoinHandle<()>), StoreError> {
    let (nudge, nudges) = sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("porch-sqlite-ckpt".to_owned())
        .spawn(move || run(conn, nudges))
        .map_err(|e| StoreError::Unavailable(format!("starting the sqlite checkpoint thread: {e}")))?;
    Ok((Nudge(nudge), thread))
}

fn run(conn: Connection, nudges: Receiver<()>) {
    while nudges.recv().is_ok() {
        if let Err(e) = checkpoint(&conn) {
            tracing::warn!(error = %e, "a WAL checkpoint failed; the next commit will retry");
        }
    }
    // The writer has closed; whichever connection closes last checkpoints what is left.
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the sqlite checkpoint connection");
    }
}

/// One passive checkpoint. Returns an error only for SQLite failures, not for a checkpoint
/// that could not copy everything (a reader still using old pages): the next one will.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        let busy: i64 = row.get(0)?;
        let wal_pages: i64 = row.get(1)?;
        let copied_pages: i64 = row.get(2)?;
        tracing::trace!(busy, wal_pages, copied_pages, "checkpointed the WAL");
        Ok(())
    })
}
