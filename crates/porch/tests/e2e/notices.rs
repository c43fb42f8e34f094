//! Deployment notices (docs/api.md, "Deployment notices"; docs/protocol.md, `notice`): the
//! customer's backend sets one text, every connected guest of that deployment gets it live and
//! no other guest does, later guests find it in `ready`, and a lost live frame is made good by
//! the next heartbeat. In cluster mode the backend calls node 2 and the guests sit on node 1,
//! so every notice crosses the broker.

use std::time::Duration;

use porch_client::gateway::Gateway;
use porch_core::model::DeploymentRecord;
use porch_server::admin;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{CreateGuestRequest, GuestSession, Notice};

use crate::support::*;

/// A guest of `deployment`, connected to node 1, past `ready`; and its `ready` notice.
async fn guest_of(server: &TestServer, deployment: &DeploymentRecord) -> (Gateway, Option<Notice>) {
    let request = CreateGuestRequest { deployment_id: deployment.id.clone(), ..Default::default() };
    let token = server.client_token().await;
    let session: GuestSession =
        server.api.create_guest(&token, &request).await.expect("guest session");
    let mut socket = Gateway::connect(&session.gateway_url, &session.access_token, None)
        .await
        .expect("connects");
    let ServerFrame::Ready(ready) = expect_ready(&mut socket).await else { unreachable!() };
    (socket, ready.notice)
}

async fn second_deployment(server: &TestServer) -> DeploymentRecord {
    let spec = admin::DeploymentSpec {
        name: "other-shop".into(),
        origins: vec!["https://other.example".into()],
        queue: "other".into(),
        guest_token_ttl_secs: 600,
    };
    admin::create_deployment(server.state.store.as_ref(), spec).await.unwrap()
}

async fn next_notice(socket: &mut Gateway) -> Option<Notice> {
    match expect_frame(socket, "notice").await {
        ServerFrame::Notice { notice } => notice,
        _ => unreachable!(),
    }
}

/// Nothing but the `pong` comes before it: no notice was queued for this guest.
async fn assert_no_notice(socket: &mut Gateway) {
    socket.send(&ClientFrame::Ping { id: Some("probe".into()) }).await.unwrap();
    let first = socket.wait_for(WAIT, |_| true).await.expect("a frame");
    assert_eq!(
        first,
        ServerFrame::Pong { id: Some("probe".into()) },
        "a guest of another deployment got a notice"
    );
}

#[tokio::test]
async fn a_notice_reaches_every_guest_of_its_deployment_and_no_other() {
    let server = TestServer::start().await;
    let other = second_deployment(&server).await;
    let (mut ann, none) = guest_of(&server, &server.deployment).await;
    assert_eq!(none, None, "no notice yet, so ready has none");
    let (mut bob, _) = guest_of(&server, &server.deployment).await;
    let (mut stranger, _) = guest_of(&server, &other).await;
    let token = server.client_token().await;

    // The backend talks to the agents' node: in cluster mode the notice crosses the broker.
    let set = server
        .agent_api
        .set_notice(&token, &server.deployment.id, Some("Closed on 24 December"))
        .await
        .unwrap();
    let notice = set.notice.expect("PUT answers the notice");
    assert_eq!(
        (notice.text.as_str(), notice.deployment_id.as_str()),
        ("Closed on 24 December", server.deployment.id.as_str())
    );
    assert!(notice.id.starts_with("ntc_"), "{notice:?}");
    assert_eq!(next_notice(&mut ann).await.as_ref(), Some(&notice));
    assert_eq!(next_notice(&mut bob).await.as_ref(), Some(&notice));
    assert_no_notice(&mut stranger).await;

    let (_, in_ready) = guest_of(&server, &server.deployment).await;
    assert_eq!(in_ready.as_ref(), Some(&notice), "a later guest finds the notice in ready");
    assert_eq!(
        server.api.notice(&token, &server.deployment.id).await.unwrap().notice,
        Some(notice.clone())
    );

    let replaced = server
        .api
        .set_notice(&token, &server.deployment.id, Some("Open again"))
        .await
        .unwrap()
        .notice
        .unwrap();
    assert_ne!(replaced.id, notice.id, "every PUT makes a new notice");
    assert_eq!(next_notice(&mut ann).await, Some(replaced));

    let cleared = server.agent_api.set_notice(&token, &server.deployment.id, None).await.unwrap();
    assert_eq!(cleared.notice, None);
    assert_eq!(next_notice(&mut ann).await, None, "DELETE reaches guests as notice: null");
    assert_eq!(next_notice(&mut bob).await.map(|n| n.text), Some("Open again".into()));
    assert_eq!(next_notice(&mut bob).await, None);
    assert_eq!(server.api.notice(&token, &server.deployment.id).await.unwrap().notice, None);
    assert_no_notice(&mut stranger).await;
}

