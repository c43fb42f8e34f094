//! The independent checker: reads the store itself, with its own connection and its own SQL
//! (the SQLite file here; the nemesis reads PostgreSQL into the same `Log`), and holds every
//! acknowledged write and every observer's view against it.

use std::collections::HashMap;
use std::path::Path;

use crate::ledger::{Ledger, Send};

/// One row of the log, as stored.
pub struct Row {
    pub seq: u64,
    pub id: String,
    pub client_message_id: Option<String>,
    pub text: String,
}

/// Every conversation's rows, in seq order.
pub type Log = HashMap<String, Vec<Row>>;

pub struct Counts {
    pub attempted: usize,
    pub acked: usize,
    pub stored: usize,
    pub delivered: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub view_mismatches: usize,
}

#[allow(dead_code)] // Used by the crash test, not by the nemesis that shares this file.
pub fn check(db: &Path, ledger: &Ledger) -> (Counts, Vec<String>) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the store opens read-only");
    let journal: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    let (counts, mut problems) = check_log(&read_log(&conn), ledger);
    if journal != "wal" {
        problems.push(format!("journal_mode is {journal}, not wal"));
    }
    (counts, problems)
}

/// Holds the ledger against `log`: seqs gap-free, every ack stored once as acknowledged, no
/// text stored twice, every observer's final view equal to the store's.
pub fn check_log(log: &Log, ledger: &Ledger) -> (Counts, Vec<String>) {
    let mut problems = Vec::new();
    for (conversation, rows) in log {
        if !rows.iter().zip(1u64..).all(|(r, s)| r.seq == s) {
            problems.push(format!("{conversation}: seqs are not 1..=n"));
        }
    }
    let sends = ledger.sends();
    let lost = check_acks(log, &sends, &mut problems);
    let duplicated = check_duplicates(log, &mut problems);
    let (delivered, view_mismatches) = check_views(log, ledger, &mut problems);
    let counts = Counts {
        attempted: sends.len(),
        acked: sends.values().filter(|s| s.acked.is_some()).count(),
        stored: log.values().map(Vec::len).sum(),
        delivered,
        lost,
        duplicated,
        view_mismatches,
    };
    (counts, problems)
}

#[allow(dead_code)] // Used by the crash test, not by the nemesis that shares this file.
/// Fails the test on any problem the checker found or violation a client saw, naming the seed
/// that replays the run.
pub fn assert_clean(counts: &Counts, problems: &[String], violations: &[String], seed: u64) {
    assert!(
        problems.is_empty() && violations.is_empty(),
        "seed {seed}\nproblems: {problems:#?}\nviolations: {violations:#?}"
    );
    assert_eq!((counts.lost, counts.duplicated), (0, 0), "seed {seed}");
    assert_eq!(counts.acked, counts.attempted, "draining gets every send acked (seed {seed})");
}

/// A system entry's `client_message_id` is the server's own idempotency key, never a client's:
/// read as none, as the store's readers do (`hide_system_key`), so only clients' sends count.
fn read_log(conn: &rusqlite::Connection) -> Log {
    let mut statement = conn
        .prepare("SELECT conversation_id, seq, id, CASE WHEN sender_role = 'system' THEN NULL ELSE client_message_id END, text FROM messages ORDER BY conversation_id, seq")
        .unwrap();
    let rows = statement
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Row {
                    seq: r.get::<_, i64>(1)? as u64,
                    id: r.get(2)?,
                    client_message_id: r.get(3)?,
                    text: r.get(4)?,
                },
            ))
        })
        .unwrap();
    let mut log: HashMap<String, Vec<Row>> = HashMap::new();
    for row in rows {
        let (conversation, row) = row.unwrap();
        log.entry(conversation).or_default().push(row);
    }
    log
}

/// Every acknowledged send is stored once, with the id and seq its ack named.
fn check_acks(
    log: &HashMap<String, Vec<Row>>,
    sends: &HashMap<String, Send>,
    problems: &mut Vec<String>,
) -> usize {
    let mut lost = 0;
    for (client_message_id, send) in sends {
        let Some((id, seq)) = &send.acked else { continue };
        let rows = log.get(&send.conversation_id).map(Vec::as_slice).unwrap_or_default();
        match rows.iter().find(|r| r.client_message_id.as_deref() == Some(client_message_id)) {
            Some(r) if &r.id == id && r.seq == *seq && r.text == send.text => {}
            Some(r) => problems.push(format!(
                "{client_message_id}: acked as ({id}, {seq}), stored as ({}, {})",
                r.id, r.seq
            )),
            None => {
                lost += 1;
                problems.push(format!(
                    "LOST: {client_message_id} was acked as ({id}, {seq}) but is not in the store"
                ));
            }
        }
    }
    lost
}

/// Every text was sent once, so it may be stored at most once.
fn check_duplicates(log: &HashMap<String, Vec<Row>>, problems: &mut Vec<String>) -> usize {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for row in log.values().flatten().filter(|r| r.client_message_id.is_some()) {
        *seen.entry(row.text.as_str()).or_default() += 1;
    }
    let duplicated: Vec<_> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
    for (text, n) in &duplicated {
        problems.push(format!("DUPLICATE: `{text}` stored {n} times"));
    }
    duplicated.len()
}

/// Every observer's final view of a conversation equals the store's log of it.
fn check_views(
    log: &HashMap<String, Vec<Row>>,
    ledger: &Ledger,
    problems: &mut Vec<String>,
) -> (usize, usize) {
    let (mut delivered, mut mismatches) = (0, 0);
    for (observer, views) in ledger.views() {
        for (conversation, view) in views {
            delivered += view.len();
            let stored: Vec<(u64, String)> = log
                .get(&conversation)
                .map(|rows| rows.iter().map(|r| (r.seq, r.id.clone())).collect())
                .unwrap_or_default();
            if view != stored {
                mismatches += 1;
                problems.push(format!(
                    "{observer} saw {} entries of {conversation}, the store has {}",
                    view.len(),
                    stored.len()
                ));
            }
        }
    }
    (delivered, mismatches)
}
