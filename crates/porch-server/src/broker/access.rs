//! How a node reaches a NATS that asks for TLS or credentials (docs/deploy.md, "TLS to
//! PostgreSQL and NATS"): the CA that signed the server's certificate, a client certificate for
//! mutual TLS, and one way to authenticate (user and password, or a token). Secrets are never
//! printed: `Debug` shows which are set, not what they are.

use std::path::PathBuf;

/// What `porch serve`'s `broker_*` settings say.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NatsAccess {
    /// PEM file of the CA that signed the NATS server's certificate; TLS is then required.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate and key of this node, for a server that verifies clients.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for NatsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsAccess")
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .finish()
    }
}

impl NatsAccess {
    /// Checks the combination, before any connection: every problem with its fix.
    pub fn check(&self) -> Result<(), String> {
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err("broker_cert_file and broker_key_file go together: give both (mutual TLS) or neither".into());
        }
        if self.user.is_some() != self.password.is_some() {
            return Err(
                "broker_user and broker_password go together: give both, or use broker_token"
                    .into(),
            );
        }
        if self.user.is_some() && self.token.is_some() {
            return Err("give broker_user and broker_password, or broker_token, not both: NATS takes one way to authenticate".into());
        }
        Ok(())
    }

    /// Checks that the PEM files can be read, at connect time (`porch config check` does not
    /// look at files the server reads only when it starts).
    pub fn check_files(&self) -> Result<(), String> {
        for (name, path) in [
            ("broker_ca_file", &self.ca_file),
            ("broker_cert_file", &self.cert_file),
            ("broker_key_file", &self.key_file),
        ] {
            if let Some(path) = path
                && let Err(e) = std::fs::metadata(path)
            {
                return Err(format!("{name} {}: {e}; give a readable PEM file", path.display()));
            }
        }
        Ok(())
    }

    /// `options` with TLS and credentials as set.
    pub fn apply(&self, mut options: async_nats::ConnectOptions) -> async_nats::ConnectOptions {
        if let Some(ca) = &self.ca_file {
            options = options.require_tls(true).add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) {
            options = options.require_tls(true).add_client_certificate(cert.clone(), key.clone());
        }
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            options = options.user_and_password(user.clone(), password.clone());
        }
        if let Some(token) = &self.token {
            options = options.token(token.clone());
        }
        options
    }
}

/// The fix for a failed connection to NATS, from its error: which setting to change.
pub fn fix(error: &str) -> &'static str {
    const FIXES: &[(&str, &str)] = &[
        (
            "UnknownIssuer",
            "the NATS server's certificate is not signed by the CA of broker_ca_file: give the CA that signed it",
        ),
        (
            "NotValidForName",
            "the NATS server's certificate does not name the host of the broker URL: connect by a name (or IP) it lists",
        ),
        (
            "Expired",
            "the NATS server's certificate has expired (or this machine's clock is wrong): renew it",
        ),
        (
            "authorization violation",
            "NATS refused the credentials: check broker_user and broker_password (or broker_token) against the server's authorization block",
        ),
        (
            "TLS",
            "the TLS handshake with NATS failed: a server with `tls {}` needs broker_ca_file (and broker_cert_file and broker_key_file when it verifies clients); a server without TLS needs neither",
        ),
    ];
    FIXES.iter().find(|(word, _)| error.contains(word)).map_or(
        "check that NATS runs at that address and that the broker settings match its configuration",
        |(_, fix)| fix,
    )
}
