//! Bad input gets a clear, specific error, and the server keeps working.

use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::CreateGuestRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

/// Posts a form to the token endpoint; returns status, body and headers.
async fn token_request(
    server: &TestServer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let mut request =
        server.api.http().post(server.api.url(porch_wire::OAUTH_TOKEN_PATH)).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap(), headers)
}

#[tokio::test]
async fn the_token_endpoint_follows_rfc_6749() {
    let server = TestServer::start().await;
    let id = server.client_id.clone();
    let secret = server.client_secret.clone();
    let grant = ("grant_type", "client_credentials");
    // (basic, form, status, error)
    type Case<'a> = (Option<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>, u16, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (Some((&id, &secret)), vec![grant], 200, None),
        (None, vec![grant, ("client_id", &id), ("client_secret", &secret)], 200, None),
        (Some((&id, &secret)), vec![grant, ("scope", "guests")], 200, None),
        (Some((&id, "wrong")), vec![grant], 401, Some("invalid_client")),
        (Some(("cli_unknown", &secret)), vec![grant], 401, Some("invalid_client")),
        (None, vec![grant], 401, Some("invalid_client")),
        (
            Some((&id, &secret)),
            vec![("grant_type", "password")],
            400,
            Some("unsupported_grant_type"),
        ),
        (Some((&id, &secret)), vec![], 400, Some("invalid_request")),
        (Some((&id, &secret)), vec![grant, ("client_id", &id)], 400, Some("invalid_request")),
        (Some((&id, &secret)), vec![grant, grant], 400, Some("invalid_request")),
        (Some((&id, &secret)), vec![grant, ("scope", "admin")], 400, Some("invalid_scope")),
    ];
    for (basic, form, status, error) in cases {
        let (got, body, headers) = token_request(&server, basic, &form).await;
        let case = format!("{form:?} basic={}", basic.is_some());
        assert_eq!(got, status, "{case}: {body}");
        assert_eq!(headers["cache-control"], "no-store", "{case}");
        match error {
            None => {
                assert_eq!(body["token_type"], "Bearer");
                assert!(body.get("refresh_token").is_none(), "no refresh token (RFC 6749 §4.4.3)");
            }
            Some(error) => {
                assert_eq!(body["error"], error, "{case}: {body}");
                assert!(!body["error_description"].as_str().unwrap().is_empty());
            }
        }
        if status == 401 {
            assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic"), "{case}");
        }
    }
}

