//! The log's side of attachments on PostgreSQL: which message carries a file, which files a
//! message names, a conversation's bytes of files, which files are due for deletion (and
//! marking them deleted), and the bytes each deployment keeps.

use porch_core::store::{AttachmentUsage, StoreError};
use porch_wire::rest::Message;

use super::pool::Db;
use super::reads::all;
use super::rows::{self, Context, MESSAGE_COLUMNS};

pub(crate) async fn message(db: &Db, attachment_id: &str) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE attachment_id = $1 LIMIT 1");
    let found = all(db, &sql, &[&attachment_id], rows::message, "reading an attachment").await?;
    Ok(found.into_iter().next())
}

pub(crate) async fn named(db: &Db, ids: Vec<String>) -> Result<Vec<String>, StoreError> {
    let client = db.client().await?;
    let rows = client
        .query("SELECT DISTINCT attachment_id FROM messages WHERE attachment_id = ANY($1)", &[&ids])
        .await
        .context("finding the messages of attachments")?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub(crate) async fn bytes(db: &Db, conversation_id: &str) -> Result<u64, StoreError> {
    let client = db.client().await?;
    let row = client
        .query_one(
            "SELECT COALESCE(SUM(attachment_bytes), 0)::BIGINT FROM messages \
             WHERE conversation_id = $1 AND attachment_id IS NOT NULL",
            &[&conversation_id],
        )
        .await
        .context("summing a conversation's attachments")?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// As SQLite's (`crate::sqlite::attachments`): erased entries still naming their files, then
/// the kept files of conversations closed before `$1`.
const DUE_SQL: &str = "SELECT attachment_id FROM ( \
        SELECT attachment_id FROM messages WHERE attachment_id IS NOT NULL AND erased \
        UNION ALL \
        SELECT m.attachment_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
        WHERE m.attachment_id IS NOT NULL AND NOT m.erased AND m.attachment_bytes > 0 \
            AND c.state = 'closed' AND c.updated_at_ms < $1 \
    ) due LIMIT $2";

pub(crate) async fn due(
    db: &Db,
    closed_before_ms: Option<i64>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let cut = closed_before_ms.unwrap_or(i64::MIN);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let client = db.client().await?;
    let rows =
        client.query(DUE_SQL, &[&cut, &limit]).await.context("finding files due for deletion")?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Both marks in one statement, so no lock is held across round trips.
const MARK_SQL: &str = "WITH kept AS ( \
        UPDATE messages SET attachment = (attachment::jsonb || '{\"deleted\":true}')::text, \
            attachment_bytes = 0 \
        WHERE attachment_id = ANY($1) AND NOT erased AND attachment IS NOT NULL \
            AND attachment_bytes > 0 RETURNING 1 \
    ), forgotten AS ( \
        UPDATE messages SET attachment_id = NULL WHERE attachment_id = ANY($1) AND erased \
        RETURNING 1 \
    ) SELECT (SELECT count(*) FROM kept) + (SELECT count(*) FROM forgotten)";

pub(crate) async fn mark_deleted(db: &Db, ids: Vec<String>) -> Result<u64, StoreError> {
    let client = db.client().await?;
    let row = client.query_one(MARK_SQL, &[&ids]).await.context("marking deleted files")?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

pub(crate) async fn usage(db: &Db) -> Result<Vec<AttachmentUsage>, StoreError> {
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT c.deployment_id, COUNT(*)::BIGINT, COALESCE(SUM(m.attachment_bytes), 0)::BIGINT \
             FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE m.attachment_id IS NOT NULL AND m.attachment_bytes > 0 \
             GROUP BY c.deployment_id ORDER BY c.deployment_id",
            &[],
        )
        .await
        .context("summing stored files")?;
    Ok(rows
        .iter()
        .map(|r| AttachmentUsage {
            deployment_id: r.get(0),
            files: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
            bytes: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
        })
        .collect())
}
