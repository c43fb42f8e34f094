//! Configuration: defaults, then a TOML file, then `PORCH_*` environment variables, then
//! flags. Each later source overrides the earlier ones, field by field.
//!
//! Every setting and limit is a flag here, with its environment variable and default in
//! `porch serve --help`; the file uses the same names in snake_case (see `docs/config.md`).
//! Settings are rows of `table::SETTINGS`, limits rows of `porch_core::limits::ROWS`; secret
//! settings may come from files (`secret`).

pub mod broker;
pub mod secret;
pub mod table;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use porch_core::limits::Limits;
use porch_core::store::Store;
use serde::{Deserialize, Serialize};

use crate::logging::LogFormat;

/// Where the store lives and how to reach it: shared by `serve` and the admin commands.
#[derive(Args, Clone, Debug, Default)]
pub struct StoreArgs {
    /// TOML configuration file (`porch config default` writes a complete one).
    #[arg(long, env = "PORCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "PORCH_STORE", value_name = "STORE",
        help = table::help("store"), long_help = table::long_help("store"))]
    pub store: Option<String>,
    #[arg(long, env = "PORCH_DATA_DIR", value_name = "DIR",
        help = table::help("data_dir"), long_help = table::long_help("data_dir"))]
    pub data_dir: Option<PathBuf>,
    #[arg(long, env = "PORCH_SQLITE_SYNCHRONOUS", value_name = "MODE",
        help = table::help("sqlite_synchronous"), long_help = table::long_help("sqlite_synchronous"))]
    pub sqlite_synchronous: Option<String>,
    #[arg(long, env = "PORCH_POSTGRES_POOL_SIZE", value_name = "N",
        help = table::help("postgres_pool_size"), long_help = table::long_help("postgres_pool_size"))]
    pub postgres_pool_size: Option<usize>,
}

/// `porch serve`'s settings; `porch config check` takes the same.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, env = "PORCH_LISTEN", value_name = "ADDR",
        help = table::help("listen"), long_help = table::long_help("listen"))]
    pub listen: Option<SocketAddr>,
    #[arg(long, env = "PORCH_METRICS_LISTEN", value_name = "ADDR",
        help = table::help("metrics_listen"), long_help = table::long_help("metrics_listen"))]
    pub metrics_listen: Option<SocketAddr>,
    #[arg(long, env = "PORCH_PUBLIC_URL", value_name = "URL",
        help = table::help("public_url"), long_help = table::long_help("public_url"))]
    pub public_url: Option<String>,
    #[arg(long, env = "PORCH_ISSUER",
        help = table::help("issuer"), long_help = table::long_help("issuer"))]
    pub issuer: Option<String>,
    #[arg(long, env = "PORCH_BROKER", value_name = "URL",
        help = table::help("broker"), long_help = table::long_help("broker"))]
    pub broker: Option<String>,
    #[arg(long, env = "PORCH_BROKER_SUBJECT",
        help = table::help("broker_subject"), long_help = table::long_help("broker_subject"))]
    pub broker_subject: Option<String>,
    #[command(flatten)]
    pub broker_access: broker::BrokerAccessArgs,
    #[arg(long, env = "PORCH_NODE_ID",
        help = table::help("node_id"), long_help = table::long_help("node_id"))]
    pub node_id: Option<String>,
    #[arg(long, env = "PORCH_CONFORMANCE_ECHO", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
        help = table::help("conformance_echo"), long_help = table::long_help("conformance_echo"))]
    pub conformance_echo: Option<bool>,
    #[arg(long, env = "PORCH_DEMO", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
        help = table::help("demo"), long_help = table::long_help("demo"))]
    pub demo: Option<bool>,
    #[arg(long, env = "PORCH_ALLOW_QUERY_TOKEN", value_name = "BOOL",
        help = table::help("allow_query_token"), long_help = table::long_help("allow_query_token"))]
    pub allow_query_token: Option<bool>,
    #[arg(long, env = "PORCH_WEBHOOK_ALLOW_HTTP", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
        help = table::help("webhook_allow_http"), long_help = table::long_help("webhook_allow_http"))]
    pub webhook_allow_http: Option<bool>,
    #[arg(long, env = "PORCH_WEBHOOK_ALLOW_PRIVATE_TARGETS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
        help = table::help("webhook_allow_private_targets"), long_help = table::long_help("webhook_allow_private_targets"))]
    pub webhook_allow_private_targets: Option<bool>,
    #[arg(
        long = "trusted-proxy",
        env = "PORCH_TRUSTED_PROXIES",
        value_name = "IP",
        value_delimiter = ',',
        help = table::help("trusted_proxies"),
        long_help = table::long_help("trusted_proxies")
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    #[arg(
        long = "attachment-type",
        env = "PORCH_ATTACHMENT_TYPES",
        value_name = "TYPE",
        value_delimiter = ',',
        help = table::help("attachment_types"),
        long_help = table::long_help("attachment_types")
    )]
    pub attachment_types: Vec<String>,
    #[arg(long, env = "PORCH_LOG_FORMAT", value_name = "FORMAT",
        help = table::help("log_format"), long_help = table::long_help("log_format"))]
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
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<SocketAddr>,
    pub metrics_listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub public_url: Option<String>,
    pub issuer: Option<String>,
    pub allow_query_token: Option<bool>,
    pub webhook_allow_http: Option<bool>,
    pub webhook_allow_private_targets: Option<bool>,
    pub sqlite_synchronous: Option<String>,
    pub postgres_pool_size: Option<usize>,
    pub store: Option<String>,
    pub store_file: Option<PathBuf>,
    pub broker: Option<String>,
    pub broker_file: Option<PathBuf>,
    pub broker_subject: Option<String>,
    pub broker_ca_file: Option<PathBuf>,
    pub broker_cert_file: Option<PathBuf>,
    pub broker_key_file: Option<PathBuf>,
    pub broker_user: Option<String>,
    pub broker_password: Option<String>,
    pub broker_password_file: Option<PathBuf>,
    pub broker_token: Option<String>,
    pub broker_token_file: Option<PathBuf>,
    pub broker_nkey_file: Option<PathBuf>,
    pub broker_creds_file: Option<PathBuf>,
    pub node_id: Option<String>,
    pub conformance_echo: Option<bool>,
    pub demo: Option<bool>,
    pub trusted_proxies: Option<Vec<std::net::IpAddr>>,
    pub attachment_types: Option<Vec<String>>,
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
    pub metrics_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub issuer: String,
    pub allow_query_token: bool,
    pub webhook_targets: porch_server::config::WebhookTargets,
    pub sqlite_synchronous: porch_store::Synchronous,
    pub postgres_pool_size: usize,
    pub broker: Option<String>,
    pub broker_subject: String,
    pub broker_access: porch_server::broker::access::NatsAccess,
    pub node_id: String,
    pub conformance_echo: bool,
    pub demo: bool,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The content types attachments may have (`porch_core::attachment`).
    pub attachment_types: Vec<String>,
    pub log_format: LogFormat,
    pub limits: Limits,
    /// `connections_max` came from a flag, a variable or the file, not from the default.
    pub connections_max_set: bool,
}

