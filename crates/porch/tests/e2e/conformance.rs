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
    tokio::time::timeout(WAIT, socket.next())
        .await
        .expect("an answer in time")
        .expect("the socket is open")
        .expect("a message")
}

#[tokio::test]
async fn the_echo_does_not_exist_unless_turned_on() {
    let server = TestServer::start().await;
    match tokio_tungstenite::connect_async(echo_url(&server)).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
        Ok((_, response)) => {
            panic!("expected 404, got {} (the echo is mounted)", response.status())
        }
        Err(other) => panic!("expected 404, got {other}"),
    }
}

#[tokio::test]
async fn the_echo_answers_data_on_the_gateways_limits() {
    let server = TestServer::start_with(|c| c.conformance_echo = true).await;
    let limit = server.state.config.limits.ws_message_bytes_max;
    let (mut socket, _) = tokio_tungstenite::connect_async(echo_url(&server))
        .await
        .expect("upgrades without a token");
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
    socket
        .send(Message::Frame(Frame::message(vec![b'a'; first], OpCode::Data(Data::Text), false)))
        .await
        .unwrap();
    socket
        .send(Message::Frame(Frame::message(vec![b'a'; rest], OpCode::Data(Data::Continue), true)))
        .await
        .unwrap();
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
    // The same rule on a real session (the echo shares its read path, `frames::inbound`).
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    socket.send_raw(Message::Close(Some(bye))).await.unwrap();
    let (code, _) = socket
        .wait_close(WAIT)
        .await
        .unwrap_or_else(|seen| panic!("close not answered; saw {seen:?}"));
    assert_eq!(code, 1000);
}

#[test]
fn serve_refuses_the_echo_off_loopback() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cnf"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_porch"))
        .args([
            "serve",
            "--conformance-echo",
            "--listen",
            "0.0.0.0:0",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
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
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(2),
        "porch served on 0.0.0.0 with the echo on: {stderr}"
    );
    assert!(stderr.contains("conformance_echo") && stderr.contains("loopback"), "{stderr}");
}

/// Opens the echo over a raw TCP socket, writes `frame` (bytes as a broken client would put
/// them on the wire), and returns the server's first frame (opcode, payload) and whether the
/// server then closed TCP. Raw, because no client library sends such frames.
async fn raw_echo_exchange(server: &TestServer, frame: &[u8]) -> (Option<(u8, Vec<u8>)>, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = crate::raw::host(server);
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    stream
        .write_all(&crate::raw::Req::upgrade(&host, CONFORMANCE_ECHO_PATH).bytes())
        .await
        .unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("a 101 in time")
            .unwrap();
        assert!(n > 0, "closed during the handshake: {}", String::from_utf8_lossy(&data));
        data.extend_from_slice(&buf[..n]);
    };
    assert!(data.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&data));
    stream.write_all(frame).await.unwrap();
    // Read to EOF: the close frame (if any) and then the end of the connection.
    let eof = tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    let rest = &data[head_end..];
    // A server frame is unmasked; a close payload is at most 125 bytes (7-bit length).
    let first = (rest.len() >= 2 && rest.len() >= 2 + usize::from(rest[1] & 0x7f))
        .then(|| (rest[0] & 0x0f, rest[2..2 + usize::from(rest[1] & 0x7f)].to_vec()));
    (first, eof)
}

/// A client frame: `first` is FIN/RSV/opcode, masked with a zero key unless `masked` is false.
fn client_frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    assert!(payload.len() <= 125);
    let mut out = vec![first, payload.len() as u8 | if masked { 0x80 } else { 0 }];
    if masked {
        out.extend_from_slice(&[0, 0, 0, 0]); // XOR with zeros: the payload goes as is
    }
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn framing_violations_close_with_1002_and_a_named_cause() {
    // RFC 6455 §7.1.7: fail the connection, but send the close frame first (SHOULD).
    let server = TestServer::start_with(|c| c.conformance_echo = true).await;
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("RSV1 set", client_frame(0x80 | 0x40 | 0x1, b"hi", true), "reserved bits"),
        ("reserved data opcode 3", client_frame(0x80 | 0x3, b"hi", true), "reserved opcode"),
        ("reserved control opcode 11", client_frame(0x80 | 0xB, b"", true), "reserved opcode"),
        ("unmasked text frame", client_frame(0x80 | 0x1, b"hi", false), "not masked"),
        ("fragmented ping", client_frame(0x9, b"", true), "control frame was fragmented"),
        ("continuation with no start", client_frame(0x80, b"hi", true), "continuation frame"),
    ];
    for (name, frame, cause) in cases {
        let (first, eof) = raw_echo_exchange(&server, &frame).await;
        let Some((0x8, payload)) = first else {
            panic!("{name}: expected a close frame first, got {first:?}")
        };
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        let reason = String::from_utf8_lossy(&payload[2..]);
        assert_eq!(code, 1002, "{name}: {reason}");
        assert!(
            reason.starts_with("protocol_error: ") && reason.contains(cause),
            "{name}: {reason}"
        );
        assert!(eof, "{name}: the server must close TCP after its close frame");
    }
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_the_echo_with_1007() {
    let server = TestServer::start_with(|c| c.conformance_echo = true).await;
    let (first, eof) =
        raw_echo_exchange(&server, &client_frame(0x80 | 0x1, &[b'o', b'k', 0xff, 0xfe], true))
            .await;
    let Some((0x8, payload)) = first else { panic!("expected a close frame first, got {first:?}") };
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1007);
    assert!(String::from_utf8_lossy(&payload[2..]).starts_with("invalid_utf8: "));
    assert!(eof);
}

#[tokio::test]
async fn a_guest_that_breaks_framing_gets_1002() {
    // The same read path on a real session.
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    let mut frame = Frame::message(b"{}".to_vec(), OpCode::Data(Data::Text), true);
    frame.header_mut().rsv1 = true;
    socket.send_raw(Message::Frame(frame)).await.unwrap();
    let (code, reason) =
        socket.wait_close(WAIT).await.unwrap_or_else(|seen| panic!("no close frame; saw {seen:?}"));
    assert_eq!(code, 1002, "{reason}");
    assert!(reason.starts_with("protocol_error: "), "{reason}");
}
