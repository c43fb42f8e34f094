//! `Store::append_group`: a connection's pipelined sends, each an append of its own.

use porch_core::store::{AppendOutcome, Store, StoreError};
use porch_wire::rest::ConversationState;

use super::*;

/// Outcomes come in the order given, each as its own `append` would answer: the entries of
/// one conversation take their `seq` in that order, a retry inside the group is the first
/// one's duplicate, and a refused append (closed, unknown, conflicting) takes nothing from
/// the others.
pub async fn suite_append_group(store: &dyn Store) {
    let a = new_conversation(store, "grouped").await;
    let b = new_conversation(store, "grouped").await;
    let closed = new_conversation(store, "grouped").await;
    store.append(system_event(&closed, ConversationState::Closed, None)).await.unwrap();
    let (ga, gb, gc) = (guest_of(&a), guest_of(&b), guest_of(&closed));
    let mut unknown = says(&a, &ga, "u", "nobody");
    unknown.conversation_id = "cnv_nobody".to_owned();
    let group = vec![
        says(&a, &ga, "a1", "first"),
        says(&b, &gb, "b1", "first"),
        says(&closed, &gc, "c1", "too late"),
        says(&a, &ga, "a2", "second"),
        says(&a, &ga, "a1", "first"),
        says(&b, &gb, "b1", "not the first"),
        unknown,
        says(&b, &gb, "b2", "second"),
    ];
    let outcomes = store.append_group(group).await.unwrap();
    assert_eq!(outcomes.len(), 8);
    let seq = |i: usize| match &outcomes[i] {
        Ok(AppendOutcome::Created { message, .. }) => {
            (message.conversation_id.clone(), message.seq)
        }
        other => panic!("append {i} was not created: {other:?}"),
    };
    assert_eq!([seq(0), seq(3)], [(a.id.clone(), 1), (a.id.clone(), 2)]);
    assert_eq!([seq(1), seq(7)], [(b.id.clone(), 1), (b.id.clone(), 2)]);
    assert_eq!(outcomes[2], Err(StoreError::ConversationClosed(closed.id.clone())));
    let first = outcomes[0].as_ref().unwrap().message().clone();
    assert_eq!(outcomes[4], Ok(AppendOutcome::Duplicate { message: first }));
    assert_eq!(outcomes[5], Err(StoreError::IdempotencyConflict));
    assert_eq!(outcomes[6], Err(StoreError::ConversationUnknown("cnv_nobody".to_owned())));
    for (conversation, last_seq) in [(&a, 2), (&b, 2), (&closed, 1)] {
        let now = store.conversation(&conversation.id).await.unwrap().unwrap();
        assert_eq!(now.last_seq, last_seq, "{}", conversation.id);
    }
    assert_eq!(store.append_group(Vec::new()).await.unwrap(), Vec::new());
}
