//! What `porch bots add|list|remove` and `porch queues set --bot` do (docs/bots.md).

use porch_core::ids::{new_id, new_secret, prefix};
use porch_core::model::BotRecord;
use porch_core::store::Store;

use crate::admin::{Created, describe, hash};

/// Adds a bot to a deployment; its secret is returned to be shown once.
pub async fn add(
    store: &dyn Store,
    deployment_id: &str,
    name: &str,
) -> Result<Created<BotRecord>, String> {
    if name.trim().is_empty() {
        return Err("a bot needs a name: guests read it beside its messages".into());
    }
    if store.deployment(deployment_id).await.map_err(describe)?.is_none() {
        return Err(format!("no deployment `{deployment_id}`; see `porch deployments list`"));
    }
    let secret = new_secret(prefix::SECRET);
    let record = BotRecord {
        id: new_id(prefix::BOT),
        deployment_id: deployment_id.to_owned(),
        name: name.to_owned(),
        secret_hash: hash(&secret).await,
        created_at_ms: porch_core::time::now_ms(),
        enabled: true,
    };
    store.create_bot(record.clone()).await.map_err(describe)?;
    Ok(Created { record, secret })
}

/// Removes a bot: its tokens are refused from then on. Conversations it still holds stay in
/// its holding queue, readable in the store, until an operator closes them.
pub async fn remove(store: &dyn Store, id: &str) -> Result<(), String> {
    match store.delete_bot(id).await.map_err(describe)? {
        true => Ok(()),
        false => Err(format!("no bot `{id}`; see `porch bots list`")),
    }
}

/// Enables or disables a bot: a disabled bot's sign-in and tokens are refused on every node at
/// their next use, its queues' new conversations go to their agents, and the running nodes hand
/// the conversations it holds to its deployment's queue (`disabled`).
pub async fn set_enabled(store: &dyn Store, id: &str, enabled: bool) -> Result<(), String> {
    match store.set_bot_enabled(id, enabled).await.map_err(describe)? {
        true => Ok(()),
        false => Err(format!("no bot `{id}`; see `porch bots list`")),
    }
}

/// The bot a queue starts its conversations with, checked to exist.
pub async fn check_queue_bot(
    store: &dyn Store,
    queue: &str,
    bot: Option<String>,
) -> Result<Option<String>, String> {
    let Some(id) = bot.filter(|b| !b.is_empty()) else { return Ok(None) };
    if porch_core::bot::holder(queue).is_some() {
        return Err(format!("`{queue}` is a bot's holding queue; name the queue guests join"));
    }
    match store.bot(&id).await.map_err(describe)? {
        Some(_) => Ok(Some(id)),
        None => Err(format!("no bot `{id}`; see `porch bots list`")),
    }
}

/// Agents never serve a bot's holding queue: that is what keeps its conversations the bot's.
pub fn check_agent_queues(queues: &[String]) -> Result<(), String> {
    match queues.iter().find(|q| porch_core::bot::holder(q).is_some()) {
        Some(q) => Err(format!(
            "queue `{q}` starts with {}, which names a bot's conversations; choose another name",
            porch_core::bot::HOLDING_PREFIX
        )),
        None => Ok(()),
    }
}
