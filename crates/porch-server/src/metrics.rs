//! Counters, served as Prometheus text at `/metrics`.
//!
//! Process-wide atomics rather than a registry: the set is small and fixed, a counter bump
//! is one relaxed `fetch_add`, and nothing here allocates on a hot path. Refusals are counted
//! by cause (`ErrorCode`), so an operator sees at a glance whether clients fail on expired
//! tokens, wrong origins or misspelled subprotocols. Latencies are `histogram::Histogram`s,
//! atomics too.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use porch_wire::ErrorCode;

pub mod histogram;

pub use histogram::Histogram;

const CODES: usize = ErrorCode::ALL.len();

pub struct Metrics {
    refusals: [AtomicU64; CODES],
    handshakes: AtomicU64,
    sessions_open: AtomicI64,
    messages_stored: AtomicU64,
    connections_open: AtomicI64,
    connections_refused: AtomicU64,
    throttle_untracked: AtomicU64,
    broker_dropped: AtomicU64,
    /// From an upgrade request's arrival to its verdict (origin, token, records): the server's
    /// part of a handshake, refused ones included.
    pub handshake_latency: Histogram,
    /// One append to the store, from the call to its durable commit.
    pub commit_latency: Histogram,
    /// Handing one committed event to this node's sessions (the hub) and the broker.
    pub fanout_latency: Histogram,
    webhooks_delivered: AtomicU64,
    webhooks_retried: AtomicU64,
    webhooks_dead: AtomicU64,
    webhooks_in_flight: AtomicI64,
}

pub static METRICS: Metrics = Metrics {
    refusals: [const { AtomicU64::new(0) }; CODES],
    handshakes: AtomicU64::new(0),
    sessions_open: AtomicI64::new(0),
    messages_stored: AtomicU64::new(0),
    connections_open: AtomicI64::new(0),
    connections_refused: AtomicU64::new(0),
    throttle_untracked: AtomicU64::new(0),
    broker_dropped: AtomicU64::new(0),
    handshake_latency: Histogram::new(),
    commit_latency: Histogram::new(),
    fanout_latency: Histogram::new(),
    webhooks_delivered: AtomicU64::new(0),
    webhooks_retried: AtomicU64::new(0),
    webhooks_dead: AtomicU64::new(0),
    webhooks_in_flight: AtomicI64::new(0),
};

/// What became of a webhook delivery attempt (`webhook`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    Delivered,
    Retried,
    Dead,
}

