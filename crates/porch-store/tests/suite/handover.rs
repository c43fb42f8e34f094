//! Handing a conversation on (docs/routing.md): a transfer to an agent moves the load in one
//! commit, a transfer to a queue moves the conversation, an entry keeps its note and wrap-up
//! code, an append that needs a holder is refused whole when someone else holds it, and a
//! deployment's wrap-up codes are replaced as a list.

use porch_core::store::{PageRequest, Store, StoreError};
use porch_wire::rest::ConversationState;

use super::*;

pub async fn suite_transfer(store: &dyn Store) {
    let queue = "handover";
    let (first, second) = (new_agent(store, &[queue]).await, new_agent(store, &[queue]).await);
    let conversation = new_conversation(store, queue).await;
    created(store.append(assign_to(&conversation, &first.id, 2)).await.unwrap());

    // Only the holder acts: the second agent's transfer is refused and writes nothing.
    let mut to_second = assign_to(&conversation, &second.id, 2);
    to_second.holder = Some(second.id.clone());
    assert_eq!(
        store.append(to_second.clone()).await,
        Err(StoreError::NotHolder {
            conversation_id: conversation.id.clone(),
            holder: Some(first.id.clone())
        })
    );
    let load = |id: String| async move { store.agent_routing(&id).await.unwrap().unwrap().load };
    assert_eq!((load(first.id.clone()).await, load(second.id.clone()).await), (1, 0));

    to_second.holder = Some(first.id.clone());
    to_second.note = Some("VIP".into());
    let (entry, moved) = created(store.append(to_second).await.unwrap());
    assert_eq!(moved.assigned_agent_id.as_deref(), Some(second.id.as_str()));
    assert_eq!((load(first.id.clone()).await, load(second.id.clone()).await), (0, 1));
    let page = PageRequest { after_seq: Some(0), before_seq: None, limit: 10 };
    let stored = store.messages(&conversation.id, page).await.unwrap().messages;
    assert_eq!(stored.last(), Some(&entry), "the note is kept with the entry");
    assert_eq!(entry.note.as_deref(), Some("VIP"));

    // To another queue: waiting there, nobody holding it.
    let mut to_queue = system_event(&conversation, ConversationState::Waiting, None);
    to_queue.holder = Some(second.id.clone());
    to_queue.queue = Some("elsewhere".into());
    let (_, waiting) = created(store.append(to_queue).await.unwrap());
    assert_eq!(store.conversation(&conversation.id).await.unwrap(), Some(waiting.clone()));
    assert_eq!(
        (waiting.state, waiting.queue.as_str(), waiting.assigned_agent_id),
        (ConversationState::Waiting, "elsewhere", None)
    );
    assert_eq!(load(second.id.clone()).await, 0);

    // A close by an agent of a waiting conversation (`or_unheld`), with its wrap-up code.
    let mut close = system_event(&conversation, ConversationState::Closed, None);
    close.holder = Some(first.id.clone());
    close.or_unheld = true;
    close.wrap_up = Some("resolved".into());
    let (entry, closed) = created(store.append(close).await.unwrap());
    assert_eq!(
        (closed.state, entry.wrap_up.as_deref()),
        (ConversationState::Closed, Some("resolved"))
    );
}

pub async fn suite_wrap_up_codes(store: &dyn Store) {
    let conversation = new_conversation(store, "wrapups").await;
    let deployment = conversation.deployment_id.clone();
    assert!(store.wrap_up_codes(&deployment).await.unwrap().is_empty());
    let codes = vec!["resolved".to_owned(), "spam".to_owned(), "refund".to_owned()];
    assert!(store.set_wrap_up_codes(&deployment, codes.clone()).await.unwrap());
    assert_eq!(store.wrap_up_codes(&deployment).await.unwrap(), codes, "in the order given");
    let fewer = vec!["spam".to_owned()];
    assert!(store.set_wrap_up_codes(&deployment, fewer.clone()).await.unwrap());
    assert_eq!(store.wrap_up_codes(&deployment).await.unwrap(), fewer, "replaced, not added");
    assert!(store.set_wrap_up_codes(&deployment, Vec::new()).await.unwrap());
    assert!(store.wrap_up_codes(&deployment).await.unwrap().is_empty());
    assert!(!store.set_wrap_up_codes("dep_nobody", fewer).await.unwrap());
}
