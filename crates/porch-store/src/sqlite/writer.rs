//! The single writer thread and its group commit.
//!
//! SQLite allows one writer at a time per file, and every commit in `synchronous=FULL` costs
//! an fsync. So one thread owns the only write connection and commits queued writes in
//! batches: under load, hundreds of appends share one fsync, and no async task ever waits on
//! SQLite's file lock. Each write sits in its own savepoint, so a write that fails (a closed
//! conversation, an idempotency conflict) takes back only itself. Replies are sent after
//! `COMMIT` returns, so an acknowledged write is on disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use porch_core::limits::{COMMIT_BATCH_MAX, WAL_CHECKPOINT_QUIET_MS, WRITE_QUEUE_MAX};
use porch_core::store::StoreError;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::checkpointer::{self, Nudge};
use super::command::{Command, Reply, commit_batch, run_one};

/// The handle async code holds: the queue into the writer thread, and the writer and
/// checkpoint threads themselves, so dropping the store waits for queued writes to finish and
/// the file to close.
pub(crate) struct Writer {
    commands: Option<SyncSender<Command>>,
    /// Commands queued or waiting for room, for `/metrics`: one relaxed add by the sender, one
    /// subtract by the writer thread per command, so the queue's hot path takes no lock.
    queued: Arc<AtomicU64>,
    /// Batches committed (or tried), for `/metrics`: one relaxed add by the writer per batch.
    batches: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
}

impl Writer {
    /// `conn` is the write connection; `checkpoint_conn` is the checkpoint thread's
    /// (`checkpointer`), which ends when the writer does.
    pub(crate) fn spawn(
        conn: Connection,
        checkpoint_conn: Connection,
    ) -> Result<Writer, StoreError> {
        let (nudge, checkpointer) = checkpointer::spawn(checkpoint_conn)?;
        checkpointer::watch_wal(&conn);
        let (commands, queue) = sync_channel(WRITE_QUEUE_MAX);
        let queued = Arc::new(AtomicU64::new(0));
        let taken = queued.clone();
        let batches = Arc::new(AtomicU64::new(0));
        let counted = batches.clone();
        let thread = std::thread::Builder::new()
            .name("porch-sqlite-writer".to_owned())
            .spawn(move || run(conn, queue, nudge, &taken, &counted))
            .map_err(|e| {
                StoreError::Unavailable(format!("starting the sqlite writer thread: {e}"))
            })?;
        Ok(Writer {
            commands: Some(commands),
            queued,
            batches,
            thread: Some(thread),
            checkpointer: Some(checkpointer),
        })
    }

    /// Queues a write and waits for its committed result.
    ///
    /// `try_send` first: with room in the queue (the normal case) this costs no thread hop.
    /// A full queue is backpressure; waiting for room happens on the blocking pool so the async
    /// runtime's workers never block.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> Command + Send,
    ) -> Result<T, StoreError> {
        let Some(commands) = &self.commands else {
            return Err(stopped());
        };
        let (reply, answer) = oneshot::channel();
        // Counted before it is sent, so the writer never takes one the count has not seen.
        self.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.send(commands, make(reply)).await {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(e);
        }
        answer.await.map_err(|_| stopped())?
    }

    async fn send(
        &self,
        commands: &SyncSender<Command>,
        command: Command,
    ) -> Result<(), StoreError> {
        match commands.try_send(command) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(command)) => {
                let commands = commands.clone();
                match tokio::task::spawn_blocking(move || commands.send(command).is_ok()).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(stopped()),
                    Err(e) => Err(StoreError::Unavailable(format!("queueing a write: {e}"))),
                }
            }
            Err(TrySendError::Disconnected(_)) => Err(stopped()),
        }
    }

    /// Commands queued for the writer thread, or waiting for room in its queue.
    pub(crate) fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Batches the writer thread has committed (or tried to) since it started.
    pub(crate) fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Queues `write`, run in its own savepoint of a batch like every command, and waits for
    /// its committed result.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        write: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call(move |reply| {
            Command::Job(Box::new(move |conn: &Connection, poisoned: &mut Option<StoreError>| {
                run_one(conn, poisoned, reply, write)
            }))
        })
        .await
    }
}

impl Drop for Writer {
    /// Closing the queue ends the writer thread once it has committed everything already
    /// queued, and with it the checkpoint thread; joining both means the database file is
    /// closed (and its WAL checkpointed) when the store is gone, so a process can reopen the
    /// file right after.
    fn drop(&mut self) {
        drop(self.commands.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the sqlite writer thread panicked");
        }
        if let Some(thread) = self.checkpointer.take()
            && thread.join().is_err()
        {
            tracing::error!("the sqlite checkpoint thread panicked");
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the sqlite writer thread has stopped".to_owned())
}

/// The writer thread: block for one command, take whatever else is already queued, commit
/// them together, nudge the checkpointer. Returns when every sender is gone.
fn run(
    conn: Connection,
    queue: Receiver<Command>,
    mut nudge: Nudge,
    queued: &AtomicU64,
    batches: &AtomicU64,
) {
    let mut batch = Vec::with_capacity(COMMIT_BATCH_MAX);
    while let Some(first) = next_command(&queue, &mut nudge) {
        batch.push(first);
        while batch.len() < COMMIT_BATCH_MAX {
            match queue.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        queued.fetch_sub(batch.len() as u64, Ordering::Relaxed);
        // Counted before the replies go out, so a caller that reads it after its answer sees it.
        batches.fetch_add(1, Ordering::Relaxed);
        commit_batch(&conn, &mut batch);
        debug_assert!(batch.is_empty());
        nudge.commit_done();
        nudge.bound_wal(&conn);
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the sqlite write connection");
    }
    // Dropping `nudge` now ends the checkpoint thread, whose connection closes last.
}

/// The next command, `None` once every sender is gone. With commits not yet copied back, a
/// wait of `WAL_CHECKPOINT_QUIET_MS` without a command has the checkpointer copy them; with
/// none, the thread sleeps until a command comes.
fn next_command(queue: &Receiver<Command>, nudge: &mut Nudge) -> Option<Command> {
    let quiet = Duration::from_millis(WAL_CHECKPOINT_QUIET_MS);
    while nudge.uncopied_frames() > 0 {
        match queue.recv_timeout(quiet) {
            Ok(command) => return Some(command),
            Err(RecvTimeoutError::Timeout) => nudge.quiet(),
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
    queue.recv().ok()
}
