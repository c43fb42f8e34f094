//! Reaching PostgreSQL: the URL, the per-session settings, the pool, and the errors that say
//! where the server is without ever showing the password.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use porch_core::limits::{
    POSTGRES_CONNECT_TIMEOUT_MS, POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    POSTGRES_KEEPALIVE_IDLE_MS, POSTGRES_KEEPALIVE_INTERVAL_MS, POSTGRES_KEEPALIVE_PROBES,
    POSTGRES_LOCK_TIMEOUT_MS, POSTGRES_POOL_WAIT_TIMEOUT_MS, POSTGRES_PROBE_TIMEOUT_MS,
    POSTGRES_STARTING_RETRY_MS, POSTGRES_STARTING_WAIT_MS, POSTGRES_STATEMENT_TIMEOUT_MS,
    POSTGRES_TCP_USER_TIMEOUT_MS,
};
use porch_core::store::StoreError;
use tokio_postgres::config::Host;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Config, NoTls};

use super::PostgresOptions;
use super::rows::{Context, describe};
use super::tls::Mode;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(POSTGRES_CONNECT_TIMEOUT_MS);
const POOL_WAIT_TIMEOUT: Duration = Duration::from_millis(POSTGRES_POOL_WAIT_TIMEOUT_MS);
const PROBE_TIMEOUT: Duration = Duration::from_millis(POSTGRES_PROBE_TIMEOUT_MS);

/// The pool and where it points. Cloned handles share the pool (blob storage has one).
#[derive(Clone)]
pub(crate) struct Db {
    pool: Pool,
    /// `host:port` list for messages; never the password or the rest of the URL.
    address: String,
}

impl Db {
    /// Builds the pool. Opens nothing yet: the first `client()` does.
    pub(crate) fn new(options: &PostgresOptions) -> Result<Db, StoreError> {
        // The parse error names the bad option, never its value, so it cannot leak a password.
        let split = super::tls::split(&options.url)?;
        let mut config: Config = split.url.parse().map_err(|e| {
            StoreError::Unavailable(format!("the PostgreSQL URL is invalid: {}", describe(&e)))
        })?;
        let address = address(&config);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        keep_alive(&mut config);
        if config.get_application_name().is_none() {
            // Lets a DBA tell Porch's sessions apart in pg_stat_activity.
            config.application_name("porch");
        }
        // Session settings go in the startup packet, so every pooled connection has them from
        // its first statement and no checkout pays a `SET` round trip.
        // The timeouts bound what a node that stops answering (frozen, cut off) can hold, and
        // what any caller waits for (porch-core's `limits`, docs/deploy.md).
        let mut startup = config.get_options().unwrap_or_default().to_owned();
        let _ = write!(
            startup,
            " -c idle_in_transaction_session_timeout={POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS}ms \
             -c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS}ms -c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS}ms"
        );
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
            // Only this schema: an unqualified name can never reach a `public` table by mistake.
            let _ = write!(startup, " -c search_path={schema}");
        }
        config.options(startup.trim_start());

