//! TLS to PostgreSQL (docs/deploy.md, "TLS to PostgreSQL and NATS"): libpq's `sslmode` and
//! `sslrootcert` in the URL, on rustls (the ring provider the rest of Porch uses).
//!
//! tokio-postgres itself knows only `disable`, `prefer` and `require`, and no CA file, so
//! both parameters are taken out of the URL here and decide the connector:
//! - absent, `disable`, `allow`, `prefer`: no TLS (as libpq's `prefer` against a server
//!   without TLS; Porch never falls back from a TLS failure, so it does not try);
//! - `require`: TLS; the certificate is checked against `sslrootcert` when one is given (as
//!   libpq does), otherwise not at all;
//! - `verify-ca`: TLS, the chain checked against `sslrootcert` (or the system's roots);
//! - `verify-full`: that, and the server's name (or IP) in the certificate.
//!
//! `sslcert` and `sslkey` (PEM files, together) are this node's client certificate, for a
//! server whose `pg_hba.conf` asks for one (`clientcert=verify-ca|verify-full`, or `cert`);
//! they need TLS, so `sslmode` `require` or stricter.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use porch_core::store::StoreError;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// What the URL's `sslmode` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Off,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The URL without `sslmode`, `sslrootcert`, `sslcert` and `sslkey`, and what they said.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Split {
    pub url: String,
    pub mode: Mode,
    pub root_cert: Option<String>,
    /// The client certificate and its key (PEM files), for mutual TLS.
    pub client: Option<(String, String)>,
}

/// The URL parameters this module takes out of a URL.
const TAKEN: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// Takes `sslmode` and `sslrootcert` out of a URL (`postgres://…?sslmode=verify-full`) or a
/// libpq `key=value` string. Errors name the parameter, never the URL (it holds a password).
pub(crate) fn split(url: &str) -> Result<Split, StoreError> {
    let (mut mode, mut root_cert) = (Mode::Off, None);
    let (mut cert, mut key) = (None, None);
    let mut take = |name: &str, value: &str| -> Result<bool, StoreError> {
        match name {
            "sslmode" => mode = parse_mode(value)?,
            "sslrootcert" => root_cert = Some(value.to_owned()),
            "sslcert" => cert = Some(value.to_owned()),
            "sslkey" => key = Some(value.to_owned()),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let url = if url.contains("://") {
        // The other parameters stay as written: decoding and encoding them again would turn
        // `%20` into `+`, which the PostgreSQL client does not read as a space
        // (`options=-c%20search_path%3D…`).
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        for raw in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = form_urlencoded::parse(raw.as_bytes()).next().unwrap_or_default();
            if !take(&key, &value)? {
                kept.push(raw);
            }
        }
        if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
    } else {
        let mut found = false;
        for (key, value) in url.split_whitespace().filter_map(|p| p.split_once('=')) {
            found |= take(key, value.trim_matches('\''))?;
        }
        // A libpq string is rewritten only when it names TLS; its other values (quoted, with
        // spaces) are then kept word by word.
        if found {
            url.split_whitespace()
                .filter(|p| !p.split_once('=').is_some_and(|(name, _)| TAKEN.contains(&name)))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            url.to_owned()
        }
    };
    if mode == Mode::Require && root_cert.is_some() {
        // libpq: `require` with a root certificate file checks the chain, as `verify-ca`.
        mode = Mode::VerifyCa;
    }
    let client = match (cert, key) {
        (None, None) => None,
        (Some(_), Some(_)) if mode == Mode::Off => {
            return Err(StoreError::Unavailable(
                "the PostgreSQL URL's sslcert and sslkey need TLS: add sslmode=verify-full (or require)".into(),
            ));
        }
        (Some(cert), Some(key)) => Some((cert, key)),
        _ => {
            return Err(StoreError::Unavailable(
                "the PostgreSQL URL's sslcert and sslkey go together: give both (a client certificate and its key) or neither".into(),
            ));
        }
    };
    Ok(Split { url, mode, root_cert, client })
}

fn parse_mode(value: &str) -> Result<Mode, StoreError> {
    match value {
        "disable" | "allow" | "prefer" => Ok(Mode::Off),
        "require" => Ok(Mode::Require),
        "verify-ca" => Ok(Mode::VerifyCa),
        "verify-full" => Ok(Mode::VerifyFull),
        other => Err(StoreError::Unavailable(format!(
            "the PostgreSQL URL's sslmode `{}` is not one of disable, prefer, require, verify-ca, verify-full",
            other.chars().take(16).collect::<String>()
        ))),
    }
}

/// The connector for `mode`, with the roots of `root_cert` (a PEM file) or the system's.
pub(crate) fn connector(split: &Split) -> Result<RustlsConnect, StoreError> {
    let (mode, root_cert) = (split.mode, split.root_cert.as_deref());
    let provider = Arc::new(ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        Mode::Require => Arc::new(Unverified(provider.clone())),
        Mode::VerifyCa | Mode::VerifyFull | Mode::Off => {
            let roots = Arc::new(roots(root_cert)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| StoreError::Unavailable(format!("PostgreSQL TLS roots: {e}")))?;
            if mode == Mode::VerifyCa { Arc::new(ChainOnly(webpki)) } else { webpki }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Unavailable(format!("PostgreSQL TLS: {e}")))?
        .dangerous() // The verifier is one of the three above, each chosen by sslmode.
        .with_custom_certificate_verifier(verifier);
    let config = match &split.client {
        None => config.with_no_client_auth(),
        Some((cert, key)) => {
            let (chain, key) = client_identity(cert, key)?;
            config.with_client_auth_cert(chain, key).map_err(|e| {
                StoreError::Unavailable(format!(
                    "the PostgreSQL URL's sslcert {cert} and sslkey do not go together: {e}; give the key of that certificate"
                ))
            })?
        }
    };
    Ok(RustlsConnect { config: Arc::new(config) })
}

/// The certificate chain of `cert` and the private key of `key`, PEM files both.
fn client_identity(
    cert: &str,
    key: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), StoreError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "the PostgreSQL URL's sslcert {cert}: {e}; give a readable PEM file with this node's certificate"
            ))
        })?;
    if chain.is_empty() {
        return Err(StoreError::Unavailable(format!(
            "the PostgreSQL URL's sslcert {cert} holds no certificate; give a PEM file with this node's certificate"
        )));
    }
    // The key's path is named, never its bytes.
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        StoreError::Unavailable(format!(
            "the PostgreSQL URL's sslkey {key}: {e}; give a readable PEM file with the certificate's private key"
        ))
    })?;
    Ok((chain, key))
}

