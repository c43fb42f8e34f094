//! Several nodes on one database: appends, idempotent sends and names racing across stores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use porch_core::model::SetUp;
use porch_core::store::{AppendOutcome, AppendRequest, PageRequest, Store, StoreError};
use porch_core::token::SigningKey;

use super::suite::*;
use super::{Schema, fresh};

/// Two nodes on one database: appends to one conversation through both stay gap-free.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_append_without_gaps() {
    const TASKS_PER_NODE: u64 = 10;
    const EACH: u64 = 20;
    let schema = Schema::new();
    let nodes: [Arc<dyn Store>; 2] =
        [Arc::new(schema.connect().await), Arc::new(schema.connect().await)];
    let conversation = new_conversation(&*nodes[0], "nodes").await;
    let mut tasks = tokio::task::JoinSet::new();
    for (n, node) in nodes.iter().enumerate() {
        for t in 0..TASKS_PER_NODE {
            let (node, conversation) = (Arc::clone(node), conversation.clone());
            tasks.spawn(async move {
                let guest = guest_of(&conversation);
                let mut seqs = Vec::new();
                for i in 0..EACH {
                    let request = says(&conversation, &guest, &format!("n{n}-t{t}-{i}"), "hi");
                    seqs.push(created(node.append(request).await.unwrap()).0.seq);
                }
                seqs
            });
        }
    }
    let mut all = Vec::new();
    for seqs in tasks.join_all().await {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "one task's appends commit in its order");
        all.extend(seqs);
    }
    all.sort_unstable();
    let total = 2 * TASKS_PER_NODE * EACH;
    assert_eq!(all, (1..=total).collect::<Vec<_>>(), "exactly 1..={total}, no gap, no duplicate");
    for node in &nodes {
        let page = node
            .messages(
                &conversation.id,
                PageRequest { after_seq: Some(0), before_seq: None, limit: 1_000 },
            )
            .await
            .unwrap();
        assert_eq!(seqs(&page.messages), (1..=total).collect::<Vec<_>>());
        assert_eq!(page.last_seq, total);
    }
}

/// Two nodes whose clocks disagree by an hour append to one conversation at once: entry times
/// still follow `seq` (the lagging node's entries take the time of the entry before).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn skewed_nodes_never_date_an_entry_before_the_one_it_follows() {
    const EACH: u64 = 40;
    const SKEW_MS: i64 = 3_600_000;
    let schema = Schema::new();
    let nodes: [Arc<dyn Store>; 2] =
        [Arc::new(schema.connect().await), Arc::new(schema.connect().await)];
    let conversation = new_conversation(&*nodes[0], "skew").await;
    let mut tasks = tokio::task::JoinSet::new();
    for (n, node) in nodes.iter().enumerate() {
        let (node, conversation) = (Arc::clone(node), conversation.clone());
        // Node 0's clock is an hour ahead of node 1's.
        let skew_ms = if n == 0 { SKEW_MS } else { 0 };
        tasks.spawn(async move {
            let guest = guest_of(&conversation);
            for i in 0..EACH {
                let request = says(&conversation, &guest, &format!("n{n}-{i}"), "hi");
                let now_ms = porch_core::time::now_ms() + skew_ms;
                node.append(AppendRequest { now_ms, ..request }).await.unwrap();
            }
        });
    }
    tasks.join_all().await;
    let page = nodes[1]
        .messages(
            &conversation.id,
            PageRequest { after_seq: Some(0), before_seq: None, limit: 1_000 },
        )
        .await
        .unwrap();
    assert_eq!(page.messages.len() as u64, 2 * EACH);
    let times: Vec<i64> = page.messages.iter().map(|m| m.created_at_ms).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "times go backwards along seq: {times:?}");
}

/// The same clientMessageId sent through two nodes at once is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_race_one_client_message_id() {
    let schema = Schema::new();
    let nodes: [Arc<dyn Store>; 2] =
        [Arc::new(schema.connect().await), Arc::new(schema.connect().await)];
    for round in 0..20 {
        let conversation = new_conversation(&*nodes[round % 2], "race").await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let node = Arc::clone(&nodes[i % 2]);
            let request = says(&conversation, &guest_of(&conversation), "same-id", "once");
            tasks.spawn(async move { node.append(request).await.unwrap() });
        }
        let outcomes = tasks.join_all().await;
        let creates =
            outcomes.iter().filter(|o| matches!(o, AppendOutcome::Created { .. })).count();
        assert_eq!(creates, 1, "round {round}: exactly one Created");
        let message = outcomes[0].message();
        assert_eq!(message.seq, 1);
        assert!(
            outcomes.iter().all(|o| o.message() == message),
            "every sender sees the stored message"
        );
        assert_eq!(nodes[0].conversation(&conversation.id).await.unwrap().unwrap().last_seq, 1);
    }
}

