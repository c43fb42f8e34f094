//! How a node reaches a NATS that asks for TLS or credentials (docs/deploy.md, "TLS to
//! PostgreSQL and NATS"): the CA that signed the server's certificate, a client certificate for
//! mutual TLS, and one way to authenticate: user and password, a token, an nkey seed, or a
//! credentials file (a user JWT and its seed; `keys.rs` reads and checks those two). Secrets
//! are never printed: `Debug` shows which are set, not what they are.

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
    /// File holding this node's user nkey seed (`SU…`), for `authorization { users: [{nkey}] }`.
    pub nkey_file: Option<PathBuf>,
    /// `.creds` file (user JWT and seed), for a server in operator mode (decentralized JWT auth).
    pub creds_file: Option<PathBuf>,
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
            .field("nkey_file", &self.nkey_file)
            .field("creds_file", &self.creds_file)
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
        let ways: Vec<&str> = self.ways().collect();
        if ways.len() > 1 {
            return Err(format!(
                "{} are given together, but NATS takes one way to authenticate: keep one of broker_user and broker_password, broker_token, broker_nkey_file or broker_creds_file (the one the server's configuration asks for)",
                ways.join(" and ")
            ));
        }
        Ok(())
    }

    /// The ways to authenticate that are set, by their settings' names.
    fn ways(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            (self.user.is_some() || self.password.is_some(), "broker_user/broker_password"),
            (self.token.is_some(), "broker_token"),
            (self.nkey_file.is_some(), "broker_nkey_file"),
            (self.creds_file.is_some(), "broker_creds_file"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
    }

    /// How this node authenticates, for `porch config check`: the way and its file, never a
    /// secret.
    pub fn way(&self) -> String {
        let file = |path: &PathBuf| path.display().to_string();
        match (&self.nkey_file, &self.creds_file) {
            (Some(path), _) => format!("nkey seed in {}", file(path)),
            (_, Some(path)) => format!("credentials file {}", file(path)),
            _ if self.token.is_some() => "token (set; a secret, not shown)".into(),
            _ if self.user.is_some() => "user and password (set; a secret, not shown)".into(),
            _ => "none".into(),
        }
    }

    /// Reads and checks the nkey seed or credentials file, without connecting (`porch config
    /// check` and `porch serve` alike): a missing, unreadable or malformed file with its fix.
    pub fn check_keys(&self) -> Result<(), String> {
        if let Some(path) = &self.nkey_file {
            super::keys::read_seed(path)?;
        }
        if let Some(path) = &self.creds_file {
            super::keys::read_creds(path)?;
        }
        Ok(())
    }

    /// Warnings about the files that hold a seed: others may read them.
    pub fn warnings(&self) -> Vec<String> {
        [("broker_nkey_file", &self.nkey_file), ("broker_creds_file", &self.creds_file)]
            .into_iter()
            .filter_map(|(name, path)| super::keys::loose_mode(name, path.as_deref()?))
            .collect()
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

    /// `options` with TLS and credentials as set; the seed or credentials file is read (and
    /// checked) now.
    pub fn apply(
        &self,
        mut options: async_nats::ConnectOptions,
    ) -> Result<async_nats::ConnectOptions, String> {
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
        if let Some(path) = &self.nkey_file {
            options = options.nkey(super::keys::read_seed(path)?);
        }
        if let Some(path) = &self.creds_file {
            let text = super::keys::read_creds(path)?;
            options = options.credentials(&text).map_err(|e| {
                format!(
                    "broker_creds_file {}: {e}; give the file `nsc generate creds` wrote",
                    path.display()
                )
            })?;
        }
        Ok(options)
    }

    /// The fix when NATS refused this node's credentials: which setting to check, and how.
    pub fn refused_fix(&self) -> &'static str {
        if self.creds_file.is_some() {
            "NATS refused the credentials: check broker_creds_file; its user must belong to an account the server's operator trusts (its resolver has the account's JWT), and be neither expired nor revoked (`nsc describe user`, then `nsc generate creds` anew)"
        } else if self.nkey_file.is_some() {
            "NATS refused the credentials: check broker_nkey_file; its seed's public key (`nk -inkey FILE -pubout`) must be an `nkey` of the server's authorization users"
        } else if self.token.is_some() {
            "NATS refused the credentials: check broker_token against the server's authorization block"
        } else if self.user.is_some() {
            "NATS refused the credentials: check broker_user and broker_password against the server's authorization block"
        } else {
            "NATS asks for credentials: give the ones its configuration names (broker_user and broker_password, broker_token, broker_nkey_file or broker_creds_file)"
        }
    }
}

/// The fix for a failed connection to NATS, from its error: which setting to change.
pub fn fix(error: &str, access: &NatsAccess) -> &'static str {
    if error.contains("authorization violation") {
        return access.refused_fix();
    }
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
            "TLS",
            "the TLS handshake with NATS failed: a server with `tls {}` needs broker_ca_file (and broker_cert_file and broker_key_file when it verifies clients); a server without TLS needs neither",
        ),
    ];
    FIXES.iter().find(|(word, _)| error.contains(word)).map_or(
        "check that NATS runs at that address and that the broker settings match its configuration",
        |(_, fix)| fix,
    )
}
