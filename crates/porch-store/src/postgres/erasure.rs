//! Erasing a customer (`Store::erase_customer`, docs/identity.md "Erasure") in one statement:
//! the guests, their log entries and their outbox rows change in one commit, and no lock is
//! held between two round trips (ARCHITECTURE.md). The statements are the SQLite store's
//! (`crate::rows`), as data-modifying CTEs over the guests the first one finds.

use porch_core::model::erased_key;
use porch_core::store::{Erasure, StoreError};
use tokio_postgres::types::ToSql;

use super::pool::Db;
use super::rows::Context;

/// `$1` deployment, `$2` external id, `$3` its erased key. Every CTE reads the snapshot from
/// before the statement, so `found.erased` says which guests were erased already.
const ERASE_SQL: &str = "WITH found AS ( \
        SELECT id, conversation_id, erased FROM guests \
        WHERE deployment_id = $1 AND (external_id = $2 OR erased_key = $3) \
    ), guests_erased AS ( \
        UPDATE guests SET display_name = NULL, email = NULL, external_id = NULL, \
            attributes = '{}', verified_by = NULL, context = NULL, revoked = TRUE, erased = TRUE, erased_key = $3 \
        WHERE id IN (SELECT id FROM found) RETURNING id \
    ), entries AS ( \
        UPDATE messages SET text = '', sender_display_name = NULL, content = NULL, \
            attachment = NULL, attachment_bytes = NULL, erased = TRUE \
        WHERE conversation_id IN (SELECT conversation_id FROM found) AND NOT erased \
            AND (sender_role = 'guest' OR (sender_role = 'system' AND event IS NULL)) \
        RETURNING 1 \
    ), previews AS ( \
        UPDATE conversations SET last_message = NULL \
        WHERE id IN (SELECT conversation_id FROM found) AND last_message IS NOT NULL \
        RETURNING 1 \
    ), outbox AS ( \
        UPDATE webhook_outbox SET last_error = NULL \
        WHERE conversation_id IN (SELECT conversation_id FROM found) AND last_error IS NOT NULL \
        RETURNING 1 \
    ) \
    SELECT (SELECT count(*) FROM found), \
        coalesce((SELECT array_agg(id ORDER BY id) FROM found WHERE NOT erased), '{}'), \
        coalesce((SELECT array_agg(conversation_id ORDER BY id) FROM found WHERE NOT erased), '{}'), \
        (SELECT count(*) FROM entries), (SELECT count(*) FROM guests_erased), \
        (SELECT count(*) FROM outbox), (SELECT count(*) FROM previews)";

pub(crate) async fn erase_customer(
    db: &Db,
    deployment_id: &str,
    external_id: &str,
) -> Result<Option<Erasure>, StoreError> {
    let doing = format!("erasing a customer of {deployment_id}");
    let key = erased_key(external_id);
    let client = db.client().await?;
    let statement = client.prepare_cached(ERASE_SQL).await.context(&doing)?;
    let params: &[&(dyn ToSql + Sync)] = &[&deployment_id, &external_id, &key];
    let row = client.query_one(&statement, params).await.context(&doing)?;
    let found: i64 = row.try_get(0).context(&doing)?;
    if found == 0 {
        return Ok(None);
    }
    let messages: i64 = row.try_get(3).context(&doing)?;
    Ok(Some(Erasure {
        guest_ids: row.try_get(1).context(&doing)?,
        conversation_ids: row.try_get(2).context(&doing)?,
        messages: u64::try_from(messages).unwrap_or(0),
    }))
}
