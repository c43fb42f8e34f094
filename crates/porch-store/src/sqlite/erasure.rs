//! Erasing a customer (`Store::erase_customer`, docs/identity.md "Erasure"): on the writer
//! thread, in the batch's transaction and a savepoint of its own, so the guests, their log
//! entries and their outbox rows change in one commit or not at all.

use porch_core::model::erased_key;
use porch_core::store::{Erasure, StoreError};
use rusqlite::{Connection, params};

use super::rows::Context;

/// Erasure (`Store::erase_customer`): the customer's guests (`?1` deployment, `?2` external
/// id, `?3` its `erased_key`) lose everything that describes them, and are revoked and marked.
/// PostgreSQL's `erasure.rs` runs the same statements as CTEs of one.
const ERASE_GUESTS_SQL: &str = "UPDATE guests SET display_name = NULL, email = NULL, \
     external_id = NULL, attributes = '{}', verified_by = NULL, context = NULL, revoked = TRUE, erased = TRUE, \
     erased_key = ?3 WHERE deployment_id = ?1 AND (external_id = ?2 OR erased_key = ?3)";

/// Erasure's tombstones in one conversation (`?1`): the guest's entries and the system notes
/// (no event: "The guest signed in: verified as …" names the guest) lose their text and
/// display name, a pick and a file (its name and size; the entry keeps the file's id until the
/// attachments sweep has deleted its bytes, `Store::attachments_due`); `seq`, sender role,
/// event and time stay. State changes name agents only.
const ERASE_ENTRIES_SQL: &str = "UPDATE messages SET text = '', \
     sender_display_name = NULL, content = NULL, attachment = NULL, \
     attachment_bytes = NULL, erased = TRUE WHERE conversation_id = ?1 AND NOT erased \
     AND (sender_role = 'guest' OR (sender_role = 'system' AND event IS NULL))";

/// Erasure's preview of one conversation's latest entry (`?1`): it may quote the guest, or an
/// agent quoting the guest, so it goes whoever wrote it; the next entry writes a new one.
const ERASE_PREVIEW_SQL: &str =
    "UPDATE conversations SET last_message = NULL WHERE id = ?1 AND last_message IS NOT NULL";

/// Erasure's outbox rows of one conversation (`?1`): they hold no text, but their last error
/// may quote a receiver's answer, which may quote the entry.
const ERASE_OUTBOX_SQL: &str = "UPDATE webhook_outbox SET last_error = NULL WHERE conversation_id = ?1 AND last_error IS NOT NULL";

pub(crate) fn erase_customer(
    conn: &Connection,
    deployment_id: &str,
    external_id: &str,
) -> Result<Option<Erasure>, StoreError> {
    let key = erased_key(external_id);
    let doing = format!("erasing a customer of {deployment_id}");
    // Guests still named by the id, and those erased before (an entry that was in flight at
    // that erasure is caught now); whether each was erased already.
    let guests: Vec<(String, String, bool)> = conn
        .prepare_cached(
            "SELECT id, conversation_id, erased FROM guests \
             WHERE deployment_id = ?1 AND (external_id = ?2 OR erased_key = ?3) ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map(params![deployment_id, external_id, key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .context(&doing)?;
    if guests.is_empty() {
        return Ok(None);
    }
    // Overwrite what the updates free in the file's pages, rather than leave it there until
    // the space is reused. Only for these statements: it costs writes elsewhere.
    conn.pragma_update(None, "secure_delete", true).context(&doing)?;
    let erased = erase(conn, deployment_id, external_id, &key, &guests, &doing);
    conn.pragma_update(None, "secure_delete", false).context(&doing)?;
    erased.map(Some)
}

fn erase(
    conn: &Connection,
    deployment_id: &str,
    external_id: &str,
    key: &str,
    guests: &[(String, String, bool)],
    doing: &str,
) -> Result<Erasure, StoreError> {
    let mut erasure = Erasure::default();
    for (guest_id, conversation_id, already) in guests {
        let entries = conn
            .prepare_cached(ERASE_ENTRIES_SQL)
            .and_then(|mut s| s.execute([conversation_id]))
            .context(doing)?;
        erasure.messages += entries as u64;
        for sql in [ERASE_PREVIEW_SQL, ERASE_OUTBOX_SQL] {
            conn.prepare_cached(sql)
                .and_then(|mut s| s.execute([conversation_id]))
                .context(doing)?;
        }
        if !already {
            erasure.guest_ids.push(guest_id.clone());
            erasure.conversation_ids.push(conversation_id.clone());
        }
    }
    conn.prepare_cached(ERASE_GUESTS_SQL)
        .and_then(|mut s| s.execute(params![deployment_id, external_id, key]))
        .context(doing)?;
    Ok(erasure)
}
