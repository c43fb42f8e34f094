//! The widget endpoint's `agentsAvailable` and `offlineForm` (issue 19: the offline form): true
//! only while an agent of the deployment's queue is `available` with spare capacity, or a bot
//! starts the queue; the operator turns the form off per deployment. The answer is kept per
//! queue for `widget_availability_cache_ms`, so page views do not each cost a store read. With
//! `PORCH_TEST_CLUSTER=1` the agent changes its status on node 2 and the page reads node 1.

use porch_core::model::QueueSettings;
use porch_server::admin;
use porch_server::bots::admin as bots;
use porch_wire::rest::ConversationState;

use crate::support::*;

/// `GET …/widget` as the deployment's page: `(agentsAvailable, offlineForm)`.
async fn widget_read(server: &TestServer) -> (bool, bool) {
    let path = porch_wire::WIDGET_CONFIG_PATH.replace("{deployment_id}", &server.deployment.id);
    let request = server.api.http().get(server.api.url(&path)).header("origin", ALLOWED_ORIGIN);
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let flag = |name: &str| body[name].as_bool().unwrap_or_else(|| panic!("{name} in {body}"));
    (flag("agentsAvailable"), flag("offlineForm"))
}

/// `PUT /api/v2/agent/status` on the agents' node.
async fn set_status(server: &TestServer, token: &str, status: &str) {
    let url = format!("{}/api/v2/agent/status", server.agent_api.base_url());
    let request = server.agent_api.http().put(url).bearer_auth(token);
    let response = request.json(&serde_json::json!({ "status": status })).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

/// A server whose every widget read goes to the store.
async fn uncached() -> TestServer {
    TestServer::start_with(|c| c.limits.widget_availability_cache_ms = 0).await
}

#[tokio::test]
async fn only_an_available_agent_with_room_or_a_bot_counts_as_someone_to_answer() {
    let server = uncached().await;
    assert_eq!(widget_read(&server).await, (false, true), "nobody signed in; the form is on");
    let agent = server.agent().await;
    assert_eq!(widget_read(&server).await, (false, true), "signed in is not available");
    set_status(&server, &agent.access_token, "available").await;
    assert_eq!(widget_read(&server).await, (true, true));
    set_status(&server, &agent.access_token, "away").await;
    assert_eq!(widget_read(&server).await, (false, true), "away");

    // Available, but full: one conversation at a capacity of one.
    set_status(&server, &agent.access_token, "available").await;
    let changes = admin::AgentRoutingChanges { capacity: Some(Some(1)), queues: None };
    admin::set_agent_routing(server.state.store.as_ref(), &server.agent_name, changes)
        .await
        .unwrap();
    let guest = server.guest().await;
    server.api.guest_send(&guest.access_token, "g1", "hello").await.unwrap();
    let taken = server
        .agent_api
        .agent_action(&agent.access_token, &guest.conversation_id, "assign")
        .await
        .unwrap();
    assert_eq!(taken.state, ConversationState::Assigned);
    assert_eq!(widget_read(&server).await, (false, true), "no room left");

    // A bot answers at any hour.
    let bot =
        bots::add(server.state.store.as_ref(), &server.deployment.id, "Helper").await.unwrap();
    let settings = QueueSettings { bot_id: Some(bot.record.id), ..QueueSettings::unset("default") };
    server.state.store.set_queue(settings).await.unwrap();
    assert_eq!(widget_read(&server).await, (true, true), "the queue starts with a bot");
}

#[tokio::test]
async fn the_operator_turns_the_offline_form_off_and_on() {
    let server = uncached().await;
    let store = server.state.store.as_ref();
    let set = |on: bool| admin::DeploymentChanges { offline_form: Some(on), ..Default::default() };
    let off = admin::update_deployment(store, &server.deployment.id, set(false)).await.unwrap();
    assert!(!off.welcome.offline_form);
    assert_eq!(widget_read(&server).await, (false, false));
    // Another change keeps it as it is.
    let greeting =
        admin::DeploymentChanges { greeting: Some(Some("Hello".into())), ..Default::default() };
    admin::update_deployment(store, &server.deployment.id, greeting).await.unwrap();
    assert_eq!(widget_read(&server).await, (false, false));
    admin::update_deployment(store, &server.deployment.id, set(true)).await.unwrap();
    assert_eq!(widget_read(&server).await, (false, true));
}

/// Within `widget_availability_cache_ms` a node answers from what it read: an agent who just
/// became available is not seen yet by that node's widget reads.
#[tokio::test]
async fn page_views_within_the_window_reuse_one_read() {
    let server = TestServer::start_with(|c| c.limits.widget_availability_cache_ms = 600_000).await;
    assert_eq!(widget_read(&server).await, (false, true));
    let agent = server.agent().await;
    set_status(&server, &agent.access_token, "available").await;
    assert_eq!(widget_read(&server).await, (false, true), "the answer read a moment ago");
}
