//! Reopen over the real gateway and REST (docs/routing.md, "Reopen"): a guest's message into
//! its conversation closed within `reopen_window_secs` reopens it, as one entry marked
//! `reopened` before the message, back to its last agent if available with room, else to its
//! queue (offered as usual); racing sends make one reopen, a take racing it leaves one owner;
//! after the window the send is refused, nothing stored. With `PORCH_TEST_CLUSTER=1` guests are
//! on node 1 and agents on node 2, and the racing sends go to both nodes.

use porch_client::gateway::Gateway;
use porch_server::admin;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{AgentSession, Conversation, ConversationState, GuestSession, Message};

use crate::support::*;

/// A new agent of the default queue, logged in on the agents' node.
async fn agent_named(server: &TestServer, name: &str) -> AgentSession {
    let store = server.state.store.as_ref();
    let created = admin::create_agent(store, name, vec!["default".into()]).await.unwrap();
    server.agent_api.agent_login(name, &created.secret).await.unwrap()
}

async fn set_status(server: &TestServer, agent: &AgentSession, status: &str) {
    let url = format!("{}/api/v2/agent/status", server.agent_api.base_url());
    let body = serde_json::json!({ "status": status });
    let sent = server.agent_api.http().put(url).bearer_auth(&agent.access_token).json(&body);
    assert_eq!(sent.send().await.unwrap().status().as_u16(), 200);
}

async fn open(token: &str, gateway_url: &str) -> Gateway {
    let mut socket = Gateway::connect(gateway_url, token, None).await.unwrap();
    expect_ready(&mut socket).await;
    socket
}

/// A guest who wrote once, whose conversation `agent` took and closed: seq 1 to 3.
async fn closed_by(server: &TestServer, agent: &AgentSession) -> GuestSession {
    let guest = server.guest().await;
    server.api.guest_send(&guest.access_token, "g1", "help").await.unwrap();
    let api = &server.agent_api;
    api.agent_action(&agent.access_token, &guest.conversation_id, "assign").await.unwrap();
    let closed = api.agent_action(&agent.access_token, &guest.conversation_id, "close").await;
    assert_eq!(closed.unwrap().state, ConversationState::Closed);
    guest
}

async fn stored(server: &TestServer, id: &str) -> Conversation {
    server.state.store.conversation(id).await.unwrap().unwrap()
}

async fn load(server: &TestServer, agent: &AgentSession) -> u32 {
    server.state.store.agent_routing(&agent.agent_id).await.unwrap().unwrap().load
}

async fn guest_log(server: &TestServer, guest: &GuestSession) -> Vec<Message> {
    server.api.guest_history(&guest.access_token, "after=0").await.unwrap().messages
}

/// Alice is available: the guest's "one more thing" after her close takes the conversation
/// back to her. The guest and Alice hear the reopen entry (seq 4, `assigned`, marked), then the
/// message (seq 5), live and in history; Alice holds it again, her load moved with it, and the
/// deployment's endpoint gets `conversation.reopened` naming her.
#[tokio::test]
async fn a_message_within_the_window_reopens_to_its_available_agent() {
    let server = TestServer::start_with(|c| {
        c.webhook_targets = crate::webhooks::TARGETS;
        c.limits.webhook_poll_interval_ms = 20;
    })
    .await;
    let (url, mut received) = crate::webhooks::healthy_receiver().await;
    let sender = porch_server::webhooks::Sender::new(crate::webhooks::TARGETS, 1_000).unwrap();
    let types = vec!["conversation.reopened".to_owned()];
    let store = server.state.store.as_ref();
    porch_server::webhooks::register(store, &sender, &server.deployment.id, &url, &types)
        .await
        .unwrap();
    let alice = server.agent().await;
    set_status(&server, &alice, "available").await;
    let guest = closed_by(&server, &alice).await;
    let id = guest.conversation_id.clone();
    assert_eq!(load(&server, &alice).await, 0);
    let mut guest_socket = open(&guest.access_token, &guest.gateway_url).await;
    let mut alice_socket = open(&alice.access_token, &alice.gateway_url).await;

    let sent = server.api.guest_send(&guest.access_token, "g2", "one more thing").await.unwrap();
    assert_eq!((sent.status, sent.body.message.seq), (201, 5), "stored after the reopen");
    for socket in [&mut guest_socket, &mut alice_socket] {
        let reopened = entry(socket, &id, 4).await;
        assert!(reopened.reopened, "{reopened:?}");
        assert_eq!(reopened.event, Some(ConversationState::Assigned));
        assert_eq!(entry(socket, &id, 5).await.text, "one more thing");
    }
    let now = stored(&server, &id).await;
    assert_eq!(
        (now.state, now.assigned_agent_id.as_deref()),
        (ConversationState::Assigned, Some(alice.agent_id.as_str()))
    );
    assert_eq!(load(&server, &alice).await, 1, "her load moved in the reopen's commit");
    let log = guest_log(&server, &guest).await;
    let marked: Vec<u64> = log.iter().filter(|m| m.reopened).map(|m| m.seq).collect();
    assert_eq!(marked, [4], "one reopen entry, in the guest's history too");
    // Alice replies as the holder she is again.
    server.agent_api.agent_send(&alice.access_token, &id, "a1", "Sure").await.unwrap();

    let request = tokio::time::timeout(WAIT, received.recv()).await.expect("a delivery").unwrap();
    let event: porch_wire::webhook::WebhookEvent = serde_json::from_slice(&request.1).unwrap();
    assert_eq!(event.event_type, "conversation.reopened");
    assert_eq!(event.data.agent_id.as_deref(), Some(alice.agent_id.as_str()));
    let message = event.data.message.expect("the reopen entry");
    assert!(message.reopened && message.seq == 4, "{message:?}");
}

