//! TLS for `https://` and `wss://`: one rustls configuration, shared by the REST client and
//! the gateway, on the ring provider (rustls' default, aws-lc-rs, needs cmake and a C
//! toolchain to build).
//!
//! Trust is the system's (rustls-platform-verifier: the OS store on macOS and Windows, the CA
//! bundle elsewhere) plus, optionally, the certificates of a PEM file: the private CA or
//! self-signed certificate of a Porch behind a company's load balancer.
//!
//! The system's roots are read at the first TLS handshake, not when a client is made, so a
//! client of a plain `http://` server never reads them and works on a machine without any.
//!
//! A failed handshake is turned into a `TlsProblem` that names its cause and its fix. The fixes
//! name the porch CLI's `--ca-file`, since the CLI is where people meet them.

use std::error::Error as StdError;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, SignatureScheme};

/// A rustls client configuration: the system's roots, plus those of a `--ca-file`.
#[derive(Clone, Debug)]
pub struct Tls {
    config: Arc<ClientConfig>,
}

/// Why a `--ca-file` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--ca-file {path}: {cause}")]
pub struct CaFileError {
    path: String,
    cause: String,
}

impl Tls {
    /// The system's roots only; one configuration per process.
    pub fn system() -> Tls {
        static SYSTEM: OnceLock<Tls> = OnceLock::new();
        SYSTEM.get_or_init(|| Tls::with_roots(Vec::new())).clone()
    }

    /// The system's roots plus every certificate of the PEM file at `path`.
    pub fn with_ca_file(path: &Path) -> Result<Tls, CaFileError> {
        let error = |cause: String| CaFileError { path: path.display().to_string(), cause };
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                error(format!("{e}: give a readable PEM file with the CA's certificate"))
            })?;
        if certs.is_empty() {
            return Err(error(
                "holds no `-----BEGIN CERTIFICATE-----` block: give the CA's certificate in PEM"
                    .into(),
            ));
        }
        // Checked now, so a bad file is reported at start and not at the first handshake.
        for cert in &certs {
            rustls::RootCertStore::empty()
                .add(cert.clone())
                .map_err(|e| error(format!("a certificate in it is unusable as a root ({e}): give the CA's certificate in PEM")))?;
        }
        Ok(Tls::with_roots(certs))
    }

    fn with_roots(extra_roots: Vec<CertificateDer<'static>>) -> Tls {
        install_default_provider();
        let provider = Arc::new(ring::default_provider());
        let verifier = Arc::new(Verifier {
            extra_roots,
            provider: provider.clone(),
            platform: OnceLock::new(),
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous() // Not dangerous: `Verifier` is the platform verifier, built on first use.
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Tls { config: Arc::new(config) }
    }

    /// The configuration, for `tokio_tungstenite::Connector::Rustls`.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// A reqwest client that uses this configuration.
    pub fn http_client(&self, builder: reqwest::ClientBuilder) -> reqwest::Result<reqwest::Client> {
        // reqwest takes the configuration by value; the clone shares its verifier and roots.
        builder.tls_backend_preconfigured(ClientConfig::clone(&self.config)).build()
    }
}

/// Makes ring the process's rustls provider. reqwest is built with `rustls-no-provider` (no
/// aws-lc-rs), so a `reqwest::Client` built without `Tls::http_client` panics unless this ran
/// first; `Tls` calls it, and any other code that builds its own reqwest client must.
pub fn install_default_provider() {
    // Err means a provider is installed already: then that one is used, as intended.
    let _ = ring::default_provider().install_default();
}

/// The platform verifier with the extra roots, made at the first certificate to verify: it
/// reads the system's roots when made, and fails when there are none.
#[derive(Debug)]
struct Verifier {
    extra_roots: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    platform: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

/// The system has no CA certificates and no `--ca-file` was given.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NoRoots(String);

impl Verifier {
    fn platform(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        let made = self.platform.get_or_init(|| {
            rustls_platform_verifier::Verifier::new_with_extra_roots(
                self.extra_roots.clone(),
                self.provider.clone(),
            )
            .map_err(|e| rustls::Error::Other(OtherError(Arc::new(NoRoots(e.to_string())))))
        });
        made.as_ref().map_err(Clone::clone)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.platform()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    // Signatures need no roots: the provider's algorithms, as the platform verifier does.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Why a TLS handshake failed, in words that lead to the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsProblem {
    /// The chain does not lead to a trusted root; the rustls error's name in parentheses.
    Untrusted(String),
    /// This machine trusts no CA at all.
    NoRoots,
    /// The certificate is for other names.
    WrongName(String),
    /// Expired or not yet valid.
    Dates(String),
    /// What answered is not TLS (a plain HTTP port, most likely); the rustls error.
    NotTls(String),
    /// The server ended the handshake with this alert.
    Alert(String),
    Other(String),
}

impl TlsProblem {
    /// The TLS failure somewhere in an error's chain (reqwest's, tungstenite's, an io::Error).
    pub fn find(error: &(dyn StdError + 'static)) -> Option<TlsProblem> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(tls) = rustls_error(e) {
                return Some(TlsProblem::from(tls));
            }
            next = e.source();
        }
        None
    }

    pub fn cause(&self) -> String {
        match self {
            TlsProblem::Untrusted(name) => {
                format!("the server's certificate is not trusted ({name})")
            }
            TlsProblem::NoRoots => {
                "this machine has no CA certificates to trust the server's certificate with".into()
            }
            TlsProblem::WrongName(detail) => {
                format!("the server's certificate is not valid for this host name ({detail})")
            }
            TlsProblem::Dates(name) => {
                format!("the server's certificate is not valid now ({name})")
            }
            TlsProblem::NotTls(detail) => format!(
                "the server did not answer in TLS ({detail}), so this port likely serves plain HTTP"
            ),
            TlsProblem::Alert(alert) => {
                format!("the server refused the TLS handshake (alert {alert})")
            }
            TlsProblem::Other(detail) => format!("the TLS handshake failed ({detail})"),
        }
    }

    pub fn fix(&self) -> &'static str {
        match self {
            TlsProblem::Untrusted(_) => {
                "pass --ca-file with the CA that signed it (PEM), or make the server send its whole chain"
            }
            TlsProblem::NoRoots => {
                "install the system's CA certificates (Debian: ca-certificates), or pass --ca-file with the CA that signed the server's certificate"
            }
            TlsProblem::WrongName(_) => {
                "use a host name the certificate names, or reissue it with this name in its subjectAltName"
            }
            TlsProblem::Dates(_) => {
                "renew the certificate on the server or load balancer, and check this machine's clock"
            }
            TlsProblem::NotTls(_) => {
                "use http:// and ws:// for this port, or the port where TLS is served"
            }
            TlsProblem::Alert(_) | TlsProblem::Other(_) => {
                "check the URL's host and port, and the TLS set-up of the server or load balancer"
            }
        }
    }
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.cause(), self.fix())
    }
}

