//! Configuration: defaults, then a TOML file, then `PORCH_*` environment variables, then
//! flags. Each later source overrides the earlier ones, field by field.
//!
//! Every setting and limit is a flag here, with its environment variable and default in
//! `porch serve --help`; the file uses the same names in snake_case (see `docs/config.md`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use porch_core::limits::Limits;
use porch_core::store::Store;
use serde::Deserialize;

use crate::logging::LogFormat;

/// Where the store lives and how to reach it: shared by `serve` and the admin commands.
#[derive(Args, Clone, Debug, Default)]
pub struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "PORCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where state lives: `sqlite` (the embedded store in --data-dir) or a PostgreSQL URL,
    /// postgres://user@host:5432/db, shared by every node of a cluster. [default: sqlite]
    #[arg(long, env = "PORCH_STORE", value_name = "STORE")]
    pub store: Option<String>,
    /// Data directory of the embedded store. [default: ./porch-data]
    #[arg(long, env = "PORCH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// SQLite `synchronous` mode: `full` (an ack survives power loss) or `normal` (an ack
    /// survives a process crash only). [default: full]
    #[arg(long, env = "PORCH_SQLITE_SYNCHRONOUS", value_name = "MODE")]
    pub sqlite_synchronous: Option<String>,
    /// Connections this node keeps to PostgreSQL; the nodes of a cluster together must stay
    /// under the server's max_connections. [default: 16]
    #[arg(long, env = "PORCH_POSTGRES_POOL_SIZE", value_name = "N")]
    pub postgres_pool_size: Option<usize>,
}

