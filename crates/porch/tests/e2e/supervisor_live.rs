//! Supervisors hear agents' status and load live (docs/routing.md, "Supervisors"; the `agent`
//! frame of docs/protocol.md): an agent choosing a status, taking a conversation and letting
//! it go each reach a supervisor's socket as that agent's row; a plain agent's socket never
//! gets one. With `PORCH_TEST_CLUSTER=1`, the changes are made on node 1 and the sockets are
//! on node 2, so every frame crosses NATS.

use porch_client::gateway::Gateway;
use porch_server::admin;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{AgentSession, AgentStatus};
use porch_wire::supervisor::AgentOverview;

use crate::support::*;

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

/// The agent's socket on the agents' node, past its `ready`.
async fn connected(agent: &AgentSession) -> Gateway {
    let mut socket = Gateway::connect(&agent.gateway_url, &agent.access_token, None).await.unwrap();
    expect_ready(&mut socket).await;
    socket
}

/// Waits for an `agent` frame of `agent_id` that `want` accepts.
async fn agent_frame(
    socket: &mut Gateway,
    agent_id: &str,
    want: impl Fn(&AgentOverview) -> bool,
) -> AgentOverview {
    let found = socket
        .wait_for(
            WAIT,
            |f| matches!(f, ServerFrame::Agent { agent } if agent.id == agent_id && want(agent)),
        )
        .await
        .unwrap_or_else(|seen| panic!("no agent frame for {agent_id}; saw {seen:?}"));
    let ServerFrame::Agent { agent } = found else { unreachable!() };
    agent
}

/// Every frame up to the answer to a `ping`: what the server had queued for this socket.
async fn frames_until_pong(socket: &mut Gateway) -> Vec<ServerFrame> {
    socket.send(&ClientFrame::Ping { id: Some("probe".into()) }).await.unwrap();
    let mut frames = Vec::new();
    loop {
        let frame = socket.wait_for(WAIT, |_| true).await.expect("a frame before the pong");
        if frame == (ServerFrame::Pong { id: Some("probe".into()) }) {
            return frames;
        }
        frames.push(frame);
    }
}

/// Alice (plain, `default`) chooses `available` over REST, takes a waiting conversation and
/// returns it, all on node 1 in cluster mode: Sue, a supervisor serving only `ops`, hears each
/// as Alice's row (status, then load 1, then load 0, with her name, queues and capacity).
/// Carol, a plain agent of `default` who hears the conversation's frames, gets no `agent` frame.
#[tokio::test]
async fn a_supervisor_hears_agents_status_and_load_live_and_a_plain_agent_does_not() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let sue = agent_of(&server, "sue", &["ops"], true).await;
    let carol = agent_of(&server, "carol", &["default"], false).await;
    let mut sue_socket = connected(&sue).await;
    let mut carol_socket = connected(&carol).await;

    // Carol connecting made her `away` (presence): a supervisor hears that too.
    let seen = agent_frame(&mut sue_socket, &carol.agent_id, |_| true).await;
    assert_eq!((seen.name.as_str(), seen.status), ("carol", AgentStatus::Away), "{seen:?}");

    // Alice's own choice, over REST, on the guests' node.
    let url = format!("{}/api/v2/agent/status", server.api.base_url());
    let body = serde_json::json!({ "status": "available" });
    let sent = server.api.http().put(url).bearer_auth(&alice.access_token).json(&body);
    assert_eq!(sent.send().await.unwrap().status().as_u16(), 200);
    let seen =
        agent_frame(&mut sue_socket, &alice.agent_id, |a| a.status == AgentStatus::Available).await;
    assert_eq!(seen.name, "alice");
    assert_eq!(
        (seen.load, seen.queues.clone(), seen.supervisor),
        (0, vec!["default".into()], false)
    );
    assert!(seen.capacity > 0, "capacity as routing resolves it: {seen:?}");

    // An assignment moves her load in its commit; a release moves it back.
    let guest = server.guest().await;
    server.api.guest_send(&guest.access_token, "g1", "help").await.unwrap();
    let id = &guest.conversation_id;
    server.api.agent_action(&alice.access_token, id, "assign").await.unwrap();
    let seen = agent_frame(&mut sue_socket, &alice.agent_id, |a| a.load == 1).await;
    assert_eq!(seen.status, AgentStatus::Available);
    server.api.agent_action(&alice.access_token, id, "unassign").await.unwrap();
    agent_frame(&mut sue_socket, &alice.agent_id, |a| a.load == 0).await;

    // Carol heard the conversation come and go, and nothing of agents.
    let carols = frames_until_pong(&mut carol_socket).await;
    assert!(
        carols.iter().all(|f| !matches!(f, ServerFrame::Agent { .. })),
        "a plain agent got an agent frame: {carols:?}"
    );
}
