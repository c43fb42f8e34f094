//! A real Porch server for tests: the whole stack (embedded store, router, gateway) on
//! 127.0.0.1:0 in this process, with a deployment, a client and an agent made the way the
//! CLI makes them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use porch_client::api::Api;
use porch_client::gateway::Gateway;
use porch_core::model::DeploymentRecord;
use porch_core::token::{Claims, TokenKind};
use porch_server::{AppState, ServerConfig, admin};
use porch_wire::frame::ServerFrame;
use porch_wire::rest::{AgentSession, CreateGuestRequest, GuestSession};

/// The origin the test deployment allows.
pub const ALLOWED_ORIGIN: &str = "https://shop.example";
/// How long a test waits for any one thing to happen.
pub const WAIT: Duration = Duration::from_secs(5);

pub struct TestServer {
    /// Node 1: the customer's backend and guests talk to it.
    pub api: Api,
    /// Node 2 in cluster mode (node 1 otherwise): agents log in and connect here.
    pub agent_api: Api,
    pub gateway_url: String,
    pub state: AppState,
    pub deployment: DeploymentRecord,
    pub client_id: String,
    pub client_secret: String,
    pub agent_name: String,
    pub agent_secret: String,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    /// The test's directory: the SQLite file is `porch.db` in it.
    pub dir: PathBuf,
    /// The PostgreSQL schema of a cluster-mode server, dropped with it.
    pub schema: Option<String>,
}

/// `PORCH_TEST_CLUSTER=1` runs every test against two nodes on the machine's PostgreSQL
/// (127.0.0.1:5432, database `test`, a fresh schema per test) and NATS (127.0.0.1:4222):
/// guests on node 1, agents on node 2, so every conversation crosses the broker.
pub fn cluster_mode() -> bool {
    std::env::var("PORCH_TEST_CLUSTER").is_ok_and(|v| v == "1")
}

/// `PORCH_TEST_LOG=warn` (any `RUST_LOG`-style filter) prints the servers' logs on stderr, which
/// nextest shows for a failing test: what a flaky test's nodes saw (a NATS reconnect, a resync).
fn init_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("PORCH_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .try_init();
        }
    });
}

pub const TEST_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One running node: its state, URL, and the handle that stops it.
struct Node {
    state: AppState,
    base_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
}

async fn node(
    store: Arc<dyn porch_core::store::Store>,
    configure: &dyn Fn(&mut ServerConfig),
    cluster: Option<(&str, &str)>,
) -> Node {
    let listener = porch_server::bind("127.0.0.1:0".parse().unwrap(), 1024).expect("binds");
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = ServerConfig {
        public_url: base_url.clone(),
        issuer: "porch-test".into(),
        limits: Default::default(),
        allow_query_token: false,
        webhook_targets: Default::default(),
        conformance_echo: false,
        node_id: porch_core::ids::new_id("nod"),
        broker_url: cluster.map(|(url, _)| url.to_string()),
        broker_subject: cluster
            .map_or(porch_wire::event::SUBJECT.to_string(), |(_, subject)| subject.to_string()),
        broker_access: Default::default(),
        trusted_proxies: Vec::new(),
        data_dir: None,
        metrics_internal: false,
        attachment_types: porch_core::attachment::DEFAULT_TYPES
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
    };
    configure(&mut config);
    let (state, shutdown_tx) =
        porch_server::build_state(store, config).await.expect("state builds");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        let _ = stopped.await;
    };
    tokio::spawn(porch_server::serve(listener, state.clone(), shutdown_tx, signal));
    Node { state, base_url, stop }
}

