//! The append rate of ONE conversation on PostgreSQL: `WRITERS` tasks on each of `NODES`
//! stores (each its own pool, as cluster nodes have) append to the same conversation for
//! `SECS` seconds. Prints appends per second and checks the log is gap-free.
//!
//! ```sh
//! cargo run --release -p porch-store --example append_rate -- NODES WRITERS SECS
//! ```
//!
//! Needs PostgreSQL at `PORCH_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! works in a schema of its own, dropped at the end.

#[allow(dead_code, unused_imports)] // The storage suite's helpers; its tests are not run here.
#[path = "../tests/suite/mod.rs"]
mod suite;

use std::sync::Arc;
use std::time::{Duration, Instant};

use porch_core::ids::{base32, random_bytes};
use porch_core::store::{PageRequest, Store};
use porch_store::{PostgresOptions, PostgresStore};

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let [nodes, writers, secs] = args[..] else {
        panic!("usage: append_rate NODES WRITERS SECS");
    };
    let url = std::env::var("PORCH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("porch_rate_{}", base32(&random_bytes::<8>()));
    let options = PostgresOptions { schema: Some(schema.clone()), ..PostgresOptions::new(&url) };
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..nodes {
        stores.push(Arc::new(PostgresStore::connect(options.clone()).await.unwrap()));
    }
    let conversation = suite::new_conversation(&*stores[0], "rate").await;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, store) in stores.iter().enumerate() {
        for w in 0..writers {
            let (store, conversation) = (Arc::clone(store), conversation.clone());
            tasks.spawn(async move {
                let guest = suite::guest_of(&conversation);
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let id = format!("n{n}-w{w}-{done}");
                    store.append(suite::says(&conversation, &guest, &id, "hi")).await.unwrap();
                    done += 1;
                }
                done
            });
        }
    }
    let total: u64 = tasks.join_all().await.iter().sum();
    let elapsed = started.elapsed().as_secs_f64();
    let page = PageRequest { after_seq: Some(0), before_seq: None, limit: u32::MAX };
    let stored = stores[0].messages(&conversation.id, page).await.unwrap();
    assert_eq!(suite::seqs(&stored.messages), (1..=total).collect::<Vec<_>>(), "gap-free");
    println!(
        "{nodes} node(s) x {writers} writer(s), one conversation: {total} appends in {elapsed:.1} s = {:.0}/s",
        total as f64 / elapsed
    );
    drop(stores);
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
}
