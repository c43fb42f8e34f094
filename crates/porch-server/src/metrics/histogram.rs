//! Latency histograms in Prometheus's shape, on atomics: observing one duration is a search
//! over a few fixed bounds and two relaxed `fetch_add`s, with no lock and no allocation, so a
//! handshake, a commit or a fan-out pays nothing it could notice (measured in the test below).
//! A scrape reads the buckets one by one, not as one snapshot; Prometheus tolerates that.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Upper bounds of the buckets, in microseconds: from a quarter of a millisecond (a commit on
/// a fast disk, a handshake with a cached key) to ten seconds (a store at its timeouts).
pub const BOUNDS_US: [u64; 14] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 10_000_000,
];

const BUCKETS: usize = BOUNDS_US.len() + 1;

/// Counts of durations per bucket (the last is `+Inf`) and their sum.
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    sum_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub const fn new() -> Histogram {
        Histogram { buckets: [const { AtomicU64::new(0) }; BUCKETS], sum_us: AtomicU64::new(0) }
    }

    pub fn observe(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let index = BOUNDS_US.iter().position(|bound| us <= *bound).unwrap_or(BOUNDS_US.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Observes the time since `start`.
    pub fn since(&self, start: Instant) {
        self.observe(start.elapsed());
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Appends the histogram in the text exposition format: cumulative `_bucket`s with `le` in
    /// seconds, `_sum` in seconds, `_count`.
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = match BOUNDS_US.get(i) {
                Some(us) => format!("{}", *us as f64 / 1e6),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum_secs = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum_secs}\n{name}_count {cumulative}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_their_bucket_and_render_cumulatively() {
        let h = Histogram::new();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_micros(250));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let mut out = String::new();
        h.render(&mut out, "porch_x_seconds", "X.");
        assert!(out.contains("# TYPE porch_x_seconds histogram\n"), "{out}");
        assert!(out.contains("porch_x_seconds_bucket{le=\"0.00025\"} 2\n"), "{out}");
        assert!(out.contains("porch_x_seconds_bucket{le=\"0.0025\"} 2\n"), "{out}");
        assert!(out.contains("porch_x_seconds_bucket{le=\"0.005\"} 3\n"), "{out}");
        assert!(out.contains("porch_x_seconds_bucket{le=\"10\"} 3\n"), "{out}");
        assert!(out.contains("porch_x_seconds_bucket{le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("porch_x_seconds_count 4\n"), "{out}");
        let sum = out.split("porch_x_seconds_sum ").nth(1).unwrap().lines().next().unwrap();
        assert!((sum.parse::<f64>().unwrap() - 60.00335).abs() < 1e-9, "{out}");
    }

    /// What an observation costs, printed (no timing assertion in CI, ARCHITECTURE.md): four
    /// threads observing into one histogram at once, the worst case of cache-line contention.
    #[test]
    fn an_observation_costs_nanoseconds() {
        const PER_THREAD: u32 = 1_000_000;
        let h = std::sync::Arc::new(Histogram::new());
        let started = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        h.observe(Duration::from_micros(u64::from(i % 5_000 + t)));
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let ns = started.elapsed().as_nanos() as f64 / f64::from(4 * PER_THREAD);
        assert_eq!(h.count(), u64::from(4 * PER_THREAD));
        println!("histogram observe: {ns:.1} ns per observation, 4 threads contending");
    }
}
