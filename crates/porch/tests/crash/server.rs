//! The `porch` process under test: started, killed with SIGKILL, started again on the same
//! port and data directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start may take before the test gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Flood limits lifted for these runs (see `Porch::start`).
const LIFTED_FLOOD_LIMITS: &[(&str, &str)] = &[
    ("PORCH_HANDSHAKES_PER_IP_PER_SEC", "1000000"),
    ("PORCH_HANDSHAKES_PER_IP_BURST", "1000000"),
    ("PORCH_CONNECTIONS_PER_IP_MAX", "1000000"),
    ("PORCH_GUEST_MESSAGES_PER_SEC", "1000000"),
    ("PORCH_GUEST_MESSAGES_BURST", "1000000"),
];

pub struct Porch {
    pub data_dir: PathBuf,
    pub port: u16,
    /// Extra `PORCH_*` settings (store, broker, node id) for every start.
    pub env: Vec<(String, String)>,
    /// Extra arguments of `porch serve` (`--demo`).
    pub args: Vec<String>,
    /// A process group to start in (the nemesis bounds everything it starts with one).
    pub group: Option<i32>,
    child: Option<Child>,
}

pub fn porch_command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_porch"));
    // Settings from the environment would change what this test sees.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORCH_")) {
        command.env_remove(key);
    }
    command.env("PORCH_DATA_DIR", data_dir);
    command
}

/// Runs a CLI command and returns its JSON output.
#[allow(dead_code)] // Used by the crash test, not by the cluster test that shares this file.
pub fn cli_json(data_dir: &Path, args: &[&str]) -> serde_json::Value {
    let output = porch_command(data_dir).args(args).arg("--json").output().expect("porch runs");
    assert!(output.status.success(), "porch {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

/// A client token for `client` and a guest request for `deployment` (both as `cli_json`
/// printed them): what a customer's backend has before it creates guest sessions.
#[allow(dead_code)] // Used by the crash test, not by the cluster test that shares this file.
pub async fn guest_request(
    api: &porch_client::Api,
    client: &serde_json::Value,
    deployment: &serde_json::Value,
) -> (String, porch_wire::rest::CreateGuestRequest) {
    let token = api
        .client_token(client["id"].as_str().unwrap(), client["secret"].as_str().unwrap())
        .await
        .unwrap()
        .access_token;
    let request = porch_wire::rest::CreateGuestRequest {
        deployment_id: deployment["id"].as_str().unwrap().into(),
        ..Default::default()
    };
    (token, request)
}

impl Porch {
    pub fn new(data_dir: PathBuf) -> Porch {
        // A free port, kept for every restart so clients reconnect to the same URL.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Porch { data_dir, port, env: Vec::new(), args: Vec::new(), group: None, child: None }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits until it listens. Every client of these tests shares
    /// 127.0.0.1 and they reconnect all at once after each kill: the per-address and
    /// per-guest flood limits, which would refuse exactly that, are lifted (they are tested
    /// in the e2e suite's `floods.rs`).
    pub fn start(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        // The port may still be held by the killed process for a moment: retry.
        while self.start_once().is_err() {
            assert!(Instant::now() < deadline, "porch did not start within {START_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One start, no retry: the lines printed before `listening on`, or, if the process
    /// ended before it listened, its exit status.
    pub fn start_once(&mut self) -> Result<Vec<String>, std::process::ExitStatus> {
        assert!(self.child.is_none(), "already running");
        let mut command = porch_command(&self.data_dir);
        if let Some(group) = self.group {
            std::os::unix::process::CommandExt::process_group(&mut command, group);
        }
        let mut child = command
            .envs(LIFTED_FLOOD_LIMITS.iter().copied())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(&self.args)
            .env("PORCH_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("porch starts");
        let stdout = child.stdout.take().unwrap();
        let mut before = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("listening on") {
                self.child = Some(child);
                return Ok(before);
            }
            before.push(line);
        }
        Err(child.wait().expect("reaped"))
    }

    /// The running process's id, for signals other than SIGKILL and SIGTERM.
    #[allow(dead_code)] // Used by the cluster test and the nemesis, not by the crash test.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: no shutdown path runs, nothing is flushed that was not already committed.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL is delivered");
        child.wait().expect("reaped");
    }

    /// SIGTERM and wait: the graceful path, before the checker reads the store.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Porch {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
