//! `porch canned-replies set|list|remove`: a deployment's canned replies, which agents insert
//! by typing `/shortcut` in the console's composer.

use anyhow::{Result, bail};
use clap::Subcommand;
use porch_server::canned;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

#[derive(Subcommand)]
pub enum CannedRepliesCommand {
    /// Add a canned reply to a deployment, or give one of its shortcuts a new text.
    Set {
        #[arg(long)]
        deployment: String,
        /// What agents type after `/`: lowercase letters, digits, `-` and `_` (e.g. `refund`).
        #[arg(long)]
        shortcut: String,
        /// The text inserted in the agent's reply.
        #[arg(long)]
        text: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a deployment's canned replies, by shortcut.
    List {
        #[arg(long)]
        deployment: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a canned reply.
    Remove {
        #[arg(long)]
        deployment: String,
        #[arg(long)]
        shortcut: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(command: CannedRepliesCommand) -> Result<()> {
    match command {
        CannedRepliesCommand::Set { deployment, shortcut, text, json, store } => {
            let store = open_store(&store).await?;
            let reply = canned::set(store.as_ref(), &deployment, &shortcut, &text)
                .await
                .map_err(anyhow::Error::msg)?;
            if json {
                println!(
                    "{}",
                    json!({ "deploymentId": reply.deployment_id,
                    "shortcut": reply.shortcut, "text": reply.text })
                );
            } else {
                println!("/{} on {}: {}", reply.shortcut, reply.deployment_id, reply.text);
            }
        }
        CannedRepliesCommand::List { deployment, json, store } => {
            let replies = open_store(&store).await?.canned_replies(&deployment).await?;
            if json {
                let list: Vec<_> = replies
                    .iter()
                    .map(|r| json!({ "shortcut": r.shortcut, "text": r.text }))
                    .collect();
                println!("{}", json!(list));
            } else {
                for r in &replies {
                    println!("/{}  {}", r.shortcut, r.text.replace('\n', " "));
                }
            }
        }
        CannedRepliesCommand::Remove { deployment, shortcut, store } => {
            if !open_store(&store).await?.delete_canned_reply(&deployment, &shortcut).await? {
                bail!(
                    "deployment `{deployment}` has no canned reply /{shortcut}; see `porch canned-replies list --deployment {deployment}`"
                );
            }
            println!("canned reply /{shortcut} removed from {deployment}");
        }
    }
    Ok(())
}
