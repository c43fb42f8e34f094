//! Operators' hold on credentials (issue 24, item 4): resetting an agent's or a client's
//! secret refuses the old secret and every token issued before it; disabling refuses sign-in
//! and every token until enabled again. With `PORCH_TEST_CLUSTER=1` every refusal is checked
//! on both nodes: the store is the truth each node reads.

use porch_client::api::{Api, ApiResult};
use porch_client::gateway::Gateway;
use porch_core::store::Account;
use porch_server::admin;
use porch_wire::ErrorCode;
use porch_wire::rest::CreateGuestRequest;

use crate::support::*;

fn code<T: std::fmt::Debug>(result: ApiResult<T>) -> ErrorCode {
    result.expect_err("refused").code().expect("a documented error code")
}

fn nodes(server: &TestServer) -> [&Api; 2] {
    [&server.api, &server.agent_api]
}

/// What a client token is for: creating a guest session.
async fn use_client_token(api: &Api, server: &TestServer, token: &str) -> ApiResult<()> {
    let request =
        CreateGuestRequest { deployment_id: server.deployment.id.clone(), ..Default::default() };
    api.create_guest(token, &request).await.map(|_| ())
}

async fn gateway_close(gateway_url: &str, token: &str) -> (u16, String) {
    let mut socket = Gateway::connect(gateway_url, token, None).await.expect("upgrades");
    expect_close(&mut socket).await
}

#[tokio::test]
async fn a_client_secret_reset_refuses_the_old_secret_and_its_tokens() {
    let server = TestServer::start().await;
    let old_token = server.client_token().await;
    let reset =
        admin::reset_secret(server.state.store.as_ref(), Account::Client, &server.client_id)
            .await
            .unwrap();
    assert_eq!(reset.record, server.client_id);
    for api in nodes(&server) {
        let old_secret = api.client_token(&server.client_id, &server.client_secret).await;
        assert_eq!(code(old_secret), ErrorCode::InvalidClient);
        assert_eq!(code(use_client_token(api, &server, &old_token).await), ErrorCode::TokenRevoked);
        let new_token = api.client_token(&server.client_id, &reset.secret).await.unwrap();
        use_client_token(api, &server, &new_token.access_token).await.expect("the new token works");
    }
}

#[tokio::test]
async fn an_agent_secret_reset_refuses_the_old_secret_and_its_tokens() {
    let server = TestServer::start().await;
    let old = server.agent().await;
    let reset =
        admin::reset_secret(server.state.store.as_ref(), Account::Agent, &server.agent_name)
            .await
            .unwrap();
    assert_eq!(reset.record, old.agent_id);
    for api in nodes(&server) {
        let old_secret = api.agent_login(&server.agent_name, &server.agent_secret).await;
        assert_eq!(code(old_secret), ErrorCode::AgentCredentialsInvalid);
        let listed = api.agent_conversations(&old.access_token, "").await;
        assert_eq!(code(listed), ErrorCode::TokenRevoked);
        let refreshed = api.refresh_agent(&old.access_token).await;
        assert_eq!(code(refreshed), ErrorCode::TokenRevoked, "an old token buys no new one");
        let new = api.agent_login(&server.agent_name, &reset.secret).await.unwrap();
        api.agent_conversations(&new.access_token, "").await.expect("the new token works");
    }
    let (close, reason) = gateway_close(&server.gateway_url, &old.access_token).await;
    assert_eq!((close, reason.split(':').next().unwrap()), (4003, "token_revoked"), "{reason}");
}

#[tokio::test]
async fn a_disabled_client_is_refused_until_enabled() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let token = server.client_token().await;
    admin::set_enabled(store, Account::Client, &server.client_id, false).await.unwrap();
    for api in nodes(&server) {
        let login = api.client_token(&server.client_id, &server.client_secret).await;
        assert_eq!(code(login), ErrorCode::ClientDisabled);
        let wrong = api.client_token(&server.client_id, "sec_wrong").await;
        assert_eq!(code(wrong), ErrorCode::InvalidClient, "a guesser is not told it is disabled");
        let used = use_client_token(api, &server, &token).await;
        let error = used.expect_err("refused");
        assert_eq!(error.code(), Some(ErrorCode::ClientDisabled));
        assert!(error.to_string().contains("porch clients enable"), "names the fix: {error}");
    }
    admin::set_enabled(store, Account::Client, &server.client_id, true).await.unwrap();
    for api in nodes(&server) {
        use_client_token(api, &server, &token).await.expect("its unexpired token works again");
        api.client_token(&server.client_id, &server.client_secret).await.expect("it signs in");
    }
}

