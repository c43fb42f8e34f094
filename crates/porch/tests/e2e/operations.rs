//! Introspection for the customer's backend, CORS for browsers, refusal metrics for
//! operators.

use std::time::{Duration, Instant};

use porch_client::gateway::Gateway;
use porch_core::token::TokenKind;
use porch_wire::rest::IntrospectionResponse;

use crate::support::*;

async fn introspect(
    server: &TestServer,
    id: &str,
    secret: &str,
    token: &str,
) -> (u16, serde_json::Value) {
    let url = server.api.url(porch_wire::OAUTH_INTROSPECT_PATH);
    let response = server
        .api
        .http()
        .post(url)
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn introspection_says_whether_and_why() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let (id, secret) = (server.client_id.clone(), server.client_secret.clone());

    let (status, body) = introspect(&server, &id, &secret, &guest.access_token).await;
    let answer: IntrospectionResponse = serde_json::from_value(body).unwrap();
    assert_eq!(status, 200);
    assert!(answer.active);
    assert_eq!(
        (answer.token_kind.as_deref(), answer.sub.as_deref()),
        (Some("guest"), Some(guest.guest_id.as_str()))
    );

    let expired = server.sign(TokenKind::Guest, &guest.guest_id, |c| {
        c.iat -= 7200;
        c.exp -= 3600;
    });
    let (_, body) = introspect(&server, &id, &secret, &expired).await;
    let answer: IntrospectionResponse = serde_json::from_value(body).unwrap();
    assert!(!answer.active);
    assert_eq!(answer.inactive_reason.unwrap().error, porch_wire::ErrorCode::TokenExpired);

    let other = porch_server::admin::create_client(
        server.state.store.as_ref(),
        "other",
        vec!["guests".into()],
    )
    .await
    .unwrap();
    let (_, body) = introspect(&server, &other.record.id, &other.secret, &guest.access_token).await;
    assert_eq!(body, serde_json::json!({ "active": false }), "another client's token: no details");

    let (status, body) = introspect(&server, &id, "wrong", &guest.access_token).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn browsers_get_cors_per_deployment_origin() {
    let server = TestServer::start().await;
    let url = server.api.url(porch_wire::GUEST_MESSAGES_PATH);
    let preflight = |origin: &'static str| {
        server
            .api
            .http()
            .request(reqwest::Method::OPTIONS, url.clone())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight(ALLOWED_ORIGIN).await.unwrap();
    assert_eq!(allowed.status().as_u16(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    let guest = server.guest().await;
    let response = server
        .api
        .http()
        .get(url.clone())
        .bearer_auth(&guest.access_token)
        .header("origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
    let foreign = server
        .api
        .http()
        .get(url)
        .bearer_auth(&guest.access_token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403, "the token's own deployment decides");

    let backend_only = server
        .api
        .http()
        .post(server.api.url(porch_wire::GUESTS_PATH))
        .header("origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();
    assert!(
        backend_only.headers().get("access-control-allow-origin").is_none(),
        "guest creation is not for browsers"
    );
}

/// CORS reads the known origins, not the store, on every request: a deployment created after
/// the first request counts at once, and a disabled deployment's page can read its refusal.
#[tokio::test]
async fn cors_follows_new_and_disabled_deployments() {
    let server = TestServer::start().await;
    let url = server.api.url(porch_wire::GUEST_MESSAGES_PATH);
    let preflight = |origin: &'static str| {
        server
            .api
            .http()
            .request(reqwest::Method::OPTIONS, url.clone())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    const LATE: &str = "https://late.example";
    assert_eq!(preflight(LATE).await.unwrap().status().as_u16(), 403, "no deployment lists it yet");
    let spec = porch_server::admin::DeploymentSpec {
        name: "late".into(),
        origins: vec![LATE.into()],
        queue: "late".into(),
        guest_token_ttl_secs: 900,
    };
    porch_server::admin::create_deployment(server.state.store.as_ref(), spec).await.unwrap();
    let late = preflight(LATE).await.unwrap();
    assert_eq!(
        (late.status().as_u16(), late.headers()["access-control-allow-origin"].to_str().unwrap()),
        (204, LATE),
        "a new deployment counts at once"
    );

    let guest = server.guest().await;
    assert!(server.state.store.set_deployment_enabled(&server.deployment.id, false).await.unwrap());
    assert_eq!(
        preflight(ALLOWED_ORIGIN).await.unwrap().status().as_u16(),
        204,
        "still listed, though disabled"
    );
    let refused = server
        .api
        .http()
        .get(url.clone())
        .bearer_auth(&guest.access_token)
        .header("origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.headers()["access-control-allow-origin"],
        ALLOWED_ORIGIN,
        "the page may read why"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "deployment_disabled");
}

#[tokio::test]
async fn refusals_are_counted_by_cause() {
    let server = TestServer::start().await;
    let before = porch_server::metrics::METRICS.refusals(porch_wire::ErrorCode::TokenWrongKind);
    let client_token = server.client_token().await;
    let mut socket =
        porch_client::Gateway::connect(&server.gateway_url, &client_token, None).await.unwrap();
    expect_close(&mut socket).await;
    let text = server
        .api
        .http()
        .get(server.api.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(r#"porch_refusals_total{code="token_wrong_kind"}"#))
        .unwrap();
    let count: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count > before, "{line} (before: {before})");
}

#[tokio::test]
async fn the_widget_opens_sessions_from_allowed_origins_only() {
    let server = TestServer::start().await;
    let path = porch_wire::WIDGET_GUESTS_PATH.replace("{deployment_id}", &server.deployment.id);
    let url = server.api.url(&path);
    let post = |origin: Option<&'static str>| {
        let mut request = server
            .api
            .http()
            .post(url.clone())
            .json(&serde_json::json!({ "displayName": "Wanda" }));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let created = post(Some(ALLOWED_ORIGIN)).await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(created.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
    let session: porch_wire::rest::GuestSession = created.json().await.unwrap();
    let mut socket =
        porch_client::Gateway::connect(&session.gateway_url, &session.access_token, None)
            .await
            .unwrap();
    expect_ready(&mut socket).await;
    let read_back =
        server.api.guest(&server.client_token().await, &session.guest_id).await.unwrap_err();
    assert_eq!(
        read_back.code(),
        Some(porch_wire::ErrorCode::GuestUnknown),
        "widget guests belong to no OAuth client"
    );

    for (origin, status) in [(Some("https://evil.example"), 403), (None, 403)] {
        let refused = post(origin).await.unwrap();
        assert_eq!(refused.status().as_u16(), status, "{origin:?}");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "origin_not_allowed");
    }
    let clients = server.state.store.clients().await.unwrap();
    assert!(
        clients.iter().all(|c| c.id != porch_core::model::WIDGET_CLIENT_ID),
        "the pseudo-client is internal"
    );
}

#[tokio::test]
async fn embedded_pages_are_served_with_security_headers() {
    let server = TestServer::start().await;
    let page = server.api.http().get(server.api.url("/demo/guest.html")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        page.text().await.unwrap().contains("new WebSocket(wsUrl, ['NICE-WebSocket-Auth', token])")
    );
    let index = server.api.http().get(server.api.url("/")).send().await.unwrap();
    assert!(index.text().await.unwrap().contains("Porch is running"));
    let missing = server.api.http().get(server.api.url("/nope.js")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn answers_that_carry_a_token_are_never_cached_and_pages_are() {
    let server = TestServer::start().await;
    let http = server.api.http();
    let client_token = server.client_token().await;
    let guest = server.guest().await;
    let widget = server
        .api
        .url(&porch_wire::WIDGET_GUESTS_PATH.replace("{deployment_id}", &server.deployment.id));
    let login = serde_json::json!({"name": server.agent_name, "secret": server.agent_secret});
    let create = serde_json::json!({"deploymentId": server.deployment.id});
    let answers = [
        (
            "create guest",
            http.post(server.api.url(porch_wire::GUESTS_PATH))
                .bearer_auth(&client_token)
                .json(&create),
        ),
        (
            "get guest",
            http.get(server.api.url(&format!("{}/{}", porch_wire::GUESTS_PATH, guest.guest_id)))
                .bearer_auth(&client_token),
        ),
        (
            "refresh",
            http.post(server.api.url(porch_wire::GUEST_TOKEN_PATH))
                .bearer_auth(&guest.access_token)
                .header("origin", ALLOWED_ORIGIN),
        ),
        ("widget", http.post(widget).header("origin", ALLOWED_ORIGIN).json(&serde_json::json!({}))),
        ("agent login", http.post(server.api.url(porch_wire::AGENT_LOGIN_PATH)).json(&login)),
    ];
    for (name, request) in answers {
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{name}: {}", response.status());
        assert_eq!(response.headers()["cache-control"], "no-store", "{name}");
    }
    let page = http.get(server.api.url("/sdk/porch.js")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_ne!(
        page.headers().get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "static files may be cached"
    );
}

/// `porch_tcp_connections` counts WebSocket connections too: hyper's connection task ends at
/// the upgrade, the TCP connection does not (it used to drop out of the gauge there).
/// The gauge is process-wide, so this exact count needs the test alone in its process, as
/// nextest runs it (scripts/test.sh; see server_log.rs for the same reliance).
#[tokio::test]
async fn the_tcp_gauge_counts_upgraded_connections() {
    const SOCKETS: i64 = 3;
    let server = TestServer::start().await;
    let mut guests = Vec::new();
    for _ in 0..SOCKETS {
        guests.push(server.guest().await);
    }
    // The REST calls above left keep-alive connections; from here on only WebSockets open.
    let before = porch_server::metrics::METRICS.connections_open();
    let mut sockets = Vec::new();
    for guest in &guests {
        let mut socket =
            Gateway::connect(&guest.gateway_url, &guest.access_token, None).await.unwrap();
        expect_ready(&mut socket).await;
        sockets.push(socket);
    }
    let open = porch_server::metrics::METRICS.connections_open();
    assert_eq!(
        open - before,
        SOCKETS,
        "{SOCKETS} WebSocket sessions open, the gauge moved by {}",
        open - before
    );
    for socket in sockets {
        socket.close().await;
    }
    let deadline = Instant::now() + WAIT;
    while porch_server::metrics::METRICS.connections_open() != before {
        assert!(
            Instant::now() < deadline,
            "the gauge did not come back to {before} after the sessions closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_agent_refreshes_its_token_without_its_secret() {
    let server = TestServer::start().await;
    let session = server.agent().await;
    let fresh = server
        .agent_api
        .refresh_agent(&session.access_token)
        .await
        .expect("a valid agent token refreshes");
    // A new token (each has its own `jti`), lasting at least as long: `exp` counts whole
    // seconds, so within the same second it is equal.
    assert_ne!(fresh.access_token, session.access_token);
    assert!(fresh.expires_at_ms >= session.expires_at_ms, "the new token lasts at least as long");
    assert_eq!(
        (fresh.agent_id.as_str(), fresh.queues.clone()),
        (session.agent_id.as_str(), session.queues.clone())
    );
    let mut socket = Gateway::connect(&fresh.gateway_url, &fresh.access_token, None).await.unwrap();
    let porch_wire::frame::ServerFrame::Ready(ready) = expect_ready(&mut socket).await else {
        unreachable!()
    };
    assert_eq!(ready.participant.id, session.agent_id);

    let expired = server.sign(TokenKind::Agent, &session.agent_id, |c| {
        c.name = Some(session.name.clone());
        c.exp = c.iat - 3_600;
        c.iat -= 7_200;
    });
    let refused = server.agent_api.refresh_agent(&expired).await.expect_err("an expired token");
    assert_eq!(
        refused.code(),
        Some(porch_wire::ErrorCode::TokenExpired),
        "log in again: {refused}"
    );
    let guest = server.guest().await;
    let wrong =
        server.agent_api.refresh_agent(&guest.access_token).await.expect_err("a guest token");
    assert_eq!(wrong.code(), Some(porch_wire::ErrorCode::TokenWrongKind));
}
