//! The log's side of attachments on SQLite: which message carries a file, which files a
//! message names, a conversation's bytes of files, which files are due for deletion (and
//! marking them deleted), and the bytes each deployment keeps.

use porch_core::store::{AttachmentUsage, StoreError};
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

/// Files due for deletion: erased entries still naming theirs first, then the kept files
/// (`attachment_bytes > 0`) of conversations closed before `?1`. `i64::MIN` keeps every file
/// of a closed conversation (retention 0).
const DUE_SQL: &str = "SELECT attachment_id FROM ( \
        SELECT attachment_id FROM messages WHERE attachment_id IS NOT NULL AND erased \
        UNION ALL \
        SELECT m.attachment_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
        WHERE m.attachment_id IS NOT NULL AND NOT m.erased AND m.attachment_bytes > 0 \
            AND c.state = 'closed' AND c.updated_at_ms < ?1 \
    ) LIMIT ?2";

pub(crate) fn due(
    conn: &Connection,
    closed_before_ms: Option<i64>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let cut = closed_before_ms.unwrap_or(i64::MIN);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(DUE_SQL)
        .and_then(|mut s| s.query_map(params![cut, limit], |r| r.get(0))?.collect())
        .context("finding files due for deletion")
}

/// A kept file's message says `deleted` and holds no bytes; an erased entry forgets its file.
const MARK_KEPT_SQL: &str = "UPDATE messages SET attachment = json_set(attachment, '$.deleted', json('true')), \
     attachment_bytes = 0 WHERE attachment_id = ?1 AND NOT erased AND attachment IS NOT NULL \
     AND attachment_bytes > 0";
const MARK_ERASED_SQL: &str =
    "UPDATE messages SET attachment_id = NULL WHERE attachment_id = ?1 AND erased";

pub(crate) fn mark_deleted(conn: &Connection, ids: &[String]) -> Result<u64, StoreError> {
    let mut changed = 0;
    for id in ids {
        for sql in [MARK_KEPT_SQL, MARK_ERASED_SQL] {
            let rows = conn
                .prepare_cached(sql)
                .and_then(|mut s| s.execute([id]))
                .context("marking deleted files")?;
            changed += rows as u64;
        }
    }
    Ok(changed)
}

pub(crate) fn usage(conn: &Connection) -> Result<Vec<AttachmentUsage>, StoreError> {
    conn.prepare_cached(
        "SELECT c.deployment_id, COUNT(*), COALESCE(SUM(m.attachment_bytes), 0) \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.attachment_id IS NOT NULL AND m.attachment_bytes > 0 \
         GROUP BY c.deployment_id ORDER BY c.deployment_id",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok(AttachmentUsage {
                deployment_id: r.get(0)?,
                files: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                bytes: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            })
        })?
        .collect()
    })
    .context("summing stored files")
}
