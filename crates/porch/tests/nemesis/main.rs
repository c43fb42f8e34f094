//! The cluster nemesis (issue 25, item 1): three `porch` nodes on a PostgreSQL and a NATS this
//! test starts itself (`backends`), each node reaching them through a fault-injecting proxy
//! (`faulty`), with guests and an agent working throughout (the crash test's careful clients,
//! connecting to any node) and a backend setting the deployment's notice now and then, while
//! the nemesis (`nemesis`) injects random, overlapping faults for a bounded time: nodes
//! SIGKILLed and restarted or SIGSTOPped and continued, PostgreSQL and NATS SIGKILLed and
//! restarted, links dropped, delayed, black-holed or left half-open.
//!
//! Then everything is healed, the clients drain (every send acknowledged, every view caught
//! up), and the checker holds the store, read straight from PostgreSQL, against every
//! acknowledgement and every client's view: each acknowledged message stored exactly once as
//! acknowledged, each conversation's `seq` gap-free, every view in order without duplicates,
//! every guest showing the last notice (`checks`).
//!
//! The seed is printed; `NEMESIS_SEED` replays the same schedule of faults.
//! `NEMESIS_SECONDS` (default 40), `NEMESIS_CONVERSATIONS` (12), `NEMESIS_RATE` (guest
//! messages per second in all, 24) and `NEMESIS_LANES` (faults at once, 2) set the run.
//! SECURITY.md ("Faults") has the long run's command and figures.

mod backends;
mod checks;
mod faulty;
mod nemesis;
mod silent_link;

#[path = "../crash/agent.rs"]
mod agent;
#[path = "../crash/checker.rs"]
mod checker;
#[path = "../crash/endpoints.rs"]
mod endpoints;
#[path = "../crash/group.rs"]
mod group;
#[path = "../crash/guest.rs"]
mod guest;
#[path = "../crash/ledger.rs"]
mod ledger;
#[path = "../crash/server.rs"]
mod server;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use porch_client::Api;
use porch_wire::rest::CreateGuestRequest;
use tokio::sync::watch;

use crate::backends::{Nats, Postgres};
use crate::endpoints::Endpoint;
use crate::faulty::FaultProxy;
use crate::group::Group;
use crate::guest::Phase;
use crate::ledger::Ledger;
use crate::nemesis::{Cluster, Random};
use crate::server::Porch;

const NODES: usize = 3;
/// How long draining (every outbox acked, every view caught up) may take once healed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Guests compare their notice and head with the store this often (the default is 25 s).
const HEARTBEAT_INTERVAL_MS: &str = "2000";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a stage of its own in scripts/test.sh (--run-ignored only), not in the workspace run"]
async fn a_three_node_cluster_under_a_nemesis_loses_and_duplicates_nothing() {
    let seconds = setting("NEMESIS_SECONDS", 40);
    let conversations = setting("NEMESIS_CONVERSATIONS", 12) as usize;
    let rate = setting("NEMESIS_RATE", 24);
    let lanes = setting("NEMESIS_LANES", 2);
    let seed = setting("NEMESIS_SEED", porch_core::time::now_ms() as u64) | 1;
    println!(
        "nemesis: {NODES} nodes, {conversations} conversations, {rate} guest msg/s, {seconds} s, {lanes} lanes, seed {seed} (NEMESIS_SEED={seed} replays it)"
    );
    // Everything started below is in this group, killed when the test ends however it ends.
    // Declared first, so removed last: after the group has killed every process using it.
    let scratch = Scratch::new();
    let dir = scratch.0.clone();
    let group = Group::start(Duration::from_secs(seconds) + DRAIN_TIMEOUT * 3);
    let postgres = Postgres::init(&dir, group.id);
    let nats = Nats::start(group.id);
    let store_addr = postgres.addr;
    let cluster = Arc::new(start_cluster(&dir, postgres, nats, group.id, NODES).await);

    let world = setup(&cluster, conversations).await;
    let ledger = Arc::new(Ledger::default());
    let (phase_tx, phase) = watch::channel(Phase::Sending);
    let (notice_tx, expected_notice) = watch::channel(None);
    let endpoints = endpoints(&cluster);
    let period = Duration::from_secs_f64(conversations as f64 / rate as f64);
    let mut tasks = Vec::new();
    for (index, session) in world.guests.iter().cloned().enumerate() {
        let guest = guest::Guest {
            index,
            seed: seed.wrapping_mul(index as u64 + 7) | 1,
            session,
            endpoints: endpoints.clone(),
            current: 0,
            ledger: ledger.clone(),
            period,
            phase: phase.clone(),
            expected_notice: Some(expected_notice.clone()),
            notice: None,
        };
        tasks.push(tokio::spawn(guest.run()));
    }
    tasks.push(tokio::spawn(
        agent::Agent {
            session: world.agent,
            endpoints: endpoints.clone(),
            current: 0,
            ledger: ledger.clone(),
            conversations: world.guests.iter().map(|s| s.conversation_id.clone()).collect(),
            period: Duration::from_millis(100),
            phase: phase.clone(),
            seed,
        }
        .run(),
    ));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let notices = world.notices.clone();
    let notices_task = tokio::spawn(notices.keep_setting(endpoints.clone(), seed, until));
    let injected = nemesis::run(cluster.clone(), seed, until, lanes).await;
    let attempted = ledger.attempts.load(Ordering::Relaxed);
    println!("nemesis: healed after {:.1} s; draining", started.elapsed().as_secs_f64());

    let notices_set = notices_task.await.unwrap();
    let last_notice = world.notices.set_final(&endpoints).await;
    notice_tx.send_replace(Some(last_notice.clone()));
    phase_tx.send(Phase::Draining).unwrap();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, futures_util::future::join_all(tasks)).await;
    assert!(
        drained.is_ok(),
        "clients did not drain within {DRAIN_TIMEOUT:?} of healing: {} sends unacked (seed {seed})",
        ledger.unacked()
    );

    let log = checks::read_postgres(store_addr).await;
    let (counts, mut problems) = checker::check_log(&log, &ledger);
    problems.extend(checks::notices(&ledger, &last_notice));
    problems.extend(checks::one_owner_per_conversation(store_addr).await);
    let violations = ledger.violations.lock().unwrap().clone();
    checks::print_table(&injected, seconds);
    println!(
        "nemesis: sends attempted {} (during faults {attempted}), acked {} (duplicate acks {}), stored {}, delivered {}, resumes {}, token refreshes {}, notices set {}, lost {}, duplicated {}, view mismatches {}, client-seen violations {} (seed {seed})",
        counts.attempted,
        counts.acked,
        ledger.duplicate_acks.load(Ordering::Relaxed),
        counts.stored,
        counts.delivered,
        ledger.resumes.load(Ordering::Relaxed),
        ledger.refreshes.load(Ordering::Relaxed),
        notices_set + 1,
        counts.lost,
        counts.duplicated,
        counts.view_mismatches,
        violations.len(),
    );
    checker::assert_clean(&counts, &problems, &violations, seed);
    assert!(injected.values().map(|(n, _)| n).sum::<u32>() > 0, "the nemesis injected faults");
    for node in &cluster.nodes {
        node.lock().unwrap().stop();
    }
    drop(cluster);
    drop(group);
}

