//! A deployment's wrap-up codes (docs/routing.md), as in the SQLite store's `wrapups`. The
//! list is replaced in one statement.

use porch_core::store::StoreError;
use tokio_postgres::types::ToSql;

use super::pool::Db;
use super::rows::Context;

/// Replaces the deployment's list; false (nothing written) when no deployment has this id.
pub(crate) async fn set(
    db: &Db,
    deployment_id: &str,
    codes: &[String],
) -> Result<bool, StoreError> {
    let doing = format!("setting the wrap-up codes of {deployment_id}");
    let client = db.client().await?;
    // One statement: the delete, the inserts and the existence check see the same rows (no
    // unique index on a code: the CLI refuses a list with one twice).
    let statement = client
        .prepare_cached(
            "WITH target AS (SELECT id FROM deployments WHERE id = $1), \
             cleared AS (DELETE FROM wrap_up_codes WHERE deployment_id IN (SELECT id FROM target)), \
             added AS ( \
                 INSERT INTO wrap_up_codes (deployment_id, code, position) \
                 SELECT t.id, c.code, c.position - 1 FROM target t, \
                        unnest($2::text[]) WITH ORDINALITY AS c(code, position) \
             ) \
             SELECT count(*) FROM target",
        )
        .await
        .context(&doing)?;
    let params: &[&(dyn ToSql + Sync)] = &[&deployment_id, &codes];
    let row = client.query_one(&statement, params).await.context(&doing)?;
    let found: i64 = row.try_get(0).context(&doing)?;
    Ok(found == 1)
}

/// The deployment's list, in the order the operator gave it.
pub(crate) async fn list(db: &Db, deployment_id: &str) -> Result<Vec<String>, StoreError> {
    let doing = "reading wrap-up codes";
    let client = db.client().await?;
    let statement = client
        .prepare_cached("SELECT code FROM wrap_up_codes WHERE deployment_id = $1 ORDER BY position")
        .await
        .context(doing)?;
    let rows = client.query(&statement, &[&deployment_id]).await.context(doing)?;
    rows.iter().map(|row| row.try_get::<_, String>(0).context(doing)).collect()
}