/// Every certificate of `path`, or the system's roots when there is no file.
fn roots(path: Option<&str>) -> Result<RootCertStore, StoreError> {
    let bad = |cause: String| {
        StoreError::Unavailable(format!(
            "the PostgreSQL URL's sslrootcert {}: {cause}",
            path.unwrap_or("(system roots)")
        ))
    };
    let certs: Vec<CertificateDer<'static>> = match path {
        Some(path) => CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .map_err(|e| bad(format!("{e}; give a readable PEM file with the CA's certificate")))?,
        None => rustls_native_certs::load_native_certs().certs,
    };
    let mut store = RootCertStore::empty();
    for cert in certs {
        store.add(cert).map_err(|e| bad(format!("a certificate is unusable as a root: {e}")))?;
    }
    if store.is_empty() {
        return Err(bad(
            "holds no certificate; give the CA's certificate in PEM (`sslrootcert=/path/ca.pem`)"
                .into(),
        ));
    }
    Ok(store)
}

/// `verify-ca`: the chain must lead to a root, whatever name the certificate gives.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified =
            self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match verified {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without `sslrootcert`: encrypted, the certificate not checked (libpq's meaning:
/// it protects against eavesdropping, not against a server impersonated).
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The fix for a failed connection whose cause is TLS or how the server admits this client,
/// from the error's text (rustls' and PostgreSQL's words); `None` for other causes.
pub(crate) fn fix(cause: &str) -> Option<&'static str> {
    const FIXES: &[(&str, &str)] = &[
        (
            "UnknownIssuer",
            "the server's certificate is not signed by a CA Porch trusts: give that CA's certificate in the URL, `sslrootcert=/path/ca.pem`",
        ),
        (
            "NotValidForName",
            "the server's certificate does not name the host of the URL: connect by a name (or IP) it lists, or use `sslmode=verify-ca`",
        ),
        (
            "Expired",
            "the server's certificate has expired (or this machine's clock is wrong): renew it",
        ),
        (
            "server does not support TLS",
            "the server does not accept TLS: turn `ssl` on in postgresql.conf, or take `sslmode` out of the URL",
        ),
        (
            "no encryption",
            "the server admits this user only over TLS (pg_hba.conf `hostssl`): add `sslmode=verify-full` and `sslrootcert` to the URL",
        ),
        (
            "password authentication failed",
            "the user or password in the URL is wrong (or the role may not log in)",
        ),
    ];
    FIXES.iter().find(|(word, _)| cause.contains(word)).map(|(_, fix)| *fix)
}

/// tokio-postgres's TLS connector on rustls.
#[derive(Clone)]
pub(crate) struct RustlsConnect {
    config: Arc<ClientConfig>,
}

impl MakeTlsConnect<Socket> for RustlsConnect {
    type Stream = TlsStream;
    type TlsConnect = Connector;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> Result<Connector, io::Error> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(Connector { connector: tokio_rustls::TlsConnector::from(self.config.clone()), name })
    }
}