#[tokio::test]
async fn a_disabled_agent_is_refused_until_enabled() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let session = server.agent().await;
    admin::set_enabled(store, Account::Agent, &server.agent_name, false).await.unwrap();
    for api in nodes(&server) {
        let login = api.agent_login(&server.agent_name, &server.agent_secret).await;
        assert_eq!(code(login), ErrorCode::AgentDisabled);
        let listed = api.agent_conversations(&session.access_token, "").await;
        assert_eq!(code(listed), ErrorCode::AgentDisabled);
    }
    let (close, reason) = gateway_close(&server.gateway_url, &session.access_token).await;
    assert_eq!((close, reason.split(':').next().unwrap()), (4009, "agent_disabled"), "{reason}");
    admin::set_enabled(store, Account::Agent, &server.agent_name, true).await.unwrap();
    for api in nodes(&server) {
        api.agent_conversations(&session.access_token, "").await.expect("works again");
        api.agent_login(&server.agent_name, &server.agent_secret).await.expect("it logs in");
    }
}

#[tokio::test]
async fn an_agents_live_sessions_end_at_the_next_heartbeat() {
    // A short heartbeat, so the live re-check happens within the test's patience.
    let server = TestServer::start_with(|c| {
        c.limits.heartbeat_interval_ms = 200;
        c.limits.idle_timeout_ms = 5_000;
    })
    .await;
    let store = server.state.store.as_ref();
    let (_, mut live, _) = server.connected_agent().await;
    admin::set_enabled(store, Account::Agent, &server.agent_name, false).await.unwrap();
    let (close, reason) = expect_close(&mut live).await;
    assert_eq!((close, reason.split(':').next().unwrap()), (4009, "agent_disabled"), "{reason}");

    admin::set_enabled(store, Account::Agent, &server.agent_name, true).await.unwrap();
    let (_, mut live, _) = server.connected_agent().await;
    admin::reset_secret(store, Account::Agent, &server.agent_name).await.unwrap();
    let (close, reason) = expect_close(&mut live).await;
    assert_eq!((close, reason.split(':').next().unwrap()), (4003, "token_revoked"), "{reason}");
}

#[tokio::test]
async fn deleting_keeps_what_is_still_needed_and_refuses_the_rest() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let agent = server.agent().await;
    let guest = server.guest().await;
    let api = &server.agent_api;
    api.agent_action(&agent.access_token, &guest.conversation_id, "assign").await.unwrap();
    let kept = admin::delete(store, Account::Agent, &server.agent_name).await.unwrap_err();
    assert!(
        kept.contains("1 open conversation") && kept.contains("porch agents disable"),
        "{kept}"
    );
    api.agent_action(&agent.access_token, &guest.conversation_id, "close").await.unwrap();
    admin::delete(store, Account::Agent, &server.agent_name).await.unwrap();
    for api in nodes(&server) {
        let login = api.agent_login(&server.agent_name, &server.agent_secret).await;
        assert_eq!(code(login), ErrorCode::AgentCredentialsInvalid);
        let listed = api.agent_conversations(&agent.access_token, "").await;
        assert_eq!(code(listed), ErrorCode::AgentCredentialsInvalid, "its tokens are refused");
    }

    let kept = admin::delete(store, Account::Client, &server.client_id).await.unwrap_err();
    assert!(kept.contains("porch clients disable"), "a client with guests is kept: {kept}");
    let spare = admin::create_client(store, "spare", vec!["guests".into()]).await.unwrap();
    let token = server.api.client_token(&spare.record.id, &spare.secret).await.unwrap();
    admin::delete(store, Account::Client, &spare.record.id).await.unwrap();
    for api in nodes(&server) {
        let used = use_client_token(api, &server, &token.access_token).await;
        assert_eq!(code(used), ErrorCode::TokenRevoked);
        let login = api.client_token(&spare.record.id, &spare.secret).await;
        assert_eq!(code(login), ErrorCode::InvalidClient);
    }
}

#[tokio::test]
async fn unknown_names_are_refused_with_where_to_look() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let agent = admin::reset_secret(store, Account::Agent, "nobody").await.err().unwrap();
    assert!(agent.contains("porch agents list"), "{agent}");
    let client = admin::set_enabled(store, Account::Client, "cli_nobody", false).await.unwrap_err();
    assert!(client.contains("porch clients list"), "{client}");
}
