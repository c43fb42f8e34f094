//! Queues' unanswered fallbacks (docs/routing.md): which queues have one, and which of their
//! conversations are due. Reads only: the fallback itself is an append conditional on the
//! conversation's `last_seq` (`AppendRequest::expect_last_seq`), decided by the writer.

use porch_core::model::QueueSettings;
use porch_core::store::StoreError;
use porch_wire::rest::Conversation;
use rusqlite::{Connection, params};

use super::rows::{self, CONVERSATION_COLUMNS, CONVERSATION_FROM, QUEUE_COLUMNS};
use crate::fallback_sql::due_sql;

pub(crate) fn queues(conn: &Connection) -> Result<Vec<QueueSettings>, StoreError> {
    let sql = format!(
        "SELECT {QUEUE_COLUMNS} FROM queues WHERE fallback_after_secs IS NOT NULL ORDER BY name"
    );
    rows::all(conn, &sql, [], rows::queue, "listing queues with a fallback")
}

pub(crate) fn due(
    conn: &Connection,
    queue: &str,
    waiting_since_ms: i64,
    limit: u32,
) -> Result<Vec<Conversation>, StoreError> {
    let sql = due_sql(CONVERSATION_COLUMNS, CONVERSATION_FROM, "?1", "?2", "?3");
    let params = params![queue, waiting_since_ms, i64::from(limit)];
    rows::all(conn, &sql, params, rows::conversation, "finding conversations due a fallback")
}
