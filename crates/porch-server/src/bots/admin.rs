//! What `porch bots add|list|remove` and `porch queues set --bot` do (docs/bots.md).

use porch_core::ids::{new_id, new_secret, prefix};
use porch_core::limits::{
    BOT_DISABLED_BATCH_MAX, BOT_DISABLED_SCAN_INTERVAL_MS, BOT_REMOVE_WAIT_MS,
};
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

/// Removes a bot: its tokens are refused from then on. A removed bot's holding queue is no
/// longer looked at, so the bot is disabled first and removed once the running nodes have
/// handed the conversations it holds to its deployment's queue (`disabled`); if they have not
/// within `BOT_REMOVE_WAIT_MS` (no node running on this store, or very many), it stays
/// disabled and the error says to run the removal again.
pub async fn remove(store: &dyn Store, id: &str) -> Result<(), String> {
    if !store.set_bot_enabled(id, false).await.map_err(describe)? {
        return Err(format!("no bot `{id}`; see `porch bots list`"));
    }
    let held = handed_off(store, id).await?;
    if held > 0 {
        // The count is of one batch: there may be more.
        let held = if held >= BOT_DISABLED_BATCH_MAX as usize {
            format!("{held} or more")
        } else {
            held.to_string()
        };
        return Err(format!(
            "bot `{id}` still holds {held} open conversations after {BOT_REMOVE_WAIT_MS} ms, so it was disabled but not removed: the running nodes hand them to its deployment's queue (is `porch serve` running on this store?); run `porch bots remove {id}` again once they have"
        ));
    }
    match store.delete_bot(id).await.map_err(describe)? {
        true => Ok(()),
        false => Err(format!("no bot `{id}`; see `porch bots list`")),
    }
}

/// Waits up to `BOT_REMOVE_WAIT_MS` for the bot to hold no open conversation, looking ten
/// times per pass of the nodes' loop: how many it still holds (0 when all were handed off).
async fn handed_off(store: &dyn Store, id: &str) -> Result<usize, String> {
    let look = std::time::Duration::from_millis(BOT_DISABLED_SCAN_INTERVAL_MS / 10);
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_millis(BOT_REMOVE_WAIT_MS);
    loop {
        let held = store.conversations(super::disabled::held(id)).await.map_err(describe)?.len();
        if held == 0 || tokio::time::Instant::now() >= deadline {
            return Ok(held);
        }
        tokio::time::sleep(look).await;
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
