//! Queues' unanswered fallbacks (docs/routing.md), as in the SQLite store: reads only; the
//! fallback itself is an append whose statement writes only at the `last_seq` it expects.

use porch_core::model::QueueSettings;
use porch_core::store::StoreError;
use porch_wire::rest::Conversation;

use super::pool::Db;
use super::reads::{Params, all};
use super::rows::{self, CONVERSATION_COLUMNS, CONVERSATION_FROM, QUEUE_COLUMNS};
use crate::fallback_sql::due_sql;

pub(crate) async fn queues(db: &Db) -> Result<Vec<QueueSettings>, StoreError> {
    let sql = format!(
        "SELECT {QUEUE_COLUMNS} FROM queues WHERE fallback_after_secs IS NOT NULL \
         ORDER BY name COLLATE \"C\""
    );
    all(db, &sql, &[], rows::queue, "listing queues with a fallback").await
}

pub(crate) async fn due(
    db: &Db,
    queue: &str,
    waiting_since_ms: i64,
    limit: u32,
) -> Result<Vec<Conversation>, StoreError> {
    let sql = due_sql(CONVERSATION_COLUMNS, CONVERSATION_FROM, "$1", "$2::BIGINT", "$3::BIGINT");
    let params: Params<'_> = &[&queue, &waiting_since_ms, &i64::from(limit)];
    all(db, &sql, params, rows::conversation, "finding conversations due a fallback").await
}
