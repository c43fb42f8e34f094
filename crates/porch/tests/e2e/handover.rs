//! Transfer, unassign and close with a wrap-up code over the real gateway and REST
//! (docs/routing.md): each is an entry of the log that guests and agents see in `seq` order;
//! a transfer's note reaches agents only; bad input is refused with its own code and changes
//! nothing. With `PORCH_TEST_CLUSTER=1`, guests are on node 1 and agents on node 2.

use porch_client::api::Api;
use porch_client::gateway::Gateway;
use porch_server::admin;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{
    AgentSession, CloseRequest, Conversation, ConversationState, GuestSession, Message,
    TransferRequest,
};

use crate::support::*;

const NOTE: &str = "VIP: refund approved, send the label";

/// A new agent of `queues`, logged in on the agents' node.
async fn agent_of(server: &TestServer, name: &str, queues: &[&str]) -> AgentSession {
    let queues = queues.iter().map(|q| q.to_string()).collect();
    let created = admin::create_agent(server.state.store.as_ref(), name, queues).await.unwrap();
    server.agent_api.agent_login(name, &created.secret).await.unwrap()
}

/// Sets the agent `available` over REST.
async fn available(server: &TestServer, agent: &AgentSession) {
    let url = format!("{}/api/v2/agent/status", server.agent_api.base_url());
    let body = serde_json::json!({ "status": "available" });
    let sent = server.agent_api.http().put(url).bearer_auth(&agent.access_token).json(&body);
    assert_eq!(sent.send().await.unwrap().status().as_u16(), 200);
}

/// A guest with a message waiting, taken by `agent`.
async fn held_by(server: &TestServer, agent: &AgentSession) -> GuestSession {
    let guest = server.guest().await;
    server.api.guest_send(&guest.access_token, "g1", "help").await.unwrap();
    server
        .agent_api
        .agent_action(&agent.access_token, &guest.conversation_id, "assign")
        .await
        .unwrap();
    guest
}

async fn open(server: &TestServer, token: &str) -> Gateway {
    let mut socket = Gateway::connect(&server.gateway_url, token, None).await.unwrap();
    expect_ready(&mut socket).await;
    socket
}

async fn log(api: &Api, agent: &AgentSession, id: &str) -> Vec<Message> {
    api.agent_history(&agent.access_token, id, "after=0").await.unwrap().messages
}

async fn stored(server: &TestServer, id: &str) -> Conversation {
    server.state.store.conversation(id).await.unwrap().unwrap()
}

async fn load(server: &TestServer, agent: &AgentSession) -> u32 {
    server.state.store.agent_routing(&agent.agent_id).await.unwrap().unwrap().load
}

/// Alice transfers her conversation to Bob over her socket, with a note. Both agents and the
/// guest see the transfer as the next entry; the agents' copy carries the note, the guest's
/// (live and in history) does not. Bob holds it now (the load moved in the same commit), so
/// Alice's reply is refused and Bob's goes in.
#[tokio::test]
async fn a_transfer_to_an_agent_moves_it_and_its_note_reaches_agents_only() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let bob = agent_of(&server, "bob", &["default"]).await;
    available(&server, &bob).await;
    let guest = held_by(&server, &alice).await;
    let id = guest.conversation_id.clone();
    let mut guest_socket = open(&server, &guest.access_token).await;
    let mut alice_socket = open(&server, &alice.access_token).await;
    let mut bob_socket = open(&server, &bob.access_token).await;

    let transfer = ClientFrame::Transfer {
        conversation_id: id.clone(),
        agent_id: Some(bob.agent_id.clone()),
        queue: None,
        note: Some(NOTE.into()),
    };
    alice_socket.send(&transfer).await.unwrap();
    for socket in [&mut alice_socket, &mut bob_socket] {
        let seen = entry(socket, &id, 3).await;
        assert_eq!(seen.event, Some(ConversationState::Assigned));
        assert_eq!(seen.note.as_deref(), Some(NOTE), "agents read the note");
        assert!(seen.text.contains("transferred") && seen.text.contains("bob"), "{}", seen.text);
    }
    let seen = entry(&mut guest_socket, &id, 3).await;
    assert_eq!((seen.event, seen.note), (Some(ConversationState::Assigned), None));
    let page = server.api.guest_history(&guest.access_token, "after=0").await.unwrap();
    assert!(page.messages.iter().all(|m| m.note.is_none()), "the guest's history has no note");
    let agents_log = log(&server.agent_api, &bob, &id).await;
    assert_eq!(agents_log[2].note.as_deref(), Some(NOTE), "the agents' history keeps it");

    let now = stored(&server, &id).await;
    assert_eq!(now.assigned_agent_id.as_deref(), Some(bob.agent_id.as_str()));
    assert_eq!((load(&server, &alice).await, load(&server, &bob).await), (0, 1));
    let refused = server.agent_api.agent_send(&alice.access_token, &id, "a1", "still me").await;
    let Err(refused) = refused else { panic!("a reply into Bob's conversation was stored") };
    assert_eq!(refused.code(), Some(ErrorCode::ConversationTaken), "{refused}");
    assert_eq!(stored(&server, &id).await.last_seq, 3, "nothing stored");
    server.agent_api.agent_send(&bob.access_token, &id, "b1", "Bob here").await.unwrap();
    let seen = entry(&mut guest_socket, &id, 4).await;
    assert_eq!(seen.sender.id, bob.agent_id, "the guest hears the new holder next, in order");
}