/// If another writer's row for the same clientMessageId commits while an append is between
/// its lookup and its INSERT (possible only for a writer that skips the row lock), the unique
/// index decides, and the append answers from the stored row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_violation_on_the_idempotency_index_answers_from_the_stored_row() {
    let (schema, store) = fresh().await;
    let conversation = new_conversation(&*store, "index").await;
    let guest = guest_of(&conversation);
    for (text, expected_duplicate) in [("same", true), ("other", false)] {
        let client_message_id = format!("raced-{text}");
        let intruder = schema.raw().await;
        intruder.batch_execute("BEGIN").await.unwrap();
        let pid: i32 = intruder.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
        intruder
            .execute(
                "INSERT INTO messages (id, conversation_id, seq, client_message_id, sender_role, sender_id, text, created_at_ms) \
                 VALUES ($1, $2, $3, $4, 'guest', $5, 'same', 0)",
                &[&format!("msg_intruder_{text}"), &conversation.id, &(1_000_i64 + i64::from(expected_duplicate)), &client_message_id, &guest.id],
            )
            .await
            .unwrap();
        let append = tokio::spawn({
            let store = Arc::clone(&store);
            let request = says(&conversation, &guest, &client_message_id, text);
            async move { store.append(request).await }
        });
        // Wait until the append's INSERT is blocked on the intruder's uncommitted index entry.
        let watcher = schema.raw().await;
        let started = Instant::now();
        loop {
            let blocked: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                    &[&pid],
                )
                .await
                .unwrap()
                .get(0);
            if blocked > 0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the append never reached the index"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        intruder.batch_execute("COMMIT").await.unwrap();
        let outcome = append.await.unwrap();
        if expected_duplicate {
            let Ok(AppendOutcome::Duplicate { message }) = outcome else {
                panic!("expected Duplicate, got {outcome:?}")
            };
            assert_eq!((message.id.as_str(), message.seq), ("msg_intruder_same", 1_001));
        } else {
            assert_eq!(outcome, Err(StoreError::IdempotencyConflict));
        }
        assert_eq!(
            store.conversation(&conversation.id).await.unwrap().unwrap().last_seq,
            0,
            "nothing was written"
        );
    }
}

/// Two nodes creating the same name at once: the unique constraint lets one win.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_race_one_name() {
    let schema = Schema::new();
    let (a, b) = (schema.connect().await, schema.connect().await);
    for round in 0..10 {
        let name = format!("racer-{round}");
        let (x, y) = tokio::join!(
            a.create_agent(agent_record(&name, &[])),
            b.create_agent(agent_record(&name, &[]))
        );
        let taken = Err(StoreError::NameTaken(format!("an agent named `{name}` already exists")));
        assert!(
            (x.is_ok() && y == taken) || (y.is_ok() && x == taken),
            "round {round}: {x:?} {y:?}"
        );
    }
    assert_eq!(a.agents().await.unwrap().len(), 10);
}

/// Nodes starting together on an empty database each try to store a first signing key:
/// exactly one is kept, and every node reads that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_keep_one_first_key() {
    for round in 0..5 {
        let schema = Schema::new();
        let nodes: Vec<Arc<dyn Store>> = vec![
            Arc::new(schema.connect().await),
            Arc::new(schema.connect().await),
            Arc::new(schema.connect().await),
        ];
        let mut tasks = tokio::task::JoinSet::new();
        for node in &nodes {
            let node = Arc::clone(node);
            tasks.spawn(async move { node.add_first_signing_key(SigningKey::generate()).await });
        }
        let added = tasks.join_all().await;
        assert_eq!(added.iter().filter(|a| **a == Ok(true)).count(), 1, "round {round}: {added:?}");
        assert!(added.iter().all(Result::is_ok), "round {round}: {added:?}");
        let first = nodes[0].signing_keys().await.unwrap();
        assert_eq!(first.len(), 1);
        for node in &nodes {
            assert_eq!(node.signing_keys().await.unwrap(), first);
        }
    }
}

/// Nodes starting together with `--demo` each try to create the same set-up: one does, the
/// others are told it exists (not refused with a name clash), and one of each record is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_create_one_set_up() {
    for round in 0..5 {
        let schema = Schema::new();
        let mut nodes: Vec<Arc<dyn Store>> = Vec::new();
        for _ in 0..3 {
            nodes.push(Arc::new(schema.connect().await));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for node in &nodes {
            let node = Arc::clone(node);
            tasks.spawn(async move {
                let set_up = SetUp {
                    deployment: deployment_record("demo", "default"),
                    client: client_record("demo"),
                    agent: agent_record("demo-agent", &["default"]),
                };
                node.create_set_up(set_up).await
            });
        }
        let created = tasks.join_all().await;
        assert_eq!(
            created.iter().filter(|c| **c == Ok(true)).count(),
            1,
            "round {round}: {created:?}"
        );
        assert!(created.iter().all(Result::is_ok), "round {round}: {created:?}");
        assert_eq!(nodes[1].deployments().await.unwrap().len(), 1);
        assert_eq!(nodes[2].agents().await.unwrap().len(), 1);
    }
}
