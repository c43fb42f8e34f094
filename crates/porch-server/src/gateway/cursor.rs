//! Delivering one conversation's log in `seq` order, each entry exactly once.
//!
//! Live events come from the hub, which may drop (a lagging subscriber) or reorder (two
//! senders publish in the other order than they committed) entries. A session keeps, per
//! conversation, the last `seq` it delivered; `plan` says what to do with a live entry. A gap
//! is filled from the store, which holds every entry below a committed one, since `seq` is
//! assigned in commit order. This module is pure, so it is property-tested.

use std::collections::HashMap;

/// What to do with a live entry of sequence `seq`, given `last_delivered`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Already delivered (a duplicate or a late, reordered publish): drop it.
    Skip,
    /// The next one: send it.
    Deliver,
    /// Entries `last_delivered+1 ..= seq` must come from the store, then `last_delivered` = `seq`.
    Fill { after_seq: u64, count: u64 },
}

pub fn plan(last_delivered: u64, seq: u64) -> Plan {
    if seq <= last_delivered {
        Plan::Skip
    } else if seq == last_delivered + 1 {
        Plan::Deliver
    } else {
        Plan::Fill { after_seq: last_delivered, count: seq - last_delivered }
    }
}

/// What a resume request (`afterSeq`) turns into, given the conversation's head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumePlan {
    /// Replay `count` entries after `after_seq`.
    Replay { after_seq: u64, count: u64 },
    /// Nothing to replay at all.
    UpToDate,
    /// The client is further behind than `resume_messages_max`.
    TooFarBehind { missed: u64 },
    /// The client claims entries the conversation does not have.
    Ahead,
}

pub fn plan_resume(after_seq: u64, head_seq: u64, resume_messages_max: u64) -> ResumePlan {
    if after_seq > head_seq {
        ResumePlan::Ahead
    } else if after_seq == head_seq {
        ResumePlan::UpToDate
    } else if head_seq - after_seq > resume_messages_max {
        ResumePlan::TooFarBehind { missed: head_seq - after_seq }
    } else {
        ResumePlan::Replay { after_seq, count: head_seq - after_seq }
    }
}

/// Per conversation, the last `seq` delivered to one client. A guest's session follows one
/// conversation for hours, so the first conversation's cursor is kept inline: a hash table for
/// one entry is a 160-byte allocation of every idle guest (S1). An agent's others go in the
/// table, boxed so that a guest's session carries one empty pointer for it.
#[derive(Default)]
pub struct Cursors {
    first: Option<(Box<str>, u64)>,
    #[expect(
        clippy::box_collection,
        reason = "an empty HashMap is 48 bytes inline in every guest's session; the box, 8"
    )]
    rest: Option<Box<HashMap<String, u64>>>,
}

impl Cursors {
    pub fn get(&self, conversation_id: &str) -> Option<u64> {
        match &self.first {
            Some((id, seq)) if **id == *conversation_id => Some(*seq),
            _ => self.rest.as_ref()?.get(conversation_id).copied(),
        }
    }

    pub fn set(&mut self, conversation_id: &str, seq: u64) {
        match &mut self.first {
            Some((id, last)) if **id == *conversation_id => *last = seq,
            Some(_) => {
                self.rest.get_or_insert_default().insert(conversation_id.to_owned(), seq);
            }
            None => self.first = Some((conversation_id.into(), seq)),
        }
    }