/// One connection's handshake.
pub(crate) struct Connector {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for Connector {
    type Stream = TlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TlsStream>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move { Ok(TlsStream(self.connector.connect(self.name, socket).await?)) })
    }
}

/// A TLS connection to PostgreSQL. No channel binding: SCRAM's `-PLUS` needs the server
/// certificate's hash, which Porch does not compute; SCRAM without it still authenticates.
pub(crate) struct TlsStream(tokio_rustls::client::TlsStream<Socket>);

impl tokio_postgres::tls::TlsStream for TlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_leave_the_url() {
        let url = split("postgres://u:p@db:5432/porch?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x").unwrap();
        assert_eq!(url.url, "postgres://u:p@db:5432/porch?application_name=x");
        assert_eq!((url.mode, url.root_cert.as_deref()), (Mode::VerifyFull, Some("/etc/ca.pem")));
        let plain = split("postgres://u@db/porch").unwrap();
        assert_eq!((plain.url.as_str(), plain.mode), ("postgres://u@db/porch", Mode::Off));
        let kv = split("host=db user=u sslmode=require sslrootcert=/ca.pem").unwrap();
        assert_eq!(kv.url, "host=db user=u");
        assert_eq!(kv.mode, Mode::VerifyCa, "require with a root file checks the chain, as libpq");
        assert!(split("postgres://db/p?sslmode=sometimes").is_err());
    }

    #[test]
    fn other_parameters_stay_as_written() {
        let url = "postgres://u@db/p?application_name=n1&options=-c%20search_path%3Dbench_1";
        assert_eq!(split(url).unwrap().url, url, "%20 must not become +");
        let with_tls = split(&format!("{url}&sslmode=require")).unwrap();
        assert_eq!((with_tls.url.as_str(), with_tls.mode), (url, Mode::Require));
        let kv = "host=db options='-c search_path=x'";
        assert_eq!(split(kv).unwrap().url, kv, "a libpq string without TLS is untouched");
    }

    #[test]
    fn a_client_certificate_is_sslcert_and_sslkey_together_over_tls() {
        let url = split("postgres://u@db/p?sslmode=verify-full&sslcert=%2Fc.pem&sslkey=%2Fk.pem")
            .unwrap();
        assert_eq!(url.url, "postgres://u@db/p");
        assert_eq!(url.client, Some(("/c.pem".to_owned(), "/k.pem".to_owned())));
        let kv = split("host=db sslmode=require sslcert=/c.pem sslkey=/k.pem").unwrap();
        assert_eq!(kv.url, "host=db");
        assert_eq!(kv.client, Some(("/c.pem".to_owned(), "/k.pem".to_owned())));
        let alone = split("postgres://db/p?sslmode=require&sslcert=/c.pem").unwrap_err();
        assert!(alone.to_string().contains("go together"), "{alone}");
        let clear = split("postgres://db/p?sslcert=/c.pem&sslkey=/k.pem").unwrap_err();
        assert!(clear.to_string().contains("need TLS: add sslmode=verify-full"), "{clear}");
    }
}