/// Alice is away: the reopen puts the conversation back in its queue, nobody holding it, and
/// Bob, available, gets the offer as for any waiting conversation.
#[tokio::test]
async fn an_unavailable_agent_leaves_the_reopen_to_its_queue() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let guest = closed_by(&server, &alice).await;
    let id = guest.conversation_id.clone();
    let bob = agent_named(&server, "bob").await;
    let mut bob_socket = open(&bob.access_token, &bob.gateway_url).await;
    set_status(&server, &bob, "available").await;

    server.api.guest_send(&guest.access_token, "g2", "still there?").await.unwrap();
    let reopened = entry(&mut bob_socket, &id, 4).await;
    assert_eq!((reopened.reopened, reopened.event), (true, Some(ConversationState::Waiting)));
    let wanted = id.clone();
    let offer = bob_socket
        .wait_for(WAIT, move |f| {
            matches!(f, ServerFrame::Offer { conversation, .. } if conversation.id == wanted)
        })
        .await;
    assert!(offer.is_ok(), "Bob is offered the reopened conversation: {offer:?}");
    let now = stored(&server, &id).await;
    assert_eq!((now.state, now.assigned_agent_id), (ConversationState::Waiting, None));
    assert_eq!((load(&server, &alice).await, load(&server, &bob).await), (0, 0));
}

/// With reopening off (`reopen_window_secs` 0) a guest's message into its closed conversation
/// is refused with `conversation_closed`, over REST and the socket, saying to start a new
/// conversation; nothing is stored.
#[tokio::test]
async fn with_reopening_off_a_send_is_refused_and_says_start_anew() {
    let server = TestServer::start_with(|c| c.limits.reopen_window_secs = 0).await;
    let alice = server.agent().await;
    let guest = closed_by(&server, &alice).await;
    let refused = server.api.guest_send(&guest.access_token, "g2", "hello?").await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::ConversationClosed), "{refused}");
    assert!(refused.to_string().contains("start a new conversation"), "{refused}");
    let mut socket = open(&guest.access_token, &guest.gateway_url).await;
    let send = ClientFrame::Send {
        client_message_id: "g3".into(),
        text: "anyone?".into(),
        conversation_id: None,
    };
    socket.send(&send).await.unwrap();
    let ServerFrame::Error { code, message, .. } = expect_frame(&mut socket, "error").await else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::ConversationClosed);
    assert!(message.contains("reopen_window_secs is 0"), "{message}");
    let now = stored(&server, &guest.conversation_id).await;
    assert_eq!((now.state, now.last_seq), (ConversationState::Closed, 3), "nothing stored");
}

/// A window of one second, and a guest who writes two seconds after the close: refused, and
/// the message names the window.
#[tokio::test]
async fn after_the_window_a_send_is_refused() {
    let server = TestServer::start_with(|c| c.limits.reopen_window_secs = 1).await;
    let alice = server.agent().await;
    let guest = closed_by(&server, &alice).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let refused = server.api.guest_send(&guest.access_token, "g2", "late").await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::ConversationClosed), "{refused}");
    assert!(refused.to_string().contains("more than 1 s ago"), "{refused}");
    assert_eq!(stored(&server, &guest.conversation_id).await.last_seq, 3, "nothing stored");
}

/// Several sends of the guest at the moment of reopen, to both nodes in cluster mode: one
/// reopen entry, then every message once, gap-free.
#[tokio::test]
async fn racing_sends_make_one_reopen() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    for round in 0..3 {
        let guest = closed_by(&server, &alice).await;
        let mut sends = Vec::new();
        for i in 0..4 {
            // Node 1 and, in cluster mode, node 2 (the agents' node serves guests too).
            let api = if i % 2 == 0 { server.api.clone() } else { server.agent_api.clone() };
            let token = guest.access_token.clone();
            sends.push(tokio::spawn(async move {
                api.guest_send(&token, &format!("r{i}"), &format!("m{i}")).await
            }));
        }
        for send in sends {
            assert_eq!(send.await.unwrap().unwrap().status, 201);
        }
        let log = guest_log(&server, &guest).await;
        let seqs: Vec<u64> = log.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7, 8], "round {round}: gap-free");
        assert!(log[3].reopened, "round {round}: the reopen comes first: {log:?}");
        assert_eq!(log.iter().filter(|m| m.reopened).count(), 1, "round {round}: one reopen");
    }
}