    /// The cursor of `conversation_id`, started at `seq` if it has none.
    pub fn get_or_start(&mut self, conversation_id: &str, seq: u64) -> u64 {
        if let Some(last) = self.get(conversation_id) {
            return last;
        }
        self.set(conversation_id, seq);
        seq
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Delivers live arrivals through `plan`, filling gaps from a store that holds everything
    /// up to the largest seq seen (seq is assigned in commit order, so a committed seq implies
    /// every smaller one). Returns what the client received.
    fn deliver(last: &mut u64, arrivals: &[u64], received: &mut Vec<u64>) {
        for &seq in arrivals {
            match plan(*last, seq) {
                Plan::Skip => {}
                Plan::Deliver => {
                    received.push(seq);
                    *last = seq;
                }
                Plan::Fill { after_seq, count } => {
                    received.extend(after_seq + 1..=after_seq + count);
                    *last = seq;
                }
            }
        }
    }

    proptest! {
        /// Any arrival order, with losses and repeats, delivers 1..=max once each, in order.
        #[test]
        fn live_arrivals_in_any_order_deliver_each_seq_once(arrivals in prop::collection::vec(1u64..60, 0..120)) {
            let (mut last, mut received) = (0, Vec::new());
            deliver(&mut last, &arrivals, &mut received);
            let max = arrivals.iter().copied().max().unwrap_or(0);
            prop_assert_eq!(received, (1..=max).collect::<Vec<_>>());
        }

        /// A whole client life: entries are appended, the hub drops, repeats and reorders them,
        /// and the client disconnects and resumes with `afterSeq` = the last it saw, paging
        /// history when the server refuses the resume. Whatever happens, the client's view is
        /// exactly the log: no gap, no duplicate.
        #[test]
        fn resume_and_live_delivery_never_lose_or_repeat(
            steps in prop::collection::vec((1u64..6, any::<bool>(), prop::collection::vec(0usize..8, 0..8)), 1..30),
            resume_max in 1u64..10,
        ) {
            let mut head = 0u64;
            let mut view: Vec<u64> = Vec::new();
            let mut last = 0u64; // the server session's cursor
            for (appended, reconnect, picks) in steps {
                let first_new = head + 1;
                head += appended;
                // The hub hands over some of the new entries, maybe twice, in any order.
                let live: Vec<u64> = picks.iter().map(|p| first_new + (*p as u64 % appended)).collect();
                deliver(&mut last, &live, &mut view);
                if reconnect {
                    let after = view.last().copied().unwrap_or(0);
                    match plan_resume(after, head, resume_max) {
                        ResumePlan::Replay { after_seq, count } => view.extend(after_seq + 1..=after_seq + count),
                        ResumePlan::UpToDate => {}
                        ResumePlan::TooFarBehind { .. } => view.extend(after + 1..=head), // pages history
                        ResumePlan::Ahead => prop_assert!(false, "a client never claims more than the log"),
                    }
                    last = head;
                }
            }
            // A last reconnect catches the client up with the log.
            let after = view.last().copied().unwrap_or(0);
            if after < head {
                view.extend(after + 1..=head);
            }
            prop_assert_eq!(view, (1..=head).collect::<Vec<_>>());
        }
    }

    #[test]
    fn resume_plans() {
        assert_eq!(plan_resume(3, 10, 100), ResumePlan::Replay { after_seq: 3, count: 7 });
        assert_eq!(plan_resume(10, 10, 100), ResumePlan::UpToDate);
        assert_eq!(plan_resume(0, 500, 100), ResumePlan::TooFarBehind { missed: 500 });
        assert_eq!(plan_resume(11, 10, 100), ResumePlan::Ahead);
    }

    #[test]
    fn cursors_keep_each_conversation_apart() {
        let mut cursors = Cursors::default();
        assert_eq!(cursors.get("cnv_a"), None);
        assert_eq!(cursors.get_or_start("cnv_a", 3), 3);
        assert_eq!(cursors.get_or_start("cnv_a", 9), 3, "started once");
        cursors.set("cnv_b", 5);
        cursors.set("cnv_a", 4);
        assert_eq!((cursors.get("cnv_a"), cursors.get("cnv_b")), (Some(4), Some(5)));
        assert_eq!(cursors.get_or_start("cnv_c", 1), 1);
        cursors.set("cnv_b", 6);
        assert_eq!((cursors.get("cnv_b"), cursors.get("cnv_c")), (Some(6), Some(1)));
    }
}
