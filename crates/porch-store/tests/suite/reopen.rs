//! Reopening a closed conversation (docs/routing.md): within its window a reopen takes it back
//! to its last agent (one more load) or its queue, as one marked entry; of reopens racing, one
//! writes and the others find it open; after the window it stays closed.

use std::sync::Arc;

use porch_core::store::{AppendRequest, Store, StoreError};
use porch_wire::rest::{Conversation, ConversationState};

use super::*;

/// A reopen of `conversation` to `event`, for a close at or after `since_ms`.
fn reopen(conversation: &Conversation, event: ConversationState, since_ms: i64) -> AppendRequest {
    let mut request = system_event(conversation, event, None);
    request.reopen_closed_since_ms = Some(since_ms);
    request.now_ms = T0_MS + 3_000;
    request
}

/// A conversation held by a new agent of `queue`, then closed at `T0_MS + 2_000`.
async fn closed_conversation(store: &dyn Store, queue: &str) -> (Conversation, String) {
    let agent = new_agent(store, &[queue]).await;
    let conversation = new_conversation(store, queue).await;
    created(store.append(assign_to(&conversation, &agent.id, 2)).await.unwrap());
    let (_, closed) = created(
        store.append(system_event(&conversation, ConversationState::Closed, None)).await.unwrap(),
    );
    assert_eq!(closed.updated_at_ms, T0_MS + 2_000);
    (conversation, agent.id)
}

pub async fn suite_reopen(store: &dyn Store) {
    let (conversation, agent_id) = closed_conversation(store, "reopen").await;
    let load = || async { store.agent_routing(&agent_id).await.unwrap().unwrap().load };
    assert_eq!(load().await, 0);

    let late = reopen(&conversation, ConversationState::Waiting, T0_MS + 2_001);
    assert_eq!(
        store.append(late).await,
        Err(StoreError::ConversationClosed(conversation.id.clone())),
        "closed before the window: it stays closed"
    );
    let mut back = reopen(&conversation, ConversationState::Assigned, T0_MS + 2_000);
    back.assign = Some(porch_core::store::Assignee { agent_id: agent_id.clone(), capacity: 2 });
    let (entry, reopened) = created(store.append(back.clone()).await.unwrap());
    assert!(entry.reopened && entry.event == Some(ConversationState::Assigned));
    assert_eq!(
        (reopened.state, reopened.assigned_agent_id.as_deref()),
        (ConversationState::Assigned, Some(agent_id.as_str()))
    );
    assert_eq!(load().await, 1, "back to its agent: the load moves in the same commit");
    let stored = store.messages(&conversation.id, page_all()).await.unwrap().messages;
    assert_eq!(stored.last(), Some(&entry), "the mark is stored with the entry");
    assert_eq!(
        store.append(back).await,
        Err(StoreError::NotClosed(conversation.id.clone())),
        "an open conversation is not reopened"
    );
    assert_eq!(load().await, 1);
    let plain = says(&conversation, &guest_of(&conversation), "c1", "again");
    assert!(!created(store.append(plain).await.unwrap()).0.reopened);
}

/// Many reopens of one conversation at once (each node's sends): exactly one writes.
pub async fn suite_reopen_race(store: Arc<dyn Store>) {
    let (conversation, _) = closed_conversation(&*store, "reopen-race").await;
    let mut racers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let request = reopen(&conversation, ConversationState::Waiting, T0_MS);
        racers.push(tokio::spawn(async move { store.append(request).await }));
    }
    let mut written = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => written += 1,
            Err(StoreError::NotClosed(_)) => {}
            Err(other) => panic!("a racing reopen failed otherwise: {other}"),
        }
    }
    assert_eq!(written, 1, "one reopen, the others found it open");
    let stored = store.messages(&conversation.id, page_all()).await.unwrap().messages;
    assert_eq!(stored.iter().filter(|m| m.reopened).count(), 1);
}

fn page_all() -> porch_core::store::PageRequest {
    porch_core::store::PageRequest { after_seq: Some(0), before_seq: None, limit: 100 }
}
