//! `porch config check|default|doc` and secrets read from files, as operators use them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `porch` with no `PORCH_*` variable but those given: the machine's own must not leak in.
fn porch(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_porch"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("PORCH_")) {
        command.env_remove(name);
    }
    command.args(args).envs(env.iter().copied()).output().expect("porch runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cfg"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn check_reports_every_problem_with_its_fix_and_opens_nothing() {
    let dir = temp_dir();
    let file = write(
        &dir,
        "porch.toml",
        "sqlite_synchronous = \"fast\"\n[limits]\nheartbeat_interval_ms = 70000\n",
    );
    let data = dir.join("data");
    let out = porch(
        &[
            "config",
            "check",
            "--config",
            &file,
            "--data-dir",
            data.to_str().unwrap(),
            "--postgres-pool-size",
            "0",
        ],
        &[("PORCH_BROKER_FILE", "/nonexistent/porch-broker")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "4 problem(s)",
        "sqlite_synchronous `fast` must be `full` or `normal`",
        "heartbeat_interval_ms must be below idle_timeout_ms",
        "postgres_pool_size must be at least 1",
        "PORCH_BROKER_FILE names /nonexistent/porch-broker, which cannot be read",
    ] {
        assert!(stderr.contains(expected), "lacks `{expected}`: {stderr}");
    }
    assert!(!data.exists(), "check opens no store");
    let unknown = write(&dir, "typo.toml", "listn = \"0.0.0.0:8080\"\n");
    let out = porch(&["config", "check", "--config", &unknown], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("unknown field `listn`"), "{stderr}");
    assert!(stderr.contains("`porch config doc` lists every key"), "the fix: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_default_file_passes_check_and_secrets_are_never_shown() {
    let dir = temp_dir();
    let default = porch(&["config", "default"], &[]);
    assert!(default.status.success());
    let file = write(&dir, "porch.toml", &text(&default.stdout));
    let secret = write(&dir, "store", "postgres://porch:hunter2@127.0.0.1:1/porch\n");
    let out = porch(&["config", "check", "--config", &file], &[("PORCH_STORE_FILE", &secret)]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(stdout.contains("store = PostgreSQL (set; a secret, not shown)"), "{stdout}");
    assert!(stdout.contains("limits: every one at its default"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "a secret is never printed: {stdout}");
    // The flag wins over the variable's file, and a changed limit is named.
    let out = porch(
        &["config", "check", "--config", &file, "--store", "sqlite", "--text-chars-max", "2000"],
        &[("PORCH_STORE_FILE", &secret)],
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("store = sqlite") && stdout.contains("text_chars_max = 2000"),
        "{stdout}"
    );
    // Both forms of one secret at one level: which was meant?
    let out =
        porch(&["config", "check"], &[("PORCH_STORE_FILE", &secret), ("PORCH_STORE", "sqlite")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("PORCH_STORE and PORCH_STORE_FILE are both set"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_toml_example_of_the_docs_passes_check() {
    let dir = temp_dir();
    for name in ["docs/config.md", "docs/deploy.md"] {
        let doc = crate::support::repo_file(name);
        for (i, block) in doc.split("```toml\n").skip(1).enumerate() {
            let example = block.split("\n```").next().unwrap();
            let file = write(&dir, &format!("example{i}.toml"), example);
            let out = porch(&["config", "check", "--config", &file], &[]);
            assert!(out.status.success(), "{name}, example {i}: {}", text(&out.stderr));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database of its own on the machine's PostgreSQL, dropped at the end.
struct Database(String);

impl Database {
    fn create() -> Database {
        let name = porch_core::ids::new_id("cdb").replace('_', "");
        psql(&format!("CREATE DATABASE {name}"));
        Database(name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

fn psql(statement: &str) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", statement])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "{statement}: {}", text(&out.stderr));
}

/// The store URL read from a file is the store used: a client made through
/// `PORCH_STORE_FILE` is listed through `--store` with the same URL, and through the TOML
/// file's `store_file`.
#[test]
fn the_store_url_is_read_from_a_file() {
    let db = Database::create();
    let dir = temp_dir();
    let url = format!("postgres://postgres@127.0.0.1:5432/{}", db.0);
    let secret = write(&dir, "store", &format!("{url}\n"));
    let created = porch(
        &["clients", "create", "--name", "backend", "--scope", "guests", "--json"],
        &[("PORCH_STORE_FILE", &secret)],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let said = text(&created.stderr);
    assert!(said.contains(&format!("porch: store: PostgreSQL 127.0.0.1:5432/{}", db.0)), "{said}");
    let client: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let listed = porch(&["clients", "list", "--store", &url, "--json"], &[]);
    let clients: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(clients[0]["id"], client["id"]);
    let file = write(&dir, "porch.toml", &format!("store_file = \"{secret}\"\n"));
    let listed = porch(&["clients", "list", "--config", &file, "--json"], &[]);
    let clients: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(clients[0]["id"], client["id"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An admin command that names no store, where no embedded store exists, is refused with the
/// fix instead of making an empty `./porch-data` (the server's store is elsewhere); one that
/// finds the store says which it opened.
#[test]
fn admin_commands_name_their_store_and_never_make_one_silently() {
    let dir = temp_dir();
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_porch"));
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("PORCH_")) {
            command.env_remove(name);
        }
        command.current_dir(&dir).args(args).output().expect("porch runs")
    };
    let refused = run(&["clients", "list", "--json"]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no store is configured") && stderr.contains("--config"), "{stderr}");
    assert!(!dir.join("porch-data").exists(), "nothing was created");
    let made = run(&["clients", "list", "--data-dir", "porch-data", "--json"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let found = run(&["clients", "list", "--json"]);
    assert!(found.status.success(), "the store now exists: {}", text(&found.stderr));
    assert!(text(&found.stderr).contains("porch: store: SQLite in porch-data/porch.db"));
    let _ = std::fs::remove_dir_all(&dir);
}
