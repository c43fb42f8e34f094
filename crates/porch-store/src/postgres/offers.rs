//! Offers, as in the SQLite store's `offers`, for several nodes at once. A change reads the
//! conversation's state and its offer record without a lock, lets
//! `porch_core::offer::decide_offer` rule, and writes only if the record is still the version
//! it read and, for a change that needs it, the conversation still waits (one statement). A
//! change that lost a race is decided again on what the winner wrote: no two nodes hold a live
//! offer of one conversation, and no lock is held between round trips.

use porch_core::limits::POSTGRES_APPEND_ATTEMPTS_MAX;
use porch_core::offer::{Offer, OfferOutcome, OfferRequest, decide_offer};
use porch_core::store::StoreError;
use porch_wire::rest::ConversationState;
use tokio_postgres::types::ToSql;

use super::pool::Db;
use super::rows::{self, Context, OFFER_COLUMNS, describe};

pub(crate) async fn offer_of(db: &Db, conversation_id: &str) -> Result<Option<Offer>, StoreError> {
    let doing = "reading an offer";
    let client = db.client().await?;
    let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE conversation_id = $1");
    let statement = client.prepare_cached(&sql).await.context(doing)?;
    let found = client.query_opt(&statement, &[&conversation_id]).await.context(doing)?;
    found.as_ref().map(|row| rows::offer(row)).transpose()
}

pub(crate) async fn offers_of(
    db: &Db,
    conversation_ids: &[String],
) -> Result<Vec<Offer>, StoreError> {
    let doing = "reading offers";
    let client = db.client().await?;
    let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE conversation_id = ANY($1)");
    let statement = client.prepare_cached(&sql).await.context(doing)?;
    let found = client.query(&statement, &[&conversation_ids]).await.context(doing)?;
    found.iter().map(|row| rows::offer(row)).collect()
}

pub(crate) async fn live_offers(db: &Db, now_ms: i64) -> Result<Vec<Offer>, StoreError> {
    let doing = "listing live offers";
    let client = db.client().await?;
    let sql = format!(
        "SELECT {OFFER_COLUMNS} FROM offers WHERE agent_id IS NOT NULL AND expires_at_ms > $1 \
         ORDER BY expires_at_ms, conversation_id COLLATE \"C\""
    );
    let statement = client.prepare_cached(&sql).await.context(doing)?;
    let found = client.query(&statement, &[&now_ms]).await.context(doing)?;
    found.iter().map(|row| rows::offer(row)).collect()
}

async fn state(db: &Db, conversation_id: &str) -> Result<ConversationState, StoreError> {
    let doing = "reading the state of an offered conversation";
    let client = db.client().await?;
    let statement = client
        .prepare_cached("SELECT state FROM conversations WHERE id = $1")
        .await
        .context(doing)?;
    match client.query_opt(&statement, &[&conversation_id]).await.context(doing)? {
        Some(row) => rows::state(&row, 0),
        None => Err(StoreError::ConversationUnknown(conversation_id.to_owned())),
    }
}

pub(crate) async fn change(db: &Db, request: &OfferRequest) -> Result<OfferOutcome, StoreError> {
    let id = &request.conversation_id;
    // A write whose answer was lost with its connection: it may have committed.
    let mut unknown: Option<Offer> = None;
    for _ in 0..POSTGRES_APPEND_ATTEMPTS_MAX {
        let state = state(db, id).await?;
        let stored = offer_of(db, id).await?;
        // Versions only grow, so the record as that write made it is that write's.
        if let Some(mine) = unknown.take_if(|mine| stored.as_ref() == Some(&*mine)) {
            return Ok(Ok(mine));
        }
        let next = match decide_offer(request, state, stored.as_ref()) {
            Ok(next) => next,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let read_version = stored.as_ref().map(|o| o.version);
        match write(db, &next, read_version, request.change.needs_waiting()).await? {
            Written::Yes => return Ok(Ok(next)),
            Written::No => {}
            Written::Unknown => unknown = Some(next),
        }
    }
    Err(StoreError::Unavailable(format!(
        "the offer of {id} changed under {POSTGRES_APPEND_ATTEMPTS_MAX} attempts in a row; retry"
    )))
}

/// Writes `next` if the record is still at `read_version` (`None`: there was none) and, when
/// `needs_waiting`, the conversation still waits.
async fn write(
    db: &Db,
    next: &Offer,
    read_version: Option<i64>,
    needs_waiting: bool,
) -> Result<Written, StoreError> {
    let doing = format!("writing the offer of {}", next.conversation_id);
    let client = db.client().await?;
    const STILL_WAITING: &str = "(NOT $6::boolean OR EXISTS (SELECT 1 FROM conversations \
         WHERE id = $1 AND state = 'waiting'))";
    let sql = match read_version {
        None => format!(
            "INSERT INTO offers (conversation_id, agent_id, expires_at_ms, passed, version) \
             SELECT $1::text, $2::text, $3::bigint, $4::text[], $5::bigint \
             WHERE {STILL_WAITING} AND $7::bigint IS NULL \
             ON CONFLICT (conversation_id) DO NOTHING"
        ),
        Some(_) => format!(
            "UPDATE offers SET agent_id = $2, expires_at_ms = $3, passed = $4, version = $5 \
             WHERE conversation_id = $1 AND version = $7 AND {STILL_WAITING}"
        ),
    };
    let statement = client.prepare_cached(&sql).await.context(&doing)?;
    let params: &[&(dyn ToSql + Sync)] = &[
        &next.conversation_id,
        &next.agent_id,
        &next.expires_at_ms,
        &next.passed,
        &next.version,
        &needs_waiting,
        &read_version,
    ];
    match client.execute(&statement, params).await {
        Ok(1) => Ok(Written::Yes),
        Ok(_) => Ok(Written::No),
        // The connection broke with the statement out: the caller reads the record again.
        Err(e) if e.as_db_error().is_none() => {
            tracing::warn!("{doing}: the answer was lost ({}); reading it again", describe(&e));
            Ok(Written::Unknown)
        }
        Err(e) => Err(e).context(&doing),
    }
}

/// Whether an offer's conditional write took effect.
enum Written {
    Yes,
    /// The record or the conversation changed since it was read: decide again.
    No,
    /// Its answer never came back: read the record again to know.
    Unknown,
}

pub(crate) async fn clear(db: &Db, conversation_id: &str) -> Result<(), StoreError> {
    let doing = format!("clearing the offer of {conversation_id}");
    let mut lost = false;
    loop {
        let client = db.client().await?;
        let statement = client
            .prepare_cached("DELETE FROM offers WHERE conversation_id = $1")
            .await
            .context(&doing)?;
        match client.execute(&statement, &[&conversation_id]).await {
            Ok(_) => return Ok(()),
            // Deleting twice deletes once: a DELETE whose answer was lost with its connection
            // is sent again, so an accepted offer's agent is not told of a failure that was not.
            Err(e) if e.as_db_error().is_none() && !lost => lost = true,
            Err(e) => return Err(e).context(&doing),
        }
    }
}
