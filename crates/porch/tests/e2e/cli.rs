//! The operator contract: `porch` sub-commands as scripts use them.

use std::process::Command;

fn porch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_porch")).args(args).output().expect("porch runs")
}

fn json(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

#[test]
fn create_and_list_with_json_output() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    let deployment = json(&porch(&[
        "deployments",
        "create",
        "--data-dir",
        d,
        "--name",
        "shop",
        "--origin",
        "https://shop.example",
        "--json",
    ]));
    assert!(deployment["id"].as_str().unwrap().starts_with("dep_"));
    assert_eq!(deployment["origins"][0], "https://shop.example");
    let client = json(&porch(&[
        "clients",
        "create",
        "--data-dir",
        d,
        "--name",
        "backend",
        "--scope",
        "guests",
        "--json",
    ]));
    assert!(
        client["secret"].as_str().unwrap().starts_with("sec_"),
        "the secret is shown once, at creation"
    );
    let agent = json(&porch(&["agents", "create", "--data-dir", d, "--name", "alice", "--json"]));
    assert_eq!(agent["queues"][0], "default");
    let clients = json(&porch(&["clients", "list", "--data-dir", d, "--json"]));
    assert_eq!(clients[0]["id"], client["id"]);
    assert!(clients[0].get("secret").is_none(), "lists never show secrets");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mistakes_are_refused_with_the_fix() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    let bad_origin = porch(&[
        "deployments",
        "create",
        "--data-dir",
        d,
        "--name",
        "x",
        "--origin",
        "https://shop.example/",
    ]);
    assert!(!bad_origin.status.success());
    assert!(String::from_utf8_lossy(&bad_origin.stderr).contains("trailing slash"));
    let no_pool = porch(&[
        "serve",
        "--data-dir",
        d,
        "--store",
        "postgres://nobody@127.0.0.1:1/none",
        "--postgres-pool-size",
        "0",
    ]);
    assert!(
        String::from_utf8_lossy(&no_pool.stderr).contains("postgres_pool_size must be at least 1"),
        "{}",
        String::from_utf8_lossy(&no_pool.stderr)
    );
    let bad_scope =
        porch(&["clients", "create", "--data-dir", d, "--name", "x", "--scope", "admin"]);
    assert!(String::from_utf8_lossy(&bad_scope.stderr).contains("known scopes: guests"));
    json(&porch(&["agents", "create", "--data-dir", d, "--name", "bob", "--json"]));
    let twice = porch(&["agents", "create", "--data-dir", d, "--name", "bob"]);
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("bob"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `porch agents set` and `porch queues set` (docs/routing.md): capacities from 1 to
/// AGENT_CAPACITY_MAX, refused otherwise with the fix, and nothing changes on a refusal.
#[test]
fn routing_settings_are_set_and_bad_ones_refused() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    json(&porch(&["agents", "create", "--data-dir", d, "--name", "carol", "--json"]));
    let set =
        |args: &[&str]| porch(&[&["agents", "set", "carol", "--data-dir", d][..], args].concat());
    let agent = json(&set(&["--capacity", "4", "--queue", "sales", "--queue", "vip", "--json"]));
    assert_eq!(
        (agent["capacity"].clone(), agent["queues"].clone(), agent["status"].clone()),
        (serde_json::json!(4), serde_json::json!(["sales", "vip"]), serde_json::json!("offline"))
    );
    let max = porch_core::limits::AGENT_CAPACITY_MAX;
    for bad in ["0", "-1", &(max + 1).to_string()] {
        let refused = set(&["--capacity", bad]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "capacity {bad} was taken");
        assert!(stderr.contains(&format!("capacity {bad} is out of range")), "{stderr}");
        assert!(stderr.contains(&format!("from 1 to {max}")), "the fix: {stderr}");
    }
    let after = json(&set(&["--json"]));
    assert_eq!(after["capacity"], 4, "a refusal changes nothing");
    assert_eq!(json(&set(&["--clear-capacity", "--json"]))["capacity"], serde_json::Value::Null);
    let nobody = porch(&["agents", "set", "nobody", "--data-dir", d, "--capacity", "2"]);
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no agent named `nobody`"));

    let queue =
        |args: &[&str]| porch(&[&["queues", "set", "sales", "--data-dir", d][..], args].concat());
    assert_eq!(
        json(&queue(&["--json"])),
        serde_json::json!({"name": "sales", "capacityDefault": null, "autoAccept": false, "manualTake": true, "bot": null, "fallback": null}),
        "a queue nobody configured has the defaults"
    );
    let no_bot = queue(&["--bot", "bot_nobody"]);
    assert!(
        String::from_utf8_lossy(&no_bot.stderr).contains("no bot `bot_nobody`"),
        "names the bot"
    );
    let changed = json(&queue(&["--capacity-default", "3", "--auto-accept", "true", "--json"]));
    assert_eq!(
        (changed["capacityDefault"].clone(), changed["autoAccept"].clone()),
        (serde_json::json!(3), serde_json::json!(true))
    );
    let refused = queue(&["--capacity-default", "0", "--manual-take", "false"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("capacity 0 is out of range"));
    let kept = json(&queue(&["--json"]));
    assert_eq!(
        (kept["capacityDefault"].clone(), kept["manualTake"].clone()),
        (serde_json::json!(3), serde_json::json!(true)),
        "a refusal changes nothing"
    );
    let message = ["--fallback-after-secs", "120", "--fallback-message", "Leave us your email"];
    let fell = json(&queue(&[&message[..], &["--json"]].concat()));
    assert_eq!(
        fell["fallback"],
        serde_json::json!({"afterSecs": 120, "action": "message", "text": "Leave us your email"})
    );
    let refusals: [(&[&str], &str); 4] = [
        (&["--fallback-after-secs", "0", "--fallback-close", "Bye"], "give 1 to 604800 seconds"),
        (&["--fallback-after-secs", "60", "--fallback-queue", "sales"], "other than `sales`"),
        (&["--fallback-after-secs", "60", "--fallback-message", " "], "write what the guest reads"),
        (&["--fallback-after-secs", "60"], "needs both a wait and an action"),
    ];
    for (args, fix) in refusals {
        let refused = queue(args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success() && stderr.contains(fix), "{args:?}: {stderr}");
    }
    assert_eq!(json(&queue(&["--json"]))["fallback"]["afterSecs"], 120, "nothing changed");
    let cleared = json(&queue(&["--clear-fallback", "--json"]));
    assert_eq!(cleared["fallback"], serde_json::Value::Null);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_help_documents_every_limit() {
    // Whitespace normalized: clap wraps long lines wherever the column ends.
    let help = String::from_utf8(porch(&["serve", "--help"]).stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let limits = serde_json::to_value(porch_core::limits::Limits::default()).unwrap();
    for (name, default) in limits.as_object().unwrap() {
        let flag = format!("--{}", name.replace('_', "-"));
        assert!(help.contains(&flag), "`porch serve --help` lacks {flag}");
        assert!(
            help.contains(&format!("[default: {default}]")),
            "`{flag}` does not state its default {default}"
        );
    }
}

#[test]
fn token_inspect_explains_a_token_without_trusting_it() {
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImtleV8xIn0.eyJpc3MiOiJwb3JjaCIsInN1YiI6ImNsaV8xIiwiYXVkIjoicG9yY2gtYXBpIiwiZXhwIjoxLCJpYXQiOjAsImp0aSI6InRvayJ9.c2ln";
    let out = porch(&["token", "inspect", token]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("an OAuth client token"), "{text}");
    assert!(text.contains("expired"), "{text}");
    assert!(text.contains("signature was not checked"), "{text}");
}

#[test]
fn operators_revoke_guests_and_disable_deployments() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    let deployment =
        json(&porch(&["deployments", "create", "--data-dir", d, "--name", "shop", "--json"]));
    let id = deployment["id"].as_str().unwrap();
    assert!(porch(&["deployments", "disable", "--data-dir", d, id]).status.success());
    let listed = json(&porch(&["deployments", "list", "--data-dir", d, "--json"]));
    assert_eq!(listed[0]["enabled"], false);
    let unknown = porch(&["guests", "revoke", "--data-dir", d, "gst_nobody"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no guest `gst_nobody`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn operators_set_and_clear_a_deployment_notice() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    let deployment =
        json(&porch(&["deployments", "create", "--data-dir", d, "--name", "shop", "--json"]));
    let id = deployment["id"].as_str().unwrap();
    assert!(
        porch(&["deployments", "notice", "--data-dir", d, id, "--text", "Closed today"])
            .status
            .success()
    );
    let listed = json(&porch(&["deployments", "list", "--data-dir", d, "--json"]));
    assert_eq!(listed[0]["notice"]["text"], "Closed today");
    assert!(listed[0]["notice"]["id"].as_str().unwrap().starts_with("ntc_"));
    let human = String::from_utf8(porch(&["deployments", "list", "--data-dir", d]).stdout).unwrap();
    assert!(human.contains("notice: Closed today"), "{human}");
    assert!(porch(&["deployments", "notice", "--data-dir", d, id, "--clear"]).status.success());
    assert_eq!(
        json(&porch(&["deployments", "list", "--data-dir", d, "--json"]))[0]["notice"],
        serde_json::Value::Null
    );

    let blank = porch(&["deployments", "notice", "--data-dir", d, id, "--text", " "]);
    assert!(
        String::from_utf8_lossy(&blank.stderr).contains("use --clear"),
        "{}",
        String::from_utf8_lossy(&blank.stderr)
    );
    let unknown = porch(&["deployments", "notice", "--data-dir", d, "dep_nobody", "--clear"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no deployment `dep_nobody`"));
    let neither = porch(&["deployments", "notice", "--data-dir", d, id]);
    assert!(!neither.status.success(), "--text or --clear is required");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn operators_update_a_deployment_in_place() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    let created = json(&porch(&[
        "deployments",
        "create",
        "--data-dir",
        d,
        "--name",
        "shop",
        "--origin",
        "https://shop.example",
        "--json",
    ]));
    let id = created["id"].as_str().unwrap();
    let updated = json(&porch(&[
        "deployments",
        "update",
        "--data-dir",
        d,
        id,
        "--add-origin",
        "https://www.shop.example",
        "--remove-origin",
        "https://shop.example",
        "--queue",
        "sales",
        "--guest-token-ttl-secs",
        "900",
        "--json",
    ]));
    assert_eq!(updated["origins"], serde_json::json!(["https://www.shop.example"]));
    assert_eq!(
        (updated["queue"].as_str(), updated["guestTokenTtlSecs"].as_u64()),
        (Some("sales"), Some(900))
    );
    let listed = json(&porch(&["deployments", "list", "--data-dir", d, "--json"]));
    assert_eq!(
        (&listed[0]["id"], &listed[0]["origins"], &listed[0]["queue"]),
        (&created["id"], &updated["origins"], &updated["queue"]),
        "stored, same deployment"
    );

    let typo = porch(&[
        "deployments",
        "update",
        "--data-dir",
        d,
        id,
        "--remove-origin",
        "https://shop.exmaple",
    ]);
    assert!(
        String::from_utf8_lossy(&typo.stderr).contains("has no origin `https://shop.exmaple`"),
        "{}",
        String::from_utf8_lossy(&typo.stderr)
    );
    let bad = porch(&[
        "deployments",
        "update",
        "--data-dir",
        d,
        id,
        "--add-origin",
        "https://shop.example/",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("trailing slash"));
    let unknown = porch(&["deployments", "update", "--data-dir", d, "dep_nobody", "--queue", "x"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no deployment `dep_nobody`"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `porch serve` on `dir`, returns what it printed before it listened, and stops it.
fn serve_once(dir: &str, extra: &[&str]) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_porch"))
        .args(["serve", "--data-dir", dir, "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("PORCH_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("porch starts");
    let mut printed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
        if line.starts_with("listening on") {
            break;
        }
        printed.push(line);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    printed
}

/// Demo credentials only when asked (`--demo`), once: a production start creates none.
#[test]
fn the_demo_set_up_is_made_only_with_demo_and_once() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    let plain = serve_once(d, &[]);
    assert!(
        plain.iter().any(|l| l.contains("No deployment yet") && l.contains("--demo")),
        "{plain:?}"
    );
    let listed = |kind: &str| json(&porch(&[kind, "list", "--data-dir", d, "--json"]));
    assert_eq!(listed("deployments"), serde_json::json!([]), "no credentials without --demo");
    assert_eq!(listed("clients"), serde_json::json!([]));

    let first = serve_once(d, &["--demo"]);
    let client_id = listed("clients")[0]["id"].as_str().unwrap().to_owned();
    assert!(first.iter().any(|l| l.contains(&client_id)), "the secrets are printed: {first:?}");
    assert_eq!(listed("deployments")[0]["name"], "demo");

    let again = serve_once(d, &["--demo"]);
    assert!(again.iter().any(|l| l.contains("exists already")), "{again:?}");
    assert!(!again.iter().any(|l| l.contains(&client_id)), "shown once: {again:?}");
    assert_eq!(listed("deployments").as_array().unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `porch keys retire` removes a key once its successor has signed for longer than any token
/// lives, keeps the one whose tokens may still be valid, and never the newest.
#[test]
fn old_signing_keys_retire_once_no_token_can_use_them() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    json(&porch(&["clients", "list", "--data-dir", d, "--json"]));
    {
        // Two keys of long ago, as a server would have made and rotated a year back.
        let db = rusqlite::Connection::open(dir.join("porch.db")).unwrap();
        for (kid, at) in [("key_ancient", 1_000_i64), ("key_older", 2_000)] {
            db.execute(
                "INSERT INTO signing_keys (kid, secret, created_at_ms) VALUES (?1, ?2, ?3)",
                rusqlite::params![kid, vec![7_u8; 32], at],
            )
            .unwrap();
        }
    }
    let rotated = porch(&["keys", "rotate", "--data-dir", d]);
    assert!(rotated.status.success());
    let report = json(&porch(&["keys", "retire", "--data-dir", d, "--json"]));
    assert_eq!(report["retired"], serde_json::json!(["key_ancient"]), "{report}");
    assert_eq!(
        report["waiting"][0]["kid"], "key_older",
        "its successor signs from now: its tokens may live {} s more",
        report["longestTokenTtlSecs"]
    );
    let kids = || {
        let db = rusqlite::Connection::open(dir.join("porch.db")).unwrap();
        let mut statement =
            db.prepare("SELECT kid FROM signing_keys ORDER BY created_at_ms").unwrap();
        statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    assert_eq!(kids().len(), 2);
    assert_eq!(kids()[0], "key_older", "the newest key stays too");
    let again = porch(&["keys", "retire", "--data-dir", d]);
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("kept key_older") && said.contains("run this again then"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `porch agents|clients reset-secret|disable|enable`, and `porch agents list` showing what
/// guests read of an agent (display name, avatar); what the server then refuses is in
/// `credentials.rs`.
#[test]
fn operators_reset_disable_and_enable_agents_and_clients() {
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("cli"));
    let d = dir.to_str().unwrap();
    let create = ["clients", "create", "--data-dir", d, "--name", "b", "--scope", "guests"];
    let client = json(&porch(&[&create[..], &["--json"]].concat()));
    let id = client["id"].as_str().unwrap();
    let agent = json(&porch(&["agents", "create", "--data-dir", d, "--name", "alice", "--json"]));

    let reset = json(&porch(&["clients", "reset-secret", "--data-dir", d, id, "--json"]));
    assert_eq!(reset["id"], client["id"]);
    let secret = reset["secret"].as_str().unwrap();
    assert!(secret.starts_with("sec_") && *secret != client["secret"], "a new secret: {reset}");
    let reset = json(&porch(&["agents", "reset-secret", "--data-dir", d, "alice", "--json"]));
    assert_eq!(reset["id"], agent["id"], "agents are named by their login name");
    assert_ne!(reset["secret"], agent["secret"]);

    let set = ["agents", "set", "alice", "--data-dir", d, "--display-name", "Ann from Support"];
    let avatar = ["--avatar-url", "https://cdn.example/ann.png"];
    assert!(porch(&[&set[..], &avatar[..]].concat()).status.success());
    let agents = json(&porch(&["agents", "list", "--data-dir", d, "--json"]));
    assert_eq!(agents[0]["displayName"], "Ann from Support", "{agents}");
    assert_eq!(agents[0]["avatarUrl"], "https://cdn.example/ann.png", "{agents}");
    let human = porch(&["agents", "list", "--data-dir", d]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("display name: Ann from Support  avatar: https://cdn"), "{human}");

    let disabled = porch(&["clients", "disable", "--data-dir", d, id]);
    assert!(String::from_utf8_lossy(&disabled.stdout).contains("client_disabled"));
    assert!(porch(&["agents", "disable", "--data-dir", d, "alice"]).status.success());
    let clients = json(&porch(&["clients", "list", "--data-dir", d, "--json"]));
    let agents = json(&porch(&["agents", "list", "--data-dir", d, "--json"]));
    assert_eq!((&clients[0]["enabled"], &agents[0]["enabled"]), (&false.into(), &false.into()));
    let human = porch(&["agents", "list", "--data-dir", d]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("(disabled)"));
    assert!(porch(&["clients", "enable", "--data-dir", d, id]).status.success());
    assert!(porch(&["agents", "enable", "--data-dir", d, "alice"]).status.success());
    let agents = json(&porch(&["agents", "list", "--data-dir", d, "--json"]));
    assert_eq!(agents[0]["enabled"], true);

    let unknown = porch(&["agents", "disable", "--data-dir", d, "nobody"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("see `porch agents list`"));
    let unknown = porch(&["clients", "reset-secret", "--data-dir", d, "cli_nobody"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("see `porch clients list`"));

    assert!(porch(&["agents", "delete", "--data-dir", d, "alice"]).status.success());
    assert!(porch(&["clients", "delete", "--data-dir", d, id]).status.success());
    let agents = json(&porch(&["agents", "list", "--data-dir", d, "--json"]));
    assert_eq!(agents, serde_json::json!([]));
    let clients = json(&porch(&["clients", "list", "--data-dir", d, "--json"]));
    assert!(clients.as_array().unwrap().iter().all(|c| c["id"] != id), "{clients}");
    let widget = porch(&["clients", "delete", "--data-dir", d, "cli_widget"]);
    assert!(String::from_utf8_lossy(&widget.stderr).contains("cannot be changed"));
    let _ = std::fs::remove_dir_all(&dir);
}
