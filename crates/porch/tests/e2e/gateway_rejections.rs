//! Every way a client can get the handshake wrong, and what it is told. Refusals a browser
//! must read arrive as `101` + close code + reason; the rest as HTTP + JSON.

use porch_client::gateway::{ConnectError, Gateway, request};
use porch_core::token::TokenKind;
use porch_wire::PROTOCOL_MARKER;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::support::*;

/// Connects with `offer` as the whole `Sec-WebSocket-Protocol` header (if any), plus extra
/// headers, and expects `101` then a close. Returns echoed protocol, close code and reason.
async fn closed_after_upgrade(
    server: &TestServer,
    url_suffix: &str,
    offer: Option<&str>,
    headers: &[(&'static str, &str)],
) -> (Option<String>, u16, String) {
    let mut req = format!("{}{url_suffix}", server.gateway_url).into_client_request().unwrap();
    if let Some(offer) = offer {
        req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_str(offer).unwrap());
    }
    for (k, v) in headers {
        req.headers_mut().insert(*k, HeaderValue::from_str(v).unwrap());
    }
    let mut socket = match Gateway::connect_request(req).await {
        Ok(s) => s,
        Err(e) => panic!("expected a 101 for offer {offer:?}, got {e}"),
    };
    let protocol = socket.protocol.clone();
    let (code, reason) = expect_close(&mut socket).await;
    assert!(reason.len() <= 123, "reason too long: {reason}");
    assert!(reason.contains(" [ref "), "every reason carries its log reference: {reason}");
    assert!(!reason.contains('…'), "documented refusals fit whole: {reason}");
    (protocol, code, reason)
}

#[tokio::test]
async fn an_oauth_client_token_is_refused_with_which_token_to_use() {
    let server = TestServer::start().await;
    let client_token = server.client_token().await;
    let offer = format!("{PROTOCOL_MARKER}, {client_token}");
    let (protocol, code, reason) = closed_after_upgrade(&server, "", Some(&offer), &[]).await;
    assert_eq!(protocol.as_deref(), Some(PROTOCOL_MARKER));
    assert_eq!(code, 4004);
    assert!(
        reason.starts_with("token_wrong_kind: OAuth client token sent (aud porch-api)"),
        "{reason}"
    );
    assert!(reason.contains("accessToken of POST /guests"), "{reason}");
}

#[tokio::test]
async fn handshake_mistakes_each_get_their_code_and_fix() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let token = guest.access_token.as_str();
    let m = PROTOCOL_MARKER;
    let expired = server.sign(TokenKind::Guest, &guest.guest_id, |c| {
        c.dep = Some(guest.deployment_id.clone());
        c.cnv = Some(guest.conversation_id.clone());
        c.iat -= 7200;
        c.exp -= 3600;
    });
    let future = server.sign(TokenKind::Guest, &guest.guest_id, |c| c.iat += 3600);
    // Signed with the server's key, but naming another guest's conversation: the gateway
    // subscribes to what a token names, so it must be the guest's own.
    let misnamed = server.sign(TokenKind::Guest, &guest.guest_id, |c| {
        c.dep = Some(guest.deployment_id.clone());
        c.cnv = Some("cnv_someone_else".to_owned());
    });
    let mut tampered = token.to_string();
    tampered.pop();
    // The last base64url character of a 32-byte signature carries 4 bits and 2 zero bits:
    // 'A' and 'E' both keep the zero bits, so the token stays well-formed, just wrong.
    tampered.push(if token.ends_with('A') { 'E' } else { 'A' });
    let agent = server.agent().await;
    let query_token = format!("?token={token}");

    // (URL suffix, offer, extra header, expected echo, code, reason prefix, reason must contain)
    let cases: Vec<(&str, Option<String>, Option<(&str, &str)>, Option<&str>, u16, &str, &str)> = vec![
        ("", None, None, None, 4001, "subprotocol_missing", "['NICE-WebSocket-Auth', token]"),
        ("", Some(m.to_string()), None, Some(m), 4001, "token_missing", "without the token"),
        (
            "",
            Some(format!("{token}, {m}")),
            None,
            Some(m),
            4007,
            "subprotocol_order",
            "marker must come first",
        ),
        (
            "",
            Some(format!("{m}, {token}, extra")),
            None,
            Some(m),
            4007,
            "subprotocol_order",
            "need 2",
        ),
        (
            "",
            Some(format!("nice-websocket-auth, {token}")),
            None,
            Some("nice-websocket-auth"),
            4007,
            "subprotocol_misspelled",
            "case-sensitive",
        ),
        ("", Some(format!("{m}, abc=")), None, Some(m), 4007, "token_characters", "'='"),
        (
            &query_token,
            None,
            None,
            None,
            4008,
            "token_in_query",
            "leak into logs; use new WebSocket",
        ),
        ("", Some(format!("{m}, {expired}")), None, Some(m), 4002, "token_expired", "server time"),
        (
            "",
            Some(format!("{m}, {future}")),
            None,
            Some(m),
            4002,
            "token_not_yet_valid",
            "check clocks",
        ),
        (
            "",
            Some(format!("{m}, {tampered}")),
            None,
            Some(m),
            4003,
            "token_signature_invalid",
            "altered",
        ),
        (
            "",
            Some(format!("{m}, {misnamed}")),
            None,
            Some(m),
            4003,
            "token_malformed",
            "are not its guest's",
        ),
        (
            "",
            Some(format!("{m}, {token}")),
            Some(("origin", "https://evil.example")),
            Some(m),
            4005,
            "origin_not_allowed",
            "https://evil.example",
        ),
        // A guest page's origin (known, so past the early check) is still no agent's.
        (
            "",
            Some(format!("{m}, {}", agent.access_token)),
            Some(("origin", ALLOWED_ORIGIN)),
            Some(m),
            4005,
            "origin_not_allowed",
            "agents connect from",
        ),
        (
            "?afterSeq=x",
            Some(format!("{m}, {token}")),
            None,
            Some(m),
            4007,
            "invalid_request",
            "afterSeq",
        ),
    ];
    for (suffix, offer, header, echo, code, prefix, needle) in cases {
        let headers: Vec<(&str, &str)> = header.into_iter().collect();
        let (protocol, got_code, reason) =
            closed_after_upgrade(&server, suffix, offer.as_deref(), &headers).await;
        let case = format!("case {prefix} ({offer:?})");
        assert_eq!(protocol.as_deref(), echo, "{case}: echo");
        assert_eq!(got_code, code, "{case}: code, reason {reason}");
        assert!(reason.starts_with(&format!("{prefix}: ")), "{case}: reason {reason}");
        assert!(reason.contains(needle), "{case}: `{reason}` lacks `{needle}`");
        assert!(!reason.contains(token), "{case}: the token leaked into the reason");
    }
}

