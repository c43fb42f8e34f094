//! What the customer's backend does with one of its webhook endpoints over the API
//! (docs/api.md, "Webhook endpoints"): rotate its secret with an overlap, list its dead
//! deliveries, replay them. The receiver is a plain socket that is down until the test says;
//! tests/python/test_webhooks.py verifies a rotation with the `standardwebhooks` library.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use porch_core::webhook::signature_header;
use porch_server::config::WebhookTargets;
use porch_wire::webhook::{DeadDeliveryList, WebhookEndpoint, WebhookReplay, WebhookSecret};
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::support::{TestServer, WAIT};
use crate::webhooks::{Received, read_request};

/// A receiver that answers 503 while `down`, 204 after, and hands each request it took (2xx)
/// to the test.
async fn receiver(down: Arc<AtomicBool>) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (tx, down) = (tx.clone(), down.clone());
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                while let Some(request) = read_request(&mut socket).await {
                    let answer: &[u8] = if down.load(Ordering::SeqCst) {
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\ndown"
                    } else {
                        let _ = tx.send(request);
                        b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
                    };
                    if socket.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

fn header<'a>(request: &'a Received, name: &str) -> &'a str {
    request.0.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

/// The backend's calls, with its token.
struct Backend<'a> {
    server: &'a TestServer,
    token: String,
    endpoint_id: String,
}

impl Backend<'_> {
    fn url(&self, path: &str, endpoint_id: &str) -> String {
        let path = path
            .replace("{deployment_id}", &self.server.deployment.id)
            .replace("{endpoint_id}", endpoint_id);
        self.server.api.url(&path)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_on(method, path, &self.endpoint_id, &self.token, body).await
    }

    async fn call_on(
        &self,
        method: &str,
        path: &str,
        endpoint_id: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let http = self.server.api.http();
        let url = self.url(path, endpoint_id);
        let request = match method {
            "GET" => http.get(url),
            _ => http.post(url),
        };
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn dead(&self) -> DeadDeliveryList {
        let (status, body) = self.call("GET", porch_wire::WEBHOOK_DEAD_PATH, None).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }
}

