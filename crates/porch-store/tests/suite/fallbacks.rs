//! Queues' unanswered fallbacks (docs/routing.md): a queue's fallback is stored with its other
//! settings; a conversation is due once it has waited long enough, counted from its last state
//! change (or its creation), and not again after a fallback entry; a fallback's append commits
//! only at the `last_seq` it read, so two nodes cannot both write it.

use std::sync::Arc;

use porch_core::model::{Fallback, FallbackAction, QueueSettings};
use porch_core::store::{Store, StoreError};
use porch_wire::rest::{Conversation, ConversationState};

use super::*;

fn fallback_entry(conversation: &Conversation, last_seq: u64) -> porch_core::store::AppendRequest {
    let mut request = system_event(conversation, ConversationState::Waiting, None);
    (request.event, request.text) = (None, "Leave us your email".into());
    request.expect_last_seq = Some(last_seq);
    request.fallback = true;
    request
}

pub async fn suite_fallbacks(store: &dyn Store) {
    let queue = format!("fallback-{}", new_id(prefix::AGENT));
    let fallback =
        Fallback { after_secs: 60, action: FallbackAction::Close("We are closed now".into()) };
    let settings = QueueSettings { fallback: Some(fallback), ..QueueSettings::unset(&queue) };
    store.set_queue(settings.clone()).await.unwrap();
    assert!(store.fallback_queues().await.unwrap().contains(&settings));
    assert_eq!(store.queue_settings(vec![queue.clone()]).await.unwrap(), vec![settings.clone()]);

    // Created at T0_MS: due from then on, not before.
    let conversation = new_conversation(store, &queue).await;
    let due = |since_ms: i64| {
        let queue = queue.clone();
        async move {
            let found = store.due_fallbacks(&queue, since_ms, 10).await.unwrap();
            found.into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    let only = std::slice::from_ref(&conversation.id);
    assert!(due(T0_MS - 1).await.is_empty(), "waiting, but not long enough");
    assert_eq!(due(T0_MS).await, only);
    // A guest's message is no state change: still waiting since its creation.
    created(store.append(says(&conversation, &guest_of(&conversation), "c1", "hi")).await.unwrap());
    assert_eq!(due(T0_MS).await, only);

    // The fallback's entry commits only at the last_seq it read; then it is not due again.
    assert_eq!(
        store.append(fallback_entry(&conversation, 0)).await,
        Err(StoreError::Changed(conversation.id.clone())),
        "a stale read writes nothing"
    );
    let (entry, after) = created(store.append(fallback_entry(&conversation, 1)).await.unwrap());
    assert!(entry.fallback && after.last_seq == 2);
    assert!(due(T0_MS + 10_000).await.is_empty(), "once per wait");

    // Taken, then back in the queue at T0_MS + 2_000: a new wait, counted from then.
    let agent = new_agent(store, &[&queue]).await;
    created(store.append(assign_to(&conversation, &agent.id, 2)).await.unwrap());
    assert!(due(T0_MS + 10_000).await.is_empty(), "held: not waiting");
    let mut back = system_event(&conversation, ConversationState::Waiting, None);
    back.holder = Some(agent.id.clone());
    created(store.append(back).await.unwrap());
    assert!(due(T0_MS + 1_999).await.is_empty());
    assert_eq!(due(T0_MS + 2_000).await, only);

    let cleared = QueueSettings { fallback: None, ..settings.clone() };
    store.set_queue(cleared).await.unwrap();
    assert!(!store.fallback_queues().await.unwrap().iter().any(|q| q.name == queue));
}

/// Nodes firing one conversation's fallback at once, each at the `last_seq` it read: one
/// entry.
pub async fn suite_fallback_race(store: Arc<dyn Store>) {
    let conversation = new_conversation(&*store, "fallback-race").await;
    let mut racers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let request = fallback_entry(&conversation, 0);
        racers.push(tokio::spawn(async move { store.append(request).await }));
    }
    let mut written = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => written += 1,
            Err(StoreError::Changed(_)) => {}
            Err(other) => panic!("a racing fallback failed otherwise: {other}"),
        }
    }
    assert_eq!(written, 1, "one fallback, the others found it changed");
}
