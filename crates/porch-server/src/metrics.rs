//! Counters, served as Prometheus text at `/metrics`.
//!
//! Process-wide atomics rather than a registry: the set is small and fixed, a counter bump
//! is one relaxed `fetch_add`, and nothing here allocates on a hot path. Refusals are counted
//! by cause (`ErrorCode`), so an operator sees at a glance whether clients fail on expired
//! tokens, wrong origins or misspelled subprotocols.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use porch_wire::ErrorCode;

const CODES: usize = ErrorCode::ALL.len();

pub struct Metrics {
    refusals: [AtomicU64; CODES],
    handshakes: AtomicU64,
    sessions_open: AtomicI64,
    messages_stored: AtomicU64,
    connections_open: AtomicI64,
    connections_refused: AtomicU64,
    throttle_untracked: AtomicU64,
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
        let gauges: [(&str, &str, &str, i64); 10] = [
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
        out
    }
}

pub async fn handler(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> impl axum::response::IntoResponse {
    let mut text = METRICS.render();
    // Tasks alive in the runtime: flat under churn, or something leaks (porch-bench soak).
    let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let _ = writeln!(
        text,
        "# HELP porch_runtime_tasks Tasks alive in the async runtime.\n# TYPE porch_runtime_tasks gauge\nporch_runtime_tasks {tasks}"
    );
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
