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
}

pub static METRICS: Metrics = Metrics {
    refusals: [const { AtomicU64::new(0) }; CODES],
    handshakes: AtomicU64::new(0),
    sessions_open: AtomicI64::new(0),
    messages_stored: AtomicU64::new(0),
};

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

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP porch_refusals_total Requests and connections refused, by error code.\n");
        out.push_str("# TYPE porch_refusals_total counter\n");
        for (code, count) in ErrorCode::ALL.iter().zip(&self.refusals) {
            let _ = writeln!(out, "porch_refusals_total{{code=\"{code}\"}} {}", count.load(Ordering::Relaxed));
        }
        let gauges: [(&str, &str, &str, i64); 3] = [
            ("porch_gateway_upgrades_total", "counter", "WebSocket upgrades answered with 101.", self.handshakes.load(Ordering::Relaxed) as i64),
            ("porch_gateway_sessions", "gauge", "Authenticated sessions open now.", self.sessions_open.load(Ordering::Relaxed)),
            ("porch_messages_stored_total", "counter", "Messages durably stored (duplicates not counted).", self.messages_stored.load(Ordering::Relaxed) as i64),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        out
    }
}

pub async fn handler() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], METRICS.render())
}
