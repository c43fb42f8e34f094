//! `porch serve` as a process, the way an operator, systemd or a container runtime runs it:
//! its log on a stderr that is not a terminal (text without colour codes, or JSON lines), and
//! its open-file limit raised at start, with `connections_max` derived from it unless set.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

/// A `porch serve` on 127.0.0.1:0 with its own data directory; stdout and stderr piped.
struct Served {
    child: Child,
    start_line: String,
    dir: std::path::PathBuf,
}

impl Served {
    /// Runs `porch serve` (through `wrapper`, such as `prlimit`, when given) and waits for its
    /// start line.
    fn start(wrapper: &[&str], args: &[&str]) -> Served {
        let dir = std::env::temp_dir().join(porch_core::ids::new_id("srv"));
        let porch = env!("CARGO_BIN_EXE_porch");
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(porch);
                c
            }
            None => Command::new(porch),
        };
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORCH_") || k == "NO_COLOR")
        {
            command.env_remove(key);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("porch starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let start_line = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("listening on"))
            .expect("porch prints its start line");
        Served { child, start_line, dir }
    }

    fn base_url(&self) -> String {
        let addr = self.start_line.split_whitespace().nth(2).expect("listening on URL");
        addr.to_string()
    }

    /// Stops the server with SIGTERM and returns everything it logged.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(status.success());
        let mut log = String::new();
        self.child.stderr.take().expect("piped stderr").read_to_string(&mut log).unwrap();
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "porch exits 0 on SIGTERM: {exit:?}\n{log}");
        let _ = std::fs::remove_dir_all(&self.dir);
        log
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn text_logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let log = Served::start(&[], &[]).stop();
    assert!(log.contains(" INFO "), "the text log has its lines: {log}");
    assert!(!log.contains('\u{1b}'), "an ANSI escape reached a pipe: {log:?}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let log = Served::start(&[], &["--log-format", "json"]).stop();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &lines {
        assert!(line["timestamp"].is_string() && line["level"].is_string(), "{line}");
        assert!(line["fields"]["message"].is_string(), "{line}");
    }
    let messages: Vec<&str> =
        lines.iter().filter_map(|l| l["fields"]["message"].as_str()).collect();
    assert!(messages.contains(&"stopped"), "the stop is logged: {messages:?}");
    let ceiling = lines.iter().find(|l| l["fields"]["message"] == "connection ceiling").unwrap();
    assert!(ceiling["fields"]["connections_max"].is_u64(), "fields stay typed: {ceiling}");
}

#[test]
fn a_bad_log_format_is_refused_with_the_choices() {
    let output = Command::new(env!("CARGO_BIN_EXE_porch"))
        .args(["serve", "--log-format", "yaml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("text") && stderr.contains("json"), "{stderr}");
}

/// The hard open-file limit of this process (the one a child inherits).
fn hard_open_files() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let hard = line.split_whitespace().nth(4).unwrap();
    hard.parse().unwrap_or(u64::MAX)
}

fn open_files_of(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let mut fields = line.split_whitespace().skip(3);
    (fields.next().unwrap().to_string(), fields.next().unwrap().to_string())
}

async fn connections_available(base_url: &str) -> u64 {
    porch_client::tls::install_default_provider();
    let body: serde_json::Value =
        reqwest::get(format!("{base_url}/readyz")).await.unwrap().json().await.unwrap();
    body["connectionsAvailable"].as_u64().expect("/readyz names the free connection slots")
}

#[tokio::test]
async fn the_soft_open_file_limit_is_raised_and_sets_connections_max() {
    let hard = hard_open_files();
    assert!(hard > 1024, "this test needs a hard open-file limit above 1024, not {hard}");
    let served = Served::start(&["prlimit", "--nofile=1024:"], &[]);
    let (soft_now, hard_now) = open_files_of(served.child.id());
    assert_eq!(soft_now, hard_now, "the soft limit is raised to the hard one");
    let expected = porch_core::limits::connections_max_for_open_files(hard);
    let line = &served.start_line;
    assert!(
        line.contains(&format!(
            "connections_max {expected} from the open-file limit {hard} (raised from 1024"
        )),
        "the start line says where connections_max comes from: {line}"
    );
    assert_eq!(connections_available(&served.base_url()).await, expected);
    served.stop();
}

#[tokio::test]
async fn a_configured_connections_max_is_kept() {
    let served = Served::start(&["prlimit", "--nofile=1024:"], &["--connections-max", "500"]);
    assert!(
        served.start_line.contains("connections_max 500 as configured"),
        "{}",
        served.start_line
    );
    assert_eq!(connections_available(&served.base_url()).await, 500);
    served.stop();
    let config = std::env::temp_dir().join(porch_core::ids::new_id("cfg"));
    std::fs::write(&config, "[limits]\nconnections_max = 700\n").unwrap();
    let served = Served::start(&[], &["--config", config.to_str().unwrap()]);
    assert!(
        served.start_line.contains("connections_max 700 as configured"),
        "{}",
        served.start_line
    );
    assert_eq!(connections_available(&served.base_url()).await, 700);
    served.stop();
    let _ = std::fs::remove_file(&config);
}

#[test]
fn porch_health_exits_0_when_ready_and_1_when_not() {
    let served = Served::start(&[], &[]);
    let listen = served.base_url().trim_start_matches("http://").to_string();
    let health = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_porch")).arg("health").args(args).output().unwrap()
    };
    let ready = health(&["--listen", &listen]);
    assert!(ready.status.success(), "{}", String::from_utf8_lossy(&ready.stderr));
    assert!(String::from_utf8_lossy(&ready.stdout).contains("\"status\":\"ready\""));
    assert!(health(&["--listen", &listen, "--live"]).status.success());
    served.stop();
    let gone = health(&["--listen", &listen]);
    assert_eq!(gone.status.code(), Some(1), "unhealthy is 1 for container runtimes");
    assert!(String::from_utf8_lossy(&gone.stderr).contains("/readyz"), "it names what it asked");
}

/// `--metrics-listen`: the start line names the internal address, which serves `/metrics`
/// while the public one answers 404 there; SIGTERM stops both.
#[tokio::test]
async fn metrics_are_served_on_the_internal_listener() {
    porch_client::tls::install_default_provider();
    let served = Served::start(&[], &["--metrics-listen", "127.0.0.1:0"]);
    let line = &served.start_line;
    let metrics_url = line
        .split("metrics on ")
        .nth(1)
        .unwrap_or_else(|| panic!("the start line names the metrics address: {line}"))
        .trim()
        .to_string();
    let internal = reqwest::get(&metrics_url).await.unwrap();
    assert_eq!(internal.status(), 200);
    let text = internal.text().await.unwrap();
    assert!(text.contains("# TYPE porch_gateway_handshake_seconds histogram"), "{text}");
    assert!(text.contains("porch_store_write_queue "), "{text}");
    let public = reqwest::get(format!("{}/metrics", served.base_url())).await.unwrap();
    assert_eq!(public.status(), 404, "not on the public listener");
    served.stop();
}
