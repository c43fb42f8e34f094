//! Routing over the real gateway (docs/routing.md): exactly one owner per conversation and no
//! agent over its capacity, whoever takes, by hand or by a first reply, from one node or (with
//! `PORCH_TEST_CLUSTER=1`) from both; and agents' status, chosen and from their connections.

use porch_client::api::Api;
use porch_client::gateway::Gateway;
use porch_server::admin;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{
    AgentSession, AgentStatus, AgentStatusResponse, ConversationState, GuestSession,
};

use crate::support::*;

/// Another agent of the test deployment's queue, logged in through `api`.
async fn second_agent(server: &TestServer, api: &Api, name: &str) -> AgentSession {
    let store = server.state.store.as_ref();
    let created = admin::create_agent(store, name, vec!["default".into()]).await.unwrap();
    api.agent_login(name, &created.secret).await.unwrap()
}

/// A guest with one message waiting in the queue.
async fn waiting_guest(server: &TestServer) -> GuestSession {
    let guest = server.guest().await;
    server.api.guest_send(&guest.access_token, "g1", "help").await.unwrap();
    guest
}

async fn set_capacity(server: &TestServer, name: &str, capacity: i64) {
    let changes = admin::AgentRoutingChanges { capacity: Some(Some(capacity)), queues: None };
    admin::set_agent_routing(server.state.store.as_ref(), name, changes).await.unwrap();
}

/// The events of a conversation's log, in order.
async fn events(server: &TestServer, agent: &AgentSession, id: &str) -> Vec<ConversationState> {
    let page = server.agent_api.agent_history(&agent.access_token, id, "after=0").await.unwrap();
    page.messages.iter().filter_map(|m| m.event).collect()
}

/// Six agents (in a cluster, half on each node) take one conversation at the same moment:
/// one gets it, the others are refused with `conversation_taken`, and the log records one
/// assignment. The loser's later take is refused the same way, and so is the winner's repeat
/// through the store (the endpoint answers the holder's own repeat unchanged).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_taking_one_conversation_at_once_leave_one_owner() {
    let server = TestServer::start().await;
    let guest = waiting_guest(&server).await;
    let mut agents = vec![server.agent().await];
    for i in 0..5 {
        let api = if i % 2 == 0 { &server.api } else { &server.agent_api };
        agents.push(second_agent(&server, api, &format!("racer-{i}")).await);
    }
    let takes = agents.iter().enumerate().map(|(i, agent)| {
        let api = if i % 2 == 0 { &server.api } else { &server.agent_api };
        api.agent_action(&agent.access_token, &guest.conversation_id, "assign")
    });
    let results = futures_util::future::join_all(takes).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one owner: {results:?}");
    let owner = winners[0].assigned_agent_id.clone().unwrap();
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refused.code(), Some(ErrorCode::ConversationTaken), "{refused:?}");
        assert!(refused.to_string().contains(&owner), "the refusal names the holder: {refused}");
    }
    let loser = agents.iter().find(|a| a.agent_id != owner).unwrap();
    let again = server
        .agent_api
        .agent_action(&loser.access_token, &guest.conversation_id, "assign")
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::ConversationTaken));
    assert_eq!(
        events(&server, loser, &guest.conversation_id).await,
        vec![ConversationState::Assigned],
        "one assignment in the log"
    );
}

/// An agent of capacity 2 holds two conversations; a third, taken by hand or by a first
/// reply, is refused with `agent_at_capacity` and nothing is stored. Closing one makes room.
#[tokio::test]
async fn an_agent_at_its_capacity_takes_nothing_more() {
    let server = TestServer::start().await;
    set_capacity(&server, &server.agent_name, 2).await;
    let agent = server.agent().await;
    let guests = [waiting_guest(&server).await, waiting_guest(&server).await];
    for guest in &guests {
        server
            .agent_api
            .agent_action(&agent.access_token, &guest.conversation_id, "assign")
            .await
            .unwrap();
    }
    let third = waiting_guest(&server).await;
    let refused = server
        .agent_api
        .agent_action(&agent.access_token, &third.conversation_id, "assign")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::AgentAtCapacity));
    assert!(refused.to_string().contains("capacity"), "{refused}");
    let shown = get_status(&server, &agent.access_token).await;
    assert_eq!((shown.capacity, shown.load), (2, 2), "what the console shows: {shown:?}");
    let reply = server
        .agent_api
        .agent_send(&agent.access_token, &third.conversation_id, "r1", "hello")
        .await;
    let Err(reply) = reply else { panic!("a reply past capacity was stored") };
    assert_eq!(reply.code(), Some(ErrorCode::AgentAtCapacity), "a first reply takes too");
    let untouched = server.state.store.conversation(&third.conversation_id).await.unwrap();
    let untouched = untouched.unwrap();
    assert_eq!(
        (untouched.state, untouched.last_seq),
        (ConversationState::Waiting, 1),
        "neither the assignment nor the reply was stored"
    );

    server
        .agent_api
        .agent_action(&agent.access_token, &guests[0].conversation_id, "close")
        .await
        .unwrap();
    let taken = server
        .agent_api
        .agent_send(&agent.access_token, &third.conversation_id, "r1", "hello")
        .await
        .unwrap();
    assert_eq!(taken.body.message.seq, 3, "the assignment (seq 2), then the reply");
}