/// A rustls error as such, or inside io::Errors (hyper-rustls wraps one in another), whose
/// `source()` skips the error they wrap.
fn rustls_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut error = error;
    loop {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        error = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

impl From<&rustls::Error> for TlsProblem {
    fn from(error: &rustls::Error) -> TlsProblem {
        use rustls::Error as E;
        match error {
            E::InvalidCertificate(cert) => certificate_problem(cert),
            E::Other(OtherError(inner)) if inner.downcast_ref::<NoRoots>().is_some() => {
                TlsProblem::NoRoots
            }
            E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
                TlsProblem::NotTls(error.to_string())
            }
            E::AlertReceived(alert) => TlsProblem::Alert(format!("{alert:?}")),
            other => TlsProblem::Other(other.to_string()),
        }
    }
}

fn certificate_problem(error: &CertificateError) -> TlsProblem {
    use CertificateError as C;
    match error {
        C::NotValidForName => TlsProblem::WrongName("NotValidForName".into()),
        C::NotValidForNameContext { expected, presented } => TlsProblem::WrongName(format!(
            "asked for {expected:?}, it names {}",
            presented.join(", ")
        )),
        C::Expired | C::ExpiredContext { .. } => TlsProblem::Dates("Expired".into()),
        C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::Dates("NotValidYet".into()),
        // UnknownIssuer, BadSignature, a bad purpose: the chain does not lead to a trusted root.
        other => TlsProblem::Untrusted(variant_name(other)),
    }
}

/// `UnknownIssuer`, not `UnknownIssuer { .. }`: the name people search for.
fn variant_name(error: &CertificateError) -> String {
    let debug = format!("{error:?}");
    debug.split([' ', '(', '{']).next().unwrap_or(&debug).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_problems_name_their_cause_and_fix() {
        let untrusted = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io =
            std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, untrusted));
        let problem = TlsProblem::find(&io).expect("found inside the io::Errors");
        assert_eq!(
            problem.to_string(),
            "the server's certificate is not trusted (UnknownIssuer): pass --ca-file with the CA that signed it (PEM), or make the server send its whole chain"
        );
        let plain = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        assert!(matches!(TlsProblem::find(&plain), Some(TlsProblem::NotTls(_))));
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert_eq!(TlsProblem::find(&expired), Some(TlsProblem::Dates("Expired".into())));
        assert_eq!(TlsProblem::find(&std::io::Error::other("refused")), None);
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused_with_the_fix() {
        let path =
            std::env::temp_dir().join(format!("porch-client-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = Tls::with_ca_file(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(error.contains("no `-----BEGIN CERTIFICATE-----` block"), "{error}");
        let missing = Tls::with_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err().to_string();
        assert!(
            missing.contains("--ca-file /nonexistent/ca.pem")
                && missing.contains("readable PEM file"),
            "{missing}"
        );
    }
}