async fn postgres_store(schema: &str) -> Arc<dyn porch_core::store::Store> {
    let options = porch_store::PostgresOptions {
        url: TEST_POSTGRES.into(),
        schema: Some(schema.into()),
        pool_size: 4,
    };
    Arc::new(
        porch_store::PostgresStore::connect(options)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (cluster mode)"),
    )
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl Fn(&mut ServerConfig)) -> TestServer {
        init_log();
        let dir =
            std::env::temp_dir().join(format!("porch-e2e-{}", porch_core::ids::new_id("tst")));
        let (nodes, schema) = if cluster_mode() {
            let schema = porch_core::ids::new_id("tst").replace("tst_", "e2e_");
            let subject = format!("porch.e2e.{schema}");
            let cluster = Some(("nats://127.0.0.1:4222", subject.as_str()));
            // Node 1 first: it makes the schema and the first signing key node 2 then loads.
            let first = node(postgres_store(&schema).await, &configure, cluster).await;
            let second = node(postgres_store(&schema).await, &configure, cluster).await;
            (vec![first, second], Some(schema))
        } else {
            let options = porch_store::SqliteOptions::new(dir.join("porch.db"));
            let store = Arc::new(porch_store::SqliteStore::open(options).expect("store opens"));
            (vec![node(store, &configure, None).await], None)
        };
        TestServer::on_nodes(nodes, schema, dir).await
    }

    /// Two nodes in this process over one embedded store, each with the broker `configure`
    /// gives it (a test's own NATS): guests on node 1, agents on node 2, so what they say
    /// crosses that broker.
    pub async fn start_pair(configure: impl Fn(&mut ServerConfig)) -> TestServer {
        init_log();
        let dir =
            std::env::temp_dir().join(format!("porch-e2e-{}", porch_core::ids::new_id("tst")));
        let options = porch_store::SqliteOptions::new(dir.join("porch.db"));
        let store: Arc<dyn porch_core::store::Store> =
            Arc::new(porch_store::SqliteStore::open(options).expect("store opens"));
        let first = node(store.clone(), &configure, None).await;
        let second = node(store, &configure, None).await;
        TestServer::on_nodes(vec![first, second], None, dir).await
    }

    /// The test's deployment, client and agent, made on `nodes`' store.
    async fn on_nodes(nodes: Vec<Node>, schema: Option<String>, dir: PathBuf) -> TestServer {
        let store = nodes[0].state.store.clone();
        let spec = admin::DeploymentSpec {
            name: "shop".into(),
            origins: vec![ALLOWED_ORIGIN.into()],
            queue: "default".into(),
            guest_token_ttl_secs: 600,
        };
        let deployment = admin::create_deployment(store.as_ref(), spec).await.unwrap();
        let client = admin::create_client(
            store.as_ref(),
            "backend",
            vec!["guests".into(), "notices".into()],
        )
        .await
        .unwrap();
        let agent =
            admin::create_agent(store.as_ref(), "alice", vec!["default".into()]).await.unwrap();
        let state = nodes[0].state.clone();
        let api = Api::new(&nodes[0].base_url);
        let agent_api = Api::new(&nodes[nodes.len() - 1].base_url);
        TestServer {
            api,
            agent_api,
            gateway_url: state.config.gateway_url(),
            state,
            deployment,
            client_id: client.record.id,
            client_secret: client.secret,
            agent_name: agent.record.name,
            agent_secret: agent.secret,
            stops: nodes.into_iter().map(|n| n.stop).collect(),
            dir,
            schema,
        }
    }

    pub async fn client_token(&self) -> String {
        self.api
            .client_token(&self.client_id, &self.client_secret)
            .await
            .expect("client token")
            .access_token
    }

    pub async fn guest(&self) -> GuestSession {
        let request = CreateGuestRequest {
            deployment_id: self.deployment.id.clone(),
            display_name: Some("Ann".into()),
            ..Default::default()
        };
        self.api.create_guest(&self.client_token().await, &request).await.expect("guest session")
    }

    pub async fn agent(&self) -> AgentSession {
        self.agent_api.agent_login(&self.agent_name, &self.agent_secret).await.expect("agent login")
    }

    /// The files under the data directory's `attachments/` (none in cluster mode, where they
    /// are rows).
    pub fn attachment_files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("attachments")) else {
            return Vec::new();
        };
        let mut names: Vec<String> =
            entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    /// Signs a token with the server's current key, for tests that need odd claims.
    pub fn sign(&self, kind: TokenKind, sub: &str, adjust: impl FnOnce(&mut Claims)) -> String {
        let (_, mut claims) = self.state.mint(kind, sub, 60, |_| {});
        adjust(&mut claims);
        self.state.keys.get().sign(&claims)
    }

    /// A guest connected to the gateway, past `ready`.
    pub async fn connected_guest(&self) -> (GuestSession, Gateway) {
        let session = self.guest().await;
        let mut socket = Gateway::connect(&session.gateway_url, &session.access_token, None)
            .await
            .expect("connects");
        expect_ready(&mut socket).await;
        (session, socket)
    }

    /// An agent connected to the gateway, past `ready`.
    pub async fn connected_agent(&self) -> (AgentSession, Gateway, ServerFrame) {
        let session = self.agent().await;
        let mut socket = Gateway::connect(&session.gateway_url, &session.access_token, None)
            .await
            .expect("connects");
        let ready = expect_ready(&mut socket).await;
        (session, socket, ready)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(schema) = &self.schema {
            // Best effort, and off the async runtime: psql is on every machine with the server.
            let _ = std::process::Command::new("psql")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "test",
                    "-qc",
                    &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
                ])
                .output();
        }
    }
}