/// A queue's capacity default holds the agents that have none of their own; an agent's own
/// capacity wins over it.
#[tokio::test]
async fn a_queue_default_holds_agents_without_their_own() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let queue = admin::QueueChanges { capacity_default: Some(Some(1)), ..Default::default() };
    admin::set_queue(store, "default", queue).await.unwrap();
    let agent = server.agent().await;
    let (first, second) = (waiting_guest(&server).await, waiting_guest(&server).await);
    let take = |id: String| {
        let (api, token) = (&server.agent_api, agent.access_token.clone());
        async move { api.agent_action(&token, &id, "assign").await }
    };
    take(first.conversation_id.clone()).await.unwrap();
    let refused = take(second.conversation_id.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::AgentAtCapacity));
    set_capacity(&server, &server.agent_name, 2).await;
    take(second.conversation_id.clone()).await.unwrap();
}

/// `PUT /api/v2/agent/status` with `status`; the answer's status and body.
async fn put_status(server: &TestServer, token: &str, status: &str) -> (u16, serde_json::Value) {
    let url = format!("{}/api/v2/agent/status", server.agent_api.base_url());
    let response = server
        .agent_api
        .http()
        .put(url)
        .bearer_auth(token)
        .json(&serde_json::json!({ "status": status }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// `GET /api/v2/agent/status`: what the console shows beside its status switch.
async fn get_status(server: &TestServer, token: &str) -> AgentStatusResponse {
    let url = format!("{}/api/v2/agent/status", server.agent_api.base_url());
    let response = server.agent_api.http().get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

async fn stored_status(server: &TestServer, agent_id: &str) -> AgentStatus {
    server.state.store.agent_routing(agent_id).await.unwrap().unwrap().status
}

/// Waits until the agent's stored status is `expected`.
async fn status_becomes(server: &TestServer, agent_id: &str, expected: AgentStatus) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while stored_status(server, agent_id).await != expected {
        assert!(tokio::time::Instant::now() < deadline, "the agent never became {expected:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// An agent chooses `available` or `away` over REST; a status that does not exist, and
/// `offline` (the server's to set), are refused with `agent_status_invalid` and change nothing.
#[tokio::test]
async fn agents_choose_their_status_and_bad_ones_change_nothing() {
    let server = TestServer::start().await;
    let agent = server.agent().await;
    assert_eq!(stored_status(&server, &agent.agent_id).await, AgentStatus::Offline);
    for chosen in [AgentStatus::Available, AgentStatus::Away, AgentStatus::Available] {
        let (status, body) = put_status(&server, &agent.access_token, chosen.as_str()).await;
        assert_eq!(status, 200, "{body}");
        let answer: AgentStatusResponse = serde_json::from_value(body).unwrap();
        let expected = AgentStatusResponse {
            agent_id: agent.agent_id.clone(),
            status: chosen,
            capacity: server.state.config.limits.agent_capacity_default,
            load: 0,
        };
        assert_eq!(answer, expected);
        assert_eq!(get_status(&server, &agent.access_token).await, expected);
        assert_eq!(stored_status(&server, &agent.agent_id).await, chosen);
    }
    for bad in ["busy", "offline", "AVAILABLE", ""] {
        let (status, body) = put_status(&server, &agent.access_token, bad).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("agent_status_invalid")), "{bad}");
        let fix = body["error_description"].as_str().unwrap();
        assert!(fix.contains("available") && fix.contains("away"), "names the fix: {fix}");
        assert_eq!(stored_status(&server, &agent.agent_id).await, AgentStatus::Available);
    }
}

/// Over the gateway: connecting wakes an `offline` agent as `away`; `status` frames set it
/// (a bad one is an `error` frame and changes nothing); a reconnect within the grace keeps
/// it; once the last connection is gone for longer than the grace, it is `offline`.
#[tokio::test]
async fn status_follows_frames_and_connections() {
    let server = TestServer::start_with(|c| c.limits.agent_offline_grace_ms = 400).await;
    let (agent, mut socket, _) = server.connected_agent().await;
    status_becomes(&server, &agent.agent_id, AgentStatus::Away).await;

    socket.send(&ClientFrame::Status { status: "available".into() }).await.unwrap();
    let answer = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Status { .. })).await;
    assert_eq!(answer.unwrap(), ServerFrame::Status { status: AgentStatus::Available });
    assert_eq!(stored_status(&server, &agent.agent_id).await, AgentStatus::Available);
    socket.send(&ClientFrame::Status { status: "lunch".into() }).await.unwrap();
    let refused = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Error { .. })).await;
    let Ok(ServerFrame::Error { code, .. }) = refused else { panic!("{refused:?}") };
    assert_eq!(code, ErrorCode::AgentStatusInvalid);
    assert_eq!(stored_status(&server, &agent.agent_id).await, AgentStatus::Available);

    // A reload: gone and back within the grace, the agent keeps its status.
    socket.close().await;
    let mut socket = Gateway::connect(&agent.gateway_url, &agent.access_token, None).await.unwrap();
    expect_ready(&mut socket).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(stored_status(&server, &agent.agent_id).await, AgentStatus::Available);

    socket.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        stored_status(&server, &agent.agent_id).await,
        AgentStatus::Available,
        "not before the grace"
    );
    status_becomes(&server, &agent.agent_id, AgentStatus::Offline).await;
}

/// Guests have no status: their `status` frame is refused with `bad_frame`.
#[tokio::test]
async fn guests_send_no_status() {
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    socket.send(&ClientFrame::Status { status: "available".into() }).await.unwrap();
    let refused = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Error { .. })).await;
    let Ok(ServerFrame::Error { code, .. }) = refused else { panic!("{refused:?}") };
    assert_eq!(code, ErrorCode::BadFrame);
}
