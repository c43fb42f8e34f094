//! Offers over the real gateway (docs/routing.md#offers): a waiting conversation is offered to
//! the longest-idle available agent, a decline or an expiry passes it on (the agent that let
//! it run out is set `away`), an accept assigns it through the one-owner rules, auto-accept
//! queues assign at once, and `manual_take` off refuses taking by hand. With
//! `PORCH_TEST_CLUSTER=1` agents connect to node 2 while guests arrive at node 1.

use porch_client::gateway::Gateway;
use porch_core::model::QueueSettings;
use porch_server::admin;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, OfferEndReason, ServerFrame};
use porch_wire::rest::{AgentSession, AgentStatus, ConversationState};

use crate::support::*;

/// A second agent of the test deployment's queue, logged in.
async fn bob(server: &TestServer) -> AgentSession {
    let store = server.state.store.as_ref();
    let created = admin::create_agent(store, "bob", vec!["default".into()]).await.unwrap();
    server.agent_api.agent_login("bob", &created.secret).await.unwrap()
}

/// The agent's gateway connection, past `ready`, set `available`.
async fn available(agent: &AgentSession) -> Gateway {
    let mut socket = Gateway::connect(&agent.gateway_url, &agent.access_token, None).await.unwrap();
    expect_ready(&mut socket).await;
    socket.send(&ClientFrame::Status { status: "available".into() }).await.unwrap();
    let answer = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Status { .. })).await;
    assert_eq!(answer.unwrap(), ServerFrame::Status { status: AgentStatus::Available });
    socket
}

/// The next `offer` on `socket`: the conversation's id and when the offer runs out.
async fn offered(socket: &mut Gateway) -> (String, i64) {
    let frame = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Offer { .. })).await;
    let Ok(ServerFrame::Offer { conversation, expires_at_ms }) = frame else {
        panic!("no offer: {frame:?}")
    };
    assert_eq!(conversation.state, ConversationState::Waiting);
    (conversation.id, expires_at_ms)
}

async fn ended(socket: &mut Gateway, id: &str) -> OfferEndReason {
    let frame = socket
        .wait_for(WAIT, |f| matches!(f, ServerFrame::OfferEnded { conversation_id, .. } if conversation_id == id))
        .await;
    let Ok(ServerFrame::OfferEnded { reason, .. }) = frame else { panic!("{frame:?}") };
    reason
}

async fn error_code(socket: &mut Gateway) -> ErrorCode {
    let frame = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Error { .. })).await;
    let Ok(ServerFrame::Error { code, .. }) = frame else { panic!("{frame:?}") };
    code
}

/// No frame matching `want` within a short while.
async fn quiet(socket: &mut Gateway, want: impl Fn(&ServerFrame) -> bool) {
    let heard = socket.wait_for(std::time::Duration::from_millis(400), want).await;
    assert!(heard.is_err(), "unexpected {heard:?}");
}

async fn stored(server: &TestServer, id: &str) -> porch_wire::rest::Conversation {
    server.state.store.conversation(id).await.unwrap().unwrap()
}

/// Alice was assigned a conversation before (then closed it); Bob never was. A new guest's
/// conversation is offered to Bob, who waited longest; his decline passes it to Alice, whose
/// accept assigns it to her. Bob's late accept is refused with `offer_expired`, an accept of
/// an offer never made with `offer_not_yours`, and neither changes anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offers_go_longest_idle_first_and_a_decline_passes_them_on() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let earlier = server.guest().await;
    let api = &server.agent_api;
    api.agent_action(&alice.access_token, &earlier.conversation_id, "assign").await.unwrap();
    api.agent_action(&alice.access_token, &earlier.conversation_id, "close").await.unwrap();
    let bob = bob(&server).await;
    let mut alice_socket = available(&alice).await;
    let mut bob_socket = available(&bob).await;

    let guest = server.guest().await;
    let id = guest.conversation_id.clone();
    let (offer, expires_at_ms) = offered(&mut bob_socket).await;
    assert_eq!(offer, id, "Bob waited longest");
    assert!(expires_at_ms > porch_core::time::now_ms(), "a live offer");
    quiet(&mut alice_socket, |f| matches!(f, ServerFrame::Offer { .. })).await;
    alice_socket.send(&ClientFrame::Accept { conversation_id: id.clone() }).await.unwrap();
    assert_eq!(error_code(&mut alice_socket).await, ErrorCode::OfferNotYours);
    assert_eq!(stored(&server, &id).await.state, ConversationState::Waiting, "nothing changed");

    bob_socket.send(&ClientFrame::Decline { conversation_id: id.clone() }).await.unwrap();
    assert_eq!(ended(&mut bob_socket, &id).await, OfferEndReason::Declined);
    assert_eq!(offered(&mut alice_socket).await.0, id, "the decline passed it on");
    bob_socket.send(&ClientFrame::Accept { conversation_id: id.clone() }).await.unwrap();
    assert_eq!(error_code(&mut bob_socket).await, ErrorCode::OfferExpired);
    assert_eq!(stored(&server, &id).await.state, ConversationState::Waiting, "nothing changed");

    alice_socket.send(&ClientFrame::Accept { conversation_id: id.clone() }).await.unwrap();
    assert_eq!(ended(&mut alice_socket, &id).await, OfferEndReason::Accepted);
    let held = stored(&server, &id).await;
    assert_eq!(held.state, ConversationState::Assigned);
    assert_eq!(held.assigned_agent_id.as_deref(), Some(alice.agent_id.as_str()));
    assert_eq!(server.state.store.offer_of(&id).await.unwrap(), None, "the offer is forgotten");
}