/// A delivery that runs out of attempts is listed with its cause, replayed under the same
/// `webhook-id` once the receiver is back, and gone from the list.
#[tokio::test]
async fn the_backend_lists_and_replays_dead_deliveries() {
    let server = TestServer::start_with(|c| {
        c.webhook_targets = WebhookTargets { allow_http: true, allow_private: true };
        c.limits.webhook_poll_interval_ms = 20;
        // The first failure is past the horizon: dead at once.
        c.limits.webhook_retry_horizon_ms = 1;
    })
    .await;
    let down = Arc::new(AtomicBool::new(true));
    let (url, mut received) = receiver(down.clone()).await;
    let backend = backend(&server, &url).await;

    let guest = server.guest().await;
    let sent = server.api.guest_send(&guest.access_token, "c-1", "hello").await.unwrap();
    assert_eq!(sent.status, 201);
    let dead = tokio::time::timeout(WAIT, async {
        loop {
            let dead = backend.dead().await;
            if !dead.deliveries.is_empty() {
                return dead;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the delivery dies");
    let [delivery] = dead.deliveries.as_slice() else { panic!("one dead delivery: {dead:?}") };
    assert_eq!(
        (delivery.conversation_id.as_str(), delivery.seq, delivery.event_type.as_str()),
        (guest.conversation_id.as_str(), 1, "message.created")
    );
    let cause = delivery.last_error.as_deref().unwrap_or_default();
    assert!(cause.contains("503") && cause.contains("retry horizon"), "{cause}");

    down.store(false, Ordering::SeqCst);
    let (status, replay) = backend.call("POST", porch_wire::WEBHOOK_REPLAY_PATH, None).await;
    assert_eq!(status, 200, "{replay}");
    let replay: WebhookReplay = serde_json::from_value(replay).unwrap();
    assert_eq!(replay.replayed, 1);
    let request = tokio::time::timeout(WAIT, received.recv()).await.expect("replayed").unwrap();
    assert_eq!(header(&request, "webhook-id"), delivery.webhook_id, "the same webhook-id");
    assert!(backend.dead().await.deliveries.is_empty(), "no longer dead");
    let (status, replay) = backend.call("POST", porch_wire::WEBHOOK_REPLAY_PATH, None).await;
    assert_eq!((status, replay["replayed"].as_u64()), (200, Some(0)), "nothing left to replay");
}

/// A rotation over the API: the previous secret signs beside the new one for the overlap the
/// backend asked (at most the operator's), and not at all with an overlap of 0.
#[tokio::test]
async fn the_backend_rotates_a_secret_with_an_overlap() {
    let server = TestServer::start_with(|c| {
        c.webhook_targets = WebhookTargets { allow_http: true, allow_private: true };
        c.limits.webhook_poll_interval_ms = 20;
        c.limits.webhook_secret_overlap_ms = 3_600_000;
    })
    .await;
    let (url, mut received) = receiver(Arc::new(AtomicBool::new(false))).await;
    let backend = backend(&server, &url).await;
    let first = server.state.store.webhook_endpoints().await.unwrap()[0].secret.clone();
    let guest = server.guest().await;
    let mut sent = 0;
    // Sends one message and returns the signature header its delivery carried, checked to be
    // exactly the signatures of `secrets`, in that order.
    let mut next_delivery = async |secrets: &[&str]| {
        sent += 1;
        let id = format!("c-{sent}");
        let posted = server.api.guest_send(&guest.access_token, &id, "hi").await.unwrap();
        assert_eq!(posted.status, 201);
        let request = tokio::time::timeout(WAIT, received.recv()).await.expect("delivered");
        let request = request.unwrap();
        let (id, timestamp) =
            (header(&request, "webhook-id"), header(&request, "webhook-timestamp"));
        let expected =
            signature_header(secrets, id, timestamp.parse().unwrap(), &request.1).unwrap();
        assert_eq!(header(&request, "webhook-signature"), expected, "signed by {secrets:?}");
    };

    let (status, refused) = backend
        .call("POST", porch_wire::WEBHOOK_SECRET_PATH, Some(json!({"overlapMs": 3_600_001})))
        .await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_request")), "{refused}");
    assert!(refused["error_description"].as_str().unwrap().contains("webhook_secret_overlap_ms"));
    next_delivery(&[&first]).await;

    let rotate = async |body: Option<Value>| {
        let (status, rotated) = backend.call("POST", porch_wire::WEBHOOK_SECRET_PATH, body).await;
        assert_eq!(status, 200, "{rotated}");
        serde_json::from_value::<WebhookSecret>(rotated).unwrap()
    };
    let second = rotate(Some(json!({"overlapMs": 600_000}))).await;
    assert!(second.secret.starts_with("whsec_") && second.secret != first);
    let now_ms = porch_core::time::now_ms();
    assert!((now_ms..=now_ms + 600_000).contains(&second.previous_secret_until_ms));
    next_delivery(&[&second.secret, &first]).await;

    // No body: the operator's overlap.
    let third = rotate(None).await;
    assert!(third.previous_secret_until_ms > porch_core::time::now_ms() + 600_000);
    next_delivery(&[&third.secret, &second.secret]).await;

    let fourth = rotate(Some(json!({"overlapMs": 0}))).await;
    next_delivery(&[&fourth.secret]).await;
    let listed = server.state.store.webhook_endpoints().await.unwrap();
    assert_eq!(listed[0].secret, fourth.secret, "the store keeps the newest");
}

/// Another deployment's endpoint, an unknown one, and a client without the scope are refused
/// on each path, and nothing changes.
#[tokio::test]
async fn only_the_deployment_s_backend_reaches_its_endpoints() {
    let server = TestServer::start_with(|c| {
        c.webhook_targets = WebhookTargets { allow_http: true, allow_private: true };
    })
    .await;
    let (url, _received) = receiver(Arc::new(AtomicBool::new(false))).await;
    let backend = backend(&server, &url).await;
    let before = server.state.store.webhook_endpoints().await.unwrap();
    let unscoped = server.client_token().await;
    for path in [
        porch_wire::WEBHOOK_SECRET_PATH,
        porch_wire::WEBHOOK_DEAD_PATH,
        porch_wire::WEBHOOK_REPLAY_PATH,
    ] {
        let method = if path == porch_wire::WEBHOOK_DEAD_PATH { "GET" } else { "POST" };
        let (status, body) = backend.call_on(method, path, "whe_none", &backend.token, None).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("webhook_endpoint_unknown")));
        let endpoint = backend.endpoint_id.as_str();
        let (status, body) = backend.call_on(method, path, endpoint, &unscoped, None).await;
        assert_eq!((status, body["error"].as_str()), (403, Some("insufficient_scope")), "{path}");
    }
    let elsewhere = porch_wire::WEBHOOK_DEAD_PATH
        .replace("{deployment_id}", "dep_none")
        .replace("{endpoint_id}", &backend.endpoint_id);
    let response =
        server.api.http().get(server.api.url(&elsewhere)).bearer_auth(&backend.token).send();
    let body: Value = response.await.unwrap().json().await.unwrap();
    assert_eq!(body["error"], "deployment_unknown");
    assert_eq!(server.state.store.webhook_endpoints().await.unwrap(), before, "nothing changed");
}

/// A client with scope `webhooks` and an endpoint of the deployment, added over the API, for
/// `message.created`.
async fn backend<'a>(server: &'a TestServer, url: &str) -> Backend<'a> {
    let store = server.state.store.clone();
    let crm = porch_server::admin::create_client(store.as_ref(), "crm", vec!["webhooks".into()])
        .await
        .unwrap();
    let token = server.api.client_token(&crm.record.id, &crm.secret).await.unwrap().access_token;
    let path = porch_wire::WEBHOOK_ENDPOINTS_PATH.replace("{deployment_id}", &server.deployment.id);
    let body = json!({"url": url, "eventTypes": ["message.created"]});
    let response =
        server.api.http().post(server.api.url(&path)).bearer_auth(&token).json(&body).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 201);
    let endpoint: WebhookEndpoint = response.json().await.unwrap();
    Backend { server, token, endpoint_id: endpoint.id }
}
