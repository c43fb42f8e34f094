//! `porch bots`: a deployment's bots (docs/bots.md), on the same store as `serve`. A removed
//! bot's tokens are refused at their next use, on every node; the conversations it held are
//! handed off by the running nodes before it goes.

use anyhow::Result;
use clap::Subcommand;
use porch_core::model::BotRecord;
use porch_server::bots::admin;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

#[derive(Subcommand)]
pub enum BotsCommand {
    /// Add a bot to a deployment. Its id and secret (for POST /api/v2/bots/token) are printed;
    /// the secret only this once.
    Add {
        /// The deployment the bot serves (dep_…).
        #[arg(long)]
        deployment: String,
        /// The name guests read beside its messages.
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List bots (never their secrets).
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a bot: its tokens are refused from then on. It is disabled first and removed once
    /// the running nodes have handed the conversations it holds to its deployment's queue.
    Remove {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable a bot: its sign-in and every token it holds are refused (`bot_disabled`), and
    /// its queues' new conversations go straight to their agents, until `porch bots enable`.
    Disable {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled bot: its queues' new conversations start with it again.
    Enable {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(command: BotsCommand) -> Result<()> {
    match command {
        BotsCommand::Add { deployment, name, json, store } => {
            let store = open_store(&store).await?;
            let created =
                admin::add(store.as_ref(), &deployment, &name).await.map_err(anyhow::Error::msg)?;
            let mut value = bot_json(&created.record);
            value["secret"] = json!(created.secret);
            let human = format!(
                "{}\nsecret {}  (shown once; the bot signs in with its id and this)",
                bot_line(&created.record),
                created.secret
            );
            print(json, value, human);
        }
        BotsCommand::List { json, store } => {
            let bots = open_store(&store).await?.bots().await?;
            let value = json!(bots.iter().map(bot_json).collect::<Vec<_>>());
            print(json, value, bots.iter().map(bot_line).collect::<Vec<_>>().join("\n"));
        }
        BotsCommand::Remove { id, store } => {
            let store = open_store(&store).await?;
            admin::remove(store.as_ref(), &id).await.map_err(anyhow::Error::msg)?;
            println!(
                "bot {id} removed: its tokens are refused from now on, and the conversations it held are with its deployment's queue"
            );
        }
        BotsCommand::Disable { id, store } => {
            admin::set_enabled(open_store(&store).await?.as_ref(), &id, false)
                .await
                .map_err(anyhow::Error::msg)?;
            println!(
                "bot {id} disabled: its tokens are refused, its queues' new conversations go to their agents, and the running nodes hand the ones it holds to its deployment's queue"
            );
        }
        BotsCommand::Enable { id, store } => {
            admin::set_enabled(open_store(&store).await?.as_ref(), &id, true)
                .await
                .map_err(anyhow::Error::msg)?;
            println!("bot {id} enabled: its queues' new conversations start with it again");
        }
    }
    Ok(())
}

fn print(as_json: bool, value: serde_json::Value, human: String) {
    if as_json {
        println!("{value}");
    } else {
        println!("{human}");
    }
}

fn bot_json(b: &BotRecord) -> serde_json::Value {
    json!({
        "id": b.id, "deploymentId": b.deployment_id, "name": b.name, "createdAtMs": b.created_at_ms,
        "enabled": b.enabled,
    })
}

fn bot_line(b: &BotRecord) -> String {
    let state = if b.enabled { "" } else { "  (disabled)" };
    format!("bot {}  deployment {}  name: {}{state}", b.id, b.deployment_id, b.name)
}
