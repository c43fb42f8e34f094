//! The conformance echo (`conformance_echo`, docs/conformance.md): off unless asked for, only
//! on loopback, and on the gateway's frame layer with the gateway's limits. The Autobahn run
//! (tests/autobahn/run.py) raises the message limit to 16 MiB; these tests keep the defaults,
//! so they also show limit + 1 byte closing with 1009 rather than being cut or echoed.

use std::io::Read;
use std::process::{Command, Stdio};

use futures_util::{SinkExt, StreamExt};
use porch_server::gateway::echo::CONFORMANCE_ECHO_PATH;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::support::{TestServer, WAIT};

fn echo_url(server: &TestServer) -> String {
    server.gateway_url.replace(porch_wire::GATEWAY_PATH, CONFORMANCE_ECHO_PATH)
}

async fn next(socket: &mut (impl StreamExt<Item = Result<Message, WsError>> + Unpin)) -> Message {
    tokio::time::timeout(WAIT, socket.next()).await.expect("an answer in time").expect("the socket is open").expect("a message")
}

#[tokio::test]
async fn the_echo_does_not_exist_unless_turned_on() {
    let server = TestServer::start().await;
    match tokio_tungstenite::connect_async(echo_url(&server)).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
        Ok((_, response)) => panic!("expected 404, got {} (the echo is mounted)", response.status()),
        Err(other) => panic!("expected 404, got {other}"),
    }
}

#[tokio::test]
async fn the_echo_answers_data_on_the_gateways_limits() {
    let server = TestServer::start_with(|c| c.conformance_echo = true).await;
    let limit = server.state.config.limits.ws_message_bytes_max;
    let (mut socket, _) = tokio_tungstenite::connect_async(echo_url(&server)).await.expect("upgrades without a token");
    socket.send(Message::text("héllo")).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::text("héllo"));
    socket.send(Message::binary(vec![0u8, 255, 7])).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::binary(vec![0u8, 255, 7]));
    // A ping is answered by the frame layer, and the echo goes on.
    socket.send(Message::Ping(b"p".to_vec().into())).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::Pong(b"p".to_vec().into()));
    // Exactly the limit passes whole...
    let at_limit = "a".repeat(limit);
    socket.send(Message::text(at_limit.clone())).await.unwrap();
    assert_eq!(next(&mut socket).await, Message::text(at_limit));
    // ...one byte more closes with 1009 and the gateway's reason, nothing echoed: in one frame
    // (the frame limit), and in two frames each under it (the message limit).
    socket.send(Message::text("a".repeat(limit + 1))).await.unwrap();
    expect_too_big(&mut socket).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(echo_url(&server)).await.unwrap();
    let (first, rest) = (limit / 2, limit - limit / 2 + 1);
    socket.send(Message::Frame(Frame::message(vec![b'a'; first], OpCode::Data(Data::Text), false))).await.unwrap();
    socket.send(Message::Frame(Frame::message(vec![b'a'; rest], OpCode::Data(Data::Continue), true))).await.unwrap();
    expect_too_big(&mut socket).await;
}

async fn expect_too_big(socket: &mut (impl StreamExt<Item = Result<Message, WsError>> + Unpin)) {
    match next(socket).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
            assert!(frame.reason.starts_with("message_too_big: "), "{frame:?}");
        }
        Message::Text(t) => panic!("expected close 1009, got a text message of {} bytes", t.len()),
        other => panic!("expected close 1009, got {:.200}", format!("{other:?}")),
    }
}

#[tokio::test]
async fn a_client_close_is_answered_before_the_connection_ends() {
    // RFC 6455 §5.5.1: the endpoint that receives a Close sends one back. Without it a
    // browser reports close 1006 (not clean) for its own ws.close().
    let server = TestServer::start_with(|c| c.conformance_echo = true).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(echo_url(&server)).await.unwrap();
    socket.close(None).await.unwrap();
    match tokio::time::timeout(WAIT, socket.next()).await.expect("an answer in time") {
        Some(Ok(Message::Close(_))) => {}
        other => panic!("expected the server's close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_guests_close_is_answered_by_the_gateway() {
    // The same rule on a real session (the echo shares its read path, `session::inbound`).
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    socket.send_raw(Message::Close(Some(bye))).await.unwrap();
    let (code, _) = socket.wait_close(WAIT).await.unwrap_or_else(|seen| panic!("close not answered; saw {seen:?}"));
    assert_eq!(code, 1000);
}

#[test]
fn serve_refuses_the_echo_off_loopback() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cnf"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_porch"))
        .args(["serve", "--conformance-echo", "--listen", "0.0.0.0:0", "--data-dir", dir.to_str().unwrap()])
        .env_remove("PORCH_CONFORMANCE_ECHO")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("porch runs");
    // A porch that wrongly serves would never exit: give it a deadline, then stop it.
    let deadline = std::time::Instant::now() + WAIT * 2;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(status.and_then(|s| s.code()), Some(2), "porch served on 0.0.0.0 with the echo on: {stderr}");
    assert!(stderr.contains("conformance_echo") && stderr.contains("loopback"), "{stderr}");
}
