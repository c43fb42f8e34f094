//! At most `POSTGRES_APPENDS_PER_CONVERSATION_MAX` appends per conversation at a time on this
//! node, and at most a quarter of its pool.
//!
//! Appends to one conversation commit one after the other whatever a node does (they queue on
//! the conversation's row inside PostgreSQL), and each one waiting there holds a pooled
//! connection. A few queued there keep the row busy (the next write is already waiting when
//! one commits); more only take connections from other conversations. So the rest wait in
//! memory: however many clients write to one busy (or stuck) conversation, it uses at most
//! that many of the node's connections, and every other conversation keeps the rest. A waiter
//! gives up after `POSTGRES_APPEND_TURN_WAIT_MS`, and one whose caller left (its future
//! dropped) leaves the queue at once.
//!
//! The map holds an entry only while some append of that conversation runs or waits, so it
//! is bounded by the appends in flight, which the callers' own limits bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use porch_core::limits::{POSTGRES_APPEND_TURN_WAIT_MS, POSTGRES_APPENDS_PER_CONVERSATION_MAX};
use porch_core::store::StoreError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

type Line = Arc<Semaphore>;

/// The conversations with an append running or waiting on this node.
pub(crate) struct Turns {
    lines: Mutex<HashMap<String, Line>>,
    /// Turns per conversation: `POSTGRES_APPENDS_PER_CONVERSATION_MAX`, but at most a quarter
    /// of the pool, so a small pool is never all one conversation's.
    per_conversation: usize,
}

/// One of this node's turns on one conversation, until dropped.
pub(crate) struct Turn<'a> {
    // Declared first, so dropped first: the turn is given back before `_place` looks whether
    // anyone else still holds or waits for one.
    _permit: OwnedSemaphorePermit,
    _place: Place<'a>,
}

/// A place in a conversation's line, waiting or served; the last one out removes the line.
struct Place<'a> {
    turns: &'a Turns,
    conversation_id: String,
    line: Line,
}

impl Turns {
    pub(crate) fn new(pool_size: usize) -> Turns {
        let per_conversation = (pool_size / 4).clamp(1, POSTGRES_APPENDS_PER_CONVERSATION_MAX);
        Turns { lines: Mutex::default(), per_conversation }
    }

    /// Waits for one of this node's turns on `conversation_id`.
    pub(crate) async fn take(&self, conversation_id: &str) -> Result<Turn<'_>, StoreError> {
        let place = Place {
            turns: self,
            conversation_id: conversation_id.to_owned(),
            line: Arc::clone(
                self.lock()
                    .entry(conversation_id.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_conversation))),
            ),
        };
        let wait = Duration::from_millis(POSTGRES_APPEND_TURN_WAIT_MS);
        match tokio::time::timeout(wait, Arc::clone(&place.line).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn { _permit: permit, _place: place }),
            Ok(Err(_)) => unreachable!("the semaphore of a line is never closed"),
            Err(_) => Err(StoreError::Unavailable(format!(
                "appends to {conversation_id} waited {POSTGRES_APPEND_TURN_WAIT_MS} ms for their turn"
            ))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Line>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut lines = self.turns.lock();
        // The map's reference and this one: nobody else runs or waits. New arrivals clone
        // under the same lock, so none can slip in between this check and the removal.
        if Arc::strong_count(&self.line) == 2 {
            lines.remove(&self.conversation_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every turn of conversation `id`, taken.
    async fn all_turns<'a>(turns: &'a Turns, id: &str) -> Vec<Turn<'a>> {
        let mut taken = Vec::new();
        for _ in 0..turns.per_conversation {
            taken.push(turns.take(id).await.unwrap());
        }
        taken
    }

    #[tokio::test]
    async fn a_conversation_takes_so_many_turns_and_the_map_empties() {
        let turns = Turns::new(16);
        assert_eq!(turns.per_conversation, POSTGRES_APPENDS_PER_CONVERSATION_MAX);
        assert_eq!(Turns::new(4).per_conversation, 1, "a quarter of a small pool");
        let mut a = all_turns(&turns, "a").await;
        let b = turns.take("b").await.unwrap();
        let waiting = turns.take("a");
        tokio::pin!(waiting);
        assert!(
            futures_poll_once(waiting.as_mut()).await.is_none(),
            "one more append to `a` waits while the others run; `b` is not held up"
        );
        a.pop();
        let again = waiting.await.unwrap();
        assert_eq!(turns.len(), 2);
        drop((a, again, b));
        assert_eq!(turns.len(), 0, "no line is kept once its appends are done");
    }

    #[tokio::test]
    async fn a_waiter_that_leaves_leaves_no_line_behind() {
        let turns = Turns::new(8);
        let first = all_turns(&turns, "a").await;
        {
            let waiting = turns.take("a");
            tokio::pin!(waiting);
            assert!(futures_poll_once(waiting.as_mut()).await.is_none());
        } // the caller left: its future is dropped while it waits
        drop(first);
        assert_eq!(turns.len(), 0);
    }

    /// Polls a future once: `Some` if it is ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        let mut f = f;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
