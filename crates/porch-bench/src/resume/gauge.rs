//! Porch's own view of the storm, from `GET /metrics`: how many sessions were open at once.
//! More sessions than guests means old sessions lingered (Porch had not yet noticed their
//! dropped connections) while the same guests' new ones were admitted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use porch_client::Api;

/// How often the gauge is read: often enough to see the overlap, cheap for Porch (one small
/// HTTP answer).
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

#[derive(Default)]
pub struct GaugeStats {
    pub samples: u64,
    /// Most `porch_gateway_sessions` seen in one sample. (Not `porch_tcp_connections`: it
    /// stops counting a connection once it is upgraded to a WebSocket.)
    pub peak_sessions: i64,
    /// The last sample after the cut with more sessions than guests.
    pub lingering_until: Option<Duration>,
}

pub struct Gauge {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<GaugeStats>,
}

impl Gauge {
    /// Samples until stopped. Failed reads (Porch down during a restart) are skipped.
    pub fn start(api: Api, guests: usize, cut: Instant) -> Gauge {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut stats = GaugeStats::default();
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                let Some(text) = metrics(&api).await else {
                    continue;
                };
                let sessions = value(&text, "porch_gateway_sessions").unwrap_or(0);
                stats.samples += 1;
                stats.peak_sessions = stats.peak_sessions.max(sessions);
                if sessions > guests as i64 {
                    stats.lingering_until = Some(cut.elapsed());
                }
            }
            stats
        });
        Gauge { stop, task }
    }

    pub async fn stop(self) -> GaugeStats {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

/// The Prometheus text of `GET /metrics`, if Porch answers.
pub async fn metrics(api: &Api) -> Option<String> {
    let response = api.http().get(api.url("/metrics")).send().await.ok()?;
    response.text().await.ok()
}

/// The value of the line that starts with `name` and a space (or `name{labels}`, given whole).
pub fn value(text: &str, name: &str) -> Option<i64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}
