//! The conversation log: sequence numbers, idempotency, closing, paging, read markers, and
//! the concurrency behind them.

use std::sync::Arc;

use porch_core::ids::{new_id, prefix};
use porch_core::store::{AppendOutcome, AppendRequest, PageRequest, Store, StoreError};
use porch_wire::rest::{ConversationState, Participant, Role};

use super::*;

/// 20 tasks append 500 messages to one conversation: seqs are exactly 1..=500.
pub async fn suite_seq_gap_free(store: Arc<dyn Store>) {
    const TASKS: u64 = 20;
    const EACH: u64 = 25;
    let conversation = new_conversation(&*store, "gapless").await;
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        let conversation = conversation.clone();
        tasks.spawn(async move {
            let guest = guest_of(&conversation);
            let mut seqs = Vec::new();
            for i in 0..EACH {
                let outcome = store
                    .append(says(&conversation, &guest, &format!("t{t}-{i}"), "hi"))
                    .await
                    .unwrap();
                let (message, after) = created(outcome);
                assert!(after.last_seq >= message.seq);
                seqs.push(message.seq);
            }
            seqs
        });
    }
    let mut all = Vec::new();
    while let Some(seqs) = tasks.join_next().await {
        let seqs = seqs.unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "one task's appends commit in its order");
        all.extend(seqs);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=TASKS * EACH).collect::<Vec<_>>());

    let stored = store.conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!(stored.last_seq, TASKS * EACH);
    let mut read = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .messages(
                &conversation.id,
                PageRequest { after_seq: Some(after), before_seq: None, limit: 200 },
            )
            .await
            .unwrap();
        read.extend(seqs(&page.messages));
        after = page.messages.last().map_or(after, |m| m.seq);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(read, (1..=TASKS * EACH).collect::<Vec<_>>());
}

pub async fn suite_idempotency(store: Arc<dyn Store>) {
    let conversation = new_conversation(&*store, "idem").await;
    let guest = guest_of(&conversation);
    let (first, _) =
        created(store.append(says(&conversation, &guest, "a-1", "hello")).await.unwrap());
    assert_eq!(first.seq, 1);
    assert_eq!(first.client_message_id.as_deref(), Some("a-1"));

    // A retry gets the original back and writes nothing.
    let retry = store.append(says(&conversation, &guest, "a-1", "hello")).await.unwrap();
    assert_eq!(retry, AppendOutcome::Duplicate { message: first.clone() });
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap().last_seq, 1);

    // The same id with another text is a conflict, and writes nothing either.
    assert_eq!(
        store.append(says(&conversation, &guest, "a-1", "hello?")).await,
        Err(StoreError::IdempotencyConflict)
    );
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap().last_seq, 1);

    // Ids are per sender: an agent may reuse the guest's id.
    let agent = Participant {
        role: Role::Agent,
        id: new_id(prefix::AGENT),
        display_name: Some("Grace".to_owned()),
    };
    let (theirs, _) =
        created(store.append(says(&conversation, &agent, "a-1", "welcome")).await.unwrap());
    assert_eq!(theirs.seq, 2);
    assert_eq!(theirs.sender, agent);

    // Ten concurrent sends of one id: exactly one creates, all see the same message.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(&store);
        let request = says(&conversation, &guest, "burst", "once");
        tasks.spawn(async move { store.append(request).await.unwrap() });
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = tasks.join_next().await {
        outcomes.push(outcome.unwrap());
    }
    let creates = outcomes.iter().filter(|o| matches!(o, AppendOutcome::Created { .. })).count();
    assert_eq!(creates, 1);
    let message = outcomes[0].message().clone();
    assert_eq!(message.seq, 3);
    assert!(outcomes.iter().all(|o| *o.message() == message));
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap().last_seq, 3);
}

pub async fn suite_closed_refuses_appends(store: &dyn Store) {
    let conversation = new_conversation(store, "closing").await;
    let guest = guest_of(&conversation);
    let (sent, _) =
        created(store.append(says(&conversation, &guest, "before", "bye")).await.unwrap());
    let (closing, after) = created(
        store.append(system_event(&conversation, ConversationState::Closed, None)).await.unwrap(),
    );
    assert_eq!(closing.seq, 2);
    assert_eq!(closing.event, Some(ConversationState::Closed));
    assert_eq!(closing.client_message_id, None);
    assert_eq!(after.state, ConversationState::Closed);
    assert_eq!(after.last_seq, 2);

    let closed = Err(StoreError::ConversationClosed(conversation.id.clone()));
    assert_eq!(store.append(says(&conversation, &guest, "after", "wait")).await, closed);
    assert_eq!(
        store.append(system_event(&conversation, ConversationState::Closed, None)).await,
        closed
    );
    assert_eq!(
        store.append(system_event(&conversation, ConversationState::Assigned, Some("agt_x"))).await,
        closed
    );
    // A retry of a message stored before the close still learns that it was stored.
    assert_eq!(
        store.append(says(&conversation, &guest, "before", "bye")).await,
        Ok(AppendOutcome::Duplicate { message: sent })
    );
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap(), after);

    let mut unknown = says(&conversation, &guest, "x", "y");
    unknown.conversation_id = "cnv_nobody".to_owned();
    assert_eq!(
        store.append(unknown).await,
        Err(StoreError::ConversationUnknown("cnv_nobody".to_owned()))
    );
}

