//! Supervisors (docs/routing.md, "Supervisors"), over the real gateway and REST: a supervisor
//! sees every queue (its list, its `ready`, its live feed, the overview on every node) and
//! transfers or closes a conversation another agent holds, under the one-owner rule; a plain
//! agent sees only its queues and acts only on what it holds. With `PORCH_TEST_CLUSTER=1`,
//! guests are on node 1 and agents (their sockets and REST) on node 2.

use porch_client::api::{Api, decode};
use porch_client::gateway::Gateway;
use porch_server::admin;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{
    AgentSession, CloseRequest, ConversationState, GuestSession, TransferRequest,
};
use porch_wire::supervisor::{HandoverOptions, SupervisorOverview};

use crate::support::*;

const NOTE: &str = "Escalated: she was promised a callback";

/// A new agent of `queues`, logged in on the agents' node; a supervisor if `supervisor`.
async fn agent_of(
    server: &TestServer,
    name: &str,
    queues: &[&str],
    supervisor: bool,
) -> AgentSession {
    let store = server.state.store.as_ref();
    let queues = queues.iter().map(|q| q.to_string()).collect();
    let created = admin::create_agent(store, name, queues).await.unwrap();
    admin::set_agent_supervisor(store, name, Some(supervisor)).await.unwrap();
    server.agent_api.agent_login(name, &created.secret).await.unwrap()
}

async fn available(server: &TestServer, agent: &AgentSession) {
    let url = format!("{}/api/v2/agent/status", server.agent_api.base_url());
    let body = serde_json::json!({ "status": "available" });
    let sent = server.agent_api.http().put(url).bearer_auth(&agent.access_token).json(&body);
    assert_eq!(sent.send().await.unwrap().status().as_u16(), 200);
}

/// A guest who wrote once: a conversation waiting in `default`.
async fn waiting(server: &TestServer, client_message_id: &str) -> GuestSession {
    let guest = server.guest().await;
    server.api.guest_send(&guest.access_token, client_message_id, "help").await.unwrap();
    guest
}

/// A waiting conversation taken by `agent`.
async fn held_by(server: &TestServer, agent: &AgentSession) -> GuestSession {
    let guest = waiting(server, "g1").await;
    let id = &guest.conversation_id;
    server.agent_api.agent_action(&agent.access_token, id, "assign").await.unwrap();
    guest
}

async fn overview(
    api: &Api,
    agent: &AgentSession,
) -> porch_client::api::ApiResult<SupervisorOverview> {
    let url = format!("{}/api/v2/agent/supervisor/overview", api.base_url());
    decode(api.http().get(url).bearer_auth(&agent.access_token).send().await).await.map(|r| r.body)
}

async fn handover_options(api: &Api, agent: &AgentSession, id: &str) -> HandoverOptions {
    let url = format!("{}/api/v2/agent/conversations/{id}/handover", api.base_url());
    let sent = api.http().get(url).bearer_auth(&agent.access_token).send().await;
    decode(sent).await.unwrap().body
}

fn ready_ids(ready: &ServerFrame) -> Vec<String> {
    let ServerFrame::Ready(ready) = ready else { panic!("not ready: {ready:?}") };
    ready.conversations.iter().map(|c| c.id.clone()).collect()
}