/// An agent that reconnects while it holds an offer hears the offer again on the new
/// connection, right after `ready`, and can accept it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reconnecting_agent_hears_the_offers_it_holds() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let mut socket = available(&alice).await;
    let guest = server.guest().await;
    let id = guest.conversation_id;
    let (_, expires_at_ms) = offered(&mut socket).await;
    socket.close().await;

    let mut socket = Gateway::connect(&alice.gateway_url, &alice.access_token, None).await.unwrap();
    expect_ready(&mut socket).await;
    let again = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Offer { .. })).await;
    let Ok(ServerFrame::Offer { conversation, expires_at_ms: same }) = again else {
        panic!("{again:?}")
    };
    assert_eq!((conversation.id.as_str(), same), (id.as_str(), expires_at_ms), "the same offer");
    socket.send(&ClientFrame::Accept { conversation_id: id.clone() }).await.unwrap();
    assert_eq!(ended(&mut socket, &id).await, OfferEndReason::Accepted);
}

/// An offer nobody answers runs out: its agent hears `offerEnded` (`expired`) and `status`
/// (`away`), is stored `away`, and the next agent gets the offer. The late accept is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_offer_goes_to_the_next_agent_and_its_agent_is_set_away() {
    let server = TestServer::start_with(|c| c.limits.offer_timeout_ms = 700).await;
    let alice = server.agent().await;
    let bob = bob(&server).await;
    let mut sockets = [available(&alice).await, available(&bob).await];
    let guest = server.guest().await;
    let id = guest.conversation_id;

    // Both never assigned: ties go by id, so either may be first.
    let [a, b] = &mut sockets;
    let first = tokio::select! {
        (offer, _) = offered(a) => { assert_eq!(offer, id); 0 }
        (offer, _) = offered(b) => { assert_eq!(offer, id); 1 }
    };
    let (lapsed_id, next_id) = match first {
        0 => (&alice.agent_id, &bob.agent_id),
        _ => (&bob.agent_id, &alice.agent_id),
    };
    assert_eq!(ended(&mut sockets[first], &id).await, OfferEndReason::Expired);
    let status = sockets[first].wait_for(WAIT, |f| matches!(f, ServerFrame::Status { .. })).await;
    assert_eq!(status.unwrap(), ServerFrame::Status { status: AgentStatus::Away });
    let routing = server.state.store.agent_routing(lapsed_id).await.unwrap().unwrap();
    assert_eq!(routing.status, AgentStatus::Away);
    assert_eq!(offered(&mut sockets[1 - first]).await.0, id, "the next agent has it");
    let record = server.state.store.offer_of(&id).await.unwrap().unwrap();
    assert_eq!(record.agent_id.as_ref(), Some(next_id));

    sockets[first].send(&ClientFrame::Accept { conversation_id: id.clone() }).await.unwrap();
    assert_eq!(error_code(&mut sockets[first]).await, ErrorCode::OfferExpired);
    assert_eq!(stored(&server, &id).await.state, ConversationState::Waiting);
}

