//! `refresh` (docs/protocol.md, "Refresh"): a live guest or agent connection takes a fresh
//! token without reconnecting, is refused one of another kind or another guest with nothing
//! changed, and outlives its first token. With `PORCH_TEST_CLUSTER=1` the agent's tokens come
//! from the other node.

use std::time::Duration;

use porch_client::gateway::Gateway;
use porch_core::token::TokenKind;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::GuestSession;

use crate::support::*;

fn refresh(token: &str) -> ClientFrame {
    ClientFrame::Refresh { token: token.into() }
}

/// Sends `refresh` and returns its answer: `Ok(tokenExpiresInMs)` or the error frame's code
/// and message.
async fn refresh_answer(socket: &mut Gateway, token: &str) -> Result<i64, (ErrorCode, String)> {
    socket.send(&refresh(token)).await.unwrap();
    let answer = socket
        .wait_for(WAIT, |f| matches!(f, ServerFrame::Refreshed { .. } | ServerFrame::Error { .. }))
        .await
        .unwrap_or_else(|seen| panic!("no answer to `refresh`; saw {seen:?}"));
    match answer {
        ServerFrame::Refreshed { token_expires_in_ms } => Ok(token_expires_in_ms),
        ServerFrame::Error { code, message, .. } => Err((code, message)),
        _ => unreachable!(),
    }
}

/// The connection still answers: a `ping` gets its `pong`.
async fn still_live(socket: &mut Gateway, id: &str) {
    socket.send(&ClientFrame::Ping { id: Some(id.into()) }).await.unwrap();
    let id = id.to_string();
    socket
        .wait_for(WAIT, move |f| *f == ServerFrame::Pong { id: Some(id.clone()) })
        .await
        .unwrap_or_else(|seen| panic!("the connection no longer answers; saw {seen:?}"));
}

/// `token` with the first character of its signature changed (the last one may carry only
/// padding bits).
fn altered_signature(token: &str) -> String {
    let at = token.rfind('.').unwrap() + 1;
    let swapped = if token[at..].starts_with('A') { "B" } else { "A" };
    format!("{}{swapped}{}", &token[..at], &token[at + 1..])
}

/// A guest token for `guest` that expires `secs` from now.
fn short_guest_token(server: &TestServer, guest: &GuestSession, secs: i64) -> String {
    server.sign(TokenKind::Guest, &guest.guest_id, |c| {
        c.cnv = Some(guest.conversation_id.clone());
        c.dep = Some(server.deployment.id.clone());
        c.exp = c.iat + secs;
    })
}

#[tokio::test]
async fn a_guest_refreshes_in_place_and_bad_tokens_change_nothing() {
    let server = TestServer::start().await;
    let (session, mut socket) = server.connected_guest().await;
    let fresh = server.api.refresh_guest(&session.access_token).await.unwrap();
    let left = refresh_answer(&mut socket, &fresh.access_token).await.expect("refreshed");
    assert!((590_000..=600_000).contains(&left), "the deployment's 600 s, less a moment: {left}");

    let (other, _) = server.connected_guest().await;
    let agent = server.agent().await;
    let altered = altered_signature(&fresh.access_token);
    let refused = [
        (other.access_token.as_str(), ErrorCode::TokenSubjectWrong),
        (agent.access_token.as_str(), ErrorCode::TokenWrongKind),
        ("not-a-token", ErrorCode::TokenMalformed),
        (altered.as_str(), ErrorCode::TokenSignatureInvalid),
    ];
    for (token, expected) in refused {
        let (code, message) = refresh_answer(&mut socket, token).await.expect_err("refused");
        assert_eq!(code, expected, "{message}");
        assert!(!message.contains(token), "the refusal quotes the token: {message}");
        still_live(&mut socket, code.as_str()).await;
    }
    // The session is the same one: a send is acknowledged on it.
    let send = ClientFrame::Send {
        client_message_id: "after-refresh".into(),
        text: "still here".into(),
        conversation_id: None,
    };
    socket.send(&send).await.unwrap();
    expect_frame(&mut socket, "ack").await;
}

#[tokio::test]
async fn a_refreshed_guest_outlives_its_first_token() {
    let server = TestServer::start_with(|c| {
        c.limits.heartbeat_interval_ms = 200;
        c.limits.idle_timeout_ms = 10_000;
    })
    .await;
    let guest = server.guest().await;
    // The control: a connection on a 2 s token closes with 4002.
    let mut unrefreshed =
        Gateway::connect(&guest.gateway_url, &short_guest_token(&server, &guest, 2), None)
            .await
            .unwrap();
    expect_ready(&mut unrefreshed).await;
    let mut refreshed =
        Gateway::connect(&guest.gateway_url, &short_guest_token(&server, &guest, 2), None)
            .await
            .unwrap();
    expect_ready(&mut refreshed).await;
    refresh_answer(&mut refreshed, &guest.access_token).await.expect("refreshed");
    let (code, reason) = expect_close(&mut unrefreshed).await;
    assert_eq!((code, reason.split(':').next().unwrap()), (4002, "token_expired"), "{reason}");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    still_live(&mut refreshed, "past-the-first-token").await;
}

#[tokio::test]
async fn a_refusal_after_the_old_token_expired_closes_with_its_cause() {
    // A heartbeat far off, so the close comes from the refusal, not from the 4002 check.
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let mut socket =
        Gateway::connect(&guest.gateway_url, &short_guest_token(&server, &guest, 1), None)
            .await
            .unwrap();
    expect_ready(&mut socket).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    socket.send(&refresh("not-a-token")).await.unwrap();
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!((code, reason.split(':').next().unwrap()), (4003, "token_malformed"), "{reason}");
}

#[tokio::test]
async fn an_agent_refreshes_in_place() {
    let server = TestServer::start().await;
    let (session, mut socket, _) = server.connected_agent().await;
    let fresh = server.agent_api.refresh_agent(&session.access_token).await.unwrap();
    let left = refresh_answer(&mut socket, &fresh.access_token).await.expect("refreshed");
    assert!(left > 0, "{left}");
    let guest = server.guest().await;
    let (code, _) = refresh_answer(&mut socket, &guest.access_token).await.expect_err("refused");
    assert_eq!(code, ErrorCode::TokenWrongKind);
    still_live(&mut socket, "agent").await;
    // Still the agent's session: it hears the new guest's conversation.
    let sent = server.api.guest_send(&guest.access_token, "c-1", "hello").await;
    sent.expect("the guest sends");
    socket
        .wait_for(WAIT, |f| matches!(f, ServerFrame::Message { .. }))
        .await
        .unwrap_or_else(|seen| panic!("the agent no longer hears its queue; saw {seen:?}"));
}