/// The first frame must be `ready`.
pub async fn expect_ready(socket: &mut Gateway) -> ServerFrame {
    match socket.next(WAIT).await {
        Some(porch_client::Event::Frame(f @ ServerFrame::Ready(_))) => f,
        other => panic!("expected ready first, got {other:?}"),
    }
}

/// Waits for a frame of the given `type`, showing what came instead on failure.
pub async fn expect_frame(socket: &mut Gateway, kind: &str) -> ServerFrame {
    let kind_owned = kind.to_string();
    socket
        .wait_for(WAIT, move |f| frame_type(f) == kind_owned)
        .await
        .unwrap_or_else(|seen| panic!("no `{kind}` frame; saw {seen:?}"))
}

pub fn frame_type(frame: &ServerFrame) -> String {
    serde_json::to_value(frame).unwrap()["type"].as_str().unwrap().to_string()
}

/// Waits for the server's close; returns code and reason.
pub async fn expect_close(socket: &mut Gateway) -> (u16, String) {
    socket.wait_close(WAIT).await.unwrap_or_else(|seen| panic!("no close; saw {seen:?}"))
}

/// Waits on `socket` for the log entry of `conversation_id` with `seq`.
pub async fn entry(
    socket: &mut Gateway,
    conversation_id: &str,
    seq: u64,
) -> porch_wire::rest::Message {
    let id = conversation_id.to_owned();
    let frame = socket
        .wait_for(WAIT, move |f| {
            matches!(f, ServerFrame::Message { message } if message.conversation_id == id && message.seq == seq)
        })
        .await
        .unwrap_or_else(|seen| panic!("no entry {seq}; saw {seen:?}"));
    message_of(&frame).clone()
}

pub fn message_of(frame: &ServerFrame) -> &porch_wire::rest::Message {
    match frame {
        ServerFrame::Message { message } | ServerFrame::Ack { message, .. } => message,
        other => panic!("not a message: {other:?}"),
    }
}

/// Sends raw bytes to the server and returns its whole answer (read until the server closes
/// or 2 s pass): for requests no well-behaved client library would send.
pub async fn raw_http(base_url: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).to_string()
}

/// A file of this checkout, by its path from the repository root. Read through the variable
/// cargo sets when it runs the tests, not `env!`, which a build cache shared by several
/// checkouts (CI's fresh clones) would pin to the checkout that first compiled the tests.
pub fn repo_file(path: &str) -> String {
    let full = repo_path(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {full}: {e}"))
}

/// A path inside the repository, from the crate's manifest directory.
pub fn repo_path(path: &str) -> String {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    format!("{manifest_dir}/../../{path}")
}

/// For tests that play many clients at once from 127.0.0.1 (delivery under load): lifts the
/// per-address and per-guest flood limits, which such a test would otherwise trip on purpose.
/// The limits themselves are tested in `floods.rs`.
pub fn lift_flood_limits(config: &mut ServerConfig) {
    let limits = &mut config.limits;
    limits.handshakes_per_ip_per_sec = 1_000_000;
    limits.handshakes_per_ip_burst = 1_000_000;
    limits.connections_per_ip_max = 1_000_000;
    limits.guest_messages_per_sec = 1_000_000;
    limits.guest_messages_burst = 1_000_000;
}
