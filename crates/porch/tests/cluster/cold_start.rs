//! A cluster's cold start, as an orchestrator does it: every node started at the same instant
//! on an empty database. They must converge on one signing key and one demo set-up, none may
//! exit, and any node must verify any node's token from the first second.

use std::sync::Barrier;

use porch_client::{Api, Gateway};

use crate::server::Porch;
use crate::{Database, NATS, cluster_dir, gateway, node, ready};

/// Starts every node at once (one thread each, released together); returns what each printed
/// before it listened. Panics, naming the node, if one exited instead.
fn start_together(nodes: &mut [Porch]) -> Vec<Vec<String>> {
    let barrier = Barrier::new(nodes.len());
    std::thread::scope(|scope| {
        let started: Vec<_> = nodes
            .iter_mut()
            .map(|node| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    node.start_once()
                })
            })
            .collect();
        started
            .into_iter()
            .enumerate()
            .map(|(i, s)| match s.join().unwrap() {
                Ok(lines) => lines,
                Err(status) => panic!("node {} exited during a cold start: {status}", i + 1),
            })
            .collect()
    })
}

/// A plain connection to the cluster's database, to look behind the nodes.
async fn connect(db: &Database) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&db.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn count(db: &Database, sql: &str) -> i64 {
    connect(db).await.query_one(sql, &[]).await.unwrap().get(0)
}

/// Three nodes with `--demo` on an empty database: one key, one demo set-up printed by one
/// node, and a token one node issues works on the others at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_started_together_converge_on_one_key_and_one_demo() {
    let db = Database::create().await;
    let dir = cluster_dir();
    let mut nodes: Vec<Porch> =
        ["node-a", "node-b", "node-c"].iter().map(|id| node(&db, &dir, id, NATS)).collect();
    for node in &mut nodes {
        node.args = vec!["--demo".into()];
    }
    let printed = start_together(&mut nodes);

    assert_eq!(count(&db, "SELECT count(*) FROM signing_keys").await, 1, "one signing key");
    assert_eq!(count(&db, "SELECT count(*) FROM deployments WHERE name = 'demo'").await, 1);
    let demo_client: String = connect(&db)
        .await
        .query_one("SELECT id FROM clients WHERE name = 'demo'", &[])
        .await
        .expect("the demo client exists")
        .get(0);
    let shown = printed.iter().filter(|lines| lines.iter().any(|l| l.contains(&demo_client)));
    assert_eq!(shown.count(), 1, "one node shows the demo's secrets: {printed:#?}");

    tokens_work_everywhere(&nodes).await;
    for node in &mut nodes {
        node.stop();
    }
}

/// A client token from the first node creates guests on the others, and the guest token one
/// node issued opens the gateway of every node, with no wait for a key re-read.
async fn tokens_work_everywhere(nodes: &[Porch]) {
    let (request, client_token) = crate::backend(&nodes[0], "everywhere").await;
    for issuer in nodes {
        let guest = Api::new(&issuer.base_url())
            .create_guest(&client_token, &request)
            .await
            .unwrap_or_else(|e| {
                panic!("{} refused the first node's client token: {e}", issuer.port)
            });
        for verifier in nodes {
            let mut socket =
                Gateway::connect(&gateway(verifier), &guest.access_token, None).await.unwrap();
            ready(&mut socket).await;
        }
    }
}

/// A key rotated while the cluster runs: the node restarted since signs with it, and a node
/// still holding the old keyring verifies that token at once (a re-read of the keys on an
/// unknown `kid`), rather than refusing it with `token_key_unknown` until its next refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_with_a_key_another_node_has_not_read_yet_is_verified_at_once() {
    let db = Database::create().await;
    let dir = cluster_dir();
    let mut fresh = node(&db, &dir, "node-fresh", NATS);
    let mut stale = node(&db, &dir, "node-stale", NATS);
    fresh.start();
    stale.start();
    let rotated = crate::server::porch_command(&fresh.data_dir)
        .envs(fresh.env.iter().map(|(k, v)| (k, v)))
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let newest: String = connect(&db)
        .await
        .query_one("SELECT kid FROM signing_keys ORDER BY created_at_ms DESC LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    fresh.stop();
    fresh.start();
    let (request, token) = crate::backend(&fresh, "rotated").await;
    let (header, _) = porch_core::token::decode_unverified(&token).unwrap();
    assert_eq!(header.kid, Some(newest), "signed with the new key");

    let guest = Api::new(&stale.base_url())
        .create_guest(&token, &request)
        .await
        .expect("the node that had not read the new key verifies a token signed with it");
    let mut socket = Gateway::connect(&gateway(&stale), &guest.access_token, None).await.unwrap();
    ready(&mut socket).await;
    fresh.stop();
    stale.stop();
}
