//! PostgreSQL's side of row mapping (`crate::rows` holds the rest): how a column is read from a
//! `tokio_postgres::Row`, the column lists that differ by engine, and PostgreSQL errors as
//! `StoreError`s.

use porch_core::store::StoreError;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;

pub(crate) use crate::rows::{
    AGENT_COLUMNS, AGENT_ROUTING_COLUMNS, CLIENT_COLUMNS, CONVERSATION_FROM,
    CONVERSATION_FROM_CURSOR, DEPLOYMENT_COLUMNS, GUEST_STANDING_COLUMNS, MESSAGE_COLUMNS,
    OFFER_COLUMNS, QUEUE_COLUMNS, SIGNING_KEY_COLUMNS, StoredRow, agent, agent_routing, client,
    conversation, deployment, guest, guest_session, guest_standing, message, message_at, offer,
    queue, seq, seq_to_sql, signing_key, state, to_json, welcome_to_sql,
};
pub(crate) use crate::rows::{
    BOT_COLUMNS, HANDOFF_COLUMNS, MESSAGE_COLUMN_COUNT, bot, content_to_sql, handoff, stored_role,
};
pub(crate) use crate::rows::{
    IDENTIFY_GUEST_SQL, IDENTITY_KEY_COLUMNS, PRUNE_JTIS_SQL, USE_JTI_SQL, identity_key,
    pg_placeholders,
};
pub(crate) use crate::rows::{first_id, wait_ms};

/// Guest attributes are JSONB here, read as text (`::text`) so no JSON feature of the driver is
/// needed; serde checks the shape.
pub(crate) const GUEST_COLUMNS: &str = crate::rows::guest_columns!("g.attributes::text");
pub(crate) const CONVERSATION_COLUMNS: &str =
    crate::rows::conversation_columns!("g.attributes::text");

pub(crate) fn guest_session_select() -> String {
    crate::rows::guest_session_select(CONVERSATION_COLUMNS)
}

/// The whole story of an error. tokio-postgres' own `Display` says only "db error" or
/// "error connecting to server"; the server's message and the IO cause are in the details.
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Adds what the store was doing to an error. Every database error is retryable, since the
/// transaction it happened in was rolled back and nothing was acknowledged: `Full` when
/// PostgreSQL's disk is full, `Unavailable` for the rest (`classify`).
pub(crate) trait Context<T> {
    fn context(self, doing: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, tokio_postgres::Error> {
    fn context(self, doing: &str) -> Result<T, StoreError> {
        self.map_err(|e| classify(e.code(), format!("{doing}: {}", describe(&e))))
    }
}

/// A database error's `StoreError`, from its SQLSTATE: class 53 is PostgreSQL out of a
/// resource, each with the operator's fix in the detail (the log's line; clients get their
/// code's own words). `detail` says what the store was doing and PostgreSQL's message.
pub(crate) fn classify(code: Option<&SqlState>, detail: String) -> StoreError {
    let Some(code) = code.filter(|c| c.code().starts_with("53")) else {
        return StoreError::Unavailable(detail);
    };
    let fix = match *code {
        SqlState::DISK_FULL => {
            return StoreError::Full(format!(
                "{detail}; PostgreSQL's disk is full: free space on the database server's data or WAL volume (or grow it); writes resume by themselves, nothing acknowledged was lost"
            ));
        }
        SqlState::OUT_OF_MEMORY => {
            "PostgreSQL is out of memory: give its server more, or lower work_mem or max_connections"
        }
        SqlState::TOO_MANY_CONNECTIONS => {
            "PostgreSQL has no connection slot left: raise its max_connections, or lower postgres_pool_size on the nodes"
        }
        _ => "PostgreSQL ran out of a resource: see its log for which",
    };
    StoreError::Unavailable(format!("{detail}; {fix}"))
}

/// True when `error` is a violation of the named CHECK constraint.
pub(crate) fn violates_check(error: &tokio_postgres::Error, constraint: &str) -> bool {
    error.code() == Some(&SqlState::CHECK_VIOLATION)
        && error.as_db_error().and_then(|db| db.constraint()) == Some(constraint)
}

/// True when `error` is a unique violation of the named constraint or index.
pub(crate) fn violates(error: &tokio_postgres::Error, constraint: &str) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && error.as_db_error().and_then(|db| db.constraint()) == Some(constraint)
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, column: usize) -> Result<T, StoreError> {
    row.try_get(column).map_err(|e| row.bad(column, &describe(&e)))
}

impl StoredRow for Row {
    fn text(&self, column: usize) -> Result<String, StoreError> {
        get(self, column)
    }

    fn optional_text(&self, column: usize) -> Result<Option<String>, StoreError> {
        get(self, column)
    }

    fn integer(&self, column: usize) -> Result<i64, StoreError> {
        get(self, column)
    }

    fn optional_integer(&self, column: usize) -> Result<Option<i64>, StoreError> {
        get(self, column)
    }

    fn flag(&self, column: usize) -> Result<bool, StoreError> {
        get(self, column)
    }

    fn bytes(&self, column: usize) -> Result<Vec<u8>, StoreError> {
        get(self, column)
    }

    /// Lists are `TEXT[]` here.
    fn list(&self, column: usize) -> Result<Vec<String>, StoreError> {
        get(self, column)
    }

    fn bad(&self, column: usize, why: &str) -> StoreError {
        let name = self.columns().get(column).map_or("?", |c| c.name());
        StoreError::Unavailable(format!("stored column `{name}` is unreadable: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_store_full_and_the_rest_of_class_53_says_its_fix() {
        let full = classify(Some(&SqlState::DISK_FULL), "appending to cnv_1: ERROR 53100".into());
        let StoreError::Full(detail) = full else { panic!("53100 is not Full: {full:?}") };
        assert!(detail.starts_with("appending to cnv_1: ERROR 53100; "), "{detail}");
        assert!(detail.contains("free space on the database server"), "the fix: {detail}");
        let slots = classify(Some(&SqlState::TOO_MANY_CONNECTIONS), "x".into());
        assert!(
            matches!(&slots, StoreError::Unavailable(d) if d.contains("max_connections")),
            "{slots:?}"
        );
        let memory = classify(Some(&SqlState::OUT_OF_MEMORY), "x".into());
        assert!(
            matches!(&memory, StoreError::Unavailable(d) if d.contains("memory")),
            "{memory:?}"
        );
        let other = classify(Some(&SqlState::INSUFFICIENT_RESOURCES), "x".into());
        assert!(matches!(&other, StoreError::Unavailable(d) if d.contains("its log")), "{other:?}");
        assert_eq!(
            classify(Some(&SqlState::QUERY_CANCELED), "x".into()),
            StoreError::Unavailable("x".into()),
            "other classes stay as they were"
        );
        assert_eq!(classify(None, "x".into()), StoreError::Unavailable("x".into()));
    }
}