#[tokio::test]
async fn a_notice_the_live_path_lost_arrives_with_the_next_heartbeat() {
    let server = TestServer::start_with(|c| c.limits.heartbeat_interval_ms = 200).await;
    let (mut guest, _) = guest_of(&server, &server.deployment).await;
    // Written to the store behind the hub's back: what a broker that dropped the event leaves.
    let notice = Notice {
        id: "ntc_lost".into(),
        deployment_id: server.deployment.id.clone(),
        text: "Long wait today".into(),
        created_at_ms: 1,
    };
    assert!(
        server
            .state
            .store
            .set_deployment_notice(&server.deployment.id, Some(notice.clone()))
            .await
            .unwrap()
    );
    assert_eq!(next_notice(&mut guest).await, Some(notice));
    // Once given, it is not given again at every heartbeat.
    let again = guest
        .wait_for(Duration::from_millis(700), |f| matches!(f, ServerFrame::Notice { .. }))
        .await;
    assert!(again.is_err(), "the same notice came twice: {again:?}");
}

#[tokio::test]
async fn notice_requests_that_cannot_be_served_say_why() {
    let server = TestServer::start_with(|c| c.limits.notices_per_deployment_per_min = 2).await;
    let token = server.client_token().await;
    let deployment = server.deployment.id.as_str();
    let code = |result: Result<_, porch_client::api::ApiError>| result.expect_err("refused").code();

    assert_eq!(
        code(server.api.set_notice(&token, "dep_nobody", Some("hi")).await),
        Some(ErrorCode::DeploymentUnknown)
    );
    assert_eq!(
        code(server.api.set_notice(&token, deployment, Some("  ")).await),
        Some(ErrorCode::InvalidRequest)
    );
    let long = "x".repeat(server.state.config.limits.text_chars_max + 1);
    assert_eq!(
        code(server.api.set_notice(&token, deployment, Some(&long)).await),
        Some(ErrorCode::TextTooLong)
    );

    let store = server.state.store.as_ref();
    let guests_only =
        admin::create_client(store, "guests-only", vec!["guests".into()]).await.unwrap();
    let narrow = server
        .api
        .client_token(&guests_only.record.id, &guests_only.secret)
        .await
        .unwrap()
        .access_token;
    let refused =
        server.api.set_notice(&narrow, deployment, Some("hi")).await.expect_err("no scope");
    assert_eq!(refused.code(), Some(ErrorCode::InsufficientScope));
    assert!(
        refused.to_string().contains("--scope notices"),
        "the refusal names the fix: {refused}"
    );

    let guest = server.guest().await;
    let wrong_kind =
        server.api.notice(&guest.access_token, deployment).await.expect_err("a guest token");
    assert_eq!(wrong_kind.code(), Some(ErrorCode::TokenWrongKind));

    // The limit counts changes that happened, not refused ones: two pass, the third waits.
    server.api.set_notice(&token, deployment, Some("one")).await.unwrap();
    server.api.set_notice(&token, deployment, None).await.unwrap();
    let limited =
        server.api.set_notice(&token, deployment, Some("three")).await.expect_err("over the limit");
    assert_eq!(limited.code(), Some(ErrorCode::RateLimited));
    assert!(limited.to_string().contains("notices_per_deployment_per_min"), "{limited}");
    assert_eq!(
        server.api.notice(&token, deployment).await.unwrap().notice,
        None,
        "the refused change changed nothing"
    );
}

#[tokio::test]
async fn the_widget_reads_the_notice_before_any_session_but_not_from_other_origins() {
    let server = TestServer::start_with(|c| c.limits.widget_reads_per_ip_per_min = 4).await;
    let url = server
        .api
        .url(&porch_wire::WIDGET_CONFIG_PATH.replace("{deployment_id}", &server.deployment.id));
    let read = |origin: Option<&'static str>| {
        let mut request = server.api.http().get(url.clone());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let none: porch_wire::rest::WidgetConfig =
        read(Some(ALLOWED_ORIGIN)).await.unwrap().json().await.unwrap();
    assert_eq!(none.notice, None);

    let token = server.client_token().await;
    let notice = server
        .api
        .set_notice(&token, &server.deployment.id, Some("Closed today"))
        .await
        .unwrap()
        .notice;
    let answer = read(Some(ALLOWED_ORIGIN)).await.unwrap();
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        ALLOWED_ORIGIN,
        "a page of the deployment may read it"
    );
    let config: porch_wire::rest::WidgetConfig = answer.json().await.unwrap();
    assert_eq!(config.notice, notice, "the notice, before any guest session exists");

    let refused = read(Some("https://evil.example")).await.unwrap();
    assert_eq!(refused.status().as_u16(), 403, "a page of another origin");
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["error"], "origin_not_allowed");
    // Browsers send no Origin for a same-origin GET: answered, the notice is public anyway.
    let same_origin: porch_wire::rest::WidgetConfig =
        read(None).await.unwrap().json().await.unwrap();
    assert_eq!(same_origin.notice, notice);
    let limited = read(Some(ALLOWED_ORIGIN)).await.unwrap();
    assert_eq!(limited.status().as_u16(), 429, "the fifth read in a minute from one address");
    assert!(limited.text().await.unwrap().contains("widget_reads_per_ip_per_min"));
}
