//! S6: S3's delivery measurement (`delivery.rs`, unchanged) on three deployments of Porch,
//! row by row in one run: one node on SQLite (S3 itself, the reference), one node on
//! PostgreSQL, and two nodes on PostgreSQL + NATS with guests on node 1 and agents on node 2,
//! so every message crosses the broker. PostgreSQL and NATS are the machine's (by default
//! 127.0.0.1:5432 database `test`, and 127.0.0.1:4222). Each row gets its own PostgreSQL schema
//! (dropped afterwards) and its own NATS subject, so it can share both with other users
//! without seeing their data or they its.
//!
//! Server CPU is Porch's own (all nodes). PostgreSQL's share is measured apart: the backends
//! serving this row's nodes (found by the `application_name` their URL sets), and the
//! machine's nats-server process (shared: it includes whatever else uses it meanwhile).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::procfs::{CpuMeter, cpu_us};
use crate::server::{NodeOptions, Paths, Server, start_porch_node};
use crate::stats::Report;

/// How Porch is deployed for one S6 row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Topology {
    /// One node, the embedded SQLite store: S3's setup.
    Sqlite,
    /// One node on PostgreSQL, no broker.
    Postgres,
    /// Two nodes on PostgreSQL + NATS; guests on node 1, agents on node 2.
    TwoNodes,
}

impl Topology {
    pub fn name(self) -> &'static str {
        match self {
            Topology::Sqlite => "porch sqlite",
            Topology::Postgres => "porch postgres",
            Topology::TwoNodes => "porch 2 nodes",
        }
    }
}

/// Where the shared PostgreSQL and NATS are (the `cluster` and `broadcast` options).
#[derive(clap::Args, Clone, Debug)]
pub struct Backends {
    /// A database the harness may create (and drop) one schema per run or row in.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres_url: String,
    /// The nodes' broker; each run or row publishes on a subject of its own.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
}

/// The Porch processes of one row; dropping it kills them, then drops their schema.
pub struct Nodes {
    name: String,
    /// The guests' node first, the agents' node last (the same one when there is one).
    servers: Vec<Server>,
    schema: Option<Schema>,
}

impl Nodes {
    /// One node that is already running (S3).
    pub fn single(server: Server) -> Nodes {
        Nodes { name: "porch".into(), servers: vec![server], schema: None }
    }

    pub fn start(paths: &Paths, topology: Topology, backends: &Backends) -> Result<Nodes> {
        eprintln!("starting {}", topology.name());
        match topology {
            Topology::Sqlite => {
                let server = start_porch_node(paths, &NodeOptions::default())?;
                Ok(Nodes { name: topology.name().into(), servers: vec![server], schema: None })
            }
            Topology::Postgres => {
                let schema = Schema::create(&backends.postgres_url)?;
                let options = NodeOptions {
                    serve_args: Vec::new(),
                    cli_env: vec![("PORCH_STORE".to_string(), schema.0.store_url())],
                };
                let server = start_porch_node(paths, &options)?;
                Ok(Nodes {
                    name: topology.name().into(),
                    servers: vec![server],
                    schema: Some(schema),
                })
            }
            Topology::TwoNodes => Nodes::cluster(paths, backends, 2, topology.name()),
        }
    }