pub fn load_file(path: Option<&Path>) -> Result<FileSettings> {
    let Some(path) = path else { return Ok(FileSettings::default()) };
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading config file {} (point --config or PORCH_CONFIG at a readable file)",
            path.display()
        )
    })?;
    let context = || {
        format!("config file {} (`porch config doc` lists every key and its type)", path.display())
    };
    // Parsed into the struct first, for errors that name the line.
    let file: FileSettings = toml::from_str(&text).with_context(context)?;
    let table: toml::Table = toml::from_str(&text).with_context(context)?;
    let connections_max_set = table.get("limits").and_then(|l| l.get("connections_max")).is_some();
    Ok(FileSettings { connections_max_set, ..file })
}

/// The value of a fallible step, or its fallback with the problem noted: resolution goes on,
/// so `porch config check` reports every problem at once.
fn noted<T>(problems: &mut Vec<String>, result: Result<T, String>, fallback: T) -> T {
    result.unwrap_or_else(|problem| {
        problems.push(problem);
        fallback
    })
}

impl Settings {
    /// The settings, or every problem with them in one error.
    pub fn resolve(args: &ServeArgs) -> Result<Settings> {
        Self::resolve_all(args).map_err(|problems| anyhow::anyhow!(problems.join("\n")))
    }

