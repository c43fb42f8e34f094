//! A node frozen (SIGSTOP, as a VM pause or a stuck host does it) in the middle of appending
//! to a conversation. It must hold nothing the other nodes need: they keep committing to every
//! conversation, that one included, within the documented bound (docs/deploy.md, "A node that
//! stops answering"); once it thaws (SIGCONT) it serves again, and once killed nothing of what
//! it acknowledged is lost or doubled.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use porch_client::Api;
use porch_wire::ErrorCode;

use crate::server::Porch;
use crate::{Database, NATS, Setup, history, nodes, setup};

/// The documented bound: PostgreSQL ends any statement after `POSTGRES_STATEMENT_TIMEOUT_MS`,
/// and a frozen node holds no lock between statements, so no conversation waits longer for it.
const FROZEN_BOUND: Duration =
    Duration::from_millis(porch_core::limits::POSTGRES_STATEMENT_TIMEOUT_MS);

/// Concurrent senders through each node: as many as a node's pool has connections (16), so
/// waiters that each held one would leave none for anything else.
const WRITERS_PER_NODE: usize = 16;

/// Sends until acknowledged, retrying what the server calls retryable, for at most `bound`.
/// Returns the acknowledged seq.
async fn send_within(
    api: &Api,
    token: &str,
    conversation: &str,
    id: &str,
    bound: Duration,
) -> Result<u64, String> {
    let deadline = Instant::now() + bound;
    loop {
        let attempt =
            tokio::time::timeout_at(deadline.into(), api.agent_send(token, conversation, id, id))
                .await
                .map_err(|_| format!("`{id}` not acknowledged within {bound:?}"))?;
        match attempt {
            Ok(sent) => return Ok(sent.body.message.seq),
            Err(e) if matches!(e.code(), Some(ErrorCode::StoreUnavailable)) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(format!("`{id}` refused: {e}")),
        }
    }
}

/// Acknowledged sends: id → seq.
type Acked = Arc<std::sync::Mutex<BTreeMap<String, u64>>>;

/// Senders through `node` to `conversation`, each sending one message after another until
/// `stop`; every acknowledged id with its seq goes into `acked`. Returns them once every one
/// has sent its first request.
async fn keep_sending(
    node: &Porch,
    token: &str,
    conversation: &str,
    stop: &Arc<AtomicBool>,
    acked: &Acked,
) -> tokio::task::JoinSet<()> {
    let mut writers = tokio::task::JoinSet::new();
    let started = Arc::new(AtomicUsize::new(0));
    for w in 0..WRITERS_PER_NODE {
        let (api, token, conversation) =
            (Api::new(&node.base_url()), token.to_owned(), conversation.to_owned());
        let (stop, acked, port) = (Arc::clone(stop), Arc::clone(acked), node.port);
        let started = Arc::clone(&started);
        writers.spawn(async move {
            started.fetch_add(1, Ordering::SeqCst);
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let id = format!("n{port}-w{w}-{i}");
                match api.agent_send(&token, &conversation, &id, &id).await {
                    Ok(sent) => {
                        acked.lock().unwrap().insert(id, sent.body.message.seq);
                    }
                    // Refused (retryable) or cut off with the node: not acknowledged.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
    }
    crate::until(Duration::from_secs(10), || async {
        started.load(Ordering::SeqCst) == WRITERS_PER_NODE
    })
    .await
    .expect("every sender starts");
    writers
}

fn signal(node: &Porch, name: &str) {
    let status =
        std::process::Command::new("kill").args(["-s", name, &node.pid().to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -s {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_node_stalls_no_conversation_and_loses_nothing() {
    let db = Database::create().await;
    let (mut frozen, mut healthy) = nodes(&db, NATS);
    frozen.start();
    healthy.start();
    let Setup { guest, agent_token } = setup(&frozen, &healthy).await;
    let hot = guest.conversation_id.clone();
    let other = other_conversation(&healthy).await;
    let api = Api::new(&healthy.base_url());
    for conversation in [&hot, &other] {
        api.agent_action(&agent_token, conversation, "assign").await.unwrap();
    }

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let mut writers = keep_sending(&frozen, &agent_token, &hot, &stop, &acked).await;
    // Freeze it mid-stream: with this many senders, some append of the hot conversation is
    // always under way on it.
    crate::until(Duration::from_secs(10), || async { acked.lock().unwrap().len() >= 50 })
        .await
        .expect("the first node appends");
    signal(&frozen, "STOP");

    // As many senders through the other node, on the frozen node's conversation: however
    // long they wait, the other conversations keep committing, and so does theirs.
    let mut healthy_writers = keep_sending(&healthy, &agent_token, &hot, &stop, &acked).await;
    for i in 0..3 {
        send_within(&api, &agent_token, &other, &format!("while frozen: other {i}"), FROZEN_BOUND)
            .await
            .unwrap_or_else(|e| panic!("the other node commits to another conversation: {e}"));
    }
    send_within(&api, &agent_token, &hot, "while frozen: hot", FROZEN_BOUND)
        .await
        .expect("the other node commits to the frozen node's conversation");

    signal(&frozen, "CONT");
    let thawed = Api::new(&frozen.base_url());
    send_within(&thawed, &agent_token, &hot, "thawed", FROZEN_BOUND)
        .await
        .expect("the thawed node serves again");

    // Frozen again, and killed while frozen: the other node carries on.
    signal(&frozen, "STOP");
    frozen.kill();
    send_within(&api, &agent_token, &hot, "after the kill", FROZEN_BOUND)
        .await
        .expect("the other node commits after the kill");
    stop.store(true, Ordering::SeqCst);
    while writers.join_next().await.is_some() {}
    while healthy_writers.join_next().await.is_some() {}

    let acked = acked.lock().unwrap().clone();
    every_ack_stored_once(&healthy, &guest, &acked).await;
    healthy.stop();
}

/// A second guest's conversation, created through `node`.
async fn other_conversation(node: &Porch) -> String {
    let (request, token) = crate::backend(node, "other").await;
    let guest = Api::new(&node.base_url()).create_guest(&token, &request).await.unwrap();
    guest.conversation_id
}

/// The hot conversation's log is gap-free and holds every acknowledged message once, at the
/// seq its acknowledgement named.
async fn every_ack_stored_once(
    node: &Porch,
    guest: &porch_wire::rest::GuestSession,
    acked: &BTreeMap<String, u64>,
) {
    let stored = history(node, guest).await;
    assert!(stored.iter().zip(1u64..).all(|((s, _), n)| *s == n), "gap-free");
    let by_text: BTreeMap<&str, Vec<u64>> = stored.iter().fold(BTreeMap::new(), |mut m, (s, t)| {
        m.entry(t.as_str()).or_default().push(*s);
        m
    });
    for (id, seq) in acked {
        assert_eq!(by_text.get(id.as_str()), Some(&vec![*seq]), "`{id}` stored once, at {seq}");
    }
}