/// The run's directory (PostgreSQL's data, the nodes' data directories), removed when the test
/// ends, passed or not: each run leaves about 50 MB otherwise.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(porch_core::ids::new_id("nem"));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `count` nodes, each reaching PostgreSQL and NATS through proxies of its own.
async fn start_cluster(
    dir: &std::path::Path,
    postgres: Postgres,
    nats: Nats,
    group: i32,
    count: usize,
) -> Cluster {
    let mut nodes = Vec::new();
    let (mut postgres_links, mut nats_links) = (Vec::new(), Vec::new());
    for i in 1..=count {
        let store = FaultProxy::start(postgres.addr).await;
        let broker = FaultProxy::start(nats.addr).await;
        let mut node = Porch::new(dir.join(format!("node-{i}")));
        node.group = Some(group);
        node.env = vec![
            ("PORCH_STORE".into(), postgres.url_via(store.addr)),
            ("PORCH_BROKER".into(), format!("nats://{}", broker.addr)),
            ("PORCH_NODE_ID".into(), format!("node-{i}")),
            ("PORCH_BROKER_SUBJECT".into(), "porch.nemesis".into()),
            ("PORCH_HEARTBEAT_INTERVAL_MS".into(), HEARTBEAT_INTERVAL_MS.into()),
            ("PORCH_NOTICES_PER_DEPLOYMENT_PER_MIN".into(), "100000".into()),
        ];
        postgres_links.push(store);
        nats_links.push(broker);
        nodes.push(node);
    }
    // One after the other: the first migrates the empty database.
    let nodes = tokio::task::spawn_blocking(move || {
        for node in &mut nodes {
            node.start();
        }
        nodes
    })
    .await
    .unwrap();
    Cluster {
        nodes: nodes.into_iter().map(|n| Arc::new(Mutex::new(n))).collect(),
        postgres: Arc::new(Mutex::new(postgres)),
        nats: Arc::new(Mutex::new(nats)),
        postgres_links,
        nats_links,
    }
}

fn endpoints(cluster: &Cluster) -> Vec<Endpoint> {
    cluster.nodes.iter().map(|n| Endpoint::new(&n.lock().unwrap().base_url())).collect()
}

struct World {
    guests: Vec<porch_wire::rest::GuestSession>,
    agent: porch_wire::rest::AgentSession,
    notices: checks::Notices,
}

async fn setup(cluster: &Cluster, conversations: usize) -> World {
    let (data_dir, env, base_url) = {
        let node = cluster.nodes[0].lock().unwrap();
        (node.data_dir.clone(), node.env.clone(), node.base_url())
    };
    let cli = |args: &[&str]| {
        let output = server::porch_command(&data_dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "porch {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let deployment = cli(&["deployments", "create", "--name", "nemesis"]);
    let client =
        cli(&["clients", "create", "--name", "nemesis", "--scope", "guests", "--scope", "notices"]);
    let agent = cli(&["agents", "create", "--name", "nemesis-agent"]);
    let api = Api::new(&base_url);
    let client_token = api
        .client_token(client["id"].as_str().unwrap(), client["secret"].as_str().unwrap())
        .await
        .unwrap()
        .access_token;
    let deployment_id = deployment["id"].as_str().unwrap().to_string();
    let mut guests = Vec::new();
    for i in 0..conversations {
        let request = CreateGuestRequest {
            deployment_id: deployment_id.clone(),
            display_name: Some(format!("guest {i}")),
            ..Default::default()
        };
        guests.push(api.create_guest(&client_token, &request).await.unwrap());
    }
    let agent = api.agent_login("nemesis-agent", agent["secret"].as_str().unwrap()).await.unwrap();
    let notices =
        checks::Notices { client_token, deployment_id, random: Arc::new(Mutex::new(Random(7))) };
    World { guests, agent, notices }
}