#[tokio::test]
async fn a_token_offered_without_the_marker_gets_http_400_with_the_fix() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let mut req = guest.gateway_url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_str(&guest.access_token).unwrap());
    match Gateway::connect_request(req).await {
        Err(ConnectError::Refused { status, body, .. }) => {
            assert_eq!(status, 401);
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["error"], "subprotocol_missing");
            assert!(body["error_description"].as_str().unwrap().contains("without the marker"));
        }
        other => panic!("expected an HTTP refusal, got {:?}", other.map(|g| g.protocol)),
    }
}

#[tokio::test]
async fn non_browser_clients_may_use_the_authorization_header() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let mut req = guest.gateway_url.as_str().into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {}", guest.access_token)).unwrap(),
    );
    let mut socket = Gateway::connect_request(req).await.unwrap();
    assert_eq!(socket.protocol, None, "nothing offered, nothing echoed");
    expect_ready(&mut socket).await;
}

#[tokio::test]
async fn an_allowed_origin_connects() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let mut req = request(&guest.gateway_url, &guest.access_token);
    req.headers_mut().insert("origin", HeaderValue::from_static(ALLOWED_ORIGIN));
    let mut socket = Gateway::connect_request(req).await.unwrap();
    expect_ready(&mut socket).await;
}

#[tokio::test]
async fn query_tokens_work_when_the_operator_enables_them() {
    let server = TestServer::start_with(|c| c.allow_query_token = true).await;
    let guest = server.guest().await;
    let url = format!("{}?access_token={}", guest.gateway_url, guest.access_token);
    let mut socket = Gateway::connect_request(url.into_client_request().unwrap()).await.unwrap();
    expect_ready(&mut socket).await;
}