/// A system entry carries the server's idempotency key (`AppendRequest::system`): appended
/// again, as a store does after a commit whose answer was lost, it is the stored entry, even
/// after the change it made (a close) would refuse it; no client ever sees the key.
pub async fn suite_system_entries_are_keyed_and_the_key_is_hidden(store: &dyn Store) {
    let conversation = new_conversation(store, "keyed").await;
    let mut close = AppendRequest::system(&conversation.id, "porch closed it".into(), 1);
    close.event = Some(ConversationState::Closed);
    assert!(close.client_message_id.as_deref().is_some_and(|k| k.starts_with("sys_")));
    let (closing, _) = created(store.append(close.clone()).await.unwrap());
    assert_eq!(closing.client_message_id, None, "the key is not shown");
    let again = store.append(close).await.unwrap();
    assert_eq!(again, AppendOutcome::Duplicate { message: closing.clone() }, "logged once");
    let page = store
        .messages(&conversation.id, PageRequest { after_seq: None, before_seq: None, limit: 10 })
        .await
        .unwrap();
    assert_eq!(page.messages, vec![closing], "once, and read without its key");
}

/// Writes that fail in a batch take back only themselves.
pub async fn suite_batch_isolation(store: Arc<dyn Store>) {
    let open = new_conversation(&*store, "isolation").await;
    let closed = new_conversation(&*store, "isolation").await;
    store.append(says(&open, &guest_of(&open), "taken", "original")).await.unwrap();
    store.append(system_event(&closed, ConversationState::Closed, None)).await.unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let store = Arc::clone(&store);
        let request = match i % 3 {
            0 => says(&open, &guest_of(&open), &format!("ok-{i}"), "fine"),
            1 => says(&closed, &guest_of(&closed), &format!("late-{i}"), "too late"),
            _ => says(&open, &guest_of(&open), "taken", &format!("conflict {i}")),
        };
        tasks.spawn(async move { (i % 3, store.append(request).await) });
    }
    let mut good = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            (0, outcome) => good.push(created(outcome.unwrap()).0.seq),
            (1, outcome) => {
                assert_eq!(outcome, Err(StoreError::ConversationClosed(closed.id.clone())))
            }
            (_, outcome) => assert_eq!(outcome, Err(StoreError::IdempotencyConflict)),
        }
    }
    good.sort_unstable();
    assert_eq!(good, (2..=21).collect::<Vec<_>>());
    let page = store
        .messages(&open.id, PageRequest { after_seq: None, before_seq: None, limit: 100 })
        .await
        .unwrap();
    assert_eq!(seqs(&page.messages), (1..=21).collect::<Vec<_>>());
    assert_eq!(page.messages[0].text, "original");
    assert_eq!(store.conversation(&closed.id).await.unwrap().unwrap().last_seq, 1);
}