/// Bob accepts his offer while Alice takes the conversation by hand at the same moment: one
/// of them holds it, the other is refused with `conversation_taken`, and the log has one
/// assignment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_accept_racing_a_take_by_hand_leaves_one_owner() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let bob = bob(&server).await;
    let mut bob_socket = available(&bob).await;
    let guest = server.guest().await;
    let id = guest.conversation_id;
    assert_eq!(offered(&mut bob_socket).await.0, id);

    bob_socket.send(&ClientFrame::Accept { conversation_id: id.clone() }).await.unwrap();
    let take = server.agent_api.agent_action(&alice.access_token, &id, "assign").await;
    let bob_heard = bob_socket
        .wait_for(WAIT, |f| matches!(f, ServerFrame::Error { .. } | ServerFrame::OfferEnded { .. }))
        .await
        .unwrap();
    let held = stored(&server, &id).await;
    match (&take, &bob_heard) {
        (Ok(_), ServerFrame::Error { code, .. }) => {
            assert_eq!(*code, ErrorCode::ConversationTaken);
            assert_eq!(held.assigned_agent_id.as_deref(), Some(alice.agent_id.as_str()));
        }
        (Err(refused), ServerFrame::OfferEnded { reason, .. }) => {
            assert_eq!(refused.code(), Some(ErrorCode::ConversationTaken));
            assert_eq!(*reason, OfferEndReason::Accepted);
            assert_eq!(held.assigned_agent_id.as_deref(), Some(bob.agent_id.as_str()));
        }
        other => panic!("not exactly one owner: {other:?}"),
    }
    let page = server.agent_api.agent_history(&alice.access_token, &id, "after=0").await.unwrap();
    let events: Vec<_> = page.messages.iter().filter_map(|m| m.event).collect();
    assert_eq!(events, vec![ConversationState::Assigned], "one assignment");
}

/// On an auto-accept queue the chosen agent is assigned at once: no offer frame, the
/// conversation's `conversation` frame says it is theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auto_accept_queues_assign_without_an_offer() {
    let server = TestServer::start().await;
    let settings = QueueSettings { auto_accept: true, ..QueueSettings::unset("default") };
    server.state.store.set_queue(settings).await.unwrap();
    let alice = server.agent().await;
    let mut socket = available(&alice).await;
    let guest = server.guest().await;
    let id = guest.conversation_id;
    let assigned = socket
        .wait_for(WAIT, |f| {
            matches!(f, ServerFrame::Offer { .. })
                || matches!(f, ServerFrame::Conversation { conversation }
                    if conversation.id == id && conversation.state == ConversationState::Assigned)
        })
        .await;
    let Ok(ServerFrame::Conversation { conversation }) = assigned else {
        panic!("expected an assignment, not an offer: {assigned:?}")
    };
    assert_eq!(conversation.assigned_agent_id.as_deref(), Some(alice.agent_id.as_str()));
    assert_eq!(server.state.store.offer_of(&id).await.unwrap(), None);
}

/// With `manual_take` off, `/assign` and a first reply are refused with `manual_take_off`
/// and nothing changes; offers still assign.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn manual_take_off_refuses_taking_by_hand() {
    let server = TestServer::start().await;
    let settings = QueueSettings { manual_take: false, ..QueueSettings::unset("default") };
    server.state.store.set_queue(settings).await.unwrap();
    let alice = server.agent().await;
    let guest = server.guest().await;
    let id = guest.conversation_id;
    let api = &server.agent_api;
    let refused = api.agent_action(&alice.access_token, &id, "assign").await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::ManualTakeOff));
    assert!(refused.to_string().contains("--manual-take true"), "names the fix: {refused}");
    let reply = api.agent_send(&alice.access_token, &id, "r1", "hello").await;
    assert_eq!(reply.err().and_then(|e| e.code()), Some(ErrorCode::ManualTakeOff));
    let held = stored(&server, &id).await;
    assert_eq!((held.state, held.last_seq), (ConversationState::Waiting, 0), "nothing changed");

    let mut socket = available(&alice).await;
    assert_eq!(offered(&mut socket).await.0, id);
    socket.send(&ClientFrame::Accept { conversation_id: id.clone() }).await.unwrap();
    assert_eq!(ended(&mut socket, &id).await, OfferEndReason::Accepted);
    assert_eq!(stored(&server, &id).await.state, ConversationState::Assigned);
}