#[tokio::test]
async fn requests_that_are_not_upgrades_get_http_errors_that_say_so() {
    let server = TestServer::start().await;
    let base = server.api.base_url().to_string();
    let plain =
        raw_http(&base, "GET /api/v2/gateway HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
    assert!(plain.starts_with("HTTP/1.1 4"), "{plain}");
    assert!(plain.contains("not a WebSocket upgrade"), "{plain}");
    let v8 = raw_http(&base, "GET /api/v2/gateway HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").await;
    assert!(v8.starts_with("HTTP/1.1 426"), "{v8}");
    assert!(v8.to_lowercase().contains("sec-websocket-version: 13"), "{v8}");
}

#[tokio::test]
async fn rest_refuses_wrong_kinds_with_a_bearer_challenge() {
    let server = TestServer::start().await;
    let agent = server.agent().await;
    let err = server.api.guest_history(&agent.access_token, "").await.unwrap_err();
    let porch_client::ApiError::Http { status, body, www_authenticate } = err else {
        panic!("{err}")
    };
    assert_eq!(status, 401);
    assert_eq!(body.unwrap().error, porch_wire::ErrorCode::TokenWrongKind);
    assert!(www_authenticate.unwrap().contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn revoked_guests_and_disabled_deployments_are_refused_and_cut_off() {
    // A short heartbeat, so the live re-check happens within the test's patience.
    let server = TestServer::start_with(|c| {
        c.limits.heartbeat_interval_ms = 200;
        c.limits.idle_timeout_ms = 5_000;
    })
    .await;
    let store = server.state.store.clone();

    let (revoked, mut live) = server.connected_guest().await;
    assert!(store.revoke_guest(&revoked.guest_id).await.unwrap());
    let (code, reason) = expect_close(&mut live).await;
    assert_eq!((code, reason.split(':').next().unwrap()), (4006, "guest_revoked"), "{reason}");
    let offer = format!("{PROTOCOL_MARKER}, {}", revoked.access_token);
    let (_, code, _) = closed_after_upgrade(&server, "", Some(&offer), &[]).await;
    assert_eq!(code, 4006);
    let err = server.api.guest_history(&revoked.access_token, "").await.unwrap_err();
    assert_eq!(err.code(), Some(porch_wire::ErrorCode::GuestRevoked));

    let (guest, mut live) = server.connected_guest().await;
    assert!(store.set_deployment_enabled(&server.deployment.id, false).await.unwrap());
    let (code, reason) = expect_close(&mut live).await;
    assert_eq!(code, 4009, "{reason}");
    let offer = format!("{PROTOCOL_MARKER}, {}", guest.access_token);
    let (_, code, reason) = closed_after_upgrade(&server, "", Some(&offer), &[]).await;
    assert_eq!(code, 4009);
    assert!(reason.starts_with("deployment_disabled: "), "{reason}");
}

/// `porch deployments update` in a running server: an added origin connects at once (the
/// early check reloads its set for an origin it does not know), a removed one is refused.
#[tokio::test]
async fn origins_changed_on_a_live_server_apply_to_the_next_handshake() {
    let server = TestServer::start().await;
    let m = PROTOCOL_MARKER;
    let token = server.guest().await.access_token;
    let offer = format!("{m}, {token}");
    let changes = porch_server::admin::DeploymentChanges {
        add_origins: vec!["https://www.shop.example".into()],
        remove_origins: vec![ALLOWED_ORIGIN.into()],
        ..Default::default()
    };
    porch_server::admin::update_deployment(
        server.state.store.as_ref(),
        &server.deployment.id,
        changes,
    )
    .await
    .unwrap();

    let mut req = server.gateway_url.as_str().into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_str(&offer).unwrap());
    req.headers_mut().insert("origin", HeaderValue::from_static("https://www.shop.example"));
    let mut added = Gateway::connect_request(req).await.expect("the added origin upgrades");
    expect_ready(&mut added).await;
    let (_, code, reason) =
        closed_after_upgrade(&server, "", Some(&offer), &[("origin", ALLOWED_ORIGIN)]).await;
    assert_eq!((code, reason.split(':').next()), (4005, Some("origin_not_allowed")), "{reason}");
}