#[tokio::test]
async fn bad_guest_bodies_are_named_precisely() {
    let server = TestServer::start().await;
    let token = server.client_token().await;
    let url = server.api.url(porch_wire::GUESTS_PATH);
    let post = |body: &'static str| {
        server
            .api
            .http()
            .post(url.clone())
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases = [
        ("{", 400, "bad_json", "not valid JSON"),
        (r#"{"deploymentID":"x"}"#, 400, "bad_json", "unknown field `deploymentID`"),
        (r#"{"displayName":"x"}"#, 400, "bad_json", "missing field `deploymentId`"),
        (r#"{"deploymentId":"dep_nope"}"#, 404, "deployment_unknown", "porch deployments list"),
    ];
    for (body, status, error, needle) in cases {
        let response = post(body).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["error"], error, "{body}: {json}");
        assert!(json["error_description"].as_str().unwrap().contains(needle), "{body}: {json}");
    }
    let no_type =
        server.api.http().post(url.clone()).bearer_auth(&token).body("{}").send().await.unwrap();
    assert_eq!(no_type.status().as_u16(), 400);
    let huge = server
        .api
        .http()
        .post(url.clone())
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 70_000])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 413);
    // And the server still works.
    let request =
        CreateGuestRequest { deployment_id: server.deployment.id.clone(), ..Default::default() };
    server.api.create_guest(&token, &request).await.unwrap();
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_lives_on() {
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    let long_text = "x".repeat(4_001);
    let too_long = format!(r#"{{"type":"send","clientMessageId":"l","text":"{long_text}"}}"#);
    let cases: Vec<(String, ErrorCode, &str)> = vec![
        ("{not json".into(), ErrorCode::BadJson, "not JSON"),
        (
            r#"{"type":"shout"}"#.into(),
            ErrorCode::UnknownFrameType,
            "known: send, choose, typing, read, status, accept, decline, transfer, unassign, close, refresh, ping",
        ),
        (r#"{"text":"hi"}"#.into(), ErrorCode::BadFrame, "string `type`"),
        (r#"{"type":"send","text":"hi"}"#.into(), ErrorCode::BadFrame, "clientMessageId"),
        (
            r#"{"type":"send","clientMessageId":"e","text":"   "}"#.into(),
            ErrorCode::BadFrame,
            "empty",
        ),
        (too_long, ErrorCode::TextTooLong, "limit is 4000"),
        (
            r#"{"type":"send","clientMessageId":"c","text":"hi","conversationId":"cnv_other"}"#
                .into(),
            ErrorCode::ConversationUnknown,
            "own conversation",
        ),
    ];
    for (text, code, needle) in cases {
        socket.send_text(&text).await.unwrap();
        let frame = expect_frame(&mut socket, "error").await;
        let ServerFrame::Error { code: got, message, .. } = frame else { unreachable!() };
        assert_eq!(got, code, "{text:.60}");
        assert!(message.contains(needle), "{text:.60}: {message}");
    }
    socket.send_raw(Message::binary(vec![1, 2, 3])).await.unwrap();
    let ServerFrame::Error { code, .. } = expect_frame(&mut socket, "error").await else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::BadFrame);
    socket
        .send(&ClientFrame::Send {
            client_message_id: "ok".into(),
            text: "still here".into(),
            conversation_id: None,
        })
        .await
        .unwrap();
    expect_frame(&mut socket, "ack").await;
}

#[tokio::test]
async fn a_frame_sent_before_ready_arrives_is_still_served() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let mut socket = porch_client::Gateway::connect(&guest.gateway_url, &guest.access_token, None)
        .await
        .unwrap();
    // Sent at once, without reading `ready` first.
    socket
        .send(&ClientFrame::Send {
            client_message_id: "early".into(),
            text: "quick".into(),
            conversation_id: None,
        })
        .await
        .unwrap();
    expect_ready(&mut socket).await;
    let ack = expect_frame(&mut socket, "ack").await;
    assert_eq!(message_of(&ack).client_message_id.as_deref(), Some("early"));
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    socket.send_text(&"x".repeat(64 * 1024 + 1)).await.unwrap();
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!(code, 1009);
    assert!(reason.starts_with("message_too_big: "), "{reason}");
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    // A text frame whose payload is not UTF-8, sent as raw frame bytes.
    let frame = tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
        vec![0xff, 0xfe],
        tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
            tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
        ),
        true,
    );
    socket.send_raw(Message::Frame(frame)).await.unwrap();
    let (code, _) = expect_close(&mut socket).await;
    assert_eq!(code, 1007);
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let server = TestServer::start().await;
    let response = server.api.http().get(server.api.url("/api/v2/nope")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

/// A whole number written as a float (`3000.0`, which JSON Schema counts as an integer) is read
/// as that integer; one with a fraction is refused with `bad_json` naming the field.
#[tokio::test]
async fn whole_floats_are_integers_and_fractions_are_named() {
    use serde_json::json;
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let path = porch_wire::GUEST_ATTACHMENTS_PATH;
    let request = |id: &str, size: serde_json::Value| json!({"clientMessageId": id, "name": "a.png", "size": size, "contentType": "image/png"});
    let ask = |body| crate::attachments::ask(&server.api, path, &guest.access_token, body);
    let (status, granted) = ask(request("f-1", json!(3000.0))).await;
    assert_eq!(status, 201, "{granted}");
    let (status, granted) = ask(request("f-2", json!(3e3))).await;
    assert_eq!(status, 201, "{granted}");
    let (status, refused) = ask(request("f-3", json!(3000.5))).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("bad_json")), "{refused}");
    let said = refused["error_description"].as_str().unwrap();
    assert!(said.contains("`size` takes a whole number"), "{said}");
}