/// Alice is available, Bob tries to take the conversation by hand as the guest's message
/// reopens it: whoever the store decides first, Alice holds it and Bob's take is refused
/// (closed, or taken), and the loads count one conversation.
#[tokio::test]
async fn a_take_racing_a_reopen_leaves_one_owner() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    set_status(&server, &alice, "available").await;
    let bob = agent_named(&server, "bob").await;
    for round in 0..4 {
        let guest = closed_by(&server, &alice).await;
        let id = guest.conversation_id.clone();
        let (api, agent_api) = (server.api.clone(), server.agent_api.clone());
        let token = guest.access_token.clone();
        let send = tokio::spawn(async move { api.guest_send(&token, "g2", "again").await });
        let (bob_token, take_id) = (bob.access_token.clone(), id.clone());
        let take =
            tokio::spawn(
                async move { agent_api.agent_action(&bob_token, &take_id, "assign").await },
            );
        send.await.unwrap().unwrap();
        let refused = take.await.unwrap().expect_err("Bob never takes Alice's reopen");
        let code = refused.code();
        assert!(
            matches!(code, Some(ErrorCode::ConversationClosed | ErrorCode::ConversationTaken)),
            "round {round}: {refused}"
        );
        let now = stored(&server, &id).await;
        assert_eq!(now.assigned_agent_id.as_deref(), Some(alice.agent_id.as_str()));
        assert_eq!((load(&server, &alice).await, load(&server, &bob).await), (1, 0));
        let closed = server.agent_api.agent_action(&alice.access_token, &id, "close").await;
        assert_eq!(closed.unwrap().state, ConversationState::Closed, "round {round}");
    }
}

/// A closed conversation says until when its guest may reopen it (`reopenUntilMs`: the close
/// plus the window) wherever a client reads it: the close's answer, the guest's
/// `conversation` frame and next `ready`, the agent's list and the customer's page. Reopened,
/// it has none again; with reopening off, a close has none.
#[tokio::test]
async fn a_closed_conversation_says_until_when_it_can_be_reopened() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let guest = server.guest().await;
    let id = guest.conversation_id.clone();
    let mut guest_socket = open(&guest.access_token, &guest.gateway_url).await;
    server.api.guest_send(&guest.access_token, "g1", "help").await.unwrap();
    let api = &server.agent_api;
    api.agent_action(&alice.access_token, &id, "assign").await.unwrap();
    let closed = api.agent_action(&alice.access_token, &id, "close").await.unwrap();
    let until_ms = closed.updated_at_ms + 300_000;
    assert_eq!(closed.reopen_until_ms, Some(until_ms), "the close's answer: {closed:?}");

    let frame = guest_socket
        .wait_for(WAIT, |f| {
            matches!(f, ServerFrame::Conversation { conversation } if conversation.state == ConversationState::Closed)
        })
        .await;
    let Ok(ServerFrame::Conversation { conversation }) = frame else { panic!("{frame:?}") };
    assert_eq!(conversation.reopen_until_ms, Some(until_ms), "the live frame");
    let mut again = Gateway::connect(&guest.gateway_url, &guest.access_token, None).await.unwrap();
    let ServerFrame::Ready(ready) = expect_ready(&mut again).await else { unreachable!() };
    assert_eq!(ready.conversation.unwrap().reopen_until_ms, Some(until_ms), "the next ready");
    let listed = api.agent_conversations(&alice.access_token, "state=closed").await.unwrap();
    let mine = listed.conversations.iter().find(|c| c.id == id).expect("listed");
    assert_eq!(mine.reopen_until_ms, Some(until_ms), "the agent's list");
    let page = server.api.customer_conversations(&guest.access_token, "").await.unwrap();
    assert_eq!(page.conversations[0].reopen_until_ms, Some(until_ms), "the customer's page");

    server.api.guest_send(&guest.access_token, "g2", "one more thing").await.unwrap();
    let frame = again
        .wait_for(WAIT, |f| {
            matches!(f, ServerFrame::Conversation { conversation } if conversation.state != ConversationState::Closed)
        })
        .await;
    let Ok(ServerFrame::Conversation { conversation }) = frame else { panic!("{frame:?}") };
    assert_eq!(conversation.reopen_until_ms, None, "reopened: no window");
    let json = serde_json::to_value(&conversation).unwrap();
    assert!(json.get("reopenUntilMs").is_none(), "absent, not null: {json}");

    let off = TestServer::start_with(|c| c.limits.reopen_window_secs = 0).await;
    let alice = off.agent().await;
    let guest = closed_by(&off, &alice).await;
    let listed = off.agent_api.agent_conversations(&alice.access_token, "state=closed").await;
    let mine = listed.unwrap().conversations.into_iter().find(|c| c.id == guest.conversation_id);
    assert_eq!(mine.expect("listed").reopen_until_ms, None, "reopening off: no window");
}
