//! TLS to PostgreSQL and NATS (docs/deploy.md, "TLS to PostgreSQL and NATS"; issue 24, item 7):
//! a private PostgreSQL with `ssl=on` that admits clients over TLS only, and a private
//! nats-server with TLS, client certificates and a user and password, each started here with
//! certificates a CA made at test time signed. Porch connects with the CA; without it, or with
//! the wrong credentials, it refuses to start with the cause and the fix.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use porch_server::broker::access::NatsAccess;
use porch_server::broker::nats::NatsBroker;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// A directory of the test's own, with a CA and a certificate and key it signed for
/// `localhost` and 127.0.0.1 (server and client alike), all in PEM files.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir =
            std::env::temp_dir().join(format!("porch-tls-{}", porch_core::ids::new_id("tst")));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["ca", "other-ca"] {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, format!("Porch test {name}"));
            params.key_usages =
                vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
            let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
            std::fs::write(dir.join(format!("{name}.pem")), ca.pem()).unwrap();
            if name == "ca" {
                let key = KeyPair::generate().unwrap();
                let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
                let cert = CertificateParams::new(names).unwrap().signed_by(&key, &ca).unwrap();
                std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
                std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
                std::fs::set_permissions(
                    dir.join("key.pem"),
                    std::fs::Permissions::from_mode(0o600),
                )
                .unwrap();
            }
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn wait_listening(addr: SocketAddr, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "{what} exited at start");
        assert!(Instant::now() < deadline, "{what} did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A process killed when the test ends, however it ends.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `uid` and `gid` of `postgres` when running as root: PostgreSQL refuses to run as root.
pub(crate) fn postgres_user() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if id(&["-u"])? != 0 {
        return None;
    }
    Some((id(&["-u", "postgres"])?, id(&["-g", "postgres"])?))
}

pub(crate) fn chown_all(path: &Path, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        let _ = Command::new("chown").args(["-R", &format!("{uid}:{gid}")]).arg(path).status();
    }
}

/// Runs `command` as `user` (PostgreSQL's own user when the tests run as root).
pub(crate) fn as_postgres(command: &mut Command, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
}

/// A new PostgreSQL data directory at `data`, owned by `user`: trust authentication, no fsync.
pub(crate) fn initdb(data: &Path, user: Option<(u32, u32)>) {
    std::fs::create_dir_all(data).unwrap();
    chown_all(data, user);
    let mut initdb = Command::new("initdb");
    initdb.arg("-D").arg(data).args(["-U", "postgres", "--auth=trust", "--no-sync"]);
    initdb.stdout(Stdio::null()).stderr(Stdio::null());
    as_postgres(&mut initdb, user);
    assert!(initdb.status().expect("initdb is installed").success(), "initdb");
}