pub async fn suite_paging(store: &dyn Store) {
    let conversation = new_conversation(store, "paging").await;
    fill(store, &conversation, 25).await;
    let id = conversation.id.as_str();
    let page = |after_seq, before_seq, limit| PageRequest { after_seq, before_seq, limit };

    let latest = store.messages(id, page(None, None, 10)).await.unwrap();
    assert_eq!(seqs(&latest.messages), (16..=25).collect::<Vec<_>>());
    assert!(latest.has_more, "older messages exist");
    assert_eq!(latest.last_seq, 25);
    assert_eq!(latest.messages[0].text, "m16");

    let older = store.messages(id, page(None, Some(16), 10)).await.unwrap();
    assert_eq!(seqs(&older.messages), (6..=15).collect::<Vec<_>>());
    assert!(older.has_more);
    let oldest = store.messages(id, page(None, Some(6), 10)).await.unwrap();
    assert_eq!(seqs(&oldest.messages), (1..=5).collect::<Vec<_>>());
    assert!(!oldest.has_more);
    let exactly = store.messages(id, page(None, Some(11), 10)).await.unwrap();
    assert_eq!(seqs(&exactly.messages), (1..=10).collect::<Vec<_>>());
    assert!(!exactly.has_more, "nothing lies before seq 1");

    let first = store.messages(id, page(Some(0), None, 10)).await.unwrap();
    assert_eq!(seqs(&first.messages), (1..=10).collect::<Vec<_>>());
    assert!(first.has_more);
    let tail = store.messages(id, page(Some(20), None, 10)).await.unwrap();
    assert_eq!(seqs(&tail.messages), (21..=25).collect::<Vec<_>>());
    assert!(!tail.has_more);
    let end = store.messages(id, page(Some(15), None, 10)).await.unwrap();
    assert_eq!(seqs(&end.messages), (16..=25).collect::<Vec<_>>());
    assert!(!end.has_more, "the page ends exactly at the last message");
    let beyond = store.messages(id, page(Some(25), None, 10)).await.unwrap();
    assert!(beyond.messages.is_empty() && !beyond.has_more);
    assert_eq!(beyond.last_seq, 25);
    let huge = store.messages(id, page(Some(u64::MAX), None, 10)).await.unwrap();
    assert!(huge.messages.is_empty());
    let all = store.messages(id, page(None, Some(u64::MAX), 100)).await.unwrap();
    assert_eq!(all.messages.len(), 25);

    assert_eq!(
        store.messages("cnv_nobody", page(None, None, 10)).await,
        Err(StoreError::ConversationUnknown("cnv_nobody".to_owned()))
    );
}

pub async fn suite_mark_read(store: &dyn Store) {
    let conversation = new_conversation(store, "reads").await;
    fill(store, &conversation, 5).await;
    let id = conversation.id.as_str();
    let guest = conversation.guest.id.as_str();
    assert_eq!(store.mark_read(id, guest, 3).await, Ok(3));
    assert_eq!(store.mark_read(id, guest, 2).await, Ok(3), "never backwards");
    assert_eq!(store.mark_read(id, guest, 0).await, Ok(3));
    assert_eq!(store.mark_read(id, "agt_other", 1).await, Ok(1), "markers are per participant");
    assert_eq!(store.mark_read(id, guest, 5).await, Ok(5));
    assert_eq!(store.mark_read(id, guest, 99).await, Ok(5), "capped at the last message");
    assert_eq!(store.mark_read(id, guest, u64::MAX).await, Ok(5));
    assert_eq!(
        store.mark_read("cnv_nobody", guest, 1).await,
        Err(StoreError::ConversationUnknown("cnv_nobody".to_owned()))
    );
}

/// More concurrent writes than the queue holds: senders wait, nothing is lost.
pub async fn suite_backpressure(store: Arc<dyn Store>, writes: u64) {
    let conversation = new_conversation(&*store, "pressure").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..writes {
        let store = Arc::clone(&store);
        let request = says(&conversation, &guest_of(&conversation), &format!("p{i}"), "load");
        tasks.spawn(async move { created(store.append(request).await.unwrap()).0.seq });
    }
    let mut all = tasks.join_all().await;
    all.sort_unstable();
    assert_eq!(all, (1..=writes).collect::<Vec<_>>());
}

/// One clock for the log: entries from a node whose clock lags are dated no earlier than the
/// entry they follow, so `createdAtMs` never goes backwards while `seq` goes forward, and the
/// conversation's `updatedAtMs` is its last entry's time.
pub async fn suite_entry_times_follow_seq(store: &dyn Store) {
    let conversation = new_conversation(store, "clock").await;
    let guest = guest_of(&conversation);
    // Node clocks: one ahead, one lagging behind it, then one further ahead still.
    let clocks_ms = [T0_MS + 10_000, T0_MS + 1_000, T0_MS + 20_000];
    let mut dated = Vec::new();
    for (i, now_ms) in clocks_ms.into_iter().enumerate() {
        let request =
            AppendRequest { now_ms, ..says(&conversation, &guest, &format!("c-{i}"), "hi") };
        let (message, after) = created(store.append(request).await.unwrap());
        assert_eq!(after.updated_at_ms, message.created_at_ms, "the row moves with its entry");
        dated.push(message.created_at_ms);
    }
    assert_eq!(dated, [T0_MS + 10_000, T0_MS + 10_000, T0_MS + 20_000]);
    let page = store
        .messages(&conversation.id, PageRequest { after_seq: Some(0), before_seq: None, limit: 10 })
        .await
        .unwrap();
    let stored: Vec<i64> = page.messages.iter().map(|m| m.created_at_ms).collect();
    assert_eq!(stored, dated, "stored as acknowledged");
}
