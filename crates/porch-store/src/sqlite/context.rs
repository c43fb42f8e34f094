//! A guest's visitor context (`porch_wire::rest::VisitorContext`), JSON in `guests.context`:
//! written on the writer thread, read on the reader pool.

use porch_core::store::StoreError;
use porch_wire::rest::VisitorContext;
use rusqlite::Connection;

use super::rows::{self, Context};
use crate::rows::visitor_context;

pub(crate) fn set(
    conn: &Connection,
    guest_id: &str,
    context: &VisitorContext,
) -> Result<bool, StoreError> {
    let json = serde_json::to_string(context).expect("a visitor context serializes");
    let changed = conn
        .prepare_cached("UPDATE guests SET context = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute([guest_id, json.as_str()]))
        .context(&format!("keeping guest {guest_id}'s visitor context"))?;
    Ok(changed == 1)
}

pub(crate) fn get(conn: &Connection, guest_id: &str) -> Result<Option<VisitorContext>, StoreError> {
    let sql = "SELECT context FROM guests WHERE id = ?1";
    let doing = format!("reading guest {guest_id}'s visitor context");
    Ok(rows::first(conn, sql, [guest_id], visitor_context, &doing)?.flatten())
}
