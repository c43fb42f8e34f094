//! The storage suite (`suite/`) run against PostgreSQL, plus what only a shared server has:
//! two nodes on one database, migrations racing, connections dying, the server's settings.
//!
//! Needs PostgreSQL at `postgres://postgres@127.0.0.1:5432/test` (or `PORCH_TEST_POSTGRES_URL`);
//! CI runs one, so a missing server fails these tests rather than skipping them. Each test
//! works in a fresh schema `porch_test_<random>`, dropped when the test ends.

#[path = "suite/mod.rs"]
mod suite;

#[path = "postgres/batches.rs"]
mod batches;
#[path = "postgres/nodes.rs"]
mod nodes;
#[path = "postgres/server.rs"]
mod server;

use std::sync::Arc;

use porch_core::ids::{base32, random_bytes};
use porch_core::store::Store;
use porch_store::{PostgresOptions, PostgresStore};
use tokio_postgres::NoTls;

use suite::*;

const URL_ENV: &str = "PORCH_TEST_POSTGRES_URL";

fn url() -> String {
    std::env::var(URL_ENV).unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema name; the schema itself is created by the first store and dropped (best
/// effort, even when the test panics) with this guard.
struct Schema(String);

impl Schema {
    fn new() -> Schema {
        Schema(format!("porch_test_{}", base32(&random_bytes::<10>())))
    }

    /// The schema's stores name their sessions after it, so the test can find (and kill) them.
    fn options(&self) -> PostgresOptions {
        let url = url();
        let separator = if url.contains('?') { '&' } else { '?' };
        PostgresOptions {
            schema: Some(self.0.clone()),
            ..PostgresOptions::new(format!("{url}{separator}application_name={}", self.0))
        }
    }

    async fn connect(&self) -> PostgresStore {
        PostgresStore::connect(self.options()).await.unwrap_or_else(|e| {
            panic!("these tests need PostgreSQL (set {URL_ENV} if it is not at the default address): {e}")
        })
    }

    /// A plain connection with this schema on its search path, for looking behind the store.
    async fn raw(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&url(), NoTls).await.expect("connecting to PostgreSQL");
        tokio::spawn(connection);
        client.batch_execute(&format!("SET search_path = {}", self.0)).await.unwrap();
        client
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be single-threaded: drop the schema from
        // a thread with its own runtime. The blocked runtime can no longer run the test's own
        // connections, so a session left inside a transaction (a rollback queued but not yet
        // sent) would hold its locks and block the DROP: end the schema's sessions first.
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{0}'; \
             SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {0} CASCADE",
            self.0
        );
        let dropped = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&url(), NoTls).await.ok()?;
                tokio::spawn(connection);
                client.batch_execute(&sql).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test schema {}", self.0);
        }
    }
}

async fn fresh() -> (Schema, Arc<dyn Store>) {
    let schema = Schema::new();
    let store = Arc::new(schema.connect().await);
    (schema, store)
}

#[tokio::test]
async fn admin() {
    let (_schema, store) = fresh().await;
    suite_admin(&*store).await;
}

#[tokio::test]
async fn first_signing_key() {
    let (_schema, store) = fresh().await;
    suite_first_signing_key(&*store).await;
}

#[tokio::test]
async fn set_up() {
    let (_schema, store) = fresh().await;
    suite_set_up(&*store).await;
}

#[tokio::test]
async fn guest_round_trip() {
    let (_schema, store) = fresh().await;
    suite_guest_round_trip(&*store).await;
}

#[tokio::test]
async fn flags() {
    let (_schema, store) = fresh().await;
    suite_flags(&*store).await;
}

#[tokio::test]
async fn account_standing() {
    let (_schema, store) = fresh().await;
    suite_account_standing(&*store).await;
}

#[tokio::test]
async fn account_deletion() {
    let (_schema, store) = fresh().await;
    suite_account_deletion(&*store).await;
}

#[tokio::test]
async fn guest_standing() {
    let (_schema, store) = fresh().await;
    suite_guest_standing(&*store).await;
}

#[tokio::test]
async fn deployment_updates() {
    let (_schema, store) = fresh().await;
    suite_deployment_updates(&*store).await;
}

#[tokio::test]
async fn webhook_enqueue() {
    let (_schema, store) = fresh().await;
    suite_webhook_enqueue(&*store).await;
    suite_webhook_own_events(&*store).await;
}

#[tokio::test]
async fn webhook_claims() {
    let (_schema, store) = fresh().await;
    suite_webhook_claims(&*store).await;
}

