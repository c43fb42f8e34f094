//! The reconnect spread of the SDK, and what it does to the storm: after a 42xx close the SDK
//! waits a uniform draw in [0, `RECONNECT_SPREAD_MS`) before its first reconnect
//! (web/public/sdk/backoff.js; docs/protocol.md, close codes 4200–4299), so a restarting
//! node's sessions do not all land in the same millisecond. The harness draws the same way
//! (`--reconnect-spread-ms`; 0: at once, as before) and counts the resumes per `BUCKET` after
//! the cut, so the report shows the arrival rate the spread leaves, beside the resume time.

use std::sync::Mutex;
use std::time::Duration;

/// The SDK's `RECONNECT_SPREAD_MS`, the window docs/protocol.md documents.
pub const SPREAD_MS_DEFAULT: u64 = 3_000;
/// Width of one bucket of the arrival count.
pub const BUCKET: Duration = Duration::from_millis(250);

/// Guest `index`'s wait before its first reconnect: uniform in [0, `window_ms`), from a
/// per-run `seed` (SplitMix64 of the two: no random crate for one draw per guest).
pub fn first_delay(index: usize, seed: u64, window_ms: u64) -> Duration {
    if window_ms == 0 {
        return Duration::ZERO;
    }
    let mut z = seed.wrapping_add((index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let window_us = window_ms * 1000;
    Duration::from_micros(z % window_us)
}

/// Resumes per `BUCKET` after the cut.
#[derive(Default)]
pub struct Arrivals(Mutex<Vec<u64>>);

impl Arrivals {
    /// One guest resumed `at` after the cut.
    pub fn record(&self, at: Duration) {
        let bucket = (at.as_micros() / BUCKET.as_micros()) as usize;
        let mut counts = self.0.lock().expect("not poisoned");
        if counts.len() <= bucket {
            counts.resize(bucket + 1, 0);
        }
        counts[bucket] += 1;
    }

    /// The counts, bucket 0 first (the cut to `BUCKET`).
    pub fn counts(&self) -> Vec<u64> {
        self.0.lock().expect("not poisoned").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_fill_the_window_evenly() {
        let window_ms = 3_000;
        let mut thirds = [0u32; 3];
        for i in 0..30_000 {
            let d = first_delay(i, 42, window_ms);
            assert!(d < Duration::from_millis(window_ms));
            thirds[(d.as_millis() / 1_000) as usize] += 1;
        }
        // 10,000 expected in each third; a fair draw stays well within 5%.
        assert!(thirds.iter().all(|&n| (9_500..=10_500).contains(&n)), "{thirds:?}");
        assert_eq!(first_delay(7, 42, 0), Duration::ZERO);
    }

    #[test]
    fn arrivals_count_per_bucket() {
        let a = Arrivals::default();
        a.record(Duration::from_millis(10));
        a.record(Duration::from_millis(240));
        a.record(Duration::from_millis(600));
        assert_eq!(a.counts(), vec![2, 0, 1]);
    }
}
