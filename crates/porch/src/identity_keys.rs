//! `porch identity-keys add|list|remove`: the keys a deployment's backend signs identity
//! tokens with (docs/identity.md).

use anyhow::{Result, bail};
use clap::Subcommand;
use porch_server::admin;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

#[derive(Subcommand)]
pub enum IdentityKeysCommand {
    /// Register a key on a deployment. Without --jwk, Porch generates an HS256 secret and
    /// prints it once; with --jwk, the builder's public key (ES256 or EdDSA) is registered.
    Add {
        #[arg(long)]
        deployment: String,
        /// A file holding the public JWK (EC P-256 or OKP Ed25519), or `-` for standard input.
        #[arg(long)]
        jwk: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a deployment's identity keys (never an HS256 secret).
    List {
        #[arg(long)]
        deployment: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove an identity key: tokens it signed are refused from now on.
    Remove {
        kid: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(command: IdentityKeysCommand) -> Result<()> {
    match command {
        IdentityKeysCommand::Add { deployment, jwk, json, store } => {
            let jwk = jwk.map(|path| read_jwk(&path)).transpose()?;
            let store = open_store(&store).await?;
            let key = admin::add_identity_key(store.as_ref(), &deployment, jwk.as_deref())
                .await
                .map_err(anyhow::Error::msg)?;
            let secret = key.shown_secret();
            let value = json!({ "kid": key.kid, "deploymentId": key.deployment_id,
                "alg": key.algorithm.as_str(), "secret": secret, "createdAtMs": key.created_at_ms });
            let human = match &secret {
                Some(secret) => format!(
                    "identity key {} (HS256) on {}\nsecret {secret}  (base64url; shown once: keep it on your backend)",
                    key.kid, key.deployment_id
                ),
                None => format!(
                    "identity key {} ({}) on {}",
                    key.kid,
                    key.algorithm.as_str(),
                    key.deployment_id
                ),
            };
            print(json, value, human);
        }
        IdentityKeysCommand::List { deployment, json, store } => {
            let keys = open_store(&store).await?.identity_keys(&deployment).await?;
            let value = json!(keys.iter().map(|k| json!({ "kid": k.kid, "deploymentId": k.deployment_id,
                "alg": k.algorithm.as_str(), "jwk": k.public_jwk(), "createdAtMs": k.created_at_ms })).collect::<Vec<_>>());
            let human = keys
                .iter()
                .map(|k| format!("{}  {}  {}", k.kid, k.algorithm.as_str(), k.deployment_id))
                .collect::<Vec<_>>()
                .join("\n");
            print(json, value, human);
        }
        IdentityKeysCommand::Remove { kid, store } => {
            if !open_store(&store).await?.remove_identity_key(&kid).await? {
                bail!("no identity key `{kid}`; see `porch identity-keys list --deployment DEP`");
            }
            println!("identity key {kid} removed; tokens it signed are refused from now on");
        }
    }
    Ok(())
}

fn read_jwk(path: &str) -> Result<String> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading --jwk {path}: {e}"))?
    };
    Ok(text)
}

fn print(as_json: bool, value: serde_json::Value, human: String) {
    if as_json {
        println!("{value}");
    } else {
        println!("{human}");
    }
}
