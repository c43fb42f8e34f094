//! The servers under test, started fresh for every run and killed when dropped: Porch (a new
//! data directory each time), the bare echo baseline, and the peers Soketi and the Node `ws`
//! relay. Their CPU time and RSS are read from /proc, since the harness shares the machine's
//! cores with them.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Soketi listens here (an unusual port: the machine is shared).
pub const SOKETI_PORT: u16 = 19601;
/// Sockudo listens here.
pub const SOCKUDO_PORT: u16 = 19600;
/// The Node `ws` relay listens here.
pub const WS_RELAY_PORT: u16 = 19602;
/// The relay's script, built into the binary so the harness runs the committed version
/// wherever it is run from (written to the run's temporary directory at start).
const WS_RELAY_SCRIPT: &str = include_str!("../../../bench/peers/ws-relay.mjs");

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Porch,
    Bare,
    Soketi,
    /// `bench/peers/ws-relay.mjs`: Node's `ws` library, echo + HTTP publish, nothing else.
    WsRelay,
    /// Sockudo: the Pusher protocol, like Soketi, in Rust.
    Sockudo,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Porch => "porch",
            Kind::Bare => "bare",
            Kind::Soketi => "soketi",
            Kind::WsRelay => "ws-relay",
            Kind::Sockudo => "sockudo",
        }
    }

    /// Soketi and Sockudo speak the Pusher protocol: the same frames, app and REST API.
    pub fn is_pusher(self) -> bool {
        matches!(self, Kind::Soketi | Kind::Sockudo)
    }

    /// A peer whose npm packages are not installed cannot start: this says which script
    /// installs them, so a long run can refuse to begin rather than fail half-way.
    pub fn check_installed(self, paths: &Paths) -> Result<()> {
        let (marker, script) = match self {
            Kind::Porch | Kind::Bare => return Ok(()),
            Kind::Soketi => (
                paths.soketi_dir.join("node_modules/@soketi/soketi/bin/server.js"),
                "install-soketi.sh",
            ),
            Kind::WsRelay => {
                (paths.ws_relay_dir.join("node_modules/ws/package.json"), "install-ws-relay.sh")
            }
            Kind::Sockudo => (paths.sockudo_dir.join("bin/sockudo"), "install-sockudo.sh"),
        };
        if !marker.exists() {
            bail!(
                "{} is not installed ({} is missing): run bench/peers/{script}",
                self.name(),
                marker.display()
            );
        }
        Ok(())
    }
}

/// Where the binaries and peers are.
#[derive(Clone, Debug)]
pub struct Paths {
    pub porch: PathBuf,
    pub echo: PathBuf,
    pub soketi_dir: PathBuf,
    /// Where `bench/peers/install-ws-relay.sh` installed `ws`.
    pub ws_relay_dir: PathBuf,
    /// Where `bench/peers/install-sockudo.sh` installed Sockudo (`bin/sockudo`).
    pub sockudo_dir: PathBuf,
    /// Extra `PORCH_*` settings for `porch serve`.
    pub porch_env: Vec<(String, String)>,
}

pub struct Server {
    pub kind: Kind,
    pub addr: SocketAddr,
    /// Gateway URL for clients (`ws://…`).
    pub ws_url: String,
    child: Child,
    /// Porch's data directory (removed on drop) and its log.
    pub dir: Option<PathBuf>,
    /// `PORCH_*` settings the admin CLI needs to reach this Porch's store (PostgreSQL's URL).
    pub cli_env: Vec<(String, String)>,
}

