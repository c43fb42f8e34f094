//! An agent's search (`Store::search_conversations`): the conversations of its queues in the
//! states asked for, whose guest's name or email or a message contains the text, whatever its
//! case; most recently active first, paged with a cursor; `%` and `_` are plain characters.

use porch_core::ids::{new_id, prefix};
use porch_core::store::{ConversationSearch, Store};
use porch_wire::rest::ConversationPage;

use super::*;

fn search(queue: &str, states: &[ConversationState], text: Option<&str>) -> ConversationSearch {
    ConversationSearch {
        queues: vec![queue.to_owned()],
        states: states.to_vec(),
        text: text.map(str::to_owned),
        before_conversation_id: None,
        limit: 10,
    }
}

fn ids(page: &ConversationPage) -> Vec<String> {
    page.conversations.iter().map(|c| c.id.clone()).collect()
}

/// A guest named `name` (email `email`) on `queue` who wrote `text`; closed at `closed_at_ms`
/// unless `None`.
async fn written(
    store: &dyn Store,
    queue: &str,
    (name, email): (&str, &str),
    text: &str,
    closed_at_ms: Option<i64>,
) -> Conversation {
    let (client, deployment) = seed(store, queue).await;
    let mut record = guest_record(&client, &deployment, T0_MS);
    record.guest.display_name = Some(name.to_owned());
    record.guest.email = Some(email.to_owned());
    let conversation = store.create_guest(record, queue.to_owned()).await.unwrap();
    store.append(says(&conversation, &guest_of(&conversation), "c1", text)).await.unwrap();
    if let Some(at_ms) = closed_at_ms {
        let mut close = system_event(&conversation, ConversationState::Closed, None);
        close.now_ms = at_ms;
        store.append(close).await.unwrap();
    }
    store.conversation(&conversation.id).await.unwrap().unwrap()
}

pub async fn suite_conversation_search(store: &dyn Store) {
    let queue = format!("search-{}", new_id(prefix::CONVERSATION));
    let closed = [ConversationState::Closed];
    let ann = written(
        store,
        &queue,
        ("Ann Lee", "ann@example.com"),
        "my parcel is late",
        Some(T0_MS + 5_000),
    )
    .await;
    let bob =
        written(store, &queue, ("Bob", "bob@shop.test"), "100% refund_please", Some(T0_MS + 6_000))
            .await;
    let cid = written(store, &queue, ("Cid", "cid@shop.test"), "where is my parcel", None).await;
    let elsewhere = format!("{queue}-other");
    let other =
        written(store, &elsewhere, ("Ann Other", "ann@else.test"), "parcel", Some(T0_MS + 7_000))
            .await;

    let all = store.search_conversations(search(&queue, &closed, None)).await.unwrap();
    assert_eq!(ids(&all), [bob.id.clone(), ann.id.clone()], "closed ones, last closed first");
    assert!(!all.has_more);
    assert_eq!(all.conversations[1], ann, "the stored conversation, guest and all");

    for (text, expected) in [
        ("ann", vec![ann.id.clone()]),
        ("LEE", vec![ann.id.clone()]),
        ("EXAMPLE.com", vec![ann.id.clone()]),
        ("Parcel", vec![ann.id.clone()]),
        ("%", vec![bob.id.clone()]),
        ("d_p", vec![bob.id.clone()]),
        ("_", vec![bob.id.clone()]),
        ("conversation closed", vec![]),
        ("nobody wrote this", vec![]),
    ] {
        let page = store.search_conversations(search(&queue, &closed, Some(text))).await.unwrap();
        assert_eq!(ids(&page), expected, "searching {text:?}");
    }
    let any_state = store.search_conversations(search(&queue, &[], Some("parcel"))).await;
    assert_eq!(ids(&any_state.unwrap()), [ann.id.clone(), cid.id.clone()], "every state");

    // Paging walks the same order; a cursor outside the queues gives nothing.
    let mut first = search(&queue, &closed, None);
    first.limit = 1;
    let page = store.search_conversations(first.clone()).await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec![bob.id.clone()], true));
    let next = ConversationSearch { before_conversation_id: Some(bob.id.clone()), ..first.clone() };
    let page = store.search_conversations(next).await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec![ann.id.clone()], false));
    for foreign in [other.id.as_str(), "cnv_nobody"] {
        let cursor = ConversationSearch {
            before_conversation_id: Some(foreign.to_owned()),
            ..first.clone()
        };
        assert!(
            store.search_conversations(cursor).await.unwrap().conversations.is_empty(),
            "{foreign}"
        );
    }
    let none = ConversationSearch { queues: Vec::new(), ..search(&queue, &closed, None) };
    assert!(store.search_conversations(none).await.unwrap().conversations.is_empty());
}