/// Alice transfers to the `billing` queue over REST: the conversation waits there, nobody
/// holds it, its agents see it, and Alice's load fell. Carol of `billing` takes it and
/// unassigns it: back to waiting in `billing`. Every step is one entry, in order.
#[tokio::test]
async fn a_transfer_to_a_queue_and_an_unassign_put_it_back_to_waiting() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let carol = agent_of(&server, "carol", &["billing"]).await;
    let guest = held_by(&server, &alice).await;
    let id = guest.conversation_id.clone();
    let mut carol_socket = open(&server, &carol.access_token).await;
    let to_billing = TransferRequest { queue: Some("billing".into()), ..Default::default() };
    let moved =
        server.agent_api.agent_transfer(&alice.access_token, &id, &to_billing).await.unwrap();
    assert_eq!((moved.state, moved.queue.as_str()), (ConversationState::Waiting, "billing"));
    assert_eq!(moved.assigned_agent_id, None);
    assert_eq!(load(&server, &alice).await, 0);
    let heard = entry(&mut carol_socket, &id, 3).await;
    assert!(heard.text.contains("another team"), "the guest's text names no queue: {}", heard.text);
    let lost = server.agent_api.agent_action(&alice.access_token, &id, "unassign").await;
    assert_eq!(lost.unwrap_err().code(), Some(ErrorCode::ConversationUnknown), "not her queue now");

    server.agent_api.agent_action(&carol.access_token, &id, "assign").await.unwrap();
    let back = server.agent_api.agent_action(&carol.access_token, &id, "unassign").await.unwrap();
    assert_eq!((back.state, back.queue.as_str()), (ConversationState::Waiting, "billing"));
    assert_eq!(load(&server, &carol).await, 0);
    let events: Vec<_> =
        log(&server.agent_api, &carol, &id).await.iter().map(|m| m.event).collect();
    use ConversationState::*;
    assert_eq!(events, [None, Some(Assigned), Some(Waiting), Some(Assigned), Some(Waiting)]);
}