    /// The settings from file, environment and flags, without opening anything but the file
    /// and the files secrets are read from (a NATS seed or credentials file among them); or
    /// every problem found, each with its fix.
    pub fn resolve_all(args: &ServeArgs) -> Result<Settings, Vec<String>> {
        let mut problems = Vec::new();
        let loaded = load_file(args.store.config.as_deref()).map_err(|e| format!("{e:#}"));
        let file = noted(&mut problems, loaded, FileSettings::default());
        let mut limits = file.limits.clone();
        let applied = args.limits.apply(&mut limits).map_err(|e| e.to_string());
        noted(&mut problems, applied, ());
        noted(&mut problems, limits.validate().map_err(|e| format!("limits: {e}")), ());
        let synchronous = args.store.sqlite_synchronous.clone().or(file.sqlite_synchronous.clone());
        let synchronous = noted(
            &mut problems,
            parse_synchronous(synchronous.as_deref()).map_err(|e| e.to_string()),
            porch_store::Synchronous::Full,
        );
        let pool = pool_size(&args.store, &file).map_err(|e| e.to_string());
        let postgres_pool_size =
            noted(&mut problems, pool, porch_core::limits::POSTGRES_POOL_SIZE_DEFAULT);
        let store = noted(&mut problems, store_setting(&args.store, &file), None);
        noted(
            &mut problems,
            store_kind(store.as_deref()).map(|_| ()).map_err(|e| e.to_string()),
            (),
        );
        let broker = noted(&mut problems, broker_setting(args, &file), None);
        let broker_access = broker::resolve(&args.broker_access, &file);
        let broker_access = noted(&mut problems, broker_access, Default::default());
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid default"));
        let metrics_listen = args.metrics_listen.or(file.metrics_listen);
        noted(&mut problems, check_metrics_listen(metrics_listen, listen), ());
        let conformance_echo = args.conformance_echo.or(file.conformance_echo).unwrap_or(false);
        noted(&mut problems, check_conformance_echo(conformance_echo, listen), ());
        let public_url = args.public_url.clone().or(file.public_url.clone());
        let attachment_types = if args.attachment_types.is_empty() {
            file.attachment_types.clone().unwrap_or_else(|| {
                porch_core::attachment::DEFAULT_TYPES.iter().map(|t| (*t).to_owned()).collect()
            })
        } else {
            args.attachment_types.clone()
        };
        noted(&mut problems, check_attachment_types(&attachment_types), ());
        noted(&mut problems, check_public_url(public_url.as_deref()), ());
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Settings {
            store,
            listen,
            metrics_listen,
            data_dir: data_dir(&args.store, &file),
            public_url,
            issuer: args.issuer.clone().or(file.issuer).unwrap_or_else(|| "porch".into()),
            allow_query_token: args.allow_query_token.or(file.allow_query_token).unwrap_or(false),
            webhook_targets: porch_server::config::WebhookTargets {
                allow_http: args.webhook_allow_http.or(file.webhook_allow_http).unwrap_or(false),
                allow_private: args
                    .webhook_allow_private_targets
                    .or(file.webhook_allow_private_targets)
                    .unwrap_or(false),
            },
            sqlite_synchronous: synchronous,
            postgres_pool_size,
            broker,
            broker_subject: args
                .broker_subject
                .clone()
                .or(file.broker_subject)
                .unwrap_or_else(|| porch_wire::event::SUBJECT.into()),
            broker_access,
            node_id: args
                .node_id
                .clone()
                .or(file.node_id)
                .unwrap_or_else(|| porch_core::ids::new_id("nod")),
            conformance_echo,
            demo: args.demo.or(file.demo).unwrap_or(false),
            trusted_proxies: if args.trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                args.trusted_proxies.clone()
            },
            attachment_types,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            connections_max_set: args.limits.sets("connections_max") || file.connections_max_set,
            limits,
        })
    }
}

/// Every allowed attachment type must be one Porch recognises from a file's first bytes, or
/// no file could ever be sent as it.
fn check_attachment_types(types: &[String]) -> Result<(), String> {
    match types.iter().find(|t| !porch_core::attachment::known(t)) {
        Some(unknown) => Err(format!(
            "attachment_types: `{unknown}` is not a type Porch recognises from a file's content; \
             use some of image/png, image/jpeg, image/gif, image/webp, application/pdf, application/zip"
        )),
        None => Ok(()),
    }
}

/// The store setting: flag, variable (or `PORCH_STORE_FILE`), file (or `store_file`).
pub fn store_setting(args: &StoreArgs, file: &FileSettings) -> Result<Option<String>, String> {
    let row = table::row("store");
    let env_file = secret::env(&row.file_env());
    secret::resolve(
        row,
        &secret::SecretSources {
            given: args.store.as_deref(),
            env_file: env_file.as_deref(),
            env_set: secret::env(row.env).is_some(),
            toml: file.store.as_deref(),
            toml_file: file.store_file.as_deref(),
        },
    )
}

/// The broker setting, as the store's; a URL of a scheme NATS does not speak is refused.
fn broker_setting(args: &ServeArgs, file: &FileSettings) -> Result<Option<String>, String> {
    let row = table::row("broker");
    let env_file = secret::env(&row.file_env());
    let broker = secret::resolve(
        row,
        &secret::SecretSources {
            given: args.broker.as_deref(),
            env_file: env_file.as_deref(),
            env_set: secret::env(row.env).is_some(),
            toml: file.broker.as_deref(),
            toml_file: file.broker_file.as_deref(),
        },
    )?;
    if let Some((scheme, _)) = broker.as_deref().and_then(|url| url.split_once("://"))
        && !["nats", "tls"].contains(&scheme)
    {
        return Err(format!(
            "broker must be a NATS URL, nats://host:4222 (or tls://), not `{scheme}://…`"
        ));
    }
    Ok(broker)
}

