//! A guest's visitor context: kept once given, read back as given; none until then.

use porch_core::store::Store;
use porch_wire::rest::VisitorContext;

use super::*;

pub async fn suite_visitor_context(store: &dyn Store) {
    let conversation = new_conversation(store, "context").await;
    let guest_id = &conversation.guest.id;
    assert_eq!(store.guest_context(guest_id).await.unwrap(), None, "none until given");
    let context = VisitorContext {
        page_url: Some("https://shop.example/cart?step=2".into()),
        page_title: Some("Your cart — Shop".into()),
        user_agent: None,
    };
    assert!(store.set_guest_context(guest_id, context.clone()).await.unwrap());
    assert_eq!(store.guest_context(guest_id).await.unwrap(), Some(context.clone()));
    assert!(!store.set_guest_context("gst_nobody", context).await.unwrap(), "no such guest");
    assert_eq!(store.guest_context("gst_nobody").await.unwrap(), None);
    let listed = store.conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!(listed, conversation, "the conversation and its guest as they were");
}
