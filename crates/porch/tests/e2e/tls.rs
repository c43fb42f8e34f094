//! Porch behind TLS, as behind a company's load balancer: a terminator on 127.0.0.1 holding a
//! certificate that a CA made at test time (rcgen) signed, forwarding bytes to a real server.
//! porch-client and `porch doctor` must get a token, a guest and the gateway's `ready` through
//! it when given the CA, and without the CA fail with the cause and the fix.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use porch_client::gateway::ConnectError;
use porch_client::{Api, Gateway, Tls, TlsProblem};
use porch_wire::rest::CreateGuestRequest;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::doctor::{case, check, gateway_args};
use crate::support::*;

/// What a client is told when it does not trust the test CA.
const UNTRUSTED: &str = "the server's certificate is not trusted (UnknownIssuer): pass --ca-file with the CA that signed it";

/// A private CA and a certificate it signed for 127.0.0.1, with the CA's PEM in a file.
struct TestCa {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ca_file: PathBuf,
}

impl TestCa {
    fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "Porch test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let ca_file = std::env::temp_dir()
            .join(format!("porch-e2e-ca-{}.pem", porch_core::ids::new_id("tst")));
        std::fs::write(&ca_file, ca.pem()).unwrap();
        TestCa {
            chain: vec![leaf.der().clone()],
            key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
            ca_file,
        }
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// A real server whose public URL is the terminator's `https://`, so the gatewayUrl it hands
/// out is `wss://` through the terminator too.
struct TlsFront {
    server: TestServer,
    base_url: String,
    ca: TestCa,
    accept: JoinHandle<()>,
}

impl TlsFront {
    async fn start() -> TlsFront {
        TlsFront::start_with_public_url(None).await
    }

    /// Porch is told the terminator's https:// URL as its `public_url`, or `other` instead, as
    /// behind a proxy nobody told it about.
    async fn start_with_public_url(other: Option<&'static str>) -> TlsFront {
        let ca = TestCa::new();
        // Bound first: the server must know the terminator's URL when it starts.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("https://{}", listener.local_addr().unwrap());
        let public_url = base_url.clone();
        let server = TestServer::start_with(move |c| {
            c.public_url = other.map_or_else(|| public_url.clone(), str::to_owned)
        })
        .await;
        let upstream: SocketAddr =
            server.api.base_url().trim_start_matches("http://").parse().unwrap();
        let accept = tokio::spawn(terminate(listener, tls_acceptor(&ca), upstream));
        TlsFront { server, base_url, ca, accept }
    }

    fn tls(&self) -> Tls {
        Tls::with_ca_file(&self.ca.ca_file).expect("the test CA loads")
    }