/// Many guests and agents at once, each agent connected to both nodes in a cluster (a login
/// through each), so both nodes offer the same conversations at the same moment and both of
/// an agent's connections accept every offer they hear: every conversation ends assigned
/// exactly once, accepted by one agent, no agent holds more than its capacity, and every
/// refused accept has a code of the offer rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offers_racing_across_nodes_assign_each_conversation_once() {
    const AGENTS: usize = 4;
    const GUESTS: usize = 8;
    const CAPACITY: i64 = 3;
    let server = TestServer::start_with(lift_flood_limits).await;
    let store = server.state.store.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    let mut agent_ids = Vec::new();
    for i in 0..AGENTS {
        let name = format!("racer-{i}");
        let created = admin::create_agent(store.as_ref(), &name, vec!["default".into()]).await;
        let secret = created.unwrap().secret;
        let changes = admin::AgentRoutingChanges { capacity: Some(Some(CAPACITY)), queues: None };
        admin::set_agent_routing(store.as_ref(), &name, changes).await.unwrap();
        for api in [&server.api, &server.agent_api] {
            let agent = api.agent_login(&name, &secret).await.unwrap();
            let socket = available(&agent).await;
            tasks.spawn(accept_every_offer(agent.agent_id.clone(), socket, stop.clone()));
        }
        agent_ids.push(store.agent_by_name(&name).await.unwrap().unwrap().id);
    }
    let mut ids = Vec::new();
    for _ in 0..GUESTS {
        ids.push(server.guest().await.conversation_id);
    }
    let deadline = tokio::time::Instant::now() + WAIT * 3;
    for id in &ids {
        while stored(&server, id).await.state != ConversationState::Assigned {
            assert!(tokio::time::Instant::now() < deadline, "{id} was never assigned");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let results = tasks.join_all().await;

    let known = [
        ErrorCode::OfferExpired,
        ErrorCode::OfferNotYours,
        ErrorCode::ConversationTaken,
        ErrorCode::AgentAtCapacity,
    ];
    let mut accepted_by =
        std::collections::BTreeMap::<String, std::collections::BTreeSet<_>>::new();
    for (agent_id, accepted, refused) in &results {
        for code in refused {
            assert!(known.contains(code), "an accept refused with {code:?}");
        }
        for id in accepted {
            accepted_by.entry(id.clone()).or_default().insert(agent_id.clone());
        }
    }
    let alice = server.agent().await;
    for id in &ids {
        let by = accepted_by.get(id).cloned().unwrap_or_default();
        assert_eq!(by.len(), 1, "{id} accepted by exactly one agent: {by:?}");
        let held = stored(&server, id).await.assigned_agent_id.unwrap();
        assert!(by.contains(&held), "{id} is held by the agent that accepted it");
        let page = server.agent_api.agent_history(&alice.access_token, id, "after=0").await;
        let events: Vec<_> = page.unwrap().messages.iter().filter_map(|m| m.event).collect();
        assert_eq!(events, vec![ConversationState::Assigned], "{id}: one assignment");
    }
    for agent_id in &agent_ids {
        let routing = store.agent_routing(agent_id).await.unwrap().unwrap();
        assert!(i64::from(routing.load) <= CAPACITY, "{agent_id} over capacity: {routing:?}");
    }
}

/// One connection of a racing agent: accepts every offer it hears until `stop`; returns the
/// conversations whose offers ended `accepted` and the codes of refused accepts.
async fn accept_every_offer(
    agent_id: String,
    mut socket: Gateway,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (String, Vec<String>, Vec<ErrorCode>) {
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let frame = socket.wait_for(std::time::Duration::from_millis(100), |f| {
            matches!(
                f,
                ServerFrame::Offer { .. }
                    | ServerFrame::OfferEnded { .. }
                    | ServerFrame::Error { .. }
            )
        });
        match frame.await {
            Ok(ServerFrame::Offer { conversation, .. }) => {
                let accept = ClientFrame::Accept { conversation_id: conversation.id };
                socket.send(&accept).await.unwrap();
            }
            Ok(ServerFrame::OfferEnded { conversation_id, reason: OfferEndReason::Accepted }) => {
                accepted.push(conversation_id)
            }
            Ok(ServerFrame::Error { code, .. }) => refused.push(code),
            _ => {}
        }
    }
    (agent_id, accepted, refused)
}
