//! Queue positions (docs/routing.md, "Queue positions"): where a waiting guest stands in its
//! queue, and how long it may still wait, from what the store read of the queue.

use porch_wire::rest::QueuePosition;

use crate::limits::QUEUE_WAIT_ESTIMATE_MAX_MS;

/// One read of a queue (`Store::queue_standing`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStanding {
    /// The waiting conversations' ids in the order offers take them: oldest first (by start,
    /// ties by id), at most `QUEUE_POSITIONS_MAX`.
    pub waiting: Vec<String>,
    /// The queue's most recent waits in milliseconds (a conversation's start to its first
    /// assignment), most recent first, at most `QUEUE_WAIT_SAMPLES_MAX`.
    pub waits_ms: Vec<u64>,
}

/// The median of `waits_ms` (the lower middle of an even count); `None` when empty.
pub fn median_ms(waits_ms: &[u64]) -> Option<u64> {
    let mut sorted = waits_ms.to_vec();
    sorted.sort_unstable();
    let middle = sorted.len().checked_sub(1)? / 2;
    sorted.get(middle).copied()
}

/// The estimate of a guest at `position`: the median of the queue's recent waits, times the
/// position, divided by the agents who could take a conversation now (at least one: with
/// nobody available the queue still moves at its usual pace once someone is), at most
/// `QUEUE_WAIT_ESTIMATE_MAX_MS`. `None` while the queue has no history.
pub fn estimate_wait_ms(waits_ms: &[u64], position: u32, agents_free: u32) -> Option<u64> {
    let median = median_ms(waits_ms)?;
    let spread = median.saturating_mul(u64::from(position)) / u64::from(agents_free.max(1));
    Some(spread.min(QUEUE_WAIT_ESTIMATE_MAX_MS))
}

/// Every waiting conversation of the read with its position (1 = next) and estimate.
pub fn positions(
    standing: &QueueStanding,
    agents_free: u32,
) -> impl Iterator<Item = (&str, QueuePosition)> {
    standing.waiting.iter().zip(1u32..).map(move |(id, position)| {
        let estimated_wait_ms = estimate_wait_ms(&standing.waits_ms, position, agents_free);
        (id.as_str(), QueuePosition { position, estimated_wait_ms })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_lower_middle() {
        assert_eq!(median_ms(&[]), None);
        assert_eq!(median_ms(&[7]), Some(7));
        assert_eq!(median_ms(&[30, 10, 20]), Some(20));
        assert_eq!(median_ms(&[40, 10, 30, 20]), Some(20));
    }

    #[test]
    fn estimates_grow_with_the_position_and_shrink_with_free_agents() {
        let waits = [60_000, 120_000, 90_000];
        assert_eq!(estimate_wait_ms(&waits, 1, 1), Some(90_000));
        assert_eq!(estimate_wait_ms(&waits, 3, 1), Some(270_000));
        assert_eq!(estimate_wait_ms(&waits, 3, 3), Some(90_000));
        assert_eq!(estimate_wait_ms(&waits, 2, 0), Some(180_000), "nobody free counts as one");
        assert_eq!(estimate_wait_ms(&[], 1, 1), None, "no history, no estimate");
        assert_eq!(
            estimate_wait_ms(&[u64::MAX], u32::MAX, 1),
            Some(QUEUE_WAIT_ESTIMATE_MAX_MS),
            "bounded, without overflow"
        );
    }

    #[test]
    fn positions_follow_the_order_read() {
        let standing =
            QueueStanding { waiting: vec!["cnv_a".into(), "cnv_b".into()], waits_ms: vec![10_000] };
        let all: Vec<_> = positions(&standing, 2).collect();
        assert_eq!(
            all,
            vec![
                ("cnv_a", QueuePosition { position: 1, estimated_wait_ms: Some(5_000) }),
                ("cnv_b", QueuePosition { position: 2, estimated_wait_ms: Some(10_000) }),
            ]
        );
    }
}
