//! Porch as a cluster (issue 7): two `porch` processes on one PostgreSQL database and one
//! NATS server, the ones running on this machine (127.0.0.1:5432 database `test`, and
//! 127.0.0.1:4222). Each test makes its own database and drops it afterwards.

mod ambiguous;
mod cold_start;
mod commit_cut;
mod frozen;
mod outage;
#[path = "../crash/server.rs"]
mod server;

use std::time::{Duration, Instant};

use porch_client::{Api, Event, Gateway};
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{CreateGuestRequest, GuestSession};

use crate::outage::Outage;
use crate::server::Porch;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
const NATS: &str = "127.0.0.1:4222";
const WAIT: Duration = Duration::from_secs(10);

/// A fresh database on the machine's PostgreSQL, dropped when this is dropped.
struct Database {
    name: String,
}

impl Database {
    async fn create() -> Database {
        let name = porch_core::ids::new_id("pdb").replace('_', "");
        let (client, connection) =
            tokio_postgres::connect(&format!("{POSTGRES}/test"), tokio_postgres::NoTls)
                .await
                .expect("PostgreSQL runs on 127.0.0.1:5432 (CI and developer machines have it)");
        tokio::spawn(connection);
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        Database { name }
    }

    fn url(&self) -> String {
        format!("{POSTGRES}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::process::Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-qc",
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ])
            .output();
    }
}

/// Two nodes sharing `db`; node 1 reaches NATS through `nats1` (a proxy the test controls).
fn nodes(db: &Database, nats1: &str) -> (Porch, Porch) {
    let dir = cluster_dir();
    (node(db, &dir, "node-1", nats1), node(db, &dir, "node-2", NATS))
}

/// A directory for the nodes of one test cluster.
fn cluster_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cls"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Node `id` of the cluster on `db`, reaching NATS at `nats`.
fn node(db: &Database, dir: &std::path::Path, id: &str, nats: &str) -> Porch {
    let mut node = Porch::new(dir.join(id));
    node.env = vec![
        ("PORCH_STORE".into(), db.url()),
        ("PORCH_BROKER".into(), format!("nats://{nats}")),
        ("PORCH_NODE_ID".into(), id.into()),
        // Tests run in parallel on one NATS server: one subject per test cluster.
        ("PORCH_BROKER_SUBJECT".into(), format!("porch.test.{}", db.name)),
    ];
    node
}

