//! A deployment's wrap-up codes (docs/routing.md): the list a close picks from. The write runs
//! on the writer thread, replacing the list in one savepoint.

use porch_core::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::Context;

/// Replaces the deployment's list; false (nothing written) when no deployment has this id.
pub(crate) fn set(
    conn: &Connection,
    deployment_id: &str,
    codes: &[String],
) -> Result<bool, StoreError> {
    let doing = format!("setting the wrap-up codes of {deployment_id}");
    let exists = conn
        .prepare_cached("SELECT 1 FROM deployments WHERE id = ?1")
        .and_then(|mut s| s.query_row([deployment_id], |_| Ok(())).optional())
        .context(&doing)?;
    if exists.is_none() {
        return Ok(false);
    }
    conn.prepare_cached("DELETE FROM wrap_up_codes WHERE deployment_id = ?1")
        .and_then(|mut s| s.execute([deployment_id]))
        .context(&doing)?;
    for (position, code) in codes.iter().enumerate() {
        conn.prepare_cached(
            "INSERT INTO wrap_up_codes (deployment_id, code, position) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut s| s.execute(params![deployment_id, code, position as i64]))
        .context(&doing)?;
    }
    Ok(true)
}

/// The deployment's list, in the order the operator gave it.
pub(crate) fn list(conn: &Connection, deployment_id: &str) -> Result<Vec<String>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT code FROM wrap_up_codes WHERE deployment_id = ?1 ORDER BY position")
        .context("reading wrap-up codes")?;
    let codes = statement
        .query_map([deployment_id], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .context("reading wrap-up codes")?;
    Ok(codes)
}
