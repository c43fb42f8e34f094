//! Canned replies (`porch_core::canned`): writes on the writer thread, in the batch's
//! transaction and their own savepoint; reads on the reader pool.

use porch_core::canned::CannedReply;
use porch_core::store::StoreError;
use rusqlite::{Connection, params};

use super::rows::{self, Context};
use crate::rows::{CANNED_REPLY_COLUMNS, canned_reply};

pub(crate) fn set(conn: &Connection, reply: &CannedReply) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO canned_replies (deployment_id, shortcut, text, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (deployment_id, shortcut) \
         DO UPDATE SET text = excluded.text, updated_at_ms = excluded.updated_at_ms",
    )
    .and_then(|mut s| {
        s.execute(params![reply.deployment_id, reply.shortcut, reply.text, reply.updated_at_ms])
    })
    .context(&format!("setting canned reply /{}", reply.shortcut))?;
    Ok(())
}

pub(crate) fn delete(
    conn: &Connection,
    deployment_id: &str,
    shortcut: &str,
) -> Result<bool, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM canned_replies WHERE deployment_id = ?1 AND shortcut = ?2")
        .and_then(|mut s| s.execute([deployment_id, shortcut]))
        .context(&format!("deleting canned reply /{shortcut}"))?;
    Ok(deleted == 1)
}

pub(crate) fn list(conn: &Connection, deployment_id: &str) -> Result<Vec<CannedReply>, StoreError> {
    let sql = format!(
        "SELECT {CANNED_REPLY_COLUMNS} FROM canned_replies WHERE deployment_id = ?1 \
         ORDER BY shortcut"
    );
    rows::all(conn, &sql, [deployment_id], canned_reply, "listing canned replies")
}