fn cli(node: &Porch, args: &[&str]) -> serde_json::Value {
    let output = server::porch_command(&node.data_dir)
        .envs(node.env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(output.status.success(), "porch {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

struct Setup {
    guest: GuestSession,
    agent_token: String,
}

async fn setup(node1: &Porch, node2: &Porch) -> Setup {
    let (request, token) = backend(node1, "cluster").await;
    let agent = cli(node2, &["agents", "create", "--name", "cluster-agent"]);
    let guest = Api::new(&node1.base_url()).create_guest(&token, &request).await.unwrap();
    let agent_token = Api::new(&node2.base_url())
        .agent_login("cluster-agent", agent["secret"].as_str().unwrap())
        .await
        .unwrap()
        .access_token;
    Setup { guest, agent_token }
}

/// A customer's backend, made through `node`'s CLI: a deployment and a client named `name`.
/// Returns the request for a guest of that deployment and a client token `node` issued.
async fn backend(node: &Porch, name: &str) -> (CreateGuestRequest, String) {
    let deployment = cli(node, &["deployments", "create", "--name", name]);
    let client = cli(node, &["clients", "create", "--name", name, "--scope", "guests"]);
    let token = Api::new(&node.base_url())
        .client_token(client["id"].as_str().unwrap(), client["secret"].as_str().unwrap())
        .await
        .unwrap()
        .access_token;
    let request = CreateGuestRequest {
        deployment_id: deployment["id"].as_str().unwrap().into(),
        ..Default::default()
    };
    (request, token)
}

fn gateway(node: &Porch) -> String {
    format!("ws://127.0.0.1:{}{}", node.port, porch_wire::GATEWAY_PATH)
}

async fn ready(socket: &mut Gateway) -> porch_wire::frame::Ready {
    match socket.next(WAIT).await {
        Some(Event::Frame(ServerFrame::Ready(r))) => r,
        other => panic!("expected ready, got {other:?}"),
    }
}

/// Waits for the `message` with this text; returns its seq.
async fn message_with(socket: &mut Gateway, text: &str) -> u64 {
    let want = text.to_string();
    match socket
        .wait_for(
            WAIT,
            move |f| matches!(f, ServerFrame::Message { message } if message.text == want),
        )
        .await
    {
        Ok(ServerFrame::Message { message }) => message.seq,
        other => panic!("no message `{text}`: {other:?}"),
    }
}

fn send(text: &str, conversation_id: Option<&str>) -> ClientFrame {
    ClientFrame::Send {
        client_message_id: text.replace(' ', "-"),
        text: text.into(),
        conversation_id: conversation_id.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_and_an_agent_on_two_nodes_converse_and_survive_a_node_kill() {
    let db = Database::create().await;
    let (mut node1, mut node2) = nodes(&db, NATS);
    node1.start();
    node2.start();
    let Setup { guest, agent_token } = setup(&node1, &node2).await;
    let conversation = guest.conversation_id.clone();

    let mut guest_socket =
        Gateway::connect(&gateway(&node1), &guest.access_token, None).await.unwrap();
    ready(&mut guest_socket).await;
    let mut agent_socket = Gateway::connect(&gateway(&node2), &agent_token, None).await.unwrap();
    ready(&mut agent_socket).await;
    for i in 0..10 {
        guest_socket.send(&send(&format!("guest {i}"), None)).await.unwrap();
        message_with(&mut agent_socket, &format!("guest {i}")).await;
        agent_socket.send(&send(&format!("agent {i}"), Some(&conversation))).await.unwrap();
        message_with(&mut guest_socket, &format!("agent {i}")).await;
    }
    let seen = history(&node2, &guest).await;

    // Node 1 dies; the guest moves to node 2 and resumes where it was.
    node1.kill();
    assert!(
        matches!(
            guest_socket.next(WAIT).await,
            Some(Event::Dropped(_)) | Some(Event::Closed { .. })
        ),
        "the guest notices"
    );
    agent_socket.send(&send("while you moved", Some(&conversation))).await.unwrap();
    let last = seen.last().unwrap().0;
    let mut moved =
        Gateway::connect(&gateway(&node2), &guest.access_token, Some(last)).await.unwrap();
    let resumed = ready(&mut moved).await;
    assert!(resumed.resume.as_ref().unwrap().recovered, "{resumed:?}");
    let seq = message_with(&mut moved, "while you moved").await;
    assert_eq!(seq, last + 1, "nothing between the last entry seen and the first replayed");
    moved.send(&send("from node 2 now", None)).await.unwrap();
    message_with(&mut agent_socket, "from node 2 now").await;

    // Every entry once, in order, as the shared store has it.
    let stored = history(&node2, &guest).await;
    assert_eq!(stored.len(), seen.len() + 2);
    assert!(stored.iter().zip(1u64..).all(|((s, _), n)| *s == n), "gap-free: {stored:?}");
    assert_eq!(&stored[..seen.len()], &seen[..], "node 2 serves what node 1 stored");
    node2.stop();
}

/// The guest's whole log, as `(seq, text)`, page by page.
async fn history(node: &Porch, guest: &GuestSession) -> Vec<(u64, String)> {
    let api = Api::new(&node.base_url());
    let mut entries: Vec<(u64, String)> = Vec::new();
    loop {
        let after = entries.last().map_or(0, |(seq, _)| *seq);
        let query = format!("after={after}&limit=200");
        let page = api.guest_history(&guest.access_token, &query).await.unwrap();
        if page.messages.is_empty() {
            return entries;
        }
        entries.extend(page.messages.into_iter().map(|m| (m.seq, m.text)));
    }
}

/// Node 1 loses NATS for 6 s. Meanwhile it refuses sends (retryable, nothing stored) and is
/// not ready; the guest's socket stays open. When NATS returns, within 5 s node 1 is ready
/// again, the guest has what the agent wrote during the outage, and its retried send lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_from_nats_refuses_sends_then_recovers_everything() {
    let db = Database::create().await;
    let proxy = Outage::start(NATS.parse().unwrap()).await;
    let (mut node1, mut node2) = nodes(&db, &proxy.addr.to_string());
    node1.start();
    node2.start();
    let Setup { guest, agent_token } = setup(&node1, &node2).await;
    let conversation = guest.conversation_id.clone();
    let api1 = Api::new(&node1.base_url());
    let api2 = Api::new(&node2.base_url());
    let mut guest_socket =
        Gateway::connect(&gateway(&node1), &guest.access_token, None).await.unwrap();
    ready(&mut guest_socket).await;

    proxy.down();
    until(WAIT, || async { readyz(&api1).await == 503 })
        .await
        .expect("node 1 reports not ready while NATS is away");
    guest_socket.send(&send("during the outage", None)).await.unwrap();
    let refused =
        guest_socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Error { .. })).await.unwrap();
    let ServerFrame::Error { code, .. } = refused else { unreachable!() };
    assert_eq!(code, porch_wire::ErrorCode::BrokerUnavailable);
    assert_eq!(
        code.spec().close_code.reconnect_class(),
        porch_wire::ReconnectClass::Backoff,
        "retryable"
    );
    api2.agent_send(&agent_token, &conversation, "a1", "written on node 2 during the outage")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await; // the outage lasts: nothing to wait for

    proxy.up();
    let back = Instant::now();
    until(Duration::from_secs(5), || async { readyz(&api1).await == 200 })
        .await
        .expect("node 1 ready within 5 s of NATS returning");
    message_with(&mut guest_socket, "written on node 2 during the outage").await;
    guest_socket.send(&send("during the outage", None)).await.unwrap();
    let ack = guest_socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. })).await.unwrap();
    assert!(back.elapsed() < Duration::from_secs(5) + WAIT, "recovered");
    let ServerFrame::Ack { duplicate, .. } = ack else { unreachable!() };
    assert!(!duplicate, "the refused send was not stored the first time");
    let stored = history(&node2, &guest).await;
    assert_eq!(stored.iter().filter(|(_, t)| t == "during the outage").count(), 1);
    node1.stop();
    node2.stop();
}

