//! NATS nkeys and credentials files (docs/deploy.md, "NATS nkeys and credentials files"; issue
//! 24, item 7): a nats-server of the test's own that knows this node (a) by its user nkey and
//! (b) in operator mode, by a user JWT its account signed, the account's JWT preloaded
//! (`resolver: MEMORY`). The keys and JWTs are made here, as `nk` and `nsc` make them. Two
//! nodes connect through it and a guest's message reaches an agent on the other node; a wrong
//! seed is refused at start with the setting to check; `porch config check` finds a missing,
//! malformed or mismatched file without connecting.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use nkeys::KeyPair;
use porch_server::broker::access::NatsAccess;
use porch_wire::frame::ClientFrame;
use serde_json::{Value, json};

use crate::backing_tls::{Killed, free_port, wait_listening};
use crate::support::*;

/// A directory of the test's own, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let dir = std::env::temp_dir().join(porch_core::ids::new_id("nkt"));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// Writes a secret file, mode 0600 as an operator would.
    fn secret(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A JWT as the NATS tools sign one (NATS JWT v2): header, claims, and the issuer's Ed25519
/// signature of the two, each base64url without padding.
fn nats_jwt(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> String {
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let claims = json!({
        "jti": porch_core::ids::new_id("jti"),
        "iat": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let header = encode(json!({"typ": "JWT", "alg": "ed25519-nkey"}).to_string().as_bytes());
    let signed = format!("{header}.{}", encode(claims.to_string().as_bytes()));
    format!("{signed}.{}", encode(issuer.sign(signed.as_bytes()).unwrap().as_slice()))
}

/// A `.creds` file's text, as `nsc generate creds` writes it.
fn creds(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    )
}

/// An operator, an account it signed (no limits) and a user of that account: the operator's
/// and account's JWTs for the server, the user's `.creds` text for Porch.
struct Operator {
    operator_jwt: String,
    account: KeyPair,
    account_jwt: String,
}

impl Operator {
    fn new() -> Operator {
        let operator = KeyPair::new_operator();
        let operator_jwt = nats_jwt(
            &operator,
            &operator.public_key(),
            "porch-test",
            json!({"type": "operator", "version": 2}),
        );
        let account = KeyPair::new_account();
        // -1 is "no limit"; a missing limit would be 0, no connection at all.
        let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1,
            "exports": -1, "wildcards": true, "conn": -1, "leaf": -1});
        let account_jwt = nats_jwt(
            &operator,
            &account.public_key(),
            "porch",
            json!({"limits": limits, "type": "account", "version": 2}),
        );
        Operator { operator_jwt, account, account_jwt }
    }

    /// A new user of the account: its `.creds` text.
    fn user_creds(&self) -> String {
        let user = KeyPair::new_user();
        let claims = json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
            "type": "user", "version": 2});
        let jwt = nats_jwt(&self.account, &user.public_key(), "porch-node", claims);
        creds(&jwt, &user.seed().unwrap())
    }
}

/// A nats-server of the test's own on a free loopback port, with `auth` as its configuration's
/// authentication part.
fn nats_server(dir: &Dir, auth: &str) -> (Killed, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = dir.0.join("nats.conf");
    std::fs::write(&config, format!("listen: \"{addr}\"\n{auth}")).unwrap();
    let mut child = Command::new("nats-server")
        .arg("-c")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server is installed");
    wait_listening(addr, &mut child, "NATS");
    (Killed(child), addr)
}

/// nats-server knowing one user by its nkey.
fn nkey_server(dir: &Dir, user: &KeyPair) -> (Killed, SocketAddr) {
    nats_server(
        dir,
        &format!("authorization {{\n  users: [ {{ nkey: {} }} ]\n}}\n", user.public_key()),
    )
}

/// nats-server in operator mode, `operator`'s account preloaded in its memory resolver.
fn operator_server(dir: &Dir, operator: &Operator) -> (Killed, SocketAddr) {
    let operator_file = dir.secret("operator.jwt", &operator.operator_jwt);
    let auth = format!(
        "operator: \"{}\"\nresolver: MEMORY\nresolver_preload: {{\n  {}: \"{}\"\n}}\n",
        operator_file.display(),
        operator.account.public_key(),
        operator.account_jwt
    );
    nats_server(dir, &auth)
}

/// Two nodes through the broker at `addr` with `access`: a guest's message on node 1 reaches
/// the agent on node 2 live.
async fn a_message_crosses_two_nodes(addr: SocketAddr, access: NatsAccess) {
    let subject = format!("porch.keys.{}", porch_core::ids::new_id("tst").replace("tst_", ""));
    let server = TestServer::start_pair(|config| {
        config.broker_url = Some(format!("nats://{addr}"));
        config.broker_access = access.clone();
        config.broker_subject = subject.clone();
    })
    .await;
    let broker = server.state.broker.as_ref().expect("node 1 has a broker");
    assert!(broker.is_connected(), "{}", broker.describe());
    let (guest, mut guest_socket) = server.connected_guest().await;
    let (_, mut agent_socket, _) = server.connected_agent().await;
    let send = ClientFrame::Send {
        client_message_id: "g1".into(),
        text: "Hello from node 1".into(),
        conversation_id: None,
    };
    guest_socket.send(&send).await.unwrap();
    let at_agent = entry(&mut agent_socket, &guest.conversation_id, 1).await;
    assert_eq!(at_agent.text, "Hello from node 1", "the message crossed NATS to node 2");
}

