//! `porch attachments usage`: the files each deployment's messages keep and their bytes
//! (docs/attachments.md, "Storage use"), read from the store the server uses.

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

#[derive(Subcommand)]
pub enum AttachmentsCommand {
    /// Files kept and their bytes, per deployment and in all (deleted files not counted).
    Usage {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(command: AttachmentsCommand) -> Result<()> {
    let AttachmentsCommand::Usage { json, store } = command;
    let usage = open_store(&store).await?.attachment_usage().await?;
    let files: u64 = usage.iter().map(|u| u.files).sum();
    let bytes: u64 = usage.iter().map(|u| u.bytes).sum();
    if json {
        let deployments: Vec<_> = usage
            .iter()
            .map(|u| json!({ "deploymentId": u.deployment_id, "files": u.files, "bytes": u.bytes }))
            .collect();
        println!("{}", json!({ "deployments": deployments, "files": files, "bytes": bytes }));
        return Ok(());
    }
    println!("{:<32} {:>10} {:>16}", "deployment", "files", "bytes");
    for u in &usage {
        println!("{:<32} {:>10} {:>16}", u.deployment_id, u.files, u.bytes);
    }
    println!("{:<32} {:>10} {:>16}", "all", files, bytes);
    Ok(())
}
