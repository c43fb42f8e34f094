//! The log's side of attachments on SQLite: which message carries a file, which files a
//! message names, and a conversation's bytes of files.

use porch_core::store::StoreError;
use porch_wire::rest::Message;
use rusqlite::{Connection, params};

use super::rows::{self, Context, MESSAGE_COLUMNS};

pub(crate) fn message(
    conn: &Connection,
    attachment_id: &str,
) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE attachment_id = ?1 LIMIT 1");
    rows::first(conn, &sql, [attachment_id], rows::message, "reading an attachment")
}

pub(crate) fn named(conn: &Connection, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT 1 FROM messages WHERE attachment_id = ?1 LIMIT 1")
        .context("finding the messages of attachments")?;
    let mut found = Vec::new();
    for id in ids {
        if statement.exists([id]).context("finding the messages of attachments")? {
            found.push(id.clone());
        }
    }
    Ok(found)
}

pub(crate) fn bytes(conn: &Connection, conversation_id: &str) -> Result<u64, StoreError> {
    let sum: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(attachment_bytes), 0) FROM messages \
             WHERE conversation_id = ?1 AND attachment_id IS NOT NULL",
        )
        .and_then(|mut s| s.query_row(params![conversation_id], |row| row.get(0)))
        .context("summing a conversation's attachments")?;
    Ok(u64::try_from(sum).unwrap_or(0))
}
