//! What a run measured: latency histograms, counters with progress lines, and the report
//! (one table row, one JSON object).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies in microseconds, shared by the tasks of a run. A mutex rather than one
/// histogram per task: 1,000 tasks × ~128 KiB of buckets would cost more than the lock.
#[derive(Clone)]
pub struct Latencies(Arc<Mutex<Histogram<u64>>>);

impl Latencies {
    pub fn new() -> Latencies {
        // 1 µs to 10 min, 3 significant digits.
        let histogram = Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
        Latencies(Arc::new(Mutex::new(histogram)))
    }

    pub fn record(&self, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, 600_000_000);
        self.0.lock().expect("not poisoned").record(micros).expect("within bounds");
    }

    pub fn summary(&self) -> Option<LatencyMs> {
        let h = self.0.lock().expect("not poisoned");
        if h.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(LatencyMs {
            p50: ms(h.value_at_quantile(0.50)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Operations done and failed, read by the progress line.
#[derive(Clone, Default)]
pub struct Counters {
    pub ok: Arc<AtomicU64>,
    pub errors: Arc<AtomicU64>,
}

impl Counters {
    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
    pub fn add_ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Prints `label: t=…s ok=… err=… rate=…/s` to stderr every second until dropped.
pub struct Progress(tokio::task::JoinHandle<()>);

impl Progress {
    pub fn start(label: String, counters: Counters) -> Progress {
        Progress(tokio::spawn(async move {
            let start = Instant::now();
            let mut last = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let ok = counters.ok();
                eprintln!(
                    "  {label}: t={:.0}s ok={ok} err={} rate={}/s",
                    start.elapsed().as_secs_f64(),
                    counters.errors(),
                    ok - last
                );
                last = ok;
            }
        }))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One scenario against one target.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub scenario: String,
    pub target: String,
    pub params: String,
    pub ops: u64,
    pub errors: u64,
    pub secs: f64,
    /// Operations per second over `secs`.
    pub rate: f64,
    pub latency_ms: Option<LatencyMs>,
    /// Server CPU time (user + system, all threads) per operation.
    pub server_cpu_us_per_op: Option<f64>,
    pub server_rss_kib: Option<u64>,
    /// Scenario-specific figures: losses, order violations, KiB per connection.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    pub fn extra(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.extra.insert(key.to_string(), value.into());
    }
}

pub fn print_table(reports: &[Report]) {
    println!(
        "\n{:<10} {:<7} {:<28} {:>8} {:>5} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8}  extra",
        "scenario",
        "target",
        "params",
        "ops",
        "err",
        "rate/s",
        "p50 ms",
        "p99 ms",
        "p999 ms",
        "max ms",
        "cpu µs/op",
        "RSS MiB"
    );
    for r in reports {
        let l = r.latency_ms;
        let f =
            |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        let extra: Vec<String> = r.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{:<10} {:<7} {:<28} {:>8} {:>5} {:>10.0} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8}  {}",
            r.scenario,
            r.target,
            r.params,
            r.ops,
            r.errors,
            r.rate,
            f(l.map(|l| l.p50), 2),
            f(l.map(|l| l.p99), 2),
            f(l.map(|l| l.p999), 2),
            f(l.map(|l| l.max), 1),
            f(r.server_cpu_us_per_op, 1),
            f(r.server_rss_kib.map(|k| k as f64 / 1024.0), 1),
            extra.join(" ")
        );
    }
}