#[tokio::test]
async fn an_nkey_seed_authenticates_nodes_and_a_wrong_one_is_refused() {
    let dir = Dir::new();
    let user = KeyPair::new_user();
    let (_nats, addr) = nkey_server(&dir, &user);
    let seed = dir.secret("porch.nk", &format!("{}\n", user.seed().unwrap()));
    let access = NatsAccess { nkey_file: Some(seed), ..NatsAccess::default() };
    a_message_crosses_two_nodes(addr, access).await;

    let stranger = KeyPair::new_user().seed().unwrap();
    let wrong = dir.secret("wrong.nk", &stranger);
    let refused = serve_refused(&dir, addr, &["--broker-nkey-file", wrong.to_str().unwrap()]);
    assert!(refused.contains("NATS refused the credentials: check broker_nkey_file"), "{refused}");
    assert!(!refused.contains(&stranger[2..]), "the seed is never shown: {refused}");
}

#[tokio::test]
async fn a_credentials_file_authenticates_nodes_in_operator_mode() {
    let dir = Dir::new();
    let operator = Operator::new();
    let (_nats, addr) = operator_server(&dir, &operator);
    let file = dir.secret("porch.creds", &operator.user_creds());
    let access = NatsAccess { creds_file: Some(file), ..NatsAccess::default() };
    a_message_crosses_two_nodes(addr, access).await;

    // A user of an account this server's operator never signed.
    let foreign = dir.secret("foreign.creds", &Operator::new().user_creds());
    let refused = serve_refused(&dir, addr, &["--broker-creds-file", foreign.to_str().unwrap()]);
    assert!(refused.contains("NATS refused the credentials: check broker_creds_file"), "{refused}");
}

/// `porch serve` with `args` against the broker at `addr`: it must exit, refused; its stderr.
fn serve_refused(dir: &Dir, addr: SocketAddr, args: &[&str]) -> String {
    let data = dir.0.join("data");
    let broker = format!("nats://{addr}");
    let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--data-dir", path(&data)];
    all.extend(["--broker", broker.as_str()]);
    all.extend(args);
    let out = porch(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "a refused node does not start: {stderr}");
    stderr
}

/// `porch` with no `PORCH_*` variable of the machine's.
fn porch(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_porch"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("PORCH_")) {
        command.env_remove(name);
    }
    command.args(args).output().expect("porch runs")
}

/// `porch config check` with `args`: its stderr, and whether it passed.
fn check(args: &[&str]) -> (bool, String) {
    let mut all = vec!["config", "check", "--store", "sqlite"];
    all.extend(args);
    let out = porch(&all);
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    (out.status.success(), text)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn config_check_reads_the_key_files_and_names_each_fix() {
    let dir = Dir::new();
    let user = KeyPair::new_user();
    let seed = dir.secret("porch.nk", &user.seed().unwrap());
    let (ok, out) = check(&["--broker-nkey-file", path(&seed)]);
    assert!(ok && out.contains(&format!("broker_auth = nkey seed in {}", seed.display())), "{out}");
    assert!(!out.contains(&user.seed().unwrap()[2..]), "the seed is never shown: {out}");

    let (ok, out) = check(&["--broker-nkey-file", "/nonexistent/porch.nk"]);
    assert!(!ok && out.contains("broker_nkey_file /nonexistent/porch.nk: no such file"), "{out}");
    assert!(out.contains("one line starting `SU`"), "the fix: {out}");
    let garbled = dir.secret("garbled.nk", "SUNOTASEED\n");
    let (ok, out) = check(&["--broker-nkey-file", path(&garbled)]);
    assert!(!ok && out.contains("not an nkey seed"), "{out}");
    let account = dir.secret("account.nk", &KeyPair::new_account().seed().unwrap());
    let (ok, out) = check(&["--broker-nkey-file", path(&account)]);
    assert!(!ok && out.contains("an account's seed"), "{out}");

    let (ok, out) = check(&["--broker-nkey-file", path(&seed), "--broker-token", "t0ken"]);
    assert!(!ok && out.contains("broker_token and broker_nkey_file are given together"), "{out}");
    assert!(out.contains("keep one of"), "the fix: {out}");

    let operator = Operator::new();
    let good = dir.secret("porch.creds", &operator.user_creds());
    let (ok, out) = check(&["--broker-creds-file", path(&good)]);
    assert!(ok && out.contains("broker_auth = credentials file"), "{out}");
    // The JWT of one user with the seed of another: the halves of two files.
    let other = operator.user_creds();
    let (jwt_half, _) = good_halves(&std::fs::read_to_string(&good).unwrap());
    let (_, seed_half) = good_halves(&other);
    let mixed = dir.secret("mixed.creds", &creds(&jwt_half, &seed_half));
    let (ok, out) = check(&["--broker-creds-file", path(&mixed)]);
    assert!(!ok && out.contains("they must be one user's"), "{out}");
    assert!(out.contains("`nsc generate creds`"), "the fix: {out}");
    let seed_only = dir.secret("seed-only.creds", &user.seed().unwrap());
    let (ok, out) = check(&["--broker-creds-file", path(&seed_only)]);
    assert!(!ok && out.contains("no user JWT block"), "{out}");

    std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let access = NatsAccess { nkey_file: Some(seed.clone()), ..NatsAccess::default() };
    let warnings = access.warnings();
    assert!(warnings.len() == 1 && warnings[0].contains("chmod 600"), "{warnings:?}");
}

/// The JWT and the seed of a `.creds` text.
fn good_halves(text: &str) -> (String, String) {
    let lines: Vec<&str> = text.lines().collect();
    let after = |marker: &str| {
        let at = lines.iter().position(|l| l.contains(marker)).unwrap();
        lines[at + 1].to_string()
    };
    (after("BEGIN NATS USER JWT"), after("BEGIN USER NKEY SEED"))
}