impl Server {
    pub fn start(kind: Kind, paths: &Paths) -> Result<Server> {
        match kind {
            Kind::Porch => start_porch(paths),
            Kind::Bare => start_bare(paths),
            Kind::Soketi => start_soketi(paths),
            Kind::WsRelay => start_ws_relay(paths),
            Kind::Sockudo => start_sockudo(paths),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Server CPU time so far (user + system of all threads), in microseconds.
    pub fn cpu_us(&self) -> Result<u64> {
        crate::procfs::cpu_us(self.pid())
    }

    /// Resident set size in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        crate::procfs::rss_kib(self.pid())
    }

    /// Fails if the server died.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited during the run: {status}{}", self.kind.name(), self.log_tail());
        }
        Ok(())
    }

    /// S5's cut: SIGTERM (Porch closes every session with 4200 "reconnect now" and exits),
    /// then the same `porch serve` again on the same data directory and port. Only for a
    /// node started without extra `serve_args` (the one `Server::start` makes). Returns how
    /// long the old process took to exit and the new one to listen.
    pub fn restart_porch(&mut self, paths: &Paths) -> Result<(Duration, Duration)> {
        let dir = self.dir.clone().context("porch has a data dir")?;
        let began = Instant::now();
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status()?;
        if !status.success() {
            bail!("kill -TERM {} failed: {status}", self.pid());
        }
        let deadline = began + START_TIMEOUT;
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                bail!("porch did not exit within {START_TIMEOUT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let exited = began.elapsed();
        let log = std::fs::OpenOptions::new().append(true).open(dir.join("server.log"))?;
        self.child = porch_command(paths, &dir.join("data"))
            .args(["serve", "--listen", &self.addr.to_string()])
            .args(LOAD_FROM_ONE_ADDRESS)
            .envs(self.cli_env.iter().map(|(k, v)| (k, v)))
            .env("PORCH_LOG", "warn")
            .envs(paths.porch_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("restarting {}", paths.porch.display()))?;
        wait_listening(self)?;
        Ok((exited, began.elapsed() - exited))
    }

    pub fn log_tail(&self) -> String {
        let Some(dir) = &self.dir else {
            return String::new();
        };
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        format!(
            "\n  last log lines:\n    {}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n    ")
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh temporary directory for one Porch run.
fn temp_dir() -> Result<PathBuf> {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "porch-bench-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `porch` with only our settings: `PORCH_*` variables of the caller would change the run.
pub fn porch_command(paths: &Paths, data_dir: &Path) -> Command {
    let mut command = Command::new(&paths.porch);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORCH_")) {
        command.env_remove(key);
    }
    command.env("PORCH_DATA_DIR", data_dir);
    command
}

/// Every simulated client of a run shares 127.0.0.1, so the per-address and per-guest flood
/// limits (meant for one person or one attacker) are lifted; everything else is default.
pub const LOAD_FROM_ONE_ADDRESS: &[&str] = &[
    "--connections-per-ip-max=1000000",
    "--handshakes-per-ip-per-sec=1000000",
    "--handshakes-per-ip-burst=1000000",
    "--guest-messages-per-sec=1000000",
    "--guest-messages-burst=1000000",
];

/// How a Porch node differs from the default (one node on SQLite in its data directory).
#[derive(Clone, Debug, Default)]
pub struct NodeOptions {
    /// Extra `porch serve` arguments: `--store`, `--broker`, `--node-id`, ….
    pub serve_args: Vec<String>,
    /// Settings the admin commands need too (`PORCH_STORE`); also given to `porch serve`.
    pub cli_env: Vec<(String, String)>,
}

fn start_porch(paths: &Paths) -> Result<Server> {
    start_porch_node(paths, &NodeOptions::default())
}

/// A Porch node on a fresh data directory and a free port, killed when dropped.
pub fn start_porch_node(paths: &Paths, options: &NodeOptions) -> Result<Server> {
    let dir = temp_dir()?;
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("server.log"))?;
    let child = porch_command(paths, &dir.join("data"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(LOAD_FROM_ONE_ADDRESS)
        .args(&options.serve_args)
        .envs(options.cli_env.iter().map(|(k, v)| (k, v)))
        .env("PORCH_LOG", "warn")
        .envs(paths.porch_env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", paths.porch.display()))?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut server = Server {
        kind: Kind::Porch,
        addr,
        ws_url: format!("ws://{addr}/api/v2/gateway"),
        child,
        dir: Some(dir),
        cli_env: options.cli_env.clone(),
    };
    wait_listening(&mut server)?;
    Ok(server)
}

fn start_bare(paths: &Paths) -> Result<Server> {
    let child = Command::new(&paths.echo)
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", paths.echo.display()))?;
    let mut server = Server {
        kind: Kind::Bare,
        addr: "127.0.0.1:0".parse()?,
        ws_url: String::new(),
        child,
        dir: None,
        cli_env: Vec::new(),
    };
    let line = wait_listening(&mut server)?;
    server.addr = line.trim_start_matches("listening on ").trim().parse()?;
    server.ws_url = format!("ws://{}/", server.addr);
    Ok(server)
}

/// Reads the server's stdout until its `listening on` line, then drains it in a thread so
/// the server never blocks on a full pipe.
fn wait_listening(server: &mut Server) -> Result<String> {
    let stdout = server.child.stdout.take().context("stdout piped")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && line.starts_with("listening on") {
                let _ = tx.send(line);
                sent = true;
            }
        }
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(line) => Ok(line),
        Err(_) => {
            server.check_alive()?;
            bail!("{} did not listen within {START_TIMEOUT:?}", server.kind.name())
        }
    }
}

/// Soketi as `bench/peers/install-soketi.sh` installed it, bound to loopback only. The
/// cluster variables keep its node discovery off the network (it broadcasts UDP otherwise).
fn start_soketi(paths: &Paths) -> Result<Server> {
    Kind::Soketi.check_installed(paths)?;
    let script = paths.soketi_dir.join("node_modules/@soketi/soketi/bin/server.js");
    let addr = fixed_port_free(Kind::Soketi, SOKETI_PORT)?;
    let child = Command::new("node")
        .arg(&script)
        .arg("start")
        .current_dir(&paths.soketi_dir)
        .env("SOKETI_HOST", "127.0.0.1")
        .env("SOKETI_PORT", SOKETI_PORT.to_string())
        .env("SOKETI_METRICS_HOST", "127.0.0.1")
        .env("SOKETI_CLUSTER_UNICAST_ADDRESSES", "127.0.0.1")
        .env("SOKETI_CLUSTER_HOST", "127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting node (Soketi)")?;
    pusher_peer(Kind::Soketi, addr, child)
}

/// A Pusher-protocol peer just spawned as `child`, once it listens on `addr`; its clients use
/// the default app's key.
fn pusher_peer(kind: Kind, addr: SocketAddr, child: Child) -> Result<Server> {
    let mut server = Server {
        kind,
        addr,
        ws_url: format!("ws://{addr}/app/app-key?protocol=7"),
        child,
        dir: None,
        cli_env: Vec::new(),
    };
    let deadline = Instant::now() + START_TIMEOUT;
    while std::net::TcpStream::connect(addr).is_err() {
        server.check_alive()?;
        if Instant::now() > deadline {
            bail!("{} did not listen on {addr} within {START_TIMEOUT:?}", kind.name());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

/// Sockudo as `bench/peers/install-sockudo.sh` installed it, bound to loopback only, with the
/// default app Soketi has (so one Pusher client serves both). Its per-address rate limiter is
/// off (it answers 429 to a burst of connects from one address, as every harness client
/// shares 127.0.0.1: the counterpart of Porch's `LOAD_FROM_ONE_ADDRESS`), and so are its
/// metrics, which would bind 0.0.0.0:9601.
fn start_sockudo(paths: &Paths) -> Result<Server> {
    Kind::Sockudo.check_installed(paths)?;
    let addr = fixed_port_free(Kind::Sockudo, SOCKUDO_PORT)?;
    let child = Command::new(paths.sockudo_dir.join("bin/sockudo"))
        .current_dir(&paths.sockudo_dir)
        .env("HOST", "127.0.0.1")
        .env("PORT", SOCKUDO_PORT.to_string())
        .env("RATE_LIMITER_ENABLED", "false")
        .env("METRICS_ENABLED", "false")
        .env("SOCKUDO_DEFAULT_APP_ID", "app-id")
        .env("SOCKUDO_DEFAULT_APP_KEY", "app-key")
        .env("SOCKUDO_DEFAULT_APP_SECRET", "app-secret")
        .env("SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS", "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting sockudo")?;
    pusher_peer(Kind::Sockudo, addr, child)
}

/// The peers listen on fixed ports (their clients' URLs name them): refuse to start when
/// something already answers there, rather than measure it.
fn fixed_port_free(kind: Kind, port: u16) -> Result<SocketAddr> {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    if std::net::TcpStream::connect(addr).is_ok() {
        bail!("{addr} is already in use; is another {} running? Stop it first.", kind.name());
    }
    Ok(addr)
}

/// `bench/peers/ws-relay.mjs` under node, with `ws` from `bench/peers/install-ws-relay.sh`.
/// The script and its stderr live in a temporary directory, removed on drop.
fn start_ws_relay(paths: &Paths) -> Result<Server> {
    Kind::WsRelay.check_installed(paths)?;
    let addr = fixed_port_free(Kind::WsRelay, WS_RELAY_PORT)?;
    let dir = temp_dir()?;
    let script = dir.join("ws-relay.mjs");
    std::fs::write(&script, WS_RELAY_SCRIPT)?;
    let log = std::fs::File::create(dir.join("server.log"))?;
    let child = Command::new("node")
        .arg(&script)
        .arg(WS_RELAY_PORT.to_string())
        .env("WS_RELAY_DIR", &paths.ws_relay_dir)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| {
            let _ = std::fs::remove_dir_all(&dir);
            anyhow::Error::new(e).context("starting node (ws-relay): is Node.js 20 installed?")
        })?;
    let mut server = Server {
        kind: Kind::WsRelay,
        addr,
        ws_url: format!("ws://{addr}/"),
        child,
        dir: Some(dir),
        cli_env: Vec::new(),
    };
    wait_listening(&mut server)?;
    Ok(server)
}
