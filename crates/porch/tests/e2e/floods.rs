//! Floods and abuse: every per-address, per-account and per-guest limit refuses what it must,
//! with the documented answer, while clients from other addresses keep working.
//!
//! Loopback has a whole /8: the attacker is 127.0.0.1, the bystander 127.0.0.2 (and
//! 127.0.0.3), so per-address limits are exercised with real distinct source addresses.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

const ATTACKER: &str = "127.0.0.1";
const BYSTANDER: &str = "127.0.0.2";

fn server_addr(server: &TestServer) -> SocketAddr {
    server.api.base_url().trim_start_matches("http://").parse().unwrap()
}

async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source.parse().unwrap(), 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// Reads until the server closes the connection or `limit` passes; returns what was read and
/// whether the server closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into_owned(), true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into_owned(), false),
        }
    }
}

/// Reads a response's status line and headers (up to the blank line).
async fn read_head(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A WebSocket session from `source` with `token`; returns the first frame (or the refusal).
async fn session_from(
    source: &str,
    server: &TestServer,
    token: &str,
) -> Result<ServerFrame, String> {
    let stream = connect_from(source, server_addr(server)).await;
    let request = porch_client::gateway::request(&server.gateway_url, token);
    let (mut ws, _) =
        tokio_tungstenite::client_async(request, stream).await.map_err(|e| e.to_string())?;
    let frame =
        tokio::time::timeout(WAIT, ws.next_message()).await.map_err(|_| "no frame".to_string())?;
    frame.ok_or_else(|| "closed".to_string())
}

trait NextMessage {
    async fn next_message(&mut self) -> Option<ServerFrame>;
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> NextMessage
    for tokio_tungstenite::WebSocketStream<S>
{
    async fn next_message(&mut self) -> Option<ServerFrame> {
        use futures_util::StreamExt;
        while let Some(Ok(message)) = self.next().await {
            if let Message::Text(text) = message {
                return serde_json::from_str(text.as_str()).ok();
            }
        }
        None
    }
}

/// A minimal upgrade request: enough to reach the handshake limiter (which runs before any
/// token work), with a token that would fail anyway.
fn upgrade_request(addr: SocketAddr) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: NICE-WebSocket-Auth, x.y.z\r\n\r\n",
        porch_wire::GATEWAY_PATH
    )
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn a_handshake_flood_is_refused_with_429_while_other_addresses_connect() {
    let server = TestServer::start().await;
    let addr = server_addr(&server);
    let guest = server.guest().await;
    let fds_before = open_fds();
    let burst = server.state.config.limits.handshakes_per_ip_burst;
    let attempts = burst * 5;
    let mut statuses = Vec::new();
    let mut retry_afters = Vec::new();
    for _ in 0..attempts {
        let mut stream = connect_from(ATTACKER, addr).await;
        stream.write_all(upgrade_request(addr).as_bytes()).await.unwrap();
        let head = read_head(&mut stream).await;
        let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        if status == 429 {
            let retry_after = head.lines().find_map(|l| l.strip_prefix("retry-after: "));
            let secs: u64 = retry_after.expect("429 carries Retry-After").trim().parse().unwrap();
            retry_afters.push(secs);
            assert!(
                head.to_lowercase().contains("connection: close"),
                "a refused flooder's socket is closed: {head}"
            );
            let (rest, closed) = read_until_closed(&mut stream, WAIT).await;
            let whole = head.clone() + &rest;
            assert!(closed, "the server closed the refused connection");
            assert!(
                whole.contains("rate_limited") && whole.contains("handshakes_per_ip_per_sec"),
                "the refusal names its limit: {whole}"
            );
        }
        statuses.push(status);
    }
    let refused = statuses.iter().filter(|s| **s == 429).count() as u64;
    let upgraded = statuses.iter().filter(|s| **s == 101).count() as u64;
    assert!(
        upgraded >= burst && upgraded < attempts,
        "the burst passes, then the limit bites: {statuses:?}"
    );
    assert_eq!(refused + upgraded, attempts, "every attempt got 101 or 429: {statuses:?}");
    // Each refusal is told its own token: the first the next one, later ones later (spread
    // retries), never beyond the promise horizon.
    assert!((1..=2).contains(&retry_afters[0]), "the first waits for one token: {retry_afters:?}");
    assert!(retry_afters.windows(2).all(|w| w[0] <= w[1]), "{retry_afters:?}");
    let horizon_secs = porch_core::limits::RATE_LIMIT_PROMISE_MS_MAX / 1000;
    assert!(*retry_afters.last().unwrap() <= horizon_secs, "{retry_afters:?}");
    // Meanwhile another address connects normally.
    let ready = session_from(BYSTANDER, &server, &guest.access_token).await.unwrap();
    assert_eq!(frame_type(&ready), "ready");
    // And the attacker's own sockets are all gone again.
    let deadline = Instant::now() + Duration::from_secs(15);
    while open_fds() > fds_before + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        open_fds() <= fds_before + 2,
        "file descriptors back to baseline: {} vs {fds_before}",
        open_fds()
    );
}

