//! Bots and their hand-offs (docs/bots.md), as in the SQLite store.

use porch_core::model::BotRecord;
use porch_core::store::StoreError;
use porch_wire::bot::Handoff;

use super::pool::Db;
use super::reads::{Params, all, one};
use super::rows::{self, BOT_COLUMNS, Context, HANDOFF_COLUMNS};

async fn execute(db: &Db, sql: &str, params: Params<'_>, doing: &str) -> Result<u64, StoreError> {
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(doing)?;
    client.execute(&statement, params).await.context(doing)
}

pub(crate) async fn create(db: &Db, bot: &BotRecord) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO bots ({BOT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
    let params: Params<'_> = &[
        &bot.id,
        &bot.deployment_id,
        &bot.name,
        &bot.secret_hash,
        &bot.created_at_ms,
        &bot.enabled,
    ];
    execute(db, &sql, params, &format!("creating bot {}", bot.id)).await.map(|_| ())
}

pub(crate) async fn all_bots(db: &Db) -> Result<Vec<BotRecord>, StoreError> {
    let sql = format!("SELECT {BOT_COLUMNS} FROM bots ORDER BY created_at_ms, id COLLATE \"C\"");
    all(db, &sql, &[], rows::bot, "listing bots").await
}

pub(crate) async fn bot(db: &Db, id: &str) -> Result<Option<BotRecord>, StoreError> {
    let sql = format!("SELECT {BOT_COLUMNS} FROM bots WHERE id = $1");
    one(db, &sql, id, rows::bot, &format!("reading bot {id}")).await
}

pub(crate) async fn delete(db: &Db, id: &str) -> Result<bool, StoreError> {
    let doing = format!("removing bot {id}");
    Ok(execute(db, "DELETE FROM bots WHERE id = $1", &[&id], &doing).await? == 1)
}

pub(crate) async fn set_enabled(db: &Db, id: &str, enabled: bool) -> Result<bool, StoreError> {
    let doing = format!("setting whether bot {id} is enabled");
    let sql = "UPDATE bots SET enabled = $2 WHERE id = $1";
    Ok(execute(db, sql, &[&id, &enabled], &doing).await? == 1)
}

pub(crate) async fn set_handoff(db: &Db, h: &Handoff) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO handoffs ({HANDOFF_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (conversation_id) DO UPDATE SET bot_id = excluded.bot_id, \
             queue = excluded.queue, summary = excluded.summary, at_ms = excluded.at_ms"
    );
    let params: Params<'_> = &[&h.conversation_id, &h.bot_id, &h.queue, &h.summary, &h.at_ms];
    let doing = format!("recording the hand-off of {}", h.conversation_id);
    execute(db, &sql, params, &doing).await.map(|_| ())
}

pub(crate) async fn handoff(db: &Db, conversation_id: &str) -> Result<Option<Handoff>, StoreError> {
    let sql = format!("SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE conversation_id = $1");
    let doing = format!("reading the hand-off of {conversation_id}");
    one(db, &sql, conversation_id, rows::handoff, &doing).await
}