    fn ca_file(&self) -> String {
        self.ca.ca_file.display().to_string()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn tls_acceptor(ca: &TestCa) -> tokio_rustls::TlsAcceptor {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(ca.chain.clone(), ca.key.clone_key())
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Accepts TLS and copies the plaintext to and from `upstream`, one connection per client.
async fn terminate(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    upstream: SocketAddr,
) {
    while let Ok((client, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A client that refuses the certificate ends the handshake; nothing to forward then.
            let Ok(mut client) = acceptor.accept(client).await else { return };
            let Ok(mut server) = TcpStream::connect(upstream).await else { return };
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}

#[tokio::test]
async fn porch_client_speaks_https_and_wss_through_a_tls_terminator() {
    let front = TlsFront::start().await;
    let server = &front.server;
    let tls = front.tls();
    let api = Api::with_tls(&front.base_url, &tls);
    let token = api
        .client_token(&server.client_id, &server.client_secret)
        .await
        .expect("client token over https")
        .access_token;
    let request =
        CreateGuestRequest { deployment_id: server.deployment.id.clone(), ..Default::default() };
    let guest = api.create_guest(&token, &request).await.expect("guest session over https");
    assert_eq!(
        guest.gateway_url,
        format!("{}/api/v2/gateway", front.base_url.replace("https://", "wss://"))
    );
    let mut socket = Gateway::connect_with(&guest.gateway_url, &guest.access_token, None, &tls)
        .await
        .expect("wss connects");
    expect_ready(&mut socket).await;
    socket.close().await;
}

#[tokio::test]
async fn porch_client_without_the_ca_says_the_certificate_is_untrusted_and_the_fix() {
    let front = TlsFront::start().await;
    let server = &front.server;
    let error = Api::new(&front.base_url)
        .client_token(&server.client_id, &server.client_secret)
        .await
        .unwrap_err();
    assert!(error.to_string().contains(UNTRUSTED), "{error}");
    let guest = server.guest().await;
    match Gateway::connect(&guest.gateway_url, &guest.access_token, None).await {
        Err(ConnectError::Tls(problem)) => {
            assert_eq!(problem, TlsProblem::Untrusted("UnknownIssuer".into()))
        }
        other => panic!("expected an untrusted certificate, got {:?}", other.map(|g| g.protocol)),
    }
}

#[tokio::test]
async fn doctor_speaks_tls_with_ca_file_and_names_the_fix_without() {
    let front = TlsFront::start().await;
    let server = &front.server;
    let guest = server.guest().await;
    let (url, token) = (guest.gateway_url.as_str(), guest.access_token.as_str());
    let ca_file = front.ca_file();
    let secret = server.client_secret.clone();
    let flow = |extra: &[&str]| -> Vec<String> {
        let (id, dep) = (server.client_id.as_str(), server.deployment.id.as_str());
        [
            "--base-url",
            &front.base_url,
            "--client-id",
            id,
            "--client-secret",
            &secret,
            "--deployment",
            dep,
            "--origin",
            ALLOWED_ORIGIN,
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    let with_ca = ["--ca-file", ca_file.as_str()];
    let plain_port =
        format!("{}/api/v2/gateway", server.api.base_url().replace("http://", "wss://"));
    let token = token.to_string();
    // For exit status 2, `verdict` is looked for in the error on stderr.
    #[rustfmt::skip]
    let cases = vec![
        case("flow over tls", flow(&with_ca), 0, "the handshake works", "nothing to fix", &[&secret]),
        case("gateway over tls", gateway_args(url, &token, &with_ca), 0, "the handshake works", "nothing to fix", &[&token]),
        case("flow, CA not given", flow(&[]), 2, UNTRUSTED, "", &[&secret]),
        case("gateway, CA not given", gateway_args(url, &token, &[]), 2, UNTRUSTED, "", &[&token]),
        case("tls to a plain port", gateway_args(&plain_port, &token, &with_ca), 2, "did not answer in TLS", "", &[&token]),
        case("no such ca file", gateway_args(url, &token, &["--ca-file", "/nonexistent/ca.pem"]), 2, "--ca-file /nonexistent/ca.pem", "", &[&token]),
    ];
    for c in cases {
        check(c).await;
    }
}

/// Behind a TLS terminator Porch was not told about, gatewayUrl stays ws://: a browser on the
/// https:// page blocks it, so the doctor says so before its own handshake.
#[tokio::test]
async fn doctor_names_a_ws_gateway_behind_https_as_mixed_content() {
    let front = TlsFront::start_with_public_url(Some("http://chat.example.com")).await;
    let server = &front.server;
    let ca_file = front.ca_file();
    let secret = server.client_secret.clone();
    let (id, dep) = (server.client_id.as_str(), server.deployment.id.as_str());
    let args = [
        "--base-url",
        &front.base_url,
        "--client-id",
        id,
        "--client-secret",
        &secret,
        "--deployment",
        dep,
        "--ca-file",
        &ca_file,
    ];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    check(case(
        "ws gateway behind https",
        args,
        1,
        "mixed content",
        "--public-url https://",
        &[&secret],
    ))
    .await;
}
