//! `porch wrapups set|list`: a deployment's wrap-up codes, the list an agent's close picks
//! from (docs/routing.md). Running servers read it at the next close.

use anyhow::Result;
use clap::Subcommand;
use porch_server::admin;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

#[derive(Subcommand)]
pub enum WrapupsCommand {
    /// Replace a deployment's wrap-up codes; with none, a close needs no code. Prints the list.
    Set {
        #[arg(long)]
        deployment: String,
        /// The codes, in the order agents see them (e.g. resolved refund-issued spam).
        codes: Vec<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a deployment's wrap-up codes.
    List {
        #[arg(long)]
        deployment: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(command: WrapupsCommand) -> Result<()> {
    let (deployment, codes, json) = match command {
        WrapupsCommand::Set { deployment, codes, json, store } => {
            let store = open_store(&store).await?;
            let codes = admin::set_wrap_up_codes(store.as_ref(), &deployment, codes)
                .await
                .map_err(anyhow::Error::msg)?;
            (deployment, codes, json)
        }
        WrapupsCommand::List { deployment, json, store } => {
            let store = open_store(&store).await?;
            if store.deployment(&deployment).await?.is_none() {
                anyhow::bail!("no deployment `{deployment}`; see `porch deployments list`");
            }
            let codes = store.wrap_up_codes(&deployment).await?;
            (deployment, codes, json)
        }
    };
    if json {
        println!("{}", json!({ "deployment": deployment, "wrapUpCodes": codes }));
    } else if codes.is_empty() {
        println!("deployment {deployment}  wrap-up codes: none (a close needs no code)");
    } else {
        println!("deployment {deployment}  wrap-up codes: {}", codes.join(" "));
    }
    Ok(())
}
