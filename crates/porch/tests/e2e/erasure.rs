//! Erasure (docs/identity.md, "Erasure"; issue 20, item 6): the builder's backend erases a
//! customer; their live session closes with `guest_erased`, their other sessions are refused,
//! history keeps its sequence with tombstones, and no text of theirs is left in any row of the
//! store (SQLite here, PostgreSQL with `PORCH_TEST_CLUSTER=1`), the webhook outbox and agents'
//! previews of the latest entries included.
//! Again is harmless; an unknown customer is `customer_unknown`.

use std::collections::BTreeMap;

use porch_core::webhook::{DeliveryState, EventType};
use porch_server::config::WebhookTargets;
use porch_server::{admin, webhooks};
use porch_wire::ErrorCode;
use porch_wire::rest::{CreateGuestRequest, GuestSession, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::store_scan;
use crate::support::*;

const TARGETS: WebhookTargets = WebhookTargets { allow_http: true, allow_private: true };
/// What the erased customer wrote or was described with: none of it may remain.
const ERASED: &[&str] =
    &["zq-text", "Zelda Quux", "zelda@quux.test", "platinum-zq", "crm-zq-1", "zq-page", "zq-title"];

async fn customer_session(server: &TestServer, token: &str) -> GuestSession {
    let request = CreateGuestRequest {
        deployment_id: server.deployment.id.clone(),
        display_name: Some("Zelda Quux".into()),
        email: Some("zelda@quux.test".into()),
        external_id: Some("crm-zq-1".into()),
        attributes: BTreeMap::from([("plan".into(), "platinum-zq".into())]),
        context: Some(porch_wire::rest::VisitorContext {
            page_url: Some("https://shop.test/zq-page".into()),
            page_title: Some("zq-title".into()),
            user_agent: None,
        }),
    };
    server.api.create_guest(token, &request).await.expect("guest session")
}

/// A receiver that answers 500 with the request's body: the outbox row's last error then
/// quotes the message, the worst a real receiver could do.
async fn echoing_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let body = read_body(&mut socket).await;
                let answer = format!(
                    "HTTP/1.1 500 Oops\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

/// The body of one request: read past the headers, then `content-length` bytes.
async fn read_body(socket: &mut tokio::net::TcpStream) -> String {
    let mut buffer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return body.to_owned();
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return String::new(),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn leftovers(rows: &[String]) -> Vec<&String> {
    rows.iter().filter(|row| ERASED.iter().any(|word| row.contains(word))).collect()
}

#[tokio::test]
async fn an_erased_customer_leaves_tombstones_and_no_text() {
    let server = TestServer::start_with(|c| {
        c.limits.heartbeat_interval_ms = 200;
        c.webhook_targets = TARGETS;
        c.limits.webhook_poll_interval_ms = 20;
        // One failed attempt, then no retry during the test.
        c.limits.webhook_retry_base_ms = 120_000;
        c.limits.webhook_retry_max_ms = 120_000;
    })
    .await;
    let store = server.state.store.clone();
    let sender = webhooks::Sender::new(TARGETS, 1_000).unwrap();
    let all: Vec<String> = EventType::ALL.iter().map(|t| t.as_str().to_owned()).collect();
    let endpoint = webhooks::register(
        store.as_ref(),
        &sender,
        &server.deployment.id,
        &echoing_receiver().await,
        &all,
    )
    .await
    .unwrap();
    let token = server.client_token().await;

    let phone = customer_session(&server, &token).await;
    let laptop = customer_session(&server, &token).await;
    server.api.guest_send(&phone.access_token, "c-1", "my zq-text one").await.unwrap();
    server.api.guest_send(&laptop.access_token, "c-1", "my zq-text two").await.unwrap();
    let other = server.guest().await;
    server.api.guest_send(&other.access_token, "c-1", "keep-this-text").await.unwrap();
    let agent = server.agent().await;
    server
        .agent_api
        .agent_action(&agent.access_token, &phone.conversation_id, "assign")
        .await
        .unwrap();
    server
        .agent_api
        .agent_send(&agent.access_token, &phone.conversation_id, "a-1", "agent-reply-kept")
        .await
        .unwrap();
    let mut live =
        porch_client::gateway::Gateway::connect(&phone.gateway_url, &phone.access_token, None)
            .await
            .unwrap();
    expect_ready(&mut live).await;

    // The receiver's answer quotes the event in the outbox row's last error: the first of each
    // conversation, `conversation.created` with the guest's name (the rest wait behind it).
    let quoted = async {
        loop {
            let rows =
                store.webhook_deliveries(&endpoint.id, DeliveryState::Pending, 100).await.unwrap();
            if rows
                .iter()
                .any(|d| d.last_error.as_deref().is_some_and(|e| e.contains("Zelda Quux")))
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, quoted).await.expect("a failed delivery quotes the guest");
    assert!(!leftovers(&store_scan::rows(&server).await).is_empty(), "the scan sees the texts");

    // A client without the scope cannot erase.
    let refused = server.api.erase_customer(&token, &server.deployment.id, "crm-zq-1").await;
    assert_eq!(refused.unwrap_err().code(), Some(ErrorCode::InsufficientScope));
    let eraser =
        admin::create_client(store.as_ref(), "eraser", vec!["erasure".into()]).await.unwrap();
    let eraser =
        server.api.client_token(&eraser.record.id, &eraser.secret).await.unwrap().access_token;

    let erased =
        server.api.erase_customer(&eraser, &server.deployment.id, "crm-zq-1").await.unwrap();
    assert_eq!((erased.guests, erased.messages), (2, 2));
    let mut conversations = vec![phone.conversation_id.clone(), laptop.conversation_id.clone()];
    conversations.sort();
    let mut answered = erased.conversation_ids.clone();
    answered.sort();
    assert_eq!(answered, conversations);

    // The live session ends at its next heartbeat; the other session is refused.
    let (code, reason) = expect_close(&mut live).await;
    assert_eq!(code, 4014, "{reason}");
    assert!(reason.starts_with("guest_erased:"), "{reason}");
    let refused = server.api.guest_send(&laptop.access_token, "c-2", "more").await.err().unwrap();
    assert_eq!(refused.code(), Some(ErrorCode::GuestErased));

    // The log keeps its sequence: the customer's entry is a tombstone, the agent's stays.
    let history = server
        .agent_api
        .agent_history(&agent.access_token, &phone.conversation_id, "after=0")
        .await
        .unwrap();
    let entries: Vec<(u64, Role, &str, bool)> = history
        .messages
        .iter()
        .map(|m| (m.seq, m.sender.role, m.text.as_str(), m.erased))
        .collect();
    assert_eq!(entries[0], (1, Role::Guest, "", true), "{entries:?}");
    assert!(entries[1..].iter().all(|e| !e.3), "agents' and state entries stay: {entries:?}");
    assert!(entries.iter().any(|e| e.2 == "agent-reply-kept"));
    assert!(
        history.messages.iter().all(|m| m.sender.display_name.as_deref() != Some("Zelda Quux"))
    );

    // Agents' lists preview no entry of theirs, an agent's reply quoting them included; the
    // other customer's preview stays.
    for id in &conversations {
        let listed = store.conversation(id).await.unwrap().unwrap();
        assert_eq!(listed.last_message, None, "{id}'s preview is gone");
    }
    let kept = store.conversation(&other.conversation_id).await.unwrap().unwrap();
    assert_eq!(kept.last_message.map(|m| m.preview.text).as_deref(), Some("keep-this-text"));

    let rows = store_scan::rows(&server).await;
    assert_eq!(leftovers(&rows), Vec::<&String>::new(), "nothing of the customer remains");
    assert!(rows.iter().any(|r| r.contains("keep-this-text")), "other customers' texts stay");

    // Again: nothing new, the same answer. Unknown: its own code.
    let again =
        server.api.erase_customer(&eraser, &server.deployment.id, "crm-zq-1").await.unwrap();
    assert_eq!((again.guests, again.messages), (0, 0));
    let unknown = server.api.erase_customer(&eraser, &server.deployment.id, "crm-nobody").await;
    assert_eq!(unknown.unwrap_err().code(), Some(ErrorCode::CustomerUnknown));
    let nowhere = server.api.erase_customer(&eraser, "dep_nowhere", "crm-zq-1").await;
    assert_eq!(nowhere.unwrap_err().code(), Some(ErrorCode::DeploymentUnknown));
}
