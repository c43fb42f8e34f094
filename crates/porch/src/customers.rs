//! `porch customers erase`: the operator's erasure of a customer (docs/identity.md, "Erasure"),
//! the same as the builder's backend's `POST …/customers/erasure`.

use anyhow::{Result, anyhow};
use clap::Subcommand;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

#[derive(Subcommand)]
pub enum CustomersCommand {
    /// Erase a customer: their messages' texts, name, email and attributes are removed (the
    /// conversations keep their sequence, with tombstones), and their sessions are revoked;
    /// live ones close with `guest_erased` within one heartbeat interval. Running it again is
    /// harmless.
    Erase {
        /// The deployment (dep_…).
        deployment: String,
        /// The customer's externalId, as the sessions were created with.
        external_id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(command: CustomersCommand) -> Result<()> {
    let CustomersCommand::Erase { deployment, external_id, json, store } = command;
    let store = open_store(&store).await?;
    let erasure = porch_server::erasure::erase_customer(store.as_ref(), &deployment, &external_id)
        .await
        .map_err(|e| anyhow!("{}: {}", e.code, e.message))?;
    if json {
        println!("{}", json!(erasure));
    } else {
        println!(
            "customer erased on {}: {} guest session(s) revoked, {} entries turned into tombstones, in {} conversation(s)",
            erasure.deployment_id,
            erasure.guests,
            erasure.messages,
            erasure.conversation_ids.len()
        );
    }
    Ok(())
}