/// The conformance echo answers anyone without a token: only on a loopback address.
fn check_conformance_echo(on: bool, listen: SocketAddr) -> Result<(), String> {
    if on && !listen.ip().is_loopback() {
        return Err(format!(
            "conformance_echo serves an unauthenticated echo for the Autobahn TestSuite and is refused on {listen}; \
             listen on a loopback address (--listen 127.0.0.1:0) or turn it off"
        ));
    }
    Ok(())
}

/// The internal listener needs a port of its own (0 picks a free one, as for `listen`).
fn check_metrics_listen(metrics: Option<SocketAddr>, listen: SocketAddr) -> Result<(), String> {
    match metrics {
        Some(metrics) if metrics == listen && metrics.port() != 0 => Err(format!(
            "metrics_listen is listen's address ({listen}): give it another port, e.g. 127.0.0.1:9090, or leave it out to serve /metrics on listen"
        )),
        _ => Ok(()),
    }
}

/// `public_url` becomes `gatewayUrl` and the pages' origin: it needs its scheme.
fn check_public_url(url: Option<&str>) -> Result<(), String> {
    match url {
        Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => Err(format!(
            "public_url `{url}` must be an absolute URL: https://chat.example.com behind a TLS proxy, or http://host:port"
        )),
        _ => Ok(()),
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

/// Opens the configured store, for the admin commands, after saying which one on stderr
/// (stdout may be JSON for a script). A store nobody named, in a directory that does not
/// exist, is refused rather than created: the server's store is elsewhere (a cluster's
/// PostgreSQL, a packaged server's /var/lib/porch), and a new empty one would take the
/// records silently.
pub async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>> {
    let file = load_file(args.config.as_deref())?;
    let dir = data_dir(args, &file);
    let synchronous = parse_synchronous(
        args.sqlite_synchronous.as_deref().or(file.sqlite_synchronous.as_deref()),
    )?;
    let store = store_setting(args, &file).map_err(anyhow::Error::msg)?;
    let named = store.is_some() || args.data_dir.is_some() || file.data_dir.is_some();
    match store_kind(store.as_deref())? {
        StoreKind::Sqlite if !named && !dir.join("porch.db").exists() => anyhow::bail!(
            "no store is configured and {} holds none: name the server's store (--config FILE as `porch serve` uses it, \
             --store URL or PORCH_STORE), or give --data-dir DIR to make an embedded store there",
            dir.display()
        ),
        StoreKind::Sqlite => {
            eprintln!("porch: store: SQLite in {}", dir.join("porch.db").display())
        }
        StoreKind::Postgres(url) => eprintln!("porch: store: PostgreSQL {}", redacted(url)),
    }
    connect_store(store.as_deref(), &dir, synchronous, pool_size(args, &file)?).await
}

/// `host:port/database` of a PostgreSQL URL: no user, password or parameters.
pub fn redacted(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{host}/{path}")
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

/// Which store a `store` setting names.
pub enum StoreKind<'a> {
    /// The embedded store in the data directory.
    Sqlite,
    /// PostgreSQL at this URL.
    Postgres(&'a str),
}

/// `sqlite` (or nothing), or a `postgres://` URL; anything else is refused with the choices.
pub fn store_kind(store: Option<&str>) -> Result<StoreKind<'_>> {
    match store.unwrap_or("sqlite") {
        "sqlite" => Ok(StoreKind::Sqlite),
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(StoreKind::Postgres(url))
        }
        other => {
            // Only the scheme is shown: the rest of a URL may hold a password.
            let scheme = other.split("://").next().unwrap_or("");
            anyhow::bail!("store must be `sqlite` or a postgres:// URL, not `{scheme}…`")
        }
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
    match store_kind(store)? {
        StoreKind::Sqlite => {
            let options = porch_store::SqliteOptions {
                path: dir.join("porch.db"),
                synchronous,
                read_connections: porch_core::limits::SQLITE_READ_CONNECTIONS,
            };
            let store = porch_store::SqliteStore::open(options)
                .with_context(|| format!("opening the store in {}", dir.display()))?;
            Ok(Arc::new(store))
        }
        StoreKind::Postgres(url) => {
            let options = porch_store::PostgresOptions {
                pool_size,
                ..porch_store::PostgresOptions::new(url)
            };
            let store = porch_store::PostgresStore::connect(options).await?;
            Ok(Arc::new(store))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_postgres_url_is_named_without_its_credentials() {
        let url = "postgres://porch:pw@db.internal:5432/porch?sslmode=verify-full";
        assert_eq!(super::redacted(url), "db.internal:5432/porch");
        assert_eq!(super::redacted("postgresql://db/porch"), "db/porch");
    }
}