#[tokio::test]
async fn webhook_dead_letters() {
    let (_schema, store) = fresh().await;
    suite_webhook_dead_letters(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_concurrent_claims() {
    let (_schema, store) = fresh().await;
    suite_webhook_concurrent_claims(store).await;
}

#[tokio::test]
async fn blobs() {
    let (_schema, store) = fresh().await;
    suite_blobs(&*store).await;
}

#[tokio::test]
async fn attachment_messages() {
    let (_schema, store) = fresh().await;
    suite_attachment_messages(&*store).await;
}

#[tokio::test]
async fn attachment_retention() {
    let (_schema, store) = fresh().await;
    suite_attachment_retention(&*store).await;
}

#[tokio::test]
async fn notices() {
    let (_schema, store) = fresh().await;
    suite_notices(&*store).await;
}

#[tokio::test]
async fn identity_keys() {
    let (_schema, store) = fresh().await;
    suite_identity_keys(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identity_jtis() {
    let (_schema, store) = fresh().await;
    suite_identity_jtis(store).await;
}

#[tokio::test]
async fn identify_guest() {
    let (_schema, store) = fresh().await;
    suite_identify_guest(&*store).await;
}

#[tokio::test]
async fn erase_customer() {
    let (_schema, store) = fresh().await;
    suite_erase_customer(&*store).await;
}

#[tokio::test]
async fn customer_conversations() {
    let (_schema, store) = fresh().await;
    suite_customer_conversations(&*store).await;
}

#[tokio::test]
async fn conversation_search() {
    let (_schema, store) = fresh().await;
    suite_conversation_search(&*store).await;
}

#[tokio::test]
async fn canned_replies() {
    let (_schema, store) = fresh().await;
    suite_canned_replies(&*store).await;
}

#[tokio::test]
async fn visitor_context() {
    let (_schema, store) = fresh().await;
    suite_visitor_context(&*store).await;
}

#[tokio::test]
async fn conversation_lists() {
    let (_schema, store) = fresh().await;
    suite_conversation_lists(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seq_gap_free() {
    let (_schema, store) = fresh().await;
    suite_seq_gap_free(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency() {
    let (_schema, store) = fresh().await;
    suite_idempotency(store).await;
}

#[tokio::test]
async fn closed_refuses_appends() {
    let (_schema, store) = fresh().await;
    suite_closed_refuses_appends(&*store).await;
    suite_system_entries_are_keyed_and_the_key_is_hidden(&*store).await;
}

#[tokio::test]
async fn append_group() {
    let (_schema, store) = fresh().await;
    suite_append_group(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_isolation() {
    let (_schema, store) = fresh().await;
    suite_batch_isolation(store).await;
}

#[tokio::test]
async fn paging() {
    let (_schema, store) = fresh().await;
    suite_paging(&*store).await;
}

#[tokio::test]
async fn entry_times_follow_seq() {
    let (_schema, store) = fresh().await;
    suite_entry_times_follow_seq(&*store).await;
}

#[tokio::test]
async fn mark_read() {
    let (_schema, store) = fresh().await;
    suite_mark_read(&*store).await;
}

#[tokio::test]
async fn transfer() {
    let (_schema, store) = fresh().await;
    suite_transfer(&*store).await;
}

#[tokio::test]
async fn reopen() {
    let (_schema, store) = fresh().await;
    suite_reopen(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reopen_race() {
    let (_schema, store) = fresh().await;
    suite_reopen_race(store).await;
}

#[tokio::test]
async fn fallbacks() {
    let (_schema, store) = fresh().await;
    suite_fallbacks(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fallback_race() {
    let (_schema, store) = fresh().await;
    suite_fallback_race(store).await;
}

#[tokio::test]
async fn wrap_up_codes() {
    let (_schema, store) = fresh().await;
    suite_wrap_up_codes(&*store).await;
}

#[tokio::test]
async fn agent_routing() {
    let (_schema, store) = fresh().await;
    suite_agent_routing(&*store).await;
}

#[tokio::test]
async fn queue_standing() {
    let (_schema, store) = fresh().await;
    suite_queue_standing(&*store).await;
}

#[tokio::test]
async fn queue_agents() {
    let (_schema, store) = fresh().await;
    suite_queue_agents(&*store).await;
}

#[tokio::test]
async fn one_owner() {
    let (_schema, store) = fresh().await;
    suite_one_owner(&*store).await;
}

#[tokio::test]
async fn capacity() {
    let (_schema, store) = fresh().await;
    suite_capacity(&*store).await;
}

/// Two nodes on one database: each racing suite sends half its assignments through each.
async fn two_nodes() -> (Schema, [Arc<dyn Store>; 2]) {
    let schema = Schema::new();
    let nodes: [Arc<dyn Store>; 2] =
        [Arc::new(schema.connect().await), Arc::new(schema.connect().await)];
    (schema, nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_takes() {
    let (_schema, nodes) = two_nodes().await;
    suite_racing_takes(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_capacity() {
    let (_schema, nodes) = two_nodes().await;
    suite_racing_capacity(nodes).await;
}

#[tokio::test]
async fn offer_is_exclusive() {
    let (_schema, store) = fresh().await;
    suite_offer_is_exclusive(&*store).await;
}

#[tokio::test]
async fn offer_expiry_frees_it() {
    let (_schema, store) = fresh().await;
    suite_offer_expiry_frees_it(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_offers() {
    let (_schema, nodes) = two_nodes().await;
    suite_racing_offers(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_owners() {
    let (_schema, nodes) = two_nodes().await;
    suite_racing_owners(nodes).await;
}

/// Far more concurrent appends than the pool has connections: callers queue for a
/// connection, nothing is lost. (SQLite's run sizes this by its write queue; here the pool is
/// the queue, and every append to one conversation takes the same row lock, so the count is
/// kept to what commits well within the pool's 30 s wait bound on a small machine.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure() {
    let (_schema, store) = fresh().await;
    suite_backpressure(store, porch_core::limits::POSTGRES_POOL_SIZE_DEFAULT as u64 * 125).await;
}

#[tokio::test]
async fn bot_records() {
    let (_schema, store) = fresh().await;
    suite_bot_records(&*store).await;
}

#[tokio::test]
async fn bot_entries() {
    let (_schema, store) = fresh().await;
    suite_bot_entries(&*store).await;
}
