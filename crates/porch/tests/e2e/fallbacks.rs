//! Unanswered fallbacks over the real gateway (docs/routing.md, "Unanswered fallback"): a
//! conversation that waits its queue's fallback time with no agent gets the fallback once, as
//! one entry marked `fallback` that guests and agents see live: a message (it keeps waiting), a
//! move to another queue (offered there), or a close. With `PORCH_TEST_CLUSTER=1` both nodes
//! run their timers on the same conversations, and still one entry is written.

use porch_client::gateway::Gateway;
use porch_core::model::{Fallback, FallbackAction};
use porch_server::admin;
use porch_wire::frame::ServerFrame;
use porch_wire::rest::{ConversationState, GuestSession, Message};

use crate::support::*;

/// The default queue falls back after a second.
async fn with_fallback(server: &TestServer, action: FallbackAction) {
    let changes = admin::QueueChanges {
        fallback: Some(Some(Fallback { after_secs: 1, action })),
        ..Default::default()
    };
    admin::set_queue(server.state.store.as_ref(), "default", changes).await.unwrap();
}

/// A guest who wrote once (seq 1), connected.
async fn waiting_guest(server: &TestServer) -> (GuestSession, Gateway) {
    let (guest, socket) = server.connected_guest().await;
    server.api.guest_send(&guest.access_token, "g1", "anyone there?").await.unwrap();
    (guest, socket)
}

async fn fallbacks_in(server: &TestServer, guest: &GuestSession) -> Vec<Message> {
    let page = server.api.guest_history(&guest.access_token, "after=0").await.unwrap();
    page.messages.into_iter().filter(|m| m.fallback).collect()
}

/// A message fallback: the guest reads it once; the conversation keeps waiting, and more
/// passes (of both nodes, in cluster mode) write nothing more.
#[tokio::test]
async fn a_message_fallback_tells_the_guest_once() {
    let server = TestServer::start().await;
    // Set after the guest's first message, so the fallback's entry comes after it.
    let (guest, mut socket) = waiting_guest(&server).await;
    with_fallback(&server, FallbackAction::Message("Leave us your email".into())).await;
    let told = entry(&mut socket, &guest.conversation_id, 2).await;
    assert_eq!(
        (told.fallback, told.event, told.text.as_str()),
        (true, None, "Leave us your email")
    );
    // Passes run every FALLBACK_SCAN_INTERVAL_MS on each node; let several go by.
    tokio::time::sleep(std::time::Duration::from_millis(3 * 1_000)).await;
    assert_eq!(fallbacks_in(&server, &guest).await.len(), 1, "once per wait");
    let now = server.state.store.conversation(&guest.conversation_id).await.unwrap().unwrap();
    assert_eq!((now.state, now.last_seq), (ConversationState::Waiting, 2));
}

/// A move to another queue: the entry (which names no queue to the guest) moves it, and Bob of
/// `billing`, available, gets the offer there.
#[tokio::test]
async fn a_queue_fallback_moves_it_where_it_is_offered() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let bob_created = admin::create_agent(store, "bob", vec!["billing".into()]).await.unwrap();
    let bob = server.agent_api.agent_login("bob", &bob_created.secret).await.unwrap();
    let mut bob_socket = Gateway::connect(&bob.gateway_url, &bob.access_token, None).await.unwrap();
    expect_ready(&mut bob_socket).await;
    let url = format!("{}/api/v2/agent/status", server.agent_api.base_url());
    let available = serde_json::json!({ "status": "available" });
    let put = server.agent_api.http().put(url).bearer_auth(&bob.access_token).json(&available);
    assert_eq!(put.send().await.unwrap().status().as_u16(), 200);
    let (guest, mut socket) = waiting_guest(&server).await;
    with_fallback(&server, FallbackAction::Queue("billing".into())).await;
    let moved = entry(&mut socket, &guest.conversation_id, 2).await;
    assert_eq!((moved.fallback, moved.event), (true, Some(ConversationState::Waiting)));
    assert!(!moved.text.contains("billing"), "the guest is not told the queue: {}", moved.text);
    let id = guest.conversation_id.clone();
    let offer = bob_socket
        .wait_for(WAIT, move |f| {
            matches!(f, ServerFrame::Offer { conversation, .. } if conversation.id == id && conversation.queue == "billing")
        })
        .await;
    assert!(offer.is_ok(), "Bob is offered it in billing: {offer:?}");
    assert_eq!(fallbacks_in(&server, &guest).await.len(), 1);
}

/// A close with a message: the guest reads the message on the close's entry, and the
/// conversation is closed.
#[tokio::test]
async fn a_close_fallback_closes_it_with_its_message() {
    let server = TestServer::start().await;
    let (guest, mut socket) = waiting_guest(&server).await;
    with_fallback(&server, FallbackAction::Close("We are closed; write again tomorrow".into()))
        .await;
    let closed = entry(&mut socket, &guest.conversation_id, 2).await;
    assert_eq!((closed.fallback, closed.event), (true, Some(ConversationState::Closed)));
    assert_eq!(closed.text, "We are closed; write again tomorrow");
    let now = server.state.store.conversation(&guest.conversation_id).await.unwrap().unwrap();
    assert_eq!(now.state, ConversationState::Closed);
}