#[tokio::test]
async fn connections_per_address_are_capped_before_any_parsing() {
    let server = TestServer::start_with(|c| c.limits.connections_per_ip_max = 3).await;
    let addr = server_addr(&server);
    let guest = server.guest().await;
    // Two WebSocket sessions and one idle TCP connection fill the attacker's three slots: an
    // upgraded session keeps its address's slot after the HTTP part is over.
    let first = session_from(ATTACKER, &server, &guest.access_token).await.unwrap();
    assert_eq!(frame_type(&first), "ready");
    let stream = connect_from(ATTACKER, addr).await;
    let (mut ws2, _) = tokio_tungstenite::client_async(
        porch_client::gateway::request(&server.gateway_url, &guest.access_token),
        stream,
    )
    .await
    .unwrap();
    assert_eq!(frame_type(&ws2.next_message().await.unwrap()), "ready");
    // The accept loop takes connections in the order they were made, so the idle one holds
    // the third slot before the fourth is looked at.
    let _idle = connect_from(ATTACKER, addr).await;
    let mut fourth = connect_from(ATTACKER, addr).await;
    let (answer, closed) = read_until_closed(&mut fourth, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 429 Too Many Requests\r\n"), "{answer}");
    assert!(
        answer.contains("too_many_connections") && answer.contains("connections_per_ip_max"),
        "{answer}"
    );
    assert!(answer.to_lowercase().contains("retry-after: 5"), "{answer}");
    assert!(closed, "the refused connection is closed by the server");
    // Another address is not affected.
    let mut other = connect_from(BYSTANDER, addr).await;
    other
        .write_all(
            format!("GET /livez HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut other, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Closing a WebSocket session frees its slot.
    ws2.close(None).await.unwrap();
    drop(ws2);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut again = connect_from(ATTACKER, addr).await;
        again
            .write_all(
                format!("GET /livez HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let (answer, _) = read_until_closed(&mut again, WAIT).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed session's slot was never released: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn slowloris_connections_are_cut_at_the_header_timeout() {
    let timeout_ms = 1_000;
    let server =
        TestServer::start_with(move |c| c.limits.http_header_timeout_ms = timeout_ms).await;
    let addr = server_addr(&server);
    let started = Instant::now();
    // 40 clients trickle a header byte every 200 ms (they would never finish); 10 send nothing.
    let mut attackers = Vec::new();
    for i in 0..50 {
        let mut stream = connect_from(ATTACKER, addr).await;
        attackers.push(tokio::spawn(async move {
            if i % 5 != 0 {
                let _ = stream
                    .write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
                    .await;
                for _ in 0..100 {
                    if stream.write_all(b"X").await.is_err() {
                        break;
                    }
                    let mut probe = [0u8; 1];
                    match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut probe))
                        .await
                    {
                        Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
                        _ => {}
                    }
                }
                Duration::MAX
            } else {
                let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
                if closed { started.elapsed() } else { Duration::MAX }
            }
        }));
    }
    // While they hang on, a normal request from elsewhere is answered at once.
    let mut bystander = connect_from(BYSTANDER, addr).await;
    bystander
        .write_all(
            format!("GET /livez HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut bystander, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for attacker in attackers {
        let cut_after = attacker.await.unwrap();
        assert!(
            cut_after >= Duration::from_millis(timeout_ms - 100),
            "cut before the timeout: {cut_after:?}"
        );
        assert!(
            cut_after < Duration::from_millis(timeout_ms * 4),
            "a slow client was not cut: {cut_after:?}"
        );
    }
}

/// Posts to the token endpoint from `source` with HTTP Basic.
async fn token_from(
    server: &TestServer,
    source: &str,
    id: &str,
    secret: &str,
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let http = reqwest::Client::builder()
        .local_address(source.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let response = http
        .post(server.api.url(porch_wire::OAUTH_TOKEN_PATH))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap(), headers)
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_address_and_per_account() {
    let server = TestServer::start_with(|c| {
        c.limits.auth_failures_per_ip_per_min = 3;
        c.limits.auth_failures_per_account_per_min = 5;
    })
    .await;
    let (id, secret) = (server.client_id.clone(), server.client_secret.clone());
    for _ in 0..3 {
        assert_eq!(token_from(&server, ATTACKER, &id, "guess").await.0, 401);
    }
    // The address has spent its failures: even the right secret is refused from it...
    let (status, body, headers) = token_from(&server, ATTACKER, &id, &secret).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "rate_limited");
    assert!(
        body["error_description"].as_str().unwrap().contains("auth_failures_per_ip_per_min"),
        "{body}"
    );
    assert_eq!(headers["cache-control"], "no-store", "RFC 6749 §5.1 holds for 429 too");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "one failure refills in 20 s at 3 per minute: {wait}");
    // ...but not from another address, and a success costs nothing.
    assert_eq!(token_from(&server, BYSTANDER, &id, &secret).await.0, 200);
    // Two more failures from a second address spend the account's five: now the right secret
    // is refused from a third, fresh address too.
    for _ in 0..2 {
        assert_eq!(token_from(&server, BYSTANDER, &id, "guess").await.0, 401);
    }
    let (status, body, _) = token_from(&server, "127.0.0.3", &id, &secret).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error_description"].as_str().unwrap().contains("auth_failures_per_account_per_min"),
        "{body}"
    );
    // Agent sign-in shares the same limits (a different account: the agent's name).
    let http = reqwest::Client::builder()
        .local_address(ATTACKER.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let login = serde_json::json!({"name": server.agent_name, "secret": server.agent_secret});
    let response =
        http.post(server.api.url(porch_wire::AGENT_LOGIN_PATH)).json(&login).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429, "the address is still locked out of agent sign-in");
}

#[tokio::test]
async fn the_widget_endpoint_limits_new_sessions_per_address() {
    let server = TestServer::start_with(|c| c.limits.widget_sessions_per_ip_per_min = 2).await;
    let url = server
        .api
        .url(&porch_wire::WIDGET_GUESTS_PATH.replace("{deployment_id}", &server.deployment.id));
    let post = |source: &'static str| {
        let url = url.clone();
        async move {
            let http = reqwest::Client::builder()
                .local_address(source.parse::<IpAddr>().unwrap())
                .build()
                .unwrap();
            let response = http
                .post(&url)
                .header("origin", ALLOWED_ORIGIN)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry_after =
                response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            (status, retry_after, response.text().await.unwrap())
        }
    };
    assert_eq!(post(ATTACKER).await.0, 201);
    assert_eq!(post(ATTACKER).await.0, 201);
    let (status, retry_after, body) = post(ATTACKER).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("widget_sessions_per_ip_per_min"), "{body}");
    assert!(retry_after.is_some());
    assert_eq!(post(BYSTANDER).await.0, 201, "other addresses are not affected");
}