        // `Fast` recycling checks only that the connection task is still running. A server
        // restart or `pg_terminate_backend` closes the socket, which ends that task, so broken
        // connections are dropped at checkout without a round trip per checkout (`Verified`
        // would double the latency of every single-statement read).
        let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = if split.mode == Mode::Off {
            config.ssl_mode(SslMode::Disable);
            Manager::from_config(config, NoTls, recycling)
        } else {
            // Required: a server without TLS is refused, never used in the clear.
            config.ssl_mode(SslMode::Require);
            let tls = super::tls::connector(&split)?;
            Manager::from_config(config, tls, recycling)
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Unavailable(format!("building the PostgreSQL pool: {e}")))?;
        Ok(Db { pool, address })
    }

    /// The pool's use now, from deadpool's counters (no lock, no round trip).
    pub(crate) fn pressure(&self) -> porch_core::store::StorePressure {
        let status = self.pool.status();
        porch_core::store::StorePressure {
            write_queue: None,
            write_batches: None,
            pool_size: status.max_size as u64,
            pool_in_use: status.size.saturating_sub(status.available) as u64,
            pool_waiting: status.waiting as u64,
        }
    }

    /// Runs `probe` (one short read: `/readyz`'s) within `POSTGRES_PROBE_TIMEOUT_MS`, the
    /// wait for a connection included. Past it, every idle connection is closed: they share the
    /// link that went silent, and a request that took one would wait on it until TCP gives up
    /// (`keep_alive`); new ones are opened as needed, each bounded by the connect timeout.
    pub(crate) async fn probe<T>(
        &self,
        probe: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let Ok(answer) = tokio::time::timeout(PROBE_TIMEOUT, probe).await else {
            // The probe's own connection went back to the pool as its future was dropped.
            let closed = self.pool.retain(|_, _| false).removed.len();
            return Err(StoreError::Unavailable(format!(
                "PostgreSQL at {} did not answer within {POSTGRES_PROBE_TIMEOUT_MS} ms \
                 (POSTGRES_PROBE_TIMEOUT_MS); closed {closed} idle connections: check the \
                 network path to it and that it runs",
                self.address
            )));
        };
        answer
    }

    /// A connection from the pool, opened if none is idle.
    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| self.unreachable(e))
    }

    /// The first connection of a node's start. A PostgreSQL that answers but says it cannot take
    /// sessions yet (57P03: starting up, recovering) is tried again for up to
    /// `POSTGRES_STARTING_WAIT_MS`: its port opens before it is ready, so a node started beside
    /// it would otherwise exit for nothing. Any other failure is returned at once.
    pub(crate) async fn first_client(&self) -> Result<Object, StoreError> {
        let deadline = Instant::now() + Duration::from_millis(POSTGRES_STARTING_WAIT_MS);
        let mut told = false;
        loop {
            match self.pool.get().await {
                Ok(client) => return Ok(client),
                Err(PoolError::Backend(e))
                    if e.code() == Some(&SqlState::CANNOT_CONNECT_NOW)
                        && Instant::now() < deadline =>
                {
                    if !told {
                        told = true;
                        tracing::warn!(
                            "PostgreSQL at {} is not taking sessions yet ({}); waiting up to {} s",
                            self.address,
                            describe(&e),
                            POSTGRES_STARTING_WAIT_MS / 1_000
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(POSTGRES_STARTING_RETRY_MS)).await;
                }
                Err(e) => return Err(self.unreachable(e)),
            }
        }
    }

    fn unreachable(&self, error: PoolError) -> StoreError {
        let address = &self.address;
        StoreError::Unavailable(match error {
            PoolError::Backend(e) => {
                let cause = describe(&e);
                match super::tls::fix(&cause) {
                    Some(fix) => format!("cannot reach PostgreSQL at {address}: {cause}; {fix}"),
                    None => format!("cannot reach PostgreSQL at {address}: {cause}"),
                }
            }
            PoolError::Timeout(TimeoutType::Wait) => format!(
                "all {} connections to PostgreSQL at {address} stayed busy for {} s",
                self.pool.status().max_size,
                POOL_WAIT_TIMEOUT.as_secs()
            ),
            PoolError::Timeout(_) => {
                format!(
                    "cannot reach PostgreSQL at {address}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )
            }
            other => format!("cannot reach PostgreSQL at {address}: {other}"),
        })
    }
}

/// A silent link (no reset, no FIN) is noticed by the kernel: keepalive probes on an idle
/// connection, `TCP_USER_TIMEOUT` on one waiting for an answer. Each unless the URL sets it.
fn keep_alive(config: &mut Config) {
    // tokio-postgres's default idle time is libpq's: two hours.
    if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_millis(POSTGRES_KEEPALIVE_IDLE_MS))
            .keepalives_interval(Duration::from_millis(POSTGRES_KEEPALIVE_INTERVAL_MS))
            .keepalives_retries(POSTGRES_KEEPALIVE_PROBES);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(Duration::from_millis(POSTGRES_TCP_USER_TIMEOUT_MS));
    }
}

/// A transaction for start-up work (migrating, the first signing key, the demo set-up), with
/// no statement or lock timeout: on a big database it may rightly take long, and nodes
/// starting together wait for each other's. A node that froze inside one is still bounded:
/// PostgreSQL ends its session after `POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS` idle.
pub(crate) async fn startup_transaction<'a>(
    client: &'a mut Object,
    doing: &str,
) -> Result<deadpool_postgres::Transaction<'a>, StoreError> {
    let tx = client.transaction().await.context(doing)?;
    tx.batch_execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")
        .await
        .context(doing)?;
    Ok(tx)
}

/// `host:port` for each host of the URL, comma-separated. Built from the parsed config, so
/// the user, password and parameters are never part of it.
fn address(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts = config.get_hosts();
    if hosts.is_empty() {
        return "(no host in the URL)".to_owned();
    }
    let port = |i: usize| match ports {
        [] => 5432,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(5432),
    };
    hosts
        .iter()
        .enumerate()
        .map(|(i, host)| match host {
            Host::Tcp(name) if name.contains(':') => format!("[{name}]:{}", port(i)),
            Host::Tcp(name) => format!("{name}:{}", port(i)),
            #[cfg(unix)]
            Host::Unix(dir) => format!("{}/.s.PGSQL.{}", dir.display(), port(i)),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Schema names go into the startup options and DDL unquoted, so only plain lowercase
/// identifiers are accepted: nothing to escape, and the name means the same to psql users.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let valid = schema.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "PostgreSQL schema name `{schema}` must be 1-63 lowercase letters, digits or underscores, not starting with a digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_hides_credentials() {
        let config: Config =
            "postgres://porch:hunter2@db.internal:6543/porch?sslmode=disable".parse().unwrap();
        assert_eq!(address(&config), "db.internal:6543");
        let config: Config = "postgres://u:p@[::1]/x".parse().unwrap();
        assert_eq!(address(&config), "[::1]:5432");
        let config: Config = "host=a,b port=1,2 user=u password=secret".parse().unwrap();
        assert_eq!(address(&config), "a:1,b:2");
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("porch_test_0abc").is_ok());
        assert!(check_schema_name("_x").is_ok());
        assert!(check_schema_name("Porch").is_err());
        assert!(check_schema_name("1x").is_err());
        assert!(check_schema_name("a b").is_err());
        assert!(check_schema_name("x\"; DROP").is_err());
        assert!(check_schema_name("").is_err());
        assert!(check_schema_name(&"a".repeat(64)).is_err());
    }
}