/// Sue supervises and serves only `ops`; Alice holds a conversation of `default`, another
/// waits there. Sue's session says so, her `ready` and list hold both, her socket hears a new
/// one of `default` live, and the overview (on each node) counts the queue's waiting and
/// held conversations and Alice's load. Carol, a plain agent of `billing`, sees none of it.
#[tokio::test]
async fn a_supervisor_sees_every_queue_live_and_a_plain_agent_only_its_own() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let sue = agent_of(&server, "sue", &["ops"], true).await;
    let carol = agent_of(&server, "carol", &["billing"], false).await;
    assert!(sue.supervisor && !alice.supervisor && !carol.supervisor, "the session says who");
    let held = held_by(&server, &alice).await;
    let queued = waiting(&server, "g2").await;

    let mut sue_socket = Gateway::connect(&sue.gateway_url, &sue.access_token, None).await.unwrap();
    let ready = ready_ids(&expect_ready(&mut sue_socket).await);
    for id in [&held.conversation_id, &queued.conversation_id] {
        assert!(ready.contains(id), "sue's ready lists {id} of a queue she does not serve");
    }
    let listed = server.agent_api.agent_conversations(&sue.access_token, "").await.unwrap();
    assert_eq!(listed.conversations.len(), 2, "her list too");

    // Live: a conversation that starts after she connected reaches her socket.
    let later = waiting(&server, "g3").await;
    let id = later.conversation_id.clone();
    sue_socket
        .wait_for(WAIT, move |f| matches!(f, ServerFrame::Conversation { conversation } if conversation.id == id))
        .await
        .unwrap_or_else(|seen| panic!("no live conversation frame; saw {seen:?}"));
    entry(&mut sue_socket, &later.conversation_id, 1).await;

    for api in [&server.api, &server.agent_api] {
        let seen = overview(api, &sue).await.unwrap();
        let default = seen.queues.iter().find(|q| q.name == "default").expect("queue default");
        assert_eq!((default.waiting, default.assigned), (2, 1), "{default:?}");
        assert!(default.agent_ids.contains(&alice.agent_id));
        assert!(
            seen.queues.iter().any(|q| q.name == "ops")
                && seen.queues.iter().any(|q| q.name == "billing")
        );
        let a = seen.agents.iter().find(|a| a.id == alice.agent_id).expect("alice listed");
        assert_eq!((a.load, a.supervisor), (1, false));
        assert!(seen.agents.iter().any(|a| a.id == sue.agent_id && a.supervisor));
        assert_eq!(seen.conversations.len(), 3, "every live conversation, on {}", api.base_url());
        assert!(!seen.more_conversations);
    }

    // Carol: her own queue only, no overview, no other queue's conversation.
    let refused = overview(&server.agent_api, &carol).await.expect_err("a plain agent's overview");
    assert_eq!(refused.code(), Some(ErrorCode::NotSupervisor), "{refused}");
    let hers = server.agent_api.agent_conversations(&carol.access_token, "").await.unwrap();
    assert!(hers.conversations.is_empty(), "nothing of default: {hers:?}");
    let read =
        server.agent_api.agent_history(&carol.access_token, &held.conversation_id, "after=0");
    let refused = read.await.expect_err("another queue's log");
    assert_eq!(refused.code(), Some(ErrorCode::ConversationUnknown), "{refused}");
    let mut carol_socket =
        Gateway::connect(&carol.gateway_url, &carol.access_token, None).await.unwrap();
    assert!(ready_ids(&expect_ready(&mut carol_socket).await).is_empty(), "carol's ready is empty");

    // Sue hands a waiting conversation straight to Alice: assigned, in one entry naming Sue.
    available(&server, &alice).await;
    let to_alice = TransferRequest { agent_id: Some(alice.agent_id.clone()), ..Default::default() };
    let id = &queued.conversation_id;
    let moved = server.agent_api.agent_transfer(&sue.access_token, id, &to_alice).await.unwrap();
    assert_eq!(moved.assigned_agent_id.as_deref(), Some(alice.agent_id.as_str()));
    let seen = entry(&mut sue_socket, id, 2).await;
    assert!(seen.text.starts_with("sue transferred"), "{}", seen.text);
}

