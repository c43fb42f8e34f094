//! Canned replies (`porch_core::canned`): each change is one statement.

use porch_core::canned::CannedReply;
use porch_core::store::StoreError;
use tokio_postgres::types::ToSql;

use super::pool::Db;
use super::reads::all;
use super::rows::Context;
use crate::rows::{CANNED_REPLY_COLUMNS, canned_reply};

pub(crate) async fn set(db: &Db, reply: &CannedReply) -> Result<(), StoreError> {
    let doing = format!("setting canned reply /{}", reply.shortcut);
    let sql = "INSERT INTO canned_replies (deployment_id, shortcut, text, updated_at_ms) \
               VALUES ($1, $2, $3, $4) \
               ON CONFLICT (deployment_id, shortcut) \
               DO UPDATE SET text = excluded.text, updated_at_ms = excluded.updated_at_ms";
    let params: &[&(dyn ToSql + Sync)] =
        &[&reply.deployment_id, &reply.shortcut, &reply.text, &reply.updated_at_ms];
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(&doing)?;
    client.execute(&statement, params).await.context(&doing)?;
    Ok(())
}

pub(crate) async fn delete(
    db: &Db,
    deployment_id: &str,
    shortcut: &str,
) -> Result<bool, StoreError> {
    let doing = format!("deleting canned reply /{shortcut}");
    let sql = "DELETE FROM canned_replies WHERE deployment_id = $1 AND shortcut = $2";
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(&doing)?;
    Ok(client.execute(&statement, &[&deployment_id, &shortcut]).await.context(&doing)? == 1)
}

pub(crate) async fn list(db: &Db, deployment_id: &str) -> Result<Vec<CannedReply>, StoreError> {
    let sql = format!(
        "SELECT {CANNED_REPLY_COLUMNS} FROM canned_replies WHERE deployment_id = $1 \
         ORDER BY shortcut COLLATE \"C\""
    );
    all(db, &sql, &[&deployment_id], canned_reply, "listing canned replies").await
}