/// Every bad transfer, unassign and close is refused with its own code, and the conversation,
/// its log and the agents' loads stay as they were.
#[tokio::test]
async fn bad_handovers_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let bob = agent_of(&server, "bob", &["default"]).await;
    let dave = agent_of(&server, "dave", &["other"]).await;
    available(&server, &dave).await;
    let guest = held_by(&server, &alice).await;
    let id = guest.conversation_id.clone();
    let before = stored(&server, &id).await;
    let transfer = |agent_id: Option<&str>, queue: Option<&str>, note: Option<String>| {
        TransferRequest { agent_id: agent_id.map(Into::into), queue: queue.map(Into::into), note }
    };
    let long_note = "n".repeat(server.state.config.limits.text_chars_max + 1);
    let refusals = [
        (transfer(None, None, None), ErrorCode::TransferTargetInvalid),
        (transfer(Some(&bob.agent_id), Some("other"), None), ErrorCode::TransferTargetInvalid),
        (transfer(Some(&alice.agent_id), None, None), ErrorCode::TransferTargetInvalid),
        (transfer(Some(&dave.agent_id), None, None), ErrorCode::TransferTargetInvalid),
        (transfer(None, Some("default"), None), ErrorCode::TransferTargetInvalid),
        (transfer(Some("agt_nobody"), None, None), ErrorCode::TransferAgentUnknown),
        (transfer(None, Some("nowhere"), None), ErrorCode::TransferQueueUnknown),
        (transfer(Some(&bob.agent_id), None, None), ErrorCode::TransferAgentUnavailable),
        (transfer(None, Some("other"), Some(long_note)), ErrorCode::TextTooLong),
    ];
    for (request, code) in refusals {
        let refused = server.agent_api.agent_transfer(&alice.access_token, &id, &request).await;
        let refused = refused.unwrap_err();
        assert_eq!(refused.code(), Some(code), "{request:?}: {refused}");
    }
    // Bob serves the queue but does not hold the conversation.
    let not_his = TransferRequest { queue: Some("other".into()), ..Default::default() };
    let refused = server.agent_api.agent_transfer(&bob.access_token, &id, &not_his).await;
    assert_eq!(refused.unwrap_err().code(), Some(ErrorCode::ConversationNotYours));
    for action in ["unassign", "close"] {
        let refused = server.agent_api.agent_action(&bob.access_token, &id, action).await;
        assert_eq!(refused.unwrap_err().code(), Some(ErrorCode::ConversationNotYours), "{action}");
    }
    let reply = server.agent_api.agent_send(&bob.access_token, &id, "b1", "mine?").await;
    let Err(reply) = reply else { panic!("a reply into Alice's conversation was stored") };
    assert_eq!(reply.code(), Some(ErrorCode::ConversationTaken));
    // Over the socket, the same refusal comes as an `error` frame.
    let mut bob_socket = open(&server, &bob.access_token).await;
    bob_socket.send(&ClientFrame::Unassign { conversation_id: id.clone() }).await.unwrap();
    let ServerFrame::Error { code, .. } = expect_frame(&mut bob_socket, "error").await else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::ConversationNotYours);

    assert_eq!(stored(&server, &id).await, before, "nothing changed");
    assert_eq!((load(&server, &alice).await, load(&server, &bob).await), (1, 0));
}

/// Without a wrap-up list a close needs no code and refuses any; with one, a close names one
/// of its codes. The code is on the close's entry for agents, never for the guest.
#[tokio::test]
async fn a_close_takes_a_wrap_up_code_from_the_deployment_list() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let close = |code: Option<&str>| CloseRequest { wrap_up: code.map(Into::into) };
    let first = held_by(&server, &alice).await;
    let unknown = close(Some("x"));
    let refused =
        server.agent_api.agent_close(&alice.access_token, &first.conversation_id, &unknown).await;
    assert_eq!(refused.unwrap_err().code(), Some(ErrorCode::WrapUpUnknown));
    server
        .agent_api
        .agent_action(&alice.access_token, &first.conversation_id, "close")
        .await
        .unwrap();

    let codes = vec!["resolved".to_owned(), "spam".to_owned()];
    let store = server.state.store.as_ref();
    admin::set_wrap_up_codes(store, &server.deployment.id, codes).await.unwrap();
    let twice = vec!["spam".to_owned(), "spam".to_owned()];
    assert!(admin::set_wrap_up_codes(store, &server.deployment.id, twice).await.is_err());
    let guest = held_by(&server, &alice).await;
    let id = guest.conversation_id.clone();
    for (request, code) in
        [(close(None), ErrorCode::WrapUpRequired), (close(Some("nope")), ErrorCode::WrapUpUnknown)]
    {
        let refused = server.agent_api.agent_close(&alice.access_token, &id, &request).await;
        let refused = refused.unwrap_err();
        assert_eq!(refused.code(), Some(code), "{refused}");
        assert!(refused.to_string().contains("resolved, spam"), "names the list: {refused}");
    }
    assert_eq!(stored(&server, &id).await.state, ConversationState::Assigned, "still open");
    let mut alice_socket = open(&server, &alice.access_token).await;
    let frame =
        ClientFrame::Close { conversation_id: id.clone(), wrap_up: Some("resolved".into()) };
    alice_socket.send(&frame).await.unwrap();
    let closed = entry(&mut alice_socket, &id, 3).await;
    assert_eq!(
        (closed.event, closed.wrap_up.as_deref()),
        (Some(ConversationState::Closed), Some("resolved"))
    );
    assert_eq!(load(&server, &alice).await, 0);
    let page = server.api.guest_history(&guest.access_token, "after=0").await.unwrap();
    let guests_copy = page.messages.last().unwrap();
    assert_eq!(
        (guests_copy.event, guests_copy.wrap_up.as_deref()),
        (Some(ConversationState::Closed), None)
    );
}