#[tokio::test]
async fn a_guest_sending_too_fast_is_told_when_to_resend_and_nothing_is_lost() {
    let server = TestServer::start_with(|c| {
        c.limits.guest_messages_per_sec = 2;
        c.limits.guest_messages_burst = 2;
    })
    .await;
    let (guest, mut socket) = server.connected_guest().await;
    for i in 0..2 {
        let send = ClientFrame::Send {
            client_message_id: format!("m{i}"),
            text: "hi".into(),
            conversation_id: None,
        };
        socket.send(&send).await.unwrap();
        assert_eq!(frame_type(&expect_frame(&mut socket, "ack").await), "ack");
    }
    let third = ClientFrame::Send {
        client_message_id: "m2".into(),
        text: "hi".into(),
        conversation_id: None,
    };
    socket.send(&third).await.unwrap();
    let ServerFrame::Error { code, client_message_id, retry_after_ms, message } =
        expect_frame(&mut socket, "error").await
    else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::RateLimited, "{message}");
    assert_eq!(client_message_id.as_deref(), Some("m2"));
    let wait_ms = retry_after_ms.expect("rate_limited carries retryAfterMs");
    assert!((1..=500).contains(&wait_ms), "one message per 500 ms: {wait_ms}");
    // REST shares the guest's budget.
    let Err(refused) = server.api.guest_send(&guest.access_token, "r1", "over rest").await else {
        panic!("REST accepted a message beyond the guest's budget")
    };
    assert_eq!(refused.code(), Some(ErrorCode::RateLimited), "{refused:?}");
    // After the wait, the same frame is accepted: the refusal stored nothing.
    tokio::time::sleep(Duration::from_millis(wait_ms + 20)).await;
    socket.send(&third).await.unwrap();
    let ServerFrame::Ack { message, duplicate, .. } = expect_frame(&mut socket, "ack").await else {
        unreachable!()
    };
    assert!(!duplicate, "the refused send was not stored");
    assert_eq!(message.seq, 3, "no gap: the refused send took no sequence number");
}