/// Sue transfers Alice's conversation to Bob with a note over REST: the entry names Sue, the
/// load moves from Alice to Bob in one commit, Bob and Sue read the note, the guest never
/// does. Alice (plain) may not close Bob's conversation; Sue closes it over her socket with a
/// wrap-up code, and Bob's load falls back.
#[tokio::test]
async fn a_supervisor_transfers_and_closes_what_another_agent_holds() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let bob = agent_of(&server, "bob", &["default"], false).await;
    let sue = agent_of(&server, "sue", &["ops"], true).await;
    available(&server, &bob).await;
    let store = server.state.store.as_ref();
    store.set_wrap_up_codes(&server.deployment.id, vec!["resolved".into()]).await.unwrap();
    let guest = held_by(&server, &alice).await;
    let id = guest.conversation_id.clone();
    let mut guest_socket =
        Gateway::connect(&guest.gateway_url, &guest.access_token, None).await.unwrap();
    expect_ready(&mut guest_socket).await;
    let mut bob_socket = Gateway::connect(&bob.gateway_url, &bob.access_token, None).await.unwrap();
    expect_ready(&mut bob_socket).await;

    let options = handover_options(&server.agent_api, &sue, &id).await;
    assert!(options.agents.iter().any(|a| a.id == bob.agent_id), "bob is a choice: {options:?}");
    assert!(options.agents.iter().all(|a| a.id != alice.agent_id), "not the holder");
    assert_eq!(options.wrap_up_codes, vec!["resolved".to_owned()]);

    let to_bob = TransferRequest {
        agent_id: Some(bob.agent_id.clone()),
        note: Some(NOTE.into()),
        ..Default::default()
    };
    let moved = server.agent_api.agent_transfer(&sue.access_token, &id, &to_bob).await.unwrap();
    assert_eq!(moved.assigned_agent_id.as_deref(), Some(bob.agent_id.as_str()));
    let seen = entry(&mut bob_socket, &id, 3).await;
    assert_eq!(seen.note.as_deref(), Some(NOTE), "bob reads the note");
    assert!(seen.text.starts_with("sue transferred"), "the entry names who acted: {}", seen.text);
    let seen = entry(&mut guest_socket, &id, 3).await;
    assert_eq!((seen.event, seen.note), (Some(ConversationState::Assigned), None), "no note");
    let load = |id: String| async move { store.agent_routing(&id).await.unwrap().unwrap().load };
    assert_eq!((load(alice.agent_id.clone()).await, load(bob.agent_id.clone()).await), (0, 1));

    // A plain agent may not close another's conversation; nothing changes.
    let close = CloseRequest { wrap_up: Some("resolved".into()) };
    let refused = server.agent_api.agent_close(&alice.access_token, &id, &close).await;
    let refused = refused.expect_err("alice closed bob's conversation");
    assert_eq!(refused.code(), Some(ErrorCode::ConversationNotYours), "{refused}");
    assert_eq!(store.conversation(&id).await.unwrap().unwrap().last_seq, 3, "nothing stored");

    let mut sue_socket = Gateway::connect(&sue.gateway_url, &sue.access_token, None).await.unwrap();
    expect_ready(&mut sue_socket).await;
    let frame =
        ClientFrame::Close { conversation_id: id.clone(), wrap_up: Some("resolved".into()) };
    sue_socket.send(&frame).await.unwrap();
    let closed = entry(&mut bob_socket, &id, 4).await;
    assert_eq!(
        (closed.event, closed.wrap_up.as_deref()),
        (Some(ConversationState::Closed), Some("resolved"))
    );
    assert!(closed.text.starts_with("sue closed"), "{}", closed.text);
    assert_eq!(load(bob.agent_id.clone()).await, 0, "released in the close's commit");
}

/// The one-owner rule holds for a supervisor: acting for a holder that changed since the
/// request read it (here: the holder is gone by the time the store decides) is refused whole.
/// Checked at the store, as the server builds the request: held by Alice when read, unassigned
/// by Alice before the supervisor's transfer commits.
#[tokio::test]
async fn a_supervisor_acting_on_a_conversation_that_changed_hands_changes_nothing() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let bob = agent_of(&server, "bob", &["default"], false).await;
    let sue = agent_of(&server, "sue", &["ops"], true).await;
    available(&server, &bob).await;
    let guest = held_by(&server, &alice).await;
    let id = guest.conversation_id.clone();
    let read = server.state.store.conversation(&id).await.unwrap().unwrap();
    server.agent_api.agent_action(&alice.access_token, &id, "unassign").await.unwrap();
    server.agent_api.agent_action(&bob.access_token, &id, "assign").await.unwrap();

    // What the server sends for Sue, decided on what it read (Alice holding it).
    let sue_by = porch_wire::rest::Participant {
        role: porch_wire::rest::Role::Agent,
        id: sue.agent_id.clone(),
        display_name: Some("sue".into()),
    };
    let acting = porch_server::handover::Acting {
        by: &sue_by,
        holder: read.assigned_agent_id.as_deref(),
        or_unheld: false,
    };
    let target = porch_server::handover::Target::Queue("billing".into());
    admin::create_agent(server.state.store.as_ref(), "carol", vec!["billing".into()])
        .await
        .unwrap();
    let refused = porch_server::handover::transfer(&server.state, &read, acting, target, None)
        .await
        .expect_err("a transfer for a holder who let go");
    assert_eq!(refused.code, ErrorCode::ConversationNotYours, "{refused:?}");
    let now = server.state.store.conversation(&id).await.unwrap().unwrap();
    assert_eq!(
        (now.queue.as_str(), now.assigned_agent_id.as_deref()),
        ("default", Some(bob.agent_id.as_str()))
    );
    let log = server.agent_api.agent_history(&sue.access_token, &id, "after=0").await.unwrap();
    assert_eq!(log.messages.len() as u64, now.last_seq, "no entry for the refused transfer");

    // Read again, the same transfer goes through (Bob's hold is the one checked now).
    let unassigned =
        server.agent_api.agent_action(&sue.access_token, &id, "unassign").await.unwrap();
    assert_eq!(unassigned.state, ConversationState::Waiting);
    let entries = server.agent_api.agent_history(&sue.access_token, &id, "after=0").await.unwrap();
    assert!(entries.messages.last().unwrap().text.starts_with("sue returned"), "{entries:?}");
}
