//! The processes the nemesis runs and kills: a PostgreSQL and a NATS of its own (own data
//! directory, own ports; never the machine's shared ones), each in the test's process group
//! (`crash/group.rs`), which bounds everything it starts.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a backend may take to (re)start and answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts TCP at `addr`.
fn wait_listening(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + START_TIMEOUT;
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {addr} within {START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `uid` and `gid` of the `postgres` user: PostgreSQL refuses to run as root.
fn postgres_user() -> Option<(u32, u32)> {
    let out = Command::new("id").args(["-u", "postgres"]).output().ok()?;
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let out = Command::new("id").args(["-g", "postgres"]).output().ok()?;
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some((uid, gid))
}

/// A PostgreSQL cluster of the test's own, made by `initdb`, run as `postgres` in the
/// foreground (so SIGKILL reaches the postmaster itself) and restarted on the same port.
pub struct Postgres {
    pub addr: SocketAddr,
    data: PathBuf,
    group: i32,
    user: Option<(u32, u32)>,
    child: Option<Child>,
}

impl Postgres {
    pub fn init(dir: &Path, group: i32) -> Postgres {
        let data = dir.join("pgdata");
        std::fs::create_dir_all(&data).unwrap();
        let user = if is_root() { postgres_user() } else { None };
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&data, Some(uid), Some(gid)).unwrap();
        }
        let mut initdb = Command::new("initdb");
        initdb.args(["-D"]).arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        as_user(&mut initdb, user);
        let out = initdb.output().expect("initdb (PostgreSQL's server package) is installed");
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut pg = Postgres { addr, data, group, user, child: None };
        pg.start();
        pg
    }

    pub fn url_via(&self, addr: SocketAddr) -> String {
        format!("postgres://postgres@{addr}/postgres")
    }

    /// Starts the postmaster and waits until it accepts connections. After a SIGKILL the old
    /// backends may hold shared memory for a moment: a refused start is retried.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "PostgreSQL already runs");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let mut command = Command::new("postgres");
            command
                .arg("-D")
                .arg(&self.data)
                .args(["-p", &self.addr.port().to_string()])
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="])
                // fsync only matters for a machine crash; SIGKILL keeps the page cache.
                .args(["-c", "fsync=off", "-c", "max_connections=200"])
                .args(["-c", "log_min_messages=fatal"])
                .process_group(self.group)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            as_user(&mut command, self.user);
            let mut child = command.spawn().expect("postgres starts");
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200))
                    .is_ok()
                {
                    self.child = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(Instant::now() < deadline, "PostgreSQL did not start within {START_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGKILL to the postmaster: its backends notice and exit; nothing is shut down cleanly.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
    }
}

fn as_user(command: &mut Command, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A NATS server of the test's own, killed and restarted on the same port.
pub struct Nats {
    pub addr: SocketAddr,
    group: i32,
    child: Option<Child>,
}

impl Nats {
    pub fn start(group: i32) -> Nats {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut nats = Nats { addr, group, child: None };
        nats.restart();
        nats
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "NATS already runs");
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.addr.port().to_string()])
            .process_group(self.group)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is installed");
        self.child = Some(child);
        wait_listening(self.addr, "NATS");
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends `signal` (`STOP`, `CONT`) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
}
