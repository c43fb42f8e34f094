//! Plain appends to one conversation waiting on one node share a statement and a commit.

use std::future::poll_fn;

use std::task::Poll;

use porch_core::store::{AppendOutcome, PageRequest, Store, StoreError, StoreFuture};
use porch_wire::rest::ConversationState;

use super::suite::*;
use super::{Schema, fresh};

/// Runs the futures together, polling them first in order: each append is queued in that
/// order before any of them can be answered.
async fn in_order(
    mut futures: Vec<StoreFuture<'_, AppendOutcome>>,
) -> Vec<Result<AppendOutcome, StoreError>> {
    let mut outputs: Vec<Option<_>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

/// Transactions that wrote the conversation's entries (rows one transaction inserted share
/// its `xmin`).
async fn commits(schema: &Schema, conversation_id: &str) -> i64 {
    let raw = schema.raw().await;
    let sql = "SELECT count(DISTINCT xmin::text) FROM messages WHERE conversation_id = $1";
    raw.query_one(sql, &[&conversation_id]).await.unwrap().get(0)
}

async fn log_of(store: &dyn Store, conversation_id: &str) -> Vec<(u64, String)> {
    let page = PageRequest { after_seq: Some(0), before_seq: None, limit: 1_000 };
    let page = store.messages(conversation_id, page).await.unwrap();
    page.messages.into_iter().map(|m| (m.seq, m.text)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_appends_share_a_commit_and_keep_their_order() {
    const COUNT: u64 = 20;
    let (schema, store) = fresh().await;
    let conversation = new_conversation(&*store, "batch").await;
    let guest = guest_of(&conversation);
    let appends = (1..=COUNT)
        .map(|i| store.append(says(&conversation, &guest, &format!("c{i}"), &format!("m{i}"))))
        .collect();
    let outcomes = in_order(appends).await;
    for (i, outcome) in (1..=COUNT).zip(outcomes) {
        let (message, after) = created(outcome.unwrap());
        assert_eq!((message.seq, message.text.as_str()), (i, format!("m{i}").as_str()));
        assert_eq!(after.last_seq, i, "each answer is the conversation as its entry left it");
    }
    let expected: Vec<_> = (1..=COUNT).map(|i| (i, format!("m{i}"))).collect();
    assert_eq!(log_of(&*store, &conversation.id).await, expected, "gap-free, in queue order");
    let last = store.conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!(last.last_seq, COUNT);
    // The first append went alone (nothing waited yet) or with some of the others; every
    // append queued behind it went in the next statement.
    assert!(commits(&schema, &conversation.id).await <= 2, "the waiting appends shared a commit");
}

/// A batch holding a retry of a stored `clientMessageId` (and the same new one twice) is
/// written by nobody; each append then gets the answer it gets alone, in queue order (a
/// sender's messages are never reordered by the batch they shared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_a_stored_key_answers_each_append_as_alone() {
    let (_schema, store) = fresh().await;
    let conversation = new_conversation(&*store, "batch").await;
    let guest = guest_of(&conversation);
    let first = created(store.append(says(&conversation, &guest, "a", "first")).await.unwrap()).0;
    let requests = [("a", "first"), ("b", "second"), ("b", "second"), ("c", "third")];
    let appends =
        requests.iter().map(|(id, text)| store.append(says(&conversation, &guest, id, text)));
    let outcomes: Vec<_> =
        in_order(appends.collect()).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(outcomes[0], AppendOutcome::Duplicate { message: first });
    let b: Vec<_> = outcomes[1..3].iter().map(AppendOutcome::message).collect();
    assert_eq!(b[0], b[1], "both sends of `b` answer with the one stored entry");
    assert!(matches!(outcomes[1], AppendOutcome::Created { .. }), "the first `b` stores it");
    assert!(matches!(outcomes[2], AppendOutcome::Duplicate { .. }), "the second is its retry");
    assert!(matches!(outcomes[3], AppendOutcome::Created { .. }));
    let expected = [(1, "first"), (2, "second"), (3, "third")].map(|(s, t)| (s, t.to_owned()));
    assert_eq!(log_of(&*store, &conversation.id).await, expected, "gap-free, once, in order");
}

/// Appends waiting on a conversation that closes are refused, each as it would be alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_into_a_closed_conversation_is_refused() {
    let (_schema, store) = fresh().await;
    let conversation = new_conversation(&*store, "batch").await;
    let guest = guest_of(&conversation);
    store.append(system_event(&conversation, ConversationState::Closed, None)).await.unwrap();
    let appends =
        (0..3).map(|i| store.append(says(&conversation, &guest, &format!("c{i}"), "late")));
    for outcome in in_order(appends.collect()).await {
        assert_eq!(outcome, Err(StoreError::ConversationClosed(conversation.id.clone())));
    }
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap().last_seq, 1);
}
