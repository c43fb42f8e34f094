//! Webhook deliveries from a real server (docs/webhooks.md): a hanging receiver holds only its
//! own slots, and the healthy endpoint beside it gets every event, in order, signed. The
//! receivers here are plain sockets; tests/python/test_webhooks.py verifies with the
//! `standardwebhooks` library.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use porch_core::webhook::{DeliveryState, EventType, signature_header};
use porch_server::config::WebhookTargets;
use porch_server::webhooks::{self, Sender};
use porch_wire::webhook::WebhookEvent;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::support::{TestServer, WAIT};

pub(crate) const TARGETS: WebhookTargets = WebhookTargets { allow_http: true, allow_private: true };

/// One request as received: its headers (lower-case names) and body.
pub(crate) type Received = (Vec<(String, String)>, Vec<u8>);

/// A receiver that answers 204 to every request, on keep-alive connections, and hands each
/// request to the test.
pub(crate) async fn healthy_receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                while let Some(request) = read_request(&mut socket).await {
                    let _ = tx.send(request);
                    let answer = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
                    if socket.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

pub(crate) async fn read_request(
    socket: &mut BufReader<tokio::net::TcpStream>,
) -> Option<Received> {
    let mut line = String::new();
    socket.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        socket.read_line(&mut line).await.ok()?;
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers.iter().find(|(n, _)| n == "content-length")?.1.parse().ok()?;
    let mut body = vec![0; length];
    socket.read_exact(&mut body).await.ok()?;
    Some((headers, body))
}

/// A receiver that accepts connections and never answers; counts the connections.
async fn hanging_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

fn header<'a>(request: &'a Received, name: &str) -> &'a str {
    request.0.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn a_hanging_receiver_delays_no_other_endpoint() {
    let server = TestServer::start_with(|c| {
        c.webhook_targets = TARGETS;
        c.limits.webhook_poll_interval_ms = 20;
        c.limits.webhook_timeout_ms = 30_000;
        c.limits.webhook_lease_ms = 60_000;
    })
    .await;
    let store = server.state.store.clone();
    let sender = Sender::new(TARGETS, 1_000).unwrap();
    let all: Vec<String> = EventType::ALL.iter().map(|t| t.as_str().to_owned()).collect();
    let (hanging_url, accepted) = hanging_receiver().await;
    let (healthy_url, mut received) = healthy_receiver().await;
    let deployment = &server.deployment.id;
    webhooks::register(store.as_ref(), &sender, deployment, &hanging_url, &all).await.unwrap();
    let healthy =
        webhooks::register(store.as_ref(), &sender, deployment, &healthy_url, &all).await.unwrap();

    // More conversations than the hanging endpoint has slots, so it has more due events than
    // it may attempt at once.
    let mut conversations = Vec::new();
    for g in 0..6 {
        let guest = server.guest().await;
        for i in 1..=2 {
            let (id, text) = (format!("g{g}-{i}"), format!("m{i}"));
            let sent = server.api.guest_send(&guest.access_token, &id, &text).await.unwrap();
            assert_eq!(sent.status, 201);
        }
        conversations.push(guest.conversation_id);
    }
    let mut seen: Vec<(String, u64, String)> = Vec::new();
    while seen.len() < 18 {
        let request = tokio::time::timeout(WAIT, received.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("the healthy endpoint got {} of 18 events: {seen:?}", seen.len())
            })
            .unwrap();
        let id = header(&request, "webhook-id").to_owned();
        let timestamp: i64 = header(&request, "webhook-timestamp").parse().unwrap();
        let signed =
            signature_header(&[healthy.secret.as_str()], &id, timestamp, &request.1).unwrap();
        assert_eq!(
            header(&request, "webhook-signature"),
            signed,
            "signed with the endpoint's secret"
        );
        let event: WebhookEvent = serde_json::from_slice(&request.1).unwrap();
        let seq = event.data.message.as_ref().map_or(0, |m| m.seq);
        seen.push((event.data.conversation_id, seq, event.event_type));
    }
    for conversation in &conversations {
        let order: Vec<u64> =
            seen.iter().filter(|(c, ..)| c == conversation).map(|(_, seq, _)| *seq).collect();
        assert_eq!(order, [0, 1, 2], "in order, once each: {seen:?}");
    }
    // Slots are per node: a cluster-mode server has two.
    let nodes = if crate::support::cluster_mode() { 2 } else { 1 };
    let concurrency = server.state.config.limits.webhook_concurrency_per_endpoint as usize * nodes;
    let held = accepted.load(Ordering::SeqCst);
    assert!(
        (1..=concurrency).contains(&held),
        "the hanging endpoint holds {held} connections, at most its {concurrency} slots ({nodes} nodes)"
    );
    // The last answers may still be on their way to the store.
    let gone = async {
        while !store
            .webhook_deliveries(&healthy.id, DeliveryState::Pending, 100)
            .await
            .unwrap()
            .is_empty()
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, gone).await.expect("delivered rows are deleted");
    // /metrics counts them, and the hanging endpoint's attempts as in flight.
    let metrics = server.api.http().get(server.api.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    let value = |name: &str| -> i64 {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    if !crate::support::cluster_mode() {
        assert_eq!(value("porch_webhooks_delivered_total"), 18, "{metrics}");
        let in_flight = value("porch_webhooks_in_flight") as usize;
        assert!((1..=concurrency).contains(&in_flight), "{metrics}");
    }
}

/// The endpoints API: a client with scope `webhooks` adds, lists and removes a deployment's
/// endpoints; the secret shows once; refused targets, unknown event types and ids, and a
/// client without the scope get their documented codes.
#[tokio::test]
async fn the_backend_manages_endpoints_with_a_scope_of_their_own() {
    let server = TestServer::start_with(|c| {
        c.webhook_targets = WebhookTargets { allow_http: true, allow_private: false };
    })
    .await;
    let store = server.state.store.clone();
    let crm = porch_server::admin::create_client(store.as_ref(), "crm", vec!["webhooks".into()])
        .await
        .unwrap();
    let token = server.api.client_token(&crm.record.id, &crm.secret).await.unwrap().access_token;
    let http = server.api.http();
    let path = porch_wire::WEBHOOK_ENDPOINTS_PATH.replace("{deployment_id}", &server.deployment.id);
    let url = server.api.url(&path);
    let post = |token: String, body: serde_json::Value| {
        let request = http.post(&url).bearer_auth(token).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
        }
    };
    // 203.0.113.7 is public as far as Porch can tell (a documentation range), and is never
    // contacted: registration resolves, it does not connect.
    let body =
        serde_json::json!({"url": "https://203.0.113.7/hooks", "eventTypes": ["message.created"]});
    let (status, created) = post(token.clone(), body).await;
    assert_eq!(status, 201, "{created}");
    let created: porch_wire::webhook::WebhookEndpoint = serde_json::from_value(created).unwrap();
    assert!(created.secret.as_deref().is_some_and(|s| s.starts_with("whsec_")));
    let listed: porch_wire::webhook::WebhookEndpointList =
        http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.endpoints.len(), 1);
    assert_eq!(listed.endpoints[0].id, created.id);
    assert_eq!(listed.endpoints[0].secret, None, "a secret shows once");

    for (body, code) in [
        (
            serde_json::json!({"url": "http://127.0.0.1:9/hooks", "eventTypes": ["message.created"]}),
            "webhook_target_refused",
        ),
        (
            serde_json::json!({"url": "ftp://203.0.113.7/", "eventTypes": ["message.created"]}),
            "webhook_target_refused",
        ),
        (
            serde_json::json!({"url": "https://203.0.113.7/", "eventTypes": ["message.sent"]}),
            "webhook_event_type_unknown",
        ),
        (
            serde_json::json!({"url": "https://203.0.113.7/", "eventTypes": []}),
            "webhook_event_type_unknown",
        ),
    ] {
        let (status, refused) = post(token.clone(), body.clone()).await;
        assert_eq!((status, refused["error"].as_str()), (400, Some(code)), "{body}: {refused}");
    }
    let (status, refused) = post(
        server.client_token().await,
        serde_json::json!({"url": "https://203.0.113.7/", "eventTypes": ["message.created"]}),
    )
    .await;
    assert_eq!((status, refused["error"].as_str()), (403, Some("insufficient_scope")));

    let one = |id: &str| server.api.url(&format!("{path}/{id}"));
    let missing = http.delete(one("whe_none")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let missing: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(missing["error"], "webhook_endpoint_unknown");
    let removed = http.delete(one(&created.id)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(removed.status(), 204);
    assert!(store.webhook_endpoints().await.unwrap().is_empty());
}

/// What `porch webhooks test` and the dead letters say about a failed attempt: a TLS failure
/// (an https:// URL on a port that speaks plain HTTP), a timeout (a receiver that never
/// answers), a refused target; and a delivered one's status.
#[tokio::test]
async fn a_failed_attempt_says_why() {
    let sender = Sender::new(TARGETS, 300).unwrap();
    let (healthy_url, _received) = healthy_receiver().await;
    let (hanging_url, _) = hanging_receiver().await;
    let endpoint = |url: String| porch_core::webhook::WebhookEndpoint {
        id: "whe_test".into(),
        deployment_id: "dep_test".into(),
        url,
        event_types: vec!["message.created".into()],
        secret: porch_core::webhook::new_secret(),
        previous_secret: None,
        previous_secret_until_ms: 0,
        created_at_ms: 0,
    };
    let now_ms = porch_core::time::now_ms();
    let (id, body) = webhooks::render::sample("dep_test", now_ms);
    let post = |url: String| {
        let (sender, id, body) = (sender.clone(), id.clone(), body.clone());
        async move { webhooks::attempt::post(&sender, &endpoint(url), &id, body, now_ms).await }
    };
    let answer = post(healthy_url.clone()).await.unwrap();
    assert_eq!(answer.status, 204);
    let tls = post(healthy_url.replace("http://", "https://")).await.unwrap_err();
    assert!(matches!(tls, webhooks::attempt::Failure::Tls { .. }), "{tls:?}");
    assert!(tls.cause().starts_with("TLS failed"), "{}", tls.cause());
    let timeout = post(hanging_url).await.unwrap_err();
    assert!(timeout.cause().contains("webhook_timeout_ms"), "{}", timeout.cause());
    let strict = Sender::new(WebhookTargets::default(), 300).unwrap();
    let refused = webhooks::attempt::post(&strict, &endpoint(healthy_url), &id, body, now_ms)
        .await
        .unwrap_err();
    assert!(refused.cause().contains("webhook_allow_http"), "{}", refused.cause());
}
