//! What the widget checks when a page loads it (issue 19, defects 3 and 7): every refusal a
//! page must read carries CORS headers, even for an origin no deployment lists; a near-miss
//! origin (another port) is named; and the gateway's `?probe` says whether the page can open a
//! socket at all, without logging a refusal for every visitor.

use porch_client::gateway::Gateway;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::server_log;
use crate::support::*;

const STRANGER: &str = "http://stranger.example:3000";

async fn widget_read(server: &TestServer, deployment_id: &str, origin: &str) -> reqwest::Response {
    let path = porch_wire::WIDGET_CONFIG_PATH.replace("{deployment_id}", deployment_id);
    server.api.http().get(server.api.url(&path)).header("origin", origin).send().await.unwrap()
}

#[tokio::test]
async fn a_page_no_deployment_lists_can_read_why_it_is_refused() {
    let server = TestServer::start().await;
    let refused = widget_read(&server, &server.deployment.id, STRANGER).await;
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(
        refused.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()),
        Some(STRANGER),
        "without it page script sees only `Failed to fetch`"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "origin_not_allowed");
    assert!(body["error_description"].as_str().unwrap().contains(STRANGER), "{body}");

    let unknown = widget_read(&server, "dep_nosuchthing", STRANGER).await;
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(unknown.headers()["access-control-allow-origin"], STRANGER);
    assert_eq!(unknown.json::<serde_json::Value>().await.unwrap()["error"], "deployment_unknown");

    // A successful answer still goes only to the deployment's own pages.
    let read = widget_read(&server, &server.deployment.id, ALLOWED_ORIGIN).await;
    assert_eq!(read.status().as_u16(), 200);
    assert_eq!(read.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
}

#[tokio::test]
async fn an_origin_on_another_port_is_told_which_one_is_listed() {
    let server = TestServer::start().await;
    let near = format!("{ALLOWED_ORIGIN}:8443");
    let refused = widget_read(&server, &server.deployment.id, &near).await;
    let body: serde_json::Value = refused.json().await.unwrap();
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains(&format!("it lists {ALLOWED_ORIGIN}")), "{description}");
    let far = widget_read(&server, &server.deployment.id, STRANGER).await;
    let body: serde_json::Value = far.json().await.unwrap();
    assert!(!body["error_description"].as_str().unwrap().contains("it lists"), "{body}");
}

/// Opens `gateway?probe` with no credentials from `origin`; returns the close.
async fn probe(server: &TestServer, origin: Option<&str>) -> (u16, String) {
    let mut req = format!("{}?probe=1", server.gateway_url).into_client_request().unwrap();
    if let Some(origin) = origin {
        req.headers_mut().insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    let mut socket = Gateway::connect_request(req).await.expect("a probe is upgraded");
    assert_eq!(socket.protocol, None, "nothing offered, nothing echoed");
    expect_close(&mut socket).await
}

#[tokio::test]
async fn the_probe_closes_normally_for_a_known_origin_and_says_why_for_another() {
    server_log::capture();
    let server = TestServer::start().await;
    let reachable = (1000, porch_server::gateway::PROBE_REASON.to_string());
    assert_eq!(probe(&server, Some(ALLOWED_ORIGIN)).await, reachable);
    assert_eq!(probe(&server, None).await, reachable, "no Origin: not a browser, not checked");
    assert!(
        !server_log::text().contains("refused"),
        "a probe that found nothing wrong is no refusal:\n{}",
        server_log::text()
    );
    let (code, reason) = probe(&server, Some(STRANGER)).await;
    assert_eq!((code, reason.split(':').next()), (4005, Some("origin_not_allowed")), "{reason}");
    // Without `?probe`, nothing offered is still the developer's mistake, and says so.
    let bare = server.gateway_url.clone().into_client_request().unwrap();
    let (code, reason) = expect_close(&mut Gateway::connect_request(bare).await.unwrap()).await;
    assert_eq!((code, reason.split(':').next()), (4001, Some("subprotocol_missing")), "{reason}");
}