impl Metrics {
    pub fn refused(&self, code: ErrorCode) {
        let index = ErrorCode::ALL.iter().position(|c| *c == code).expect("every code is in ALL");
        self.refusals[index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn refusals(&self, code: ErrorCode) -> u64 {
        let index = ErrorCode::ALL.iter().position(|c| *c == code).expect("every code is in ALL");
        self.refusals[index].load(Ordering::Relaxed)
    }

    pub fn handshake(&self) {
        self.handshakes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_opened(&self) {
        self.sessions_open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_closed(&self) {
        self.sessions_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn message_stored(&self) {
        self.messages_stored.fetch_add(1, Ordering::Relaxed);
    }

    /// A TCP connection was accepted (`+1`) or ended (`-1`).
    pub fn connection_open(&self, delta: i64) {
        self.connections_open.fetch_add(delta, Ordering::Relaxed);
    }

    /// A TCP connection was refused at accept (its address is at `connections_per_ip_max`).
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A rate limiter's key table was full, so a new key went untracked (see `throttle`).
    pub fn throttle_untracked(&self) {
        self.throttle_untracked.fetch_add(1, Ordering::Relaxed);
    }

    /// An event did not reach the broker (its queue full, `NATS_PUBLISH_QUEUE_MAX`, or the
    /// publish failed), to be recovered from the store by the sessions that needed it.
    pub fn broker_dropped(&self) {
        self.broker_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook attempt started (`+1`) or ended (`-1`).
    pub fn webhook_in_flight(&self, delta: i64) {
        self.webhooks_in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    /// A webhook attempt's outcome.
    pub fn webhook(&self, outcome: WebhookOutcome) {
        self.webhook_counter(outcome).fetch_add(1, Ordering::Relaxed);
    }

    pub fn webhooks(&self, outcome: WebhookOutcome) -> u64 {
        self.webhook_counter(outcome).load(Ordering::Relaxed)
    }

    pub fn webhooks_in_flight(&self) -> i64 {
        self.webhooks_in_flight.load(Ordering::Relaxed)
    }

    fn webhook_counter(&self, outcome: WebhookOutcome) -> &AtomicU64 {
        match outcome {
            WebhookOutcome::Delivered => &self.webhooks_delivered,
            WebhookOutcome::Retried => &self.webhooks_retried,
            WebhookOutcome::Dead => &self.webhooks_dead,
        }
    }

    /// Open TCP connections, as counted by the accept loop.
    pub fn connections_open(&self) -> i64 {
        self.connections_open.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP porch_refusals_total Requests and connections refused, by error code.\n",
        );
        out.push_str("# TYPE porch_refusals_total counter\n");
        for (code, count) in ErrorCode::ALL.iter().zip(&self.refusals) {
            let _ = writeln!(
                out,
                "porch_refusals_total{{code=\"{code}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let gauges: [(&str, &str, &str, i64); 11] = [
            (
                "porch_gateway_upgrades_total",
                "counter",
                "WebSocket upgrades answered with 101.",
                self.handshakes.load(Ordering::Relaxed) as i64,
            ),
            (
                "porch_gateway_sessions",
                "gauge",
                "Authenticated sessions open now.",
                self.sessions_open.load(Ordering::Relaxed),
            ),
            (
                "porch_messages_stored_total",
                "counter",
                "Messages durably stored (duplicates not counted).",
                self.messages_stored.load(Ordering::Relaxed) as i64,
            ),
            (
                "porch_tcp_connections",
                "gauge",
                "TCP connections open now (HTTP and WebSocket).",
                self.connections_open.load(Ordering::Relaxed),
            ),
            (
                "porch_tcp_connections_refused_total",
                "counter",
                "TCP connections refused because their address was at connections_per_ip_max.",
                self.connections_refused.load(Ordering::Relaxed) as i64,
            ),
            (
                "porch_throttle_untracked_total",
                "counter",
                "Keys let through untracked because a limiter's table was full.",
                self.throttle_untracked.load(Ordering::Relaxed) as i64,
            ),
            (
                "porch_broker_dropped_total",
                "counter",
                "Live events not handed to NATS (its publish queue full, NATS_PUBLISH_QUEUE_MAX, or the publish failed); sessions on other nodes recover them from the store.",
                self.broker_dropped.load(Ordering::Relaxed) as i64,
            ),
            (
                "porch_webhooks_delivered_total",
                "counter",
                "Webhook deliveries a receiver answered with 2xx.",
                self.webhooks_delivered.load(Ordering::Relaxed) as i64,
            ),
            (
                "porch_webhooks_retried_total",
                "counter",
                "Webhook attempts that failed and are tried again later.",
                self.webhooks_retried.load(Ordering::Relaxed) as i64,
            ),
            (
                "porch_webhooks_dead_total",
                "counter",
                "Webhook deliveries dead-lettered (porch webhooks dead, replay).",
                self.webhooks_dead.load(Ordering::Relaxed) as i64,
            ),
            (
                "porch_webhooks_in_flight",
                "gauge",
                "Webhook attempts in flight on this node.",
                self.webhooks_in_flight.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        let histograms = [
            (
                &self.handshake_latency,
                "porch_gateway_handshake_seconds",
                "Time from a WebSocket upgrade request to its verdict (origin, token and records checked), refusals included.",
            ),
            (
                &self.commit_latency,
                "porch_store_commit_seconds",
                "Time of one append to the store, from the call to its durable commit.",
            ),
            (
                &self.fanout_latency,
                "porch_fanout_seconds",
                "Time to hand one committed event to this node's sessions and to the broker.",
            ),
        ];
        for (histogram, name, help) in histograms {
            histogram.render(&mut out, name, help);
        }
        out
    }
}

/// `/metrics` on the public listener: not found there when an internal listener serves it
/// (`metrics_listen`), so the public internet never reads a node's figures.
pub async fn handler(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.config.metrics_internal {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    internal_handler(axum::extract::State(state)).await.into_response()
}

/// `/metrics` on the internal listener (and on the public one without it).
pub async fn internal_handler(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> impl axum::response::IntoResponse {
    let mut text = METRICS.render();
    // Tasks alive in the runtime: flat under churn, or something leaks (porch-bench soak).
    let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let _ = writeln!(
        text,
        "# HELP porch_runtime_tasks Tasks alive in the async runtime.\n# TYPE porch_runtime_tasks gauge\nporch_runtime_tasks {tasks}"
    );
    store_pressure(&mut text, state.store.pressure());
    crate::attachments::usage::render(&state, &mut text).await;
    if let Some(space) = state.space.report() {
        let _ = writeln!(
            text,
            "# HELP porch_data_dir_free_bytes Free bytes on the disk of the SQLite data directory.\n\
             # TYPE porch_data_dir_free_bytes gauge\nporch_data_dir_free_bytes {}",
            space.free_bytes
        );
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The store's queue and pool, read at scrape time.
fn store_pressure(text: &mut String, pressure: porch_core::store::StorePressure) {
    if let Some(queued) = pressure.write_queue {
        let _ = writeln!(
            text,
            "# HELP porch_store_write_queue Writes waiting for the SQLite writer (senders wait beyond WRITE_QUEUE_MAX).\n\
             # TYPE porch_store_write_queue gauge\nporch_store_write_queue {queued}"
        );
    }
    if let Some(batches) = pressure.write_batches {
        let _ = writeln!(
            text,
            "# HELP porch_store_write_batches_total Transactions the SQLite writer committed, each a group of writes sharing one fsync.\n\
             # TYPE porch_store_write_batches_total counter\nporch_store_write_batches_total {batches}"
        );
    }
    let gauges = [
        (
            "porch_store_pool_connections",
            "Connections of the store's pool (SQLite's readers, or PostgreSQL's).",
            pressure.pool_size,
        ),
        ("porch_store_pool_in_use", "Pooled store connections in use now.", pressure.pool_in_use),
        (
            "porch_store_pool_waiting",
            "Callers waiting for a pooled store connection now.",
            pressure.pool_waiting,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
}
