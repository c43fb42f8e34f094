//! The token attack battery (issue 9, SECURITY.md): forged, altered, misused and stale tokens,
//! each tried on REST (status, `error`, the RFC 6750 challenge) and on the gateway (`101`, then
//! the documented close code and reason), and the server's log checked for every token.

mod cases;
mod forge;

use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};

use crate::raw::{self, Req};
use crate::server_log;
use crate::support::*;
use cases::{Case, Endpoint, cases};
use forge::Fixture;

const MARKER: &str = porch_wire::PROTOCOL_MARKER;

#[tokio::test]
async fn every_forged_or_misused_token_is_refused_with_its_code_on_rest_and_the_gateway() {
    server_log::capture();
    let f = Fixture::new().await;
    let cases = cases(&f);
    assert!(cases.len() >= 20, "issue 9 asks for at least 20 attacks");
    let mut failures = Vec::new();
    for case in &cases {
        if let Some(expected) = case.rest
            && let Err(why) = check_rest(&f, case, expected).await
        {
            failures.push(format!("{} (REST): {why}", case.name));
        }
        if let Some(expected) = case.gateway
            && let Err(why) = check_gateway(&f, case, expected).await
        {
            failures.push(format!("{} (gateway): {why}", case.name));
        }
    }
    // The genuine token still works after the whole battery: nothing was cached wrongly.
    assert_eq!(rest(&f, Endpoint::Guest, &f.guest.access_token, None).await.0, 200);
    let mut secrets: Vec<&str> = cases.iter().map(|c| c.token.as_str()).collect();
    secrets.extend([
        f.guest.access_token.as_str(),
        f.client_token.as_str(),
        f.agent.access_token.as_str(),
        f.revoked.access_token.as_str(),
    ]);
    server_log::assert_clean(&secrets);
    assert!(
        failures.is_empty(),
        "{} of {} checks failed:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}

/// Status, JSON `error` and `WWW-Authenticate` of one REST call with `token`.
async fn rest(
    f: &Fixture,
    endpoint: Endpoint,
    token: &str,
    origin: Option<&str>,
) -> (u16, String, Option<String>) {
    let http = f.server.api.http();
    let mut request = match endpoint {
        Endpoint::Guest => http.get(f.server.api.url(porch_wire::GUEST_MESSAGES_PATH)),
        Endpoint::Agent => http.get(
            f.server.agent_api.url(&format!("{}/conversations", porch_wire::AGENT_API_PREFIX)),
        ),
        Endpoint::Client => http
            .post(f.server.api.url(porch_wire::GUESTS_PATH))
            .json(&serde_json::json!({"deploymentId": f.guest.deployment_id})),
    };
    request = request.header("authorization", format!("Bearer {token}"));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge =
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["error"].as_str().unwrap_or("").to_string(), challenge)
}

async fn check_rest(
    f: &Fixture,
    case: &Case,
    (endpoint, status, error): (Endpoint, u16, &str),
) -> Result<(), String> {
    let (got, got_error, challenge) = rest(f, endpoint, &case.token, case.origin).await;
    if (got, got_error.as_str()) != (status, error) && !(status == 200 && got < 300) {
        return Err(format!("{got} `{got_error}`, expected {status} `{error}`"));
    }
    let challenge = challenge.unwrap_or_default();
    match (status, error) {
        // RFC 6750 §3.1: no error code when no credentials came at all.
        (401, "token_missing") if challenge != r#"Bearer realm="porch""# => {
            Err(format!("challenge `{challenge}`"))
        }
        (401, e)
            if e != "token_missing"
                && !(challenge.starts_with("Bearer ")
                    && challenge.contains(r#"error="invalid_token""#)) =>
        {
            Err(format!("no `Bearer error=\"invalid_token\"` challenge: `{challenge}`"))
        }
        _ => Ok(()),
    }
}

async fn check_gateway(f: &Fixture, case: &Case, (code, error): (u16, &str)) -> Result<(), String> {
    let mut request = Req::upgrade(&raw::host(&f.server), porch_wire::GATEWAY_PATH)
        .set("Sec-WebSocket-Protocol", &format!("{MARKER}, {}", case.token));
    if let Some(origin) = case.origin {
        request = request.set("Origin", origin);
    }
    let answer = raw::exchange(&f.server, &request.bytes()).await;
    if answer.hung
        || answer.status != 101
        || answer.header_values("sec-websocket-protocol") != [MARKER]
    {
        return Err(format!(
            "expected 101 echoing the marker, got {} {:?}",
            answer.status,
            answer.header_values("sec-websocket-protocol")
        ));
    }
    if code == 0 {
        return match &answer.frame {
            Some((0x1, payload)) if payload.starts_with(br#"{"type":"ready""#) => Ok(()),
            other => Err(format!("expected `ready`, got {other:?}")),
        };
    }
    match answer.close() {
        Some((got, reason))
            if got == code
                && reason.starts_with(&format!("{error}: "))
                && reason.contains(" [ref ") =>
        {
            Ok(())
        }
        other => Err(format!("close {other:?}, expected {code} `{error}: … [ref …]`")),
    }
}

/// A guest's token reaches its own conversation only, whatever conversation id it names.
#[tokio::test]
async fn a_guest_token_cannot_reach_another_guests_conversation() {
    server_log::capture();
    let server = TestServer::start().await;
    let victim = server.guest().await;
    let (_, mut attacker) = server.connected_guest().await;
    let frame = ClientFrame::Send {
        client_message_id: "x".into(),
        text: "hi".into(),
        conversation_id: Some(victim.conversation_id.clone()),
    };
    attacker.send(&frame).await.unwrap();
    let ServerFrame::Error { code, .. } = expect_frame(&mut attacker, "error").await else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::ConversationUnknown);
    let history = server.api.guest_history(&victim.access_token, "").await.unwrap();
    assert!(history.messages.is_empty(), "nothing reached the victim's conversation");
    server_log::assert_clean(&[&victim.access_token]);
}

/// One customer's OAuth client cannot read or inspect the guests of another.
#[tokio::test]
async fn a_client_token_cannot_reach_another_clients_guests() {
    let server = TestServer::start().await;
    let victim = server.guest().await;
    let other = porch_server::admin::create_client(
        server.state.store.as_ref(),
        "other-backend",
        vec!["guests".into()],
    )
    .await
    .unwrap();
    let other_token =
        server.api.client_token(&other.record.id, &other.secret).await.unwrap().access_token;
    let url = server.api.url(&format!("{}/{}", porch_wire::GUESTS_PATH, victim.guest_id));
    let response = server.api.http().get(url).bearer_auth(&other_token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "guest_unknown", "no hint that the guest exists: {body}");
    let introspection = server
        .api
        .http()
        .post(server.api.url(porch_wire::OAUTH_INTROSPECT_PATH))
        .basic_auth(&other.record.id, Some(&other.secret))
        .form(&[("token", victim.access_token.as_str())])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = introspection.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"active": false}),
        "another client's guest token is not described"
    );
}
