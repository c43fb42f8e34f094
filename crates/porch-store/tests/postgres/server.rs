//! What only a server has: reaching it, its settings, migrations shared by nodes, connections
//! that die, and restarts.

use std::time::{Duration, Instant};

use porch_core::model::WIDGET_CLIENT_ID;
use porch_core::store::{PageRequest, Store, StoreError};
use porch_store::{PostgresOptions, PostgresStore};

use super::suite::*;
use super::{Schema, fresh};

#[tokio::test]
async fn connecting_to_a_closed_port_fails_fast_and_names_the_address() {
    let started = Instant::now();
    let options = PostgresOptions::new("postgres://porch:hunter2@127.0.0.1:1/test");
    assert!(!format!("{options:?}").contains("hunter2"), "Debug hides the URL");
    let Err(StoreError::Unavailable(message)) = PostgresStore::connect(options).await else {
        panic!("connecting to port 1 must fail with Unavailable");
    };
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(message.starts_with("cannot reach PostgreSQL at 127.0.0.1:1: "), "{message}");
    assert!(
        !message.contains("hunter2") && !message.contains("porch:"),
        "no credentials: {message}"
    );
}

#[tokio::test]
async fn durability_is_read_back_from_postgres() {
    let (_schema, store) = fresh().await;
    let durability = store.durability().await.unwrap();
    assert_eq!(durability.engine, "postgres");
    assert_eq!(durability.settings, "synchronous_commit=on fsync=on");
    assert!(durability.survives_power_loss);
}

/// Nodes starting together on an empty schema migrate it once, and the widget pseudo-client
/// exists but is not listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once() {
    let schema = Schema::new();
    let stores = start_four_nodes(&schema).await;
    let raw = schema.raw().await;
    let versions: Vec<i64> = raw
        .query("SELECT version FROM porch_schema_version ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        versions,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]
    );
    // Migration 3 dropped the unique index on messages.id (`messages_id_key`); the primary key,
    // found the same way, shows the query looks in this test's schema.
    let constraints: Vec<String> = raw
        .query(
            "SELECT c.conname::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE c.conrelid = 'messages'::regclass AND n.nspname = current_schema() ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(constraints.iter().any(|c| c == "messages_pkey"), "{constraints:?}");
    assert!(
        !constraints.iter().any(|c| c == "messages_id_key"),
        "messages_id_key survived migration 3: {constraints:?}"
    );
    let widgets: i64 = raw
        .query_one("SELECT count(*) FROM clients WHERE id = $1", &[&WIDGET_CLIENT_ID])
        .await
        .unwrap()
        .get(0);
    assert_eq!(widgets, 1);
    for store in &stores {
        assert_eq!(store.clients().await.unwrap(), vec![], "the widget client is hidden");
        assert!(
            store.client(WIDGET_CLIENT_ID).await.unwrap().is_some(),
            "but it exists for guests to reference"
        );
    }
}

async fn start_four_nodes(schema: &Schema) -> Vec<PostgresStore> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let options = schema.options();
        tasks.spawn(async move { PostgresStore::connect(options).await.unwrap() });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let schema = Schema::new();
    drop(schema.connect().await);
    let raw = schema.raw().await;
    raw.batch_execute("INSERT INTO porch_schema_version VALUES (99, 0)").await.unwrap();
    let err = PostgresStore::connect(schema.options()).await.unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

/// Connections the server kills (a restart, a DBA's pg_terminate_backend) are replaced.
#[tokio::test]
async fn killed_connections_are_replaced() {
    let schema = Schema::new();
    let application = schema.0.clone();
    let store = schema.connect().await;
    let conversation = new_conversation(&store, "killed").await;
    fill(&store, &conversation, 2).await;
    let raw = schema.raw().await;
    let killed: i64 = raw
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t",
            &[&application],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed >= 1);
    // The client side learns of the closed socket asynchronously; give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    fill(&store, &conversation, 3).await;
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap().last_seq, 5);
}

/// A second start on the same schema sees everything and continues the sequence.
#[tokio::test]
async fn data_survives_a_restart() {
    let schema = Schema::new();
    let store = schema.connect().await;
    let conversation = new_conversation(&store, "restart").await;
    fill(&store, &conversation, 4).await;
    assert_eq!(store.mark_read(&conversation.id, &conversation.guest.id, 4).await, Ok(4));
    drop(store);
    let store = schema.connect().await;
    let page = store
        .messages(&conversation.id, PageRequest { after_seq: None, before_seq: None, limit: 10 })
        .await
        .unwrap();
    assert_eq!(
        page.messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["m1", "m2", "m3", "m4"]
    );
    assert_eq!(store.mark_read(&conversation.id, &conversation.guest.id, 1).await, Ok(4));
    fill(&store, &conversation, 1).await;
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap().last_seq, 5);
}
