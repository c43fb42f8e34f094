//! The broker's TLS and credentials (`broker_ca_file`, `broker_user`, …; docs/deploy.md, "TLS
//! to PostgreSQL and NATS"): their flags, and their resolution into the server's `NatsAccess`.
//! The password and the token are secrets, so each may come from a file too (`secret`); an
//! nkey seed and a credentials file are files already, read and checked here, so `porch config
//! check` finds a missing or malformed one without connecting.

use std::path::PathBuf;

use clap::Args;
use porch_server::broker::access::NatsAccess;

use super::{FileSettings, secret, table};

#[derive(Args, Clone, Debug, Default)]
pub struct BrokerAccessArgs {
    #[arg(long, env = "PORCH_BROKER_CA_FILE", value_name = "PATH",
        help = table::help("broker_ca_file"), long_help = table::long_help("broker_ca_file"))]
    pub broker_ca_file: Option<PathBuf>,
    #[arg(long, env = "PORCH_BROKER_CERT_FILE", value_name = "PATH",
        help = table::help("broker_cert_file"), long_help = table::long_help("broker_cert_file"))]
    pub broker_cert_file: Option<PathBuf>,
    #[arg(long, env = "PORCH_BROKER_KEY_FILE", value_name = "PATH",
        help = table::help("broker_key_file"), long_help = table::long_help("broker_key_file"))]
    pub broker_key_file: Option<PathBuf>,
    #[arg(long, env = "PORCH_BROKER_USER",
        help = table::help("broker_user"), long_help = table::long_help("broker_user"))]
    pub broker_user: Option<String>,
    #[arg(long, env = "PORCH_BROKER_PASSWORD", hide_env_values = true,
        help = table::help("broker_password"), long_help = table::long_help("broker_password"))]
    pub broker_password: Option<String>,
    #[arg(long, env = "PORCH_BROKER_TOKEN", hide_env_values = true,
        help = table::help("broker_token"), long_help = table::long_help("broker_token"))]
    pub broker_token: Option<String>,
    #[arg(long, env = "PORCH_BROKER_NKEY_FILE", value_name = "PATH",
        help = table::help("broker_nkey_file"), long_help = table::long_help("broker_nkey_file"))]
    pub broker_nkey_file: Option<PathBuf>,
    #[arg(long, env = "PORCH_BROKER_CREDS_FILE", value_name = "PATH",
        help = table::help("broker_creds_file"), long_help = table::long_help("broker_creds_file"))]
    pub broker_creds_file: Option<PathBuf>,
}

/// The broker's access: flags and variables over the file; each problem with its fix.
pub fn resolve(args: &BrokerAccessArgs, file: &FileSettings) -> Result<NatsAccess, String> {
    let access = NatsAccess {
        ca_file: args.broker_ca_file.clone().or(file.broker_ca_file.clone()),
        cert_file: args.broker_cert_file.clone().or(file.broker_cert_file.clone()),
        key_file: args.broker_key_file.clone().or(file.broker_key_file.clone()),
        user: args.broker_user.clone().or(file.broker_user.clone()),
        password: secret_setting(
            "broker_password",
            args.broker_password.as_deref(),
            file.broker_password.as_deref(),
            file.broker_password_file.as_deref(),
        )?,
        token: secret_setting(
            "broker_token",
            args.broker_token.as_deref(),
            file.broker_token.as_deref(),
            file.broker_token_file.as_deref(),
        )?,
        nkey_file: args.broker_nkey_file.clone().or(file.broker_nkey_file.clone()),
        creds_file: args.broker_creds_file.clone().or(file.broker_creds_file.clone()),
    };
    access.check()?;
    access.check_keys()?;
    Ok(access)
}

fn secret_setting(
    key: &str,
    given: Option<&str>,
    toml: Option<&str>,
    toml_file: Option<&std::path::Path>,
) -> Result<Option<String>, String> {
    let row = table::row(key);
    let env_file = secret::env(&row.file_env());
    secret::resolve(
        row,
        &secret::SecretSources {
            given,
            env_file: env_file.as_deref(),
            env_set: secret::env(row.env).is_some(),
            toml,
            toml_file,
        },
    )
}
