//! What the S1b coordinator and its worker processes say to each other: one JSON object per
//! line, orders on the worker's stdin, answers on its stdout (its stderr is the coordinator's,
//! for humans). And the notice text, which carries the coordinator's send time to every guest.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Coordinator → worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Order {
    /// A guest to connect later: its index in the run (which picks its source address), the
    /// node it connects to (an index into the worker's `--node-url`s) and its token.
    Guest { index: usize, node: usize, token: String },
    /// Connect every guest received so far, then answer `Connected`.
    Connect,
    /// Answer `Received` for notice `seq` once every connected guest has it, or at
    /// `deadline_us` (µs since the Unix epoch) with the guests that have it by then.
    Collect { seq: u32, deadline_us: u64 },
}

/// Worker → coordinator.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Answer {
    /// While connecting, every second.
    Progress { ready: u64, failed: u64 },
    /// Every guest was tried: how many got `ready`, how many did not, and the first errors.
    Connected { ready: u64, failed: u64, first_errors: Vec<String> },
    /// Notice `seq`: the receipt latency (µs) of each guest that got it, in no order.
    Received {
        seq: u32,
        latencies_us: Vec<u64>,
        /// Connected guests that did not get it by the deadline.
        missed: u64,
        /// Guests that got it more than once.
        duplicated: u64,
        /// Connections that had ended by then (closed by the server, or an error).
        closed: u64,
    },
    /// The worker gave up; it exits after this.
    Failed { error: String },
}

/// Microseconds since the Unix epoch: the clock every process on the machine shares.
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// The text of notice `seq`, sent at `sent_us` (µs since the Unix epoch).
pub fn notice_text(seq: u32, sent_us: u64) -> String {
    format!("S1b notice {seq} sent_us={sent_us}")
}

/// `(seq, sent_us)` from a text `notice_text` wrote.
pub fn parse_notice_text(text: &str) -> Option<(u32, u64)> {
    let rest = text.strip_prefix("S1b notice ")?;
    let (seq, sent) = rest.split_once(" sent_us=")?;
    Some((seq.parse().ok()?, sent.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_text_round_trips() {
        assert_eq!(
            parse_notice_text(&notice_text(3, 1_700_000_000_123_456)),
            Some((3, 1_700_000_000_123_456))
        );
        assert_eq!(parse_notice_text("the shop closes at 6"), None);
    }

    #[test]
    fn orders_are_one_line_of_json() {
        let line = serde_json::to_string(&Order::Collect { seq: 1, deadline_us: 2 }).unwrap();
        assert_eq!(line, r#"{"type":"collect","seq":1,"deadline_us":2}"#);
        assert!(matches!(serde_json::from_str(&line).unwrap(), Order::Collect { seq: 1, .. }));
    }
}