/// A PostgreSQL of the test's own with `ssl=on`, admitting 127.0.0.1 over TLS only (`hostssl`
/// with `options`, e.g. `clientcert=verify-ca`), trusting the test's CA for client certificates.
fn postgres_with_tls(pki: &Pki, options: &str) -> (Killed, SocketAddr) {
    let user = postgres_user();
    let data = pki.path("pgdata");
    initdb(&data, user);
    let as_user = |command: &mut Command| as_postgres(command, user);
    for file in ["cert.pem", "key.pem", "ca.pem"] {
        std::fs::copy(pki.path(file), data.join(format!("server-{file}"))).unwrap();
    }
    std::fs::write(
        data.join("pg_hba.conf"),
        format!(
            "hostssl all all 127.0.0.1/32 trust {options}\nhostnossl all all 127.0.0.1/32 reject\n"
        ),
    )
    .unwrap();
    chown_all(&data, user);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut command = Command::new("postgres");
    command
        .arg("-D")
        .arg(&data)
        .args(["-p", &addr.port().to_string()])
        .args(["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="])
        .args(["-c", "fsync=off", "-c", "ssl=on"])
        .args(["-c", "ssl_cert_file=server-cert.pem", "-c", "ssl_key_file=server-key.pem"])
        .args(["-c", "ssl_ca_file=server-ca.pem"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    as_user(&mut command);
    let mut child = command.spawn().expect("postgres starts");
    wait_listening(addr, &mut child, "PostgreSQL");
    // Listening comes before accepting sessions ("the database system is starting up").
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Command::new("pg_isready")
        .args(["-q", "-h", "127.0.0.1", "-p", &addr.port().to_string()])
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(Instant::now() < deadline, "PostgreSQL did not accept sessions on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Killed(child), addr)
}

async fn open(url: String) -> Result<porch_store::PostgresStore, String> {
    let options =
        porch_store::PostgresOptions { url, schema: Some("tls_test".into()), pool_size: 2 };
    porch_store::PostgresStore::connect(options).await.map_err(|e| e.to_string())
}

#[tokio::test]
async fn postgres_over_tls_verifies_the_server_and_explains_refusals() {
    let pki = Pki::new();
    let (_postgres, addr) = postgres_with_tls(&pki, "");
    let ca = pki.path("ca.pem").display().to_string();
    let base = format!("postgres://postgres@{addr}/postgres");

    let store = open(format!("{base}?sslmode=verify-full&sslrootcert={ca}")).await;
    let store = store.expect("verify-full with the CA connects, migrates and serves");
    assert!(porch_core::store::Store::deployments(&store).await.unwrap().is_empty());
    let by_name = format!("postgres://postgres@localhost:{}/postgres", addr.port());
    open(format!("{by_name}?sslmode=verify-full&sslrootcert={ca}")).await.expect("by name too");
    open(format!("{base}?sslmode=require")).await.expect("require encrypts without a CA");

    let plain = open(base.clone()).await.unwrap_err();
    assert!(plain.contains("no encryption") && plain.contains("sslmode=verify-full"), "{plain}");
    let other = pki.path("other-ca.pem").display().to_string();
    let foreign =
        open(format!("{base}?sslmode=verify-full&sslrootcert={other}")).await.unwrap_err();
    assert!(foreign.contains("UnknownIssuer") && foreign.contains("sslrootcert"), "{foreign}");
    let missing = open(format!("{base}?sslmode=verify-full&sslrootcert=/nonexistent.pem")).await;
    assert!(missing.unwrap_err().contains("sslrootcert /nonexistent.pem"));
}

/// A server that asks for a client certificate (`clientcert=verify-ca`): Porch presents the
/// URL's `sslcert` and `sslkey`, as libpq does; without them it is refused; a key that is not
/// the certificate's is named as the cause.
#[tokio::test]
async fn postgres_asking_for_a_client_certificate_gets_sslcert_and_sslkey() {
    let pki = Pki::new();
    let (_postgres, addr) = postgres_with_tls(&pki, "clientcert=verify-ca");
    let path = |name: &str| pki.path(name).display().to_string();
    let base = format!(
        "postgres://postgres@{addr}/postgres?sslmode=verify-full&sslrootcert={}",
        path("ca.pem")
    );
    let with_cert = format!("{base}&sslcert={}&sslkey={}", path("cert.pem"), path("key.pem"));
    let store = open(with_cert).await.expect("the client certificate is accepted");
    assert!(porch_core::store::Store::deployments(&store).await.unwrap().is_empty());

    let refused = open(base.clone()).await.expect_err("no client certificate, no connection");
    assert!(refused.contains("cannot reach PostgreSQL"), "{refused}");
    let wrong_key = format!("{base}&sslcert={}&sslkey={}", path("cert.pem"), path("ca.pem"));
    let refused = open(wrong_key).await.expect_err("a certificate's key must be its own");
    assert!(refused.contains("sslkey"), "{refused}");
}

/// A nats-server of the test's own with TLS, verified clients and a user and password.
fn nats_with_tls(pki: &Pki) -> (Killed, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = format!(
        "listen: \"{addr}\"\ntls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n}}\nauthorization {{\n  user: porch\n  password: s3cret-pw\n}}\n",
        pki.path("cert.pem").display(),
        pki.path("key.pem").display(),
        pki.path("ca.pem").display()
    );
    std::fs::write(pki.path("nats.conf"), config).unwrap();
    let mut child = Command::new("nats-server")
        .arg("-c")
        .arg(pki.path("nats.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server is installed");
    wait_listening(addr, &mut child, "NATS");
    (Killed(child), addr)
}

async fn broker(addr: SocketAddr, access: &NatsAccess) -> Result<Arc<NatsBroker>, String> {
    let hub = Arc::new(porch_server::hub::Hub::new(64));
    let url = format!("nats://localhost:{}", addr.port());
    NatsBroker::connect(&url, access, "porch.tls-test", "nod_tls".into(), hub).await
}

#[tokio::test]
async fn nats_over_tls_with_credentials_and_refusals_explained() {
    let pki = Pki::new();
    let (_nats, addr) = nats_with_tls(&pki);
    let access = NatsAccess {
        ca_file: Some(pki.path("ca.pem")),
        cert_file: Some(pki.path("cert.pem")),
        key_file: Some(pki.path("key.pem")),
        user: Some("porch".into()),
        password: Some("s3cret-pw".into()),
        token: None,
        ..NatsAccess::default()
    };
    let connected = broker(addr, &access).await.expect("TLS, client certificate and password");
    assert!(porch_server::broker::Broker::is_connected(connected.as_ref()));

    let wrong = NatsAccess { password: Some("wrong".into()), ..access.clone() };
    let refused = broker(addr, &wrong).await.err().expect("a wrong password is refused");
    assert!(refused.contains("broker_user and broker_password"), "{refused}");
    assert!(!refused.contains("wrong"), "the password is never shown: {refused}");

    let untrusted = NatsAccess { ca_file: Some(pki.path("other-ca.pem")), ..access.clone() };
    let refused = broker(addr, &untrusted).await.err().expect("another CA is refused");
    assert!(refused.contains("broker_ca_file"), "{refused}");

    let half = NatsAccess { key_file: None, ..access };
    let refused = broker(addr, &half).await.err().expect("a certificate without its key");
    assert!(refused.contains("broker_cert_file and broker_key_file go together"), "{refused}");
}