async fn readyz(api: &Api) -> u16 {
    match api.http().get(api.url("/readyz")).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// Polls `condition` every 100 ms until it holds or `limit` passes.
async fn until<F, Fut>(limit: Duration, condition: F) -> Result<(), ()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(())
}

/// A node loses PostgreSQL for 6 s: it is not ready, refuses sends with a retryable error
/// (nothing acknowledged), and within 5 s of PostgreSQL returning it serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_from_postgres_refuses_sends_then_recovers() {
    let db = Database::create().await;
    let proxy = Outage::start("127.0.0.1:5432".parse().unwrap()).await;
    let (mut node, _) = nodes(&db, NATS);
    node.env[0].1 = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    node.start();
    let Setup { guest, .. } = setup(&node, &node).await;
    let api = Api::new(&node.base_url());
    let mut socket = Gateway::connect(&gateway(&node), &guest.access_token, None).await.unwrap();
    ready(&mut socket).await;

    proxy.down();
    until(WAIT, || async { readyz(&api).await == 503 })
        .await
        .expect("not ready while PostgreSQL is away");
    socket.send(&send("while the database is away", None)).await.unwrap();
    let refused = socket
        .wait_for(WAIT, |f| matches!(f, ServerFrame::Error { .. } | ServerFrame::Ack { .. }))
        .await
        .unwrap();
    let ServerFrame::Error { code, .. } = refused else {
        panic!("acknowledged without a store: {refused:?}")
    };
    assert_eq!(code, porch_wire::ErrorCode::StoreUnavailable);
    // A new connection meanwhile is told to back off, not to give up.
    let mut newcomer = Gateway::connect(&gateway(&node), &guest.access_token, None).await.unwrap();
    let (close, reason) = newcomer.wait_close(WAIT).await.unwrap();
    assert_eq!(
        porch_wire::CloseCode(close).reconnect_class(),
        porch_wire::ReconnectClass::Backoff,
        "{close} {reason}"
    );
    tokio::time::sleep(Duration::from_secs(6)).await; // the outage lasts: nothing to wait for

    proxy.up();
    until(Duration::from_secs(5), || async { readyz(&api).await == 200 })
        .await
        .expect("ready within 5 s of PostgreSQL returning");
    socket.send(&send("while the database is away", None)).await.unwrap();
    let ack = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. })).await.unwrap();
    let ServerFrame::Ack { duplicate, .. } = ack else { unreachable!() };
    assert!(!duplicate, "the refused send was not stored");
    let stored = history(&node, &guest).await;
    assert_eq!(stored.iter().filter(|(_, t)| t == "while the database is away").count(), 1);
    node.stop();
}

/// PostgreSQL unreachable at start: the server says where it tried, and exits non-zero.
#[test]
fn a_node_without_its_database_says_so_and_exits() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cls"));
    let output = server::porch_command(&dir)
        .env("PORCH_STORE", "postgres://postgres:secret@127.0.0.1:1/test")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("secret"), "the password stays out of the message: {stderr}");
}
