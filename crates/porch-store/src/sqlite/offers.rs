//! Offers (docs/routing.md): one record per offered conversation. A change runs on the writer
//! thread, which is the lock: it reads the conversation's state and its offer record, lets
//! `porch_core::offer::decide_offer` rule, and writes the result, in one step.

use porch_core::offer::{Offer, OfferOutcome, OfferRequest, decide_offer};
use porch_core::store::StoreError;
use rusqlite::{Connection, params};

use super::rows::{self, Context, OFFER_COLUMNS, to_json};

pub(crate) fn offer_of(
    conn: &Connection,
    conversation_id: &str,
) -> Result<Option<Offer>, StoreError> {
    let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE conversation_id = ?1");
    rows::first(conn, &sql, [conversation_id], rows::offer, "reading an offer")
}

/// The ids travel as one JSON array, so the statement text is fixed whatever their number.
pub(crate) fn offers_of(
    conn: &Connection,
    conversation_ids: &[String],
) -> Result<Vec<Offer>, StoreError> {
    let sql = format!(
        "SELECT {OFFER_COLUMNS} FROM offers \
         WHERE conversation_id IN (SELECT value FROM json_each(?1))"
    );
    rows::all(conn, &sql, [to_json(conversation_ids)], rows::offer, "reading offers")
}

pub(crate) fn live_offers(conn: &Connection, now_ms: i64) -> Result<Vec<Offer>, StoreError> {
    let sql = format!(
        "SELECT {OFFER_COLUMNS} FROM offers WHERE agent_id IS NOT NULL AND expires_at_ms > ?1 \
         ORDER BY expires_at_ms, conversation_id"
    );
    rows::all(conn, &sql, [now_ms], rows::offer, "listing live offers")
}

pub(crate) fn change(
    conn: &Connection,
    request: &OfferRequest,
) -> Result<OfferOutcome, StoreError> {
    let id = &request.conversation_id;
    let state = rows::first(
        conn,
        "SELECT state FROM conversations WHERE id = ?1",
        [id],
        |row| rows::state(row, 0),
        "reading the state of an offered conversation",
    )?
    .ok_or_else(|| StoreError::ConversationUnknown(id.clone()))?;
    let stored = offer_of(conn, id)?;
    let next = match decide_offer(request, state, stored.as_ref()) {
        Ok(next) => next,
        Err(refusal) => return Ok(Err(refusal)),
    };
    conn.prepare_cached(
        "INSERT INTO offers (conversation_id, agent_id, expires_at_ms, passed, version) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (conversation_id) DO UPDATE SET agent_id = excluded.agent_id, \
             expires_at_ms = excluded.expires_at_ms, passed = excluded.passed, \
             version = excluded.version",
    )
    .and_then(|mut s| {
        s.execute(params![
            next.conversation_id,
            next.agent_id,
            next.expires_at_ms,
            to_json(&next.passed),
            next.version
        ])
    })
    .context(&format!("writing the offer of {id}"))?;
    Ok(Ok(next))
}

pub(crate) fn clear(conn: &Connection, conversation_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM offers WHERE conversation_id = ?1")
        .and_then(|mut s| s.execute([conversation_id]))
        .context(&format!("clearing the offer of {conversation_id}"))?;
    Ok(())
}