    /// `count` nodes on PostgreSQL + NATS, in a schema and on a subject of their own (S6's
    /// two nodes, S1b's six).
    pub fn cluster(paths: &Paths, backends: &Backends, count: usize, name: &str) -> Result<Nodes> {
        check_reachable(&backends.nats_url)?;
        // Dropped if a node fails to start; then owned by the `Nodes`.
        let schema = Schema::create(&backends.postgres_url)?;
        let store = vec![("PORCH_STORE".to_string(), schema.0.store_url())];
        let mut servers = Vec::new();
        for node in 1..=count {
            let options = NodeOptions {
                serve_args: vec![
                    format!("--broker={}", backends.nats_url),
                    // One subject per row: other clusters may share this NATS server.
                    format!("--broker-subject=porch.bench.{}", schema.0.name),
                    format!("--node-id=bench-node-{node}"),
                ],
                cli_env: store.clone(),
            };
            // One after the other: node 2 starts once node 1 listens, its schema migrated.
            servers.push(start_porch_node(paths, &options)?);
        }
        Ok(Nodes { name: name.into(), servers, schema: Some(schema) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every node, in start order.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// Where guests connect and the deployment, client and guests are created.
    pub fn guests(&self) -> &Server {
        &self.servers[0]
    }

    /// Where agents log in and connect.
    pub fn agents(&self) -> &Server {
        self.servers.last().expect("at least one node")
    }

    /// Fails if any node died.
    pub fn check_alive(&mut self) -> Result<()> {
        self.servers.iter_mut().try_for_each(Server::check_alive)
    }

    /// RSS of all nodes together.
    pub fn rss_kib(&self) -> Option<u64> {
        self.servers.iter().map(|s| s.rss_kib().ok()).sum()
    }

    pub fn cpu_meter(&self) -> Result<CpuMeter> {
        CpuMeter::start_all(&self.servers.iter().map(Server::pid).collect::<Vec<_>>())
    }

    /// Starts measuring PostgreSQL's and NATS's CPU (nothing on SQLite).
    pub fn backend_meter(&self) -> BackendMeter {
        let Some(Schema(schema)) = &self.schema else {
            return BackendMeter::default();
        };
        let postgres = pg_backends(schema)
            .into_iter()
            .filter_map(|pid| Some((pid, cpu_us(pid).ok()?)))
            .collect();
        let nats = (self.servers.len() > 1).then(|| {
            nats_pids().into_iter().filter_map(|pid| Some((pid, cpu_us(pid).ok()?))).collect()
        });
        BackendMeter { schema: Some(schema.clone()), postgres, nats }
    }
}

/// CPU of the PostgreSQL backends serving one row's nodes, and of the machine's nats-server.
#[derive(Default)]
pub struct BackendMeter {
    schema: Option<SchemaName>,
    postgres: BTreeMap<u32, u64>,
    nats: Option<BTreeMap<u32, u64>>,
}

impl BackendMeter {
    /// Adds `postgres_cpu_us_per_op`, `nats_cpu_us_per_op` (when measured) and
    /// `total_cpu_us_per_op` (Porch's `server_cpu_us` plus those) to the report.
    pub fn finish(&self, report: &mut Report, server_us_per_op: Option<f64>, ops: u64) {
        let Some(schema) = &self.schema else {
            return;
        };
        if ops == 0 {
            return;
        }
        // Backends that connected during the phase count from zero: their pool grew.
        let used = |start: &BTreeMap<u32, u64>, now: Vec<u32>| -> f64 {
            let ended: u64 = start.iter().filter(|(pid, _)| !now.contains(pid)).count() as u64;
            if ended > 0 {
                eprintln!("  {ended} processes ended during the phase; their CPU is not counted");
            }
            let us: u64 = now
                .iter()
                .filter_map(|pid| {
                    let cpu = cpu_us(*pid).ok()?;
                    Some(cpu.saturating_sub(start.get(pid).copied().unwrap_or(0)))
                })
                .sum();
            us as f64 / ops as f64
        };
        let round = |v: f64| (v * 10.0).round() / 10.0;
        let postgres = used(&self.postgres, pg_backends(schema));
        report.extra("postgres_cpu_us_per_op", round(postgres));
        let mut total = server_us_per_op.unwrap_or(0.0) + postgres;
        if let Some(start) = &self.nats {
            let nats = used(start, nats_pids());
            report.extra("nats_cpu_us_per_op", round(nats));
            total += nats;
        }
        report.extra("total_cpu_us_per_op", round(total));
    }
}

/// A PostgreSQL schema of its own for one row, dropped (with everything in it) on drop.
struct Schema(SchemaName);

/// Where a row's schema is.
#[derive(Clone)]
struct SchemaName {
    /// Lowercase letters, digits and `_`: safe unquoted in SQL, a URL and a NATS subject.
    name: String,
    url: String,
}

impl Schema {
    fn create(url: &str) -> Result<Schema> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let name = format!("porch_bench_{}_{nanos}", std::process::id());
        psql(url, &format!("CREATE SCHEMA {name}")).with_context(|| {
            format!(
                "the cluster scenarios (S6, S1b) need PostgreSQL at {} (a database the harness \
                 may create schemas in; pass another with --postgres-url)",
                address(url)
            )
        })?;
        Ok(Schema(SchemaName { name, url: url.to_string() }))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let SchemaName { name, url } = &self.0;
        if let Err(e) = psql(url, &format!("DROP SCHEMA IF EXISTS {name} CASCADE")) {
            eprintln!("could not drop PostgreSQL schema {name}: {e:#}");
        }
    }
}

impl SchemaName {
    /// The URL the nodes and the CLI use: only this schema on the search path (Porch creates
    /// its tables there), and an `application_name` that finds their backends.
    fn store_url(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}application_name={}&options=-c%20search_path%3D{}",
            self.url, self.name, self.name
        )
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        // The nodes first: a schema in use cannot be dropped without waiting for them.
        self.servers.clear();
        self.schema.take();
    }
}

/// Runs one statement with psql; its error output on failure.
fn psql(url: &str, sql: &str) -> Result<String> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .context("running psql (Debian package postgresql-client)")?;
    if !output.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// PostgreSQL's `max_connections` and the connections open now, so a run that starts many
/// nodes (each with its own pool) can say beforehand that they will not all get theirs.
pub fn postgres_connections(url: &str) -> Result<(u64, u64)> {
    let out = psql(
        url,
        "SELECT current_setting('max_connections'), count(*) FROM pg_stat_activity \
         WHERE backend_type = 'client backend'",
    )?;
    let mut fields = out.trim().split('|').map(|v| v.trim().parse::<u64>());
    match (fields.next(), fields.next()) {
        (Some(Ok(max)), Some(Ok(open))) => Ok((max, open)),
        _ => bail!("unexpected answer from PostgreSQL: {out}"),
    }
}

/// The backends whose `application_name` is the schema's name (see `store_url`).
fn pg_backends(schema: &SchemaName) -> Vec<u32> {
    let sql =
        format!("SELECT pid FROM pg_stat_activity WHERE application_name = '{}'", schema.name);
    match psql(&schema.url, &sql) {
        Ok(out) => out.lines().filter_map(|l| l.trim().parse().ok()).collect(),
        Err(e) => {
            eprintln!("  cannot list PostgreSQL backends: {e:#}");
            Vec::new()
        }
    }
}

/// Every `nats-server` process on the machine.
fn nats_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "nats-server")
        })
        .collect()
}

/// `host:port` of a URL, for messages (never its user or password).
fn address(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// Fails with a clear message when nothing listens at the URL's host and port.
fn check_reachable(url: &str) -> Result<()> {
    let addr = address(url);
    std::net::TcpStream::connect(addr).with_context(|| {
        format!(
            "the cluster scenarios (S6, S1b) need NATS at {addr} (pass another with --nats-url)"
        )
    })?;
    Ok(())
}
