//! Bots and their hand-offs (docs/bots.md). Writes run on the writer thread like any write.

use porch_core::model::BotRecord;
use porch_core::store::StoreError;
use porch_wire::bot::Handoff;
use rusqlite::{Connection, params};

use super::rows::{self, BOT_COLUMNS, Context, HANDOFF_COLUMNS};

pub(crate) fn create(conn: &Connection, bot: &BotRecord) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO bots ({BOT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            bot.id,
            bot.deployment_id,
            bot.name,
            bot.secret_hash,
            bot.created_at_ms,
            bot.enabled
        ])
    })
    .context(&format!("creating bot {}", bot.id))?;
    Ok(())
}

pub(crate) fn all(conn: &Connection) -> Result<Vec<BotRecord>, StoreError> {
    let sql = format!("SELECT {BOT_COLUMNS} FROM bots ORDER BY created_at_ms, id");
    rows::all(conn, &sql, [], rows::bot, "listing bots")
}

pub(crate) fn one(conn: &Connection, id: &str) -> Result<Option<BotRecord>, StoreError> {
    let sql = format!("SELECT {BOT_COLUMNS} FROM bots WHERE id = ?1");
    rows::first(conn, &sql, [id], rows::bot, &format!("reading bot {id}"))
}

pub(crate) fn delete(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM bots WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .context(&format!("removing bot {id}"))?;
    Ok(deleted == 1)
}

pub(crate) fn set_enabled(conn: &Connection, id: &str, enabled: bool) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("UPDATE bots SET enabled = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id, enabled]))
        .context(&format!("setting whether bot {id} is enabled"))?;
    Ok(changed == 1)
}

pub(crate) fn set_handoff(conn: &Connection, h: &Handoff) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO handoffs ({HANDOFF_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (conversation_id) DO UPDATE SET bot_id = excluded.bot_id, \
             queue = excluded.queue, summary = excluded.summary, at_ms = excluded.at_ms"
    ))
    .and_then(|mut s| s.execute(params![h.conversation_id, h.bot_id, h.queue, h.summary, h.at_ms]))
    .context(&format!("recording the hand-off of {}", h.conversation_id))?;
    Ok(())
}

pub(crate) fn handoff(
    conn: &Connection,
    conversation_id: &str,
) -> Result<Option<Handoff>, StoreError> {
    let sql = format!("SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE conversation_id = ?1");
    let doing = format!("reading the hand-off of {conversation_id}");
    rows::first(conn, &sql, [conversation_id], rows::handoff, &doing)
}
