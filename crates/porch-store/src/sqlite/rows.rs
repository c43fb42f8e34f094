//! SQLite's side of row mapping (`crate::rows` holds the rest): how a column is read from a
//! `rusqlite::Row`, the column lists that differ by engine, and SQLite errors as `StoreError`s.

use porch_core::store::StoreError;
use rusqlite::{Connection, Params, Row};

pub(crate) use crate::rows::{
    AGENT_COLUMNS, AGENT_ROUTING_COLUMNS, CLIENT_COLUMNS, CONVERSATION_FROM,
    CONVERSATION_FROM_CURSOR, DEPLOYMENT_COLUMNS, GUEST_STANDING_COLUMNS, MESSAGE_COLUMNS,
    OFFER_COLUMNS, QUEUE_COLUMNS, SIGNING_KEY_COLUMNS, StoredRow, agent, agent_routing, client,
    conversation, deployment, guest, guest_session, guest_standing, message, offer, queue,
    seq_to_sql, signing_key, state, to_json, welcome_to_sql,
};
pub(crate) use crate::rows::{
    BOT_COLUMNS, HANDOFF_COLUMNS, bot, content_to_sql, handoff, stored_role,
};
pub(crate) use crate::rows::{
    IDENTIFY_GUEST_SQL, IDENTITY_KEY_COLUMNS, PRUNE_JTIS_SQL, USE_JTI_SQL, identity_key,
};
pub(crate) use crate::rows::{first_id, wait_ms};

/// Guest attributes are JSON text here.
pub(crate) const GUEST_COLUMNS: &str = crate::rows::guest_columns!("g.attributes");
pub(crate) const CONVERSATION_COLUMNS: &str = crate::rows::conversation_columns!("g.attributes");

pub(crate) fn guest_session_select() -> String {
    crate::rows::guest_session_select(CONVERSATION_COLUMNS)
}

/// Adds what the store was doing to a SQLite error, so a log line says more than
/// "database is locked".
pub(crate) trait Context<T> {
    fn context(self, doing: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn context(self, doing: &str) -> Result<T, StoreError> {
        self.map_err(|e| match e.sqlite_error_code() {
            // Told apart so the client hears "full, retry later" and readiness can say why.
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(format!("{doing}: {e}")),
            _ => StoreError::Unavailable(format!("{doing}: {e}")),
        })
    }
}

impl StoredRow for Row<'_> {
    fn text(&self, column: usize) -> Result<String, StoreError> {
        self.get(column).map_err(|e| self.bad(column, &e.to_string()))
    }

    fn optional_text(&self, column: usize) -> Result<Option<String>, StoreError> {
        self.get(column).map_err(|e| self.bad(column, &e.to_string()))
    }

    fn integer(&self, column: usize) -> Result<i64, StoreError> {
        self.get(column).map_err(|e| self.bad(column, &e.to_string()))
    }

    fn optional_integer(&self, column: usize) -> Result<Option<i64>, StoreError> {
        self.get(column).map_err(|e| self.bad(column, &e.to_string()))
    }

    fn flag(&self, column: usize) -> Result<bool, StoreError> {
        self.get(column).map_err(|e| self.bad(column, &e.to_string()))
    }

    fn bytes(&self, column: usize) -> Result<Vec<u8>, StoreError> {
        self.get(column).map_err(|e| self.bad(column, &e.to_string()))
    }

    /// Lists are JSON arrays of strings here.
    fn list(&self, column: usize) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(&self.text(column)?)
            .map_err(|e| self.bad(column, &format!("invalid JSON list: {e}")))
    }

    fn bad(&self, column: usize, why: &str) -> StoreError {
        let name = self.as_ref().column_name(column).unwrap_or("?");
        StoreError::Unavailable(format!("stored column `{name}` is unreadable: {why}"))
    }
}

/// Every row `sql` returns for `params`, mapped with `map`.
pub(crate) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: fn(&dyn StoredRow) -> Result<T, StoreError>,
    doing: &str,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).context(doing)?;
    let mut rows = statement.query(params).context(doing)?;
    let mut mapped = Vec::new();
    while let Some(row) = rows.next().context(doing)? {
        mapped.push(map(row)?);
    }
    Ok(mapped)
}

/// The first row `sql` returns for `params`, if any, mapped with `map`.
pub(crate) fn first<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: fn(&dyn StoredRow) -> Result<T, StoreError>,
    doing: &str,
) -> Result<Option<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).context(doing)?;
    let mut rows = statement.query(params).context(doing)?;
    rows.next().context(doing)?.map(|row| map(row)).transpose()
}