#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on. [default: 127.0.0.1:8080]
    #[arg(long, env = "PORCH_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// URL clients use to reach this server (behind a proxy: the proxy's https URL).
    /// `gatewayUrl` is derived from it. [default: http://<listen address>]
    #[arg(long, env = "PORCH_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// `iss` claim of the tokens this server issues and accepts. [default: porch]
    #[arg(long, env = "PORCH_ISSUER")]
    pub issuer: Option<String>,
    /// NATS URL of the cluster's broker, e.g. nats://127.0.0.1:4222. Without it, this node fans
    /// out in process only (a single node). [default: none]
    #[arg(long, env = "PORCH_BROKER", value_name = "URL")]
    pub broker: Option<String>,
    /// NATS subject of this cluster: clusters sharing one NATS server need one each.
    /// [default: porch.events]
    #[arg(long, env = "PORCH_BROKER_SUBJECT")]
    pub broker_subject: Option<String>,
    /// This node's name in a cluster (logs, /readyz, broker events). [default: a random id]
    #[arg(long, env = "PORCH_NODE_ID")]
    pub node_id: Option<String>,
    /// Serve an unauthenticated WebSocket echo at /api/v2/conformance/echo on the gateway's
    /// frame layer, for the Autobahn TestSuite (docs/conformance.md). Loopback addresses only.
    /// [default: false]
    #[arg(long, env = "PORCH_CONFORMANCE_ECHO", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub conformance_echo: Option<bool>,
    /// Create a demo set-up (a deployment for this server's own pages, an OAuth client and an
    /// agent, their secrets printed once) unless one exists: for trying Porch, never for
    /// production. Nodes of a cluster started together with it create one between them.
    /// [default: false]
    #[arg(long, env = "PORCH_DEMO", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub demo: Option<bool>,
    /// Accept the access token in the gateway URL (`?access_token=`). Tokens in URLs end up
    /// in logs; prefer the subprotocol. [default: false]
    #[arg(long, env = "PORCH_ALLOW_QUERY_TOKEN", value_name = "BOOL")]
    pub allow_query_token: Option<bool>,
    /// Let webhook endpoints use http:// (deliveries and their secrets' signatures then cross
    /// the network in clear): for a receiver on the same host or a private network.
    /// [default: false]
    #[arg(long, env = "PORCH_WEBHOOK_ALLOW_HTTP", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub webhook_allow_http: Option<bool>,
    /// Let webhook endpoints resolve to loopback, private and link-local addresses. Refused
    /// by default: a webhook must not reach into the operator's own network (server-side
    /// request forgery). [default: false]
    #[arg(long, env = "PORCH_WEBHOOK_ALLOW_PRIVATE_TARGETS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub webhook_allow_private_targets: Option<bool>,
    /// Address of a load balancer or proxy in front of Porch (repeat, or comma-separate in
    /// the variable). Requests from it are attributed to the client address it names in
    /// X-Forwarded-For, for per-address limits. [default: none]
    #[arg(
        long = "trusted-proxy",
        env = "PORCH_TRUSTED_PROXIES",
        value_name = "IP",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Log lines as `text` (for people; colour only on a terminal) or `json` (one object per
    /// line, for log collectors), on stderr. The level is PORCH_LOG. [default: text]
    #[arg(long, env = "PORCH_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Every limit operators may set, as flags and variables: one per settable row of
/// `porch_core::limits::ROWS`, so a new row is a new flag with nothing written here. The
/// help line is the row's first sentence and its default; `--help` shows the whole row.
#[derive(Clone, Debug, Default)]
pub struct LimitArgs {
    /// (setting, value) for each limit given by flag or variable.
    given: Vec<(&'static str, u64)>,
}

impl clap::Args for LimitArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let mut cmd = cmd.next_help_heading("Limits");
        for row in porch_core::limits::ROWS {
            let (Some(setting), Some(env)) = (row.setting, row.env()) else { continue };
            let default = format!(" [default: {}]", row.default);
            cmd = cmd.arg(
                clap::Arg::new(setting)
                    .long(setting.replace('_', "-"))
                    .env(env)
                    .value_name("N")
                    .value_parser(clap::value_parser!(u64))
                    .help(row.summary() + &default)
                    .long_help(row.text() + &default),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for LimitArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut args = LimitArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for setting in porch_core::limits::ROWS.iter().filter_map(|row| row.setting) {
            if let Some(value) = matches.get_one::<u64>(setting) {
                self.given.push((setting, *value));
            }
        }
        Ok(())
    }
}

/// The configuration file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub public_url: Option<String>,
    pub issuer: Option<String>,
    pub allow_query_token: Option<bool>,
    pub webhook_allow_http: Option<bool>,
    pub webhook_allow_private_targets: Option<bool>,
    pub sqlite_synchronous: Option<String>,
    pub postgres_pool_size: Option<usize>,
    pub store: Option<String>,
    pub broker: Option<String>,
    pub broker_subject: Option<String>,
    pub node_id: Option<String>,
    pub conformance_echo: Option<bool>,
    pub demo: Option<bool>,
    pub trusted_proxies: Option<Vec<std::net::IpAddr>>,
    pub log_format: Option<LogFormat>,
    #[serde(default)]
    pub limits: Limits,
    /// Whether the file sets `limits.connections_max` (otherwise it follows the open-file
    /// limit, `crate::nofile`).
    #[serde(skip)]
    pub connections_max_set: bool,
}

/// Settings after every source was applied.
#[derive(Debug)]
pub struct Settings {
    pub store: Option<String>,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub issuer: String,
    pub allow_query_token: bool,
    pub webhook_targets: porch_server::config::WebhookTargets,
    pub sqlite_synchronous: porch_store::Synchronous,
    pub postgres_pool_size: usize,
    pub broker: Option<String>,
    pub broker_subject: String,
    pub node_id: String,
    pub conformance_echo: bool,
    pub demo: bool,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub log_format: LogFormat,
    pub limits: Limits,
    /// `connections_max` came from a flag, a variable or the file, not from the default.
    pub connections_max_set: bool,
}

pub fn load_file(path: Option<&Path>) -> Result<FileSettings> {
    let Some(path) = path else { return Ok(FileSettings::default()) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    let context = || format!("config file {}", path.display());
    // Parsed into the struct first, for errors that name the line.
    let file: FileSettings = toml::from_str(&text).with_context(context)?;
    let table: toml::Table = toml::from_str(&text).with_context(context)?;
    let connections_max_set = table.get("limits").and_then(|l| l.get("connections_max")).is_some();
    Ok(FileSettings { connections_max_set, ..file })
}

impl Settings {
    pub fn resolve(args: &ServeArgs) -> Result<Settings> {
        let file = load_file(args.store.config.as_deref())?;
        let mut limits = file.limits.clone();
        args.limits.apply(&mut limits)?;
        let synchronous = args.store.sqlite_synchronous.clone().or(file.sqlite_synchronous.clone());
        let postgres_pool_size = pool_size(&args.store, &file)?;
        Ok(Settings {
            store: args.store.store.clone().or(file.store.clone()),
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid default")),
            data_dir: data_dir(&args.store, &file),
            public_url: args.public_url.clone().or(file.public_url),
            issuer: args.issuer.clone().or(file.issuer).unwrap_or_else(|| "porch".into()),
            allow_query_token: args.allow_query_token.or(file.allow_query_token).unwrap_or(false),
            webhook_targets: porch_server::config::WebhookTargets {
                allow_http: args.webhook_allow_http.or(file.webhook_allow_http).unwrap_or(false),
                allow_private: args
                    .webhook_allow_private_targets
                    .or(file.webhook_allow_private_targets)
                    .unwrap_or(false),
            },
            sqlite_synchronous: parse_synchronous(synchronous.as_deref())?,
            postgres_pool_size,
            broker: args.broker.clone().or(file.broker),
            broker_subject: args
                .broker_subject
                .clone()
                .or(file.broker_subject)
                .unwrap_or_else(|| porch_wire::event::SUBJECT.into()),
            node_id: args
                .node_id
                .clone()
                .or(file.node_id)
                .unwrap_or_else(|| porch_core::ids::new_id("nod")),
            conformance_echo: args.conformance_echo.or(file.conformance_echo).unwrap_or(false),
            demo: args.demo.or(file.demo).unwrap_or(false),
            trusted_proxies: if args.trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                args.trusted_proxies.clone()
            },
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            connections_max_set: args.limits.sets("connections_max") || file.connections_max_set,
            limits,
        })
    }
}

pub fn data_dir(args: &StoreArgs, file: &FileSettings) -> PathBuf {
    args.data_dir.clone().or(file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("porch-data"))
}

pub fn parse_synchronous(value: Option<&str>) -> Result<porch_store::Synchronous> {
    match value.unwrap_or("full") {
        "full" => Ok(porch_store::Synchronous::Full),
        "normal" => Ok(porch_store::Synchronous::Normal),
        other => anyhow::bail!("sqlite_synchronous `{other}` must be `full` or `normal`"),
    }
}

impl LimitArgs {
    /// Whether a flag or a variable gave the limit named `setting`.
    pub fn sets(&self, setting: &str) -> bool {
        self.given.iter().any(|(name, _)| *name == setting)
    }

    pub fn apply(&self, limits: &mut Limits) -> Result<()> {
        for (setting, value) in &self.given {
            limits.set(setting, &value.to_string()).map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }
}

/// Opens the configured store, for the admin commands.
pub async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>> {
    let file = load_file(args.config.as_deref())?;
    let dir = data_dir(args, &file);
    let synchronous = parse_synchronous(
        args.sqlite_synchronous.as_deref().or(file.sqlite_synchronous.as_deref()),
    )?;
    connect_store(
        args.store.as_deref().or(file.store.as_deref()),
        &dir,
        synchronous,
        pool_size(args, &file)?,
    )
    .await
}

fn pool_size(args: &StoreArgs, file: &FileSettings) -> Result<usize> {
    match args
        .postgres_pool_size
        .or(file.postgres_pool_size)
        .unwrap_or(porch_core::limits::POSTGRES_POOL_SIZE_DEFAULT)
    {
        0 => anyhow::bail!("postgres_pool_size must be at least 1"),
        size => Ok(size),
    }
}

/// `sqlite` (or nothing): the embedded store in `dir`. `postgres://…`: PostgreSQL, with a pool
/// of `pool_size` connections.
pub async fn connect_store(
    store: Option<&str>,
    dir: &Path,
    synchronous: porch_store::Synchronous,
    pool_size: usize,
) -> Result<Arc<dyn Store>> {
    match store.unwrap_or("sqlite") {
        "sqlite" => {
            let options = porch_store::SqliteOptions {
                path: dir.join("porch.db"),
                synchronous,
                read_connections: porch_core::limits::SQLITE_READ_CONNECTIONS,
            };
            let store = porch_store::SqliteStore::open(options)
                .with_context(|| format!("opening the store in {}", dir.display()))?;
            Ok(Arc::new(store))
        }
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let options = porch_store::PostgresOptions {
                pool_size,
                ..porch_store::PostgresOptions::new(url)
            };
            let store = porch_store::PostgresStore::connect(options).await?;
            Ok(Arc::new(store))
        }
        other => {
            // Only the scheme is shown: the rest of a URL may hold a password.
            let scheme = other.split("://").next().unwrap_or("");
            anyhow::bail!("--store must be `sqlite` or a postgres:// URL, not `{scheme}…`")
        }
    }
}
