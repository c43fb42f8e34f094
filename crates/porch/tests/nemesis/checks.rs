//! What the nemesis adds to the crash test's checker: the log read straight from PostgreSQL
//! (not through a node), the deployment's notices (a backend sets them during the faults;
//! every guest must end up showing the last), and the hook for "no conversation with two
//! owners".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::checker::{Log, Row};
use crate::endpoints::Endpoint;
use crate::ledger::Ledger;
use crate::nemesis::{Injected, Random};

/// A REST call to a node that is frozen or cut off gives up after this long.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

async fn connect(store: SocketAddr) -> tokio_postgres::Client {
    let url = format!("host={} port={} user=postgres dbname=postgres", store.ip(), store.port());
    let (client, connection) =
        tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("the test's PostgreSQL");
    tokio::spawn(connection);
    client
}

/// Every conversation's log, as PostgreSQL has it (system entries' keys read as none, as in
/// `crash/checker.rs`).
pub async fn read_postgres(store: SocketAddr) -> Log {
    let client = connect(store).await;
    let rows = client
        .query(
            "SELECT conversation_id, seq, id, CASE WHEN sender_role = 'system' THEN NULL ELSE client_message_id END, text FROM messages ORDER BY conversation_id, seq",
            &[],
        )
        .await
        .unwrap();
    let mut log = Log::new();
    for row in rows {
        let entry = Row {
            seq: row.get::<_, i64>(1) as u64,
            id: row.get(2),
            client_message_id: row.get(3),
            text: row.get(4),
        };
        log.entry(row.get(0)).or_default().push(entry);
    }
    log
}

/// The hook for "no conversation with two owners": today a conversation has one owner, the
/// agent it is assigned to, and the store must record that assignment once (an assignment
/// logged twice would be a retry after an unknown outcome that took effect twice). When
/// conversations get an owning node (branch `routing`), check here that no two nodes owned
/// one at once, from the owners' records.
pub async fn one_owner_per_conversation(store: SocketAddr) -> Vec<String> {
    let client = connect(store).await;
    let rows = client
        .query(
            "SELECT conversation_id, count(*) FROM messages WHERE event = 'assigned' GROUP BY conversation_id HAVING count(*) > 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let (conversation, n): (String, i64) = (r.get(0), r.get(1));
            format!("TWO OWNERS: {conversation} was assigned {n} times")
        })
        .collect()
}

/// Every guest ended up showing the last notice set.
pub fn notices(ledger: &Ledger, last: &str) -> Vec<String> {
    ledger
        .notices()
        .into_iter()
        .filter(|(_, shown)| shown.as_deref() != Some(last))
        .map(|(guest, shown)| format!("NOTICE: {guest} shows {shown:?}, not the last one, {last}"))
        .collect()
}

/// The customer's backend, setting the deployment's notice through any node.
#[derive(Clone)]
pub struct Notices {
    pub client_token: String,
    pub deployment_id: String,
    pub random: Arc<Mutex<Random>>,
}

impl Notices {
    /// One attempt through a node picked at random; the new notice's id if it was answered.
    async fn set(&self, endpoints: &[Endpoint], text: &str) -> Option<String> {
        let pick = (self.random.lock().unwrap().next() % endpoints.len() as u64) as usize;
        let call =
            endpoints[pick].api.set_notice(&self.client_token, &self.deployment_id, Some(text));
        let state = tokio::time::timeout(CALL_TIMEOUT, call).await.ok()?.ok()?;
        state.notice.map(|n| n.id)
    }

    /// Sets a new notice every 1–3 s until `until`; returns how many were answered.
    pub async fn keep_setting(self, endpoints: Vec<Endpoint>, seed: u64, until: Instant) -> u64 {
        let mut random = Random(seed | 1);
        let mut set = 0;
        for n in 0.. {
            if Instant::now() >= until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1_000 + random.next() % 2_000)).await;
            if self.set(&endpoints, &format!("notice {n}")).await.is_some() {
                set += 1;
            }
        }
        set
    }

    /// The last notice, set once everything is healed; its id.
    pub async fn set_final(&self, endpoints: &[Endpoint]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(id) = self.set(endpoints, "the last notice").await {
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "no node took the last notice within 60 s of healing"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The table of SECURITY.md: per fault class, how many and for how long.
pub fn print_table(injected: &Injected, seconds: u64) {
    println!("nemesis: faults injected in {seconds} s (two may overlap)");
    println!("| fault | injected | total time |");
    println!("|---|---:|---:|");
    for (class, (count, length)) in injected {
        println!("| {class} | {count} | {:.1} s |", length.as_secs_f64());
    }
}
