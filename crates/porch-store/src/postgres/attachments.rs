//! The log's side of attachments on PostgreSQL: which message carries a file, which files a
//! message names, and a conversation's bytes of files.

use porch_core::store::StoreError;
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
