//! The nemesis: random faults, from a printed seed, for a bounded time. Two lanes inject
//! at once, so faults overlap (a node frozen while PostgreSQL restarts, a node killed while
//! another's NATS link is a black hole); a lane never picks a target the other is holding.
//! Each fault ends healed: a killed process is restarted, a frozen one continued, a link
//! passed again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::backends::{Nats, Postgres, signal};
use crate::faulty::{FaultProxy, Mode};
use crate::server::Porch;

/// What the nemesis can break.
pub struct Cluster {
    pub nodes: Vec<Arc<Mutex<Porch>>>,
    pub postgres: Arc<Mutex<Postgres>>,
    pub nats: Arc<Mutex<Nats>>,
    /// Per node, its link to PostgreSQL and to NATS.
    pub postgres_links: Vec<FaultProxy>,
    pub nats_links: Vec<FaultProxy>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Node(usize),
    Postgres,
    Nats,
    PostgresLink(usize),
    NatsLink(usize),
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Kill(usize),
    Freeze(usize),
    PostgresDown,
    NatsDown,
    PostgresLink(usize, Mode),
    NatsLink(usize, Mode),
}

impl Fault {
    fn target(self) -> Target {
        match self {
            Fault::Kill(n) | Fault::Freeze(n) => Target::Node(n),
            Fault::PostgresDown => Target::Postgres,
            Fault::NatsDown => Target::Nats,
            Fault::PostgresLink(n, _) => Target::PostgresLink(n),
            Fault::NatsLink(n, _) => Target::NatsLink(n),
        }
    }

    /// The row of SECURITY.md's table this fault counts in.
    fn class(self) -> String {
        let link = |mode: Mode| match mode {
            Mode::Delay(_) => "delay".to_owned(),
            other => format!("{other:?}")
                .to_lowercase()
                .replace("hole", " hole")
                .replace("open", "-open"),
        };
        match self {
            Fault::Kill(_) => "node SIGKILL, restarted".into(),
            Fault::Freeze(_) => "node SIGSTOP, then SIGCONT".into(),
            Fault::PostgresDown => "PostgreSQL SIGKILL, restarted".into(),
            Fault::NatsDown => "NATS SIGKILL, restarted".into(),
            Fault::PostgresLink(_, mode) => format!("node to PostgreSQL link: {}", link(mode)),
            Fault::NatsLink(_, mode) => format!("node to NATS link: {}", link(mode)),
        }
    }
}

/// Per fault class: how many were injected and for how long in all.
pub type Injected = BTreeMap<String, (u32, Duration)>;

/// xorshift64: the schedule is reproducible from the printed seed.
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `[low, high)` milliseconds.
    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.next() % (high - low).max(1))
    }
}

/// Runs `lanes` lanes until `until`, each healing its last fault before it returns.
pub async fn run(cluster: Arc<Cluster>, seed: u64, until: Instant, lanes: u64) -> Injected {
    let busy = Arc::new(Mutex::new(BTreeSet::new()));
    let injected = Arc::new(Mutex::new(Injected::new()));
    let tasks: Vec<_> = (0..lanes)
        .map(|lane| {
            let random = Random(seed.wrapping_mul(lane * 2 + 3) | 1);
            tokio::spawn(lane_loop(cluster.clone(), random, until, busy.clone(), injected.clone()))
        })
        .collect();
    for task in tasks {
        task.await.expect("a nemesis lane panicked");
    }
    injected.lock().unwrap().clone()
}

async fn lane_loop(
    cluster: Arc<Cluster>,
    mut random: Random,
    until: Instant,
    busy: Arc<Mutex<BTreeSet<Target>>>,
    injected: Arc<Mutex<Injected>>,
) {
    while Instant::now() < until {
        tokio::time::sleep(random.millis(200, 1_500)).await;
        let fault = pick(&mut random, cluster.nodes.len());
        if !busy.lock().unwrap().insert(fault.target()) {
            continue; // the other lane holds it
        }
        let length = inject(&cluster, fault, &mut random).await;
        busy.lock().unwrap().remove(&fault.target());
        let mut injected = injected.lock().unwrap();
        let entry = injected.entry(fault.class()).or_default();
        entry.0 += 1;
        entry.1 += length;
        println!("nemesis: {fault:?} for {} ms", length.as_millis());
    }
}

fn pick(random: &mut Random, nodes: usize) -> Fault {
    let node = (random.next() % nodes as u64) as usize;
    let mode = match random.next() % 4 {
        0 => Mode::Drop,
        1 => Mode::Delay(50 + random.next() % 450),
        2 => Mode::BlackHole,
        _ => Mode::HalfOpen,
    };
    match random.next() % 6 {
        0 => Fault::Kill(node),
        1 => Fault::Freeze(node),
        2 => Fault::PostgresDown,
        3 => Fault::NatsDown,
        4 => Fault::PostgresLink(node, mode),
        _ => Fault::NatsLink(node, mode),
    }
}

/// Breaks, waits, heals; returns how long the fault lasted (until healed).
async fn inject(cluster: &Cluster, fault: Fault, random: &mut Random) -> Duration {
    let started = Instant::now();
    match fault {
        Fault::Kill(n) => {
            let node = cluster.nodes[n].clone();
            blocking(move || node.lock().unwrap().kill()).await;
            tokio::time::sleep(random.millis(100, 3_000)).await;
            let node = cluster.nodes[n].clone();
            blocking(move || node.lock().unwrap().start()).await;
        }
        Fault::Freeze(n) => {
            let pid = cluster.nodes[n].lock().unwrap().pid();
            signal(pid, "STOP");
            tokio::time::sleep(random.millis(500, 6_000)).await;
            signal(pid, "CONT");
        }
        Fault::PostgresDown => {
            let postgres = cluster.postgres.clone();
            blocking(move || postgres.lock().unwrap().kill()).await;
            tokio::time::sleep(random.millis(100, 4_000)).await;
            let postgres = cluster.postgres.clone();
            blocking(move || postgres.lock().unwrap().start()).await;
        }
        Fault::NatsDown => {
            let nats = cluster.nats.clone();
            blocking(move || nats.lock().unwrap().kill()).await;
            tokio::time::sleep(random.millis(100, 4_000)).await;
            let nats = cluster.nats.clone();
            blocking(move || nats.lock().unwrap().restart()).await;
        }
        Fault::PostgresLink(n, mode) => {
            link(&cluster.postgres_links[n], mode, random.millis(500, 5_000)).await
        }
        Fault::NatsLink(n, mode) => {
            link(&cluster.nats_links[n], mode, random.millis(500, 5_000)).await
        }
    }
    started.elapsed()
}

async fn link(proxy: &FaultProxy, mode: Mode, length: Duration) {
    proxy.set(mode);
    tokio::time::sleep(length).await;
    proxy.set(Mode::Pass);
}

async fn blocking(f: impl FnOnce() + Send + 'static) {
    tokio::task::spawn_blocking(f).await.expect("a process operation panicked");
}
