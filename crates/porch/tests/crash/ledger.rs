//! What the clients did and saw, recorded as it happens, for the checker to compare with
//! the store afterwards.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// One message a client tried to send.
#[derive(Clone, Debug)]
pub struct Send {
    pub conversation_id: String,
    pub text: String,
    /// Message id and seq from the first ack, REST or WebSocket.
    pub acked: Option<(String, u64)>,
}

/// One client's final view: per conversation, (seq, message id) in delivery order.
pub type Views = HashMap<String, Vec<(u64, String)>>;

#[derive(Default)]
pub struct Ledger {
    sends: Mutex<HashMap<String, Send>>,
    /// Per observer, per conversation: (seq, message id) in the order delivered.
    views: Mutex<HashMap<String, Views>>,
    pub attempts: AtomicU64,
    pub acks: AtomicU64,
    pub duplicate_acks: AtomicU64,
    /// Reconnects with `afterSeq`, and entries the server replayed in them.
    pub resumes: AtomicU64,
    pub replayed: AtomicU64,
    /// Token refreshes that were answered.
    pub refreshes: AtomicU64,
    pub violations: Mutex<Vec<String>>,
    /// Per guest, the notice (its id) it showed when it was done.
    notices: Mutex<HashMap<String, Option<String>>>,
}

impl Ledger {
    pub fn sent(&self, client_message_id: &str, conversation_id: &str, text: &str) {
        let record =
            Send { conversation_id: conversation_id.into(), text: text.into(), acked: None };
        self.sends.lock().unwrap().entry(client_message_id.into()).or_insert(record);
        self.attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// Records an ack; a second ack for the same id must name the same message.
    pub fn acked(&self, client_message_id: &str, message_id: &str, seq: u64, duplicate: bool) {
        self.acks.fetch_add(1, Ordering::Relaxed);
        if duplicate {
            self.duplicate_acks.fetch_add(1, Ordering::Relaxed);
        }
        let mut sends = self.sends.lock().unwrap();
        let Some(send) = sends.get_mut(client_message_id) else {
            return self.violation(format!("ack for unknown clientMessageId {client_message_id}"));
        };
        match &send.acked {
            None => send.acked = Some((message_id.into(), seq)),
            Some((id, s)) if id == message_id && *s == seq => {}
            Some(first) => {
                let first = first.clone();
                drop(sends);
                self.violation(format!(
                    "{client_message_id} acked as {first:?} and then as ({message_id}, {seq})"
                ));
            }
        }
    }

    pub fn violation(&self, what: String) {
        eprintln!("VIOLATION: {what}");
        self.violations.lock().unwrap().push(what);
    }

    pub fn record_view(&self, observer: &str, views: Views) {
        self.views.lock().unwrap().insert(observer.into(), views);
    }

    pub fn record_notice(&self, observer: &str, notice: Option<String>) {
        self.notices.lock().unwrap().insert(observer.into(), notice);
    }

    #[allow(dead_code)] // Used by the nemesis, not by the crash test that shares this file.
    pub fn notices(&self) -> HashMap<String, Option<String>> {
        self.notices.lock().unwrap().clone()
    }

    pub fn sends(&self) -> HashMap<String, Send> {
        self.sends.lock().unwrap().clone()
    }

    pub fn views(&self) -> HashMap<String, Views> {
        self.views.lock().unwrap().clone()
    }

    pub fn unacked(&self) -> usize {
        self.sends.lock().unwrap().values().filter(|s| s.acked.is_none()).count()
    }
}

/// A client's view of one conversation: appends in order, and reports a gap or a repeat as
/// a violation of "each entry exactly once, in seq order".
pub fn observe(ledger: &Ledger, observer: &str, view: &mut Vec<(u64, String)>, seq: u64, id: &str) {
    let last = view.last().map_or(0, |(s, _)| *s);
    if seq == last + 1 {
        view.push((seq, id.to_string()));
    } else if seq <= last {
        ledger.violation(format!("{observer}: seq {seq} delivered again (last {last})"));
    } else {
        ledger.violation(format!("{observer}: gap, seq {seq} after {last}"));
        view.push((seq, id.to_string()));
    }
}