#[tokio::test]
async fn one_guest_may_hold_only_so_many_sessions() {
    let server = TestServer::start_with(|c| c.limits.connections_per_guest_max = 2).await;
    let guest = server.guest().await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut socket =
            porch_client::gateway::Gateway::connect(&server.gateway_url, &guest.access_token, None)
                .await
                .unwrap();
        expect_ready(&mut socket).await;
        open.push(socket);
    }
    let mut third =
        porch_client::gateway::Gateway::connect(&server.gateway_url, &guest.access_token, None)
            .await
            .unwrap();
    let (code, reason) = expect_close(&mut third).await;
    assert_eq!(code, 4101, "{reason}");
    assert!(
        reason.starts_with("too_many_connections: ")
            && reason.contains("connections_per_guest_max"),
        "{reason}"
    );
    // Another guest is not affected, and closing a tab frees a place.
    let (_, mut other) = server.connected_guest().await;
    drop(other.next(Duration::from_millis(10)).await);
    open.pop().unwrap().close().await;
    let deadline = Instant::now() + WAIT;
    loop {
        let mut again =
            porch_client::gateway::Gateway::connect(&server.gateway_url, &guest.access_token, None)
                .await
                .unwrap();
        match again.wait_for(WAIT, |f| frame_type(f) == "ready").await {
            Ok(_) => break,
            Err(events) => assert!(
                Instant::now() < deadline,
                "the closed tab's place was never freed: {events:?}"
            ),
        }
    }
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_harm() {
    let server = TestServer::start().await;
    let (guest, mut socket) = server.connected_guest().await;
    // 30,000 levels fit the 64 KiB limits of both a REST body and a WebSocket message; the
    // JSON parser stops at its recursion limit (128) instead of exhausting the stack.
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let response = server
        .api
        .http()
        .post(server.api.url(porch_wire::GUEST_MESSAGES_PATH))
        .bearer_auth(&guest.access_token)
        .header("origin", ALLOWED_ORIGIN)
        .header("content-type", "application/json")
        .body(deep.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_json", "{body}");
    // Nested inside an object, where a tagged frame parser buffers any value.
    let deep_in_object =
        format!("{{\"type\":\"send\",\"x\":{}{}}}", "[".repeat(30_000), "]".repeat(30_000));
    for frame in [&deep, &deep_in_object] {
        socket.send_text(frame).await.unwrap();
        let ServerFrame::Error { code, message, .. } = expect_frame(&mut socket, "error").await
        else {
            unreachable!()
        };
        assert_eq!(code, ErrorCode::BadJson, "{message}");
    }
    // The connection and the server carry on.
    let send = ClientFrame::Send {
        client_message_id: "after".into(),
        text: "still here".into(),
        conversation_id: None,
    };
    socket.send(&send).await.unwrap();
    assert_eq!(frame_type(&expect_frame(&mut socket, "ack").await), "ack");
}
