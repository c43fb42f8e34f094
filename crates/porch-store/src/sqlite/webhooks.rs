//! Webhook endpoints and the outbox (`porch_core::webhook`). The outbox's rows are written by
//! the append (`log`) or the guest creation (`writes`) that causes them, in their savepoint, so
//! an event commits with its cause or not at all. Every other write here runs on the writer
//! thread like any write; the claim is one `UPDATE … RETURNING`, and the writer is the lock,
//! so two claims never take one row.

use porch_core::store::StoreError;
use porch_core::webhook::{Claim, Delivery, DeliveryState, Finish, WebhookEndpoint};
use rusqlite::{Connection, params};

use super::rows::{self, Context, seq_to_sql, to_json};
use crate::rows::{
    DELIVERY_COLUMNS, WEBHOOK_ENDPOINT_COLUMNS, delivery, stored_error, webhook_endpoint,
};

/// What an enqueue names: the entry (`seq` 0: the conversation's creation) and its event.
pub(crate) struct Event<'a> {
    pub conversation_id: &'a str,
    pub deployment_id: &'a str,
    pub seq: u64,
    pub event_type: &'a str,
    pub agent_id: Option<&'a str>,
    pub now_ms: i64,
    /// The conversation's queue after the entry: what the event's body names.
    pub queue: &'a str,
}

/// One outbox row per endpoint of the deployment subscribed to the event's type.
pub(crate) fn enqueue(conn: &Connection, event: &Event<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO webhook_outbox (endpoint_id, conversation_id, seq, event_type, agent_id, state, \
                                     attempts, next_attempt_at_ms, lease_until_ms, created_at_ms, queue) \
         SELECT e.id, ?1, ?2, ?3, ?4, 'pending', 0, ?5, 0, ?5, ?7 FROM webhook_endpoints e \
         WHERE e.deployment_id = ?6 AND EXISTS (SELECT 1 FROM json_each(e.event_types) WHERE value = ?3)",
    )
    .and_then(|mut s| {
        s.execute(params![
            event.conversation_id,
            seq_to_sql(event.seq),
            event.event_type,
            event.agent_id,
            event.now_ms,
            event.deployment_id,
            event.queue
        ])
    })
    .context(&format!("enqueueing {} of {}", event.event_type, event.conversation_id))?;
    Ok(())
}

pub(crate) fn create_endpoint(
    conn: &Connection,
    endpoint: &WebhookEndpoint,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO webhook_endpoints ({WEBHOOK_ENDPOINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            endpoint.id,
            endpoint.deployment_id,
            endpoint.url,
            to_json(&endpoint.event_types),
            endpoint.secret,
            endpoint.previous_secret,
            endpoint.previous_secret_until_ms,
            endpoint.created_at_ms
        ])
    })
    .context(&format!("creating webhook endpoint {}", endpoint.id))?;
    Ok(())
}

pub(crate) fn endpoints(conn: &Connection) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let sql = format!(
        "SELECT {WEBHOOK_ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at_ms, id"
    );
    rows::all(conn, &sql, [], webhook_endpoint, "listing webhook endpoints")
}

/// Its outbox rows go with it (`ON DELETE CASCADE`).
pub(crate) fn delete_endpoint(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM webhook_endpoints WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .context(&format!("removing webhook endpoint {id}"))?;
    Ok(deleted == 1)
}

pub(crate) fn rotate_secret(
    conn: &Connection,
    id: &str,
    secret: &str,
    previous_until_ms: i64,
) -> Result<bool, StoreError> {
    let updated = conn
        .prepare_cached(
            "UPDATE webhook_endpoints SET previous_secret = secret, secret = ?2, \
                    previous_secret_until_ms = ?3 WHERE id = ?1",
        )
        .and_then(|mut s| s.execute(params![id, secret, previous_until_ms]))
        .context(&format!("rotating the secret of webhook endpoint {id}"))?;
    Ok(updated == 1)
}

/// See `Store::claim_webhook_deliveries`.
pub(crate) fn claim(conn: &Connection, claim: &Claim) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "UPDATE webhook_outbox SET lease_owner = ?2, lease_until_ms = ?4 WHERE rowid IN ( \
             SELECT o.rowid FROM webhook_outbox o \
             WHERE o.endpoint_id = ?1 AND o.state = 'pending' AND o.next_attempt_at_ms <= ?3 \
               AND o.lease_until_ms <= ?3 \
               AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.endpoint_id = o.endpoint_id \
                   AND p.conversation_id = o.conversation_id AND p.state = 'pending' AND p.seq < o.seq) \
             ORDER BY o.next_attempt_at_ms, o.created_at_ms LIMIT ?5) \
         RETURNING {DELIVERY_COLUMNS}"
    );
    let params =
        params![claim.endpoint_id, claim.owner, claim.now_ms, claim.lease_until_ms, claim.limit];
    let doing = format!("claiming deliveries of webhook endpoint {}", claim.endpoint_id);
    let mut claimed = rows::all(conn, &sql, params, delivery, &doing)?;
    // RETURNING's order is unspecified.
    claimed.sort_by_key(|d| (d.next_attempt_at_ms, d.created_at_ms));
    Ok(claimed)
}

/// See `Store::finish_webhook_delivery`.
pub(crate) fn finish(
    conn: &Connection,
    delivery: &Delivery,
    owner: &str,
    finish: &Finish,
) -> Result<bool, StoreError> {
    let (endpoint, conversation, seq) =
        (&delivery.endpoint_id, &delivery.conversation_id, seq_to_sql(delivery.seq));
    let doing = format!("recording a delivery to webhook endpoint {}", delivery.endpoint_id);
    let changed = match finish {
        Finish::Delivered => conn
            .prepare_cached(
                "DELETE FROM webhook_outbox WHERE endpoint_id = ?1 AND conversation_id = ?2 \
                 AND seq = ?3 AND lease_owner = ?4 AND state = 'pending'",
            )
            .and_then(|mut s| s.execute(params![endpoint, conversation, seq, owner])),
        Finish::Retry { .. } | Finish::Dead { .. } => {
            let (state, at_ms) = match finish {
                Finish::Retry { at_ms, .. } => (DeliveryState::Pending, *at_ms),
                _ => (DeliveryState::Dead, delivery.next_attempt_at_ms),
            };
            conn.prepare_cached(
                "UPDATE webhook_outbox SET state = ?5, attempts = attempts + 1, \
                        next_attempt_at_ms = ?6, last_error = ?7, lease_owner = NULL, lease_until_ms = 0 \
                 WHERE endpoint_id = ?1 AND conversation_id = ?2 AND seq = ?3 AND lease_owner = ?4 \
                   AND state = 'pending'",
            )
            .and_then(|mut s| {
                s.execute(params![
                    endpoint,
                    conversation,
                    seq,
                    owner,
                    state.as_str(),
                    at_ms,
                    stored_error(finish)
                ])
            })
        }
    }
    .context(&doing)?;
    Ok(changed == 1)
}

pub(crate) fn deliveries(
    conn: &Connection,
    endpoint_id: &str,
    state: DeliveryState,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE endpoint_id = ?1 AND state = ?2 \
         ORDER BY created_at_ms, conversation_id, seq LIMIT ?3"
    );
    let doing = format!("listing deliveries of webhook endpoint {endpoint_id}");
    rows::all(conn, &sql, params![endpoint_id, state.as_str(), limit], delivery, &doing)
}

pub(crate) fn replay(conn: &Connection, endpoint_id: &str, now_ms: i64) -> Result<u64, StoreError> {
    let replayed = conn
        .prepare_cached(
            "UPDATE webhook_outbox SET state = 'pending', attempts = 0, next_attempt_at_ms = ?2, \
                    created_at_ms = ?2, lease_owner = NULL, lease_until_ms = 0 \
             WHERE endpoint_id = ?1 AND state = 'dead'",
        )
        .and_then(|mut s| s.execute(params![endpoint_id, now_ms]))
        .context(&format!("replaying dead deliveries of webhook endpoint {endpoint_id}"))?;
    Ok(replayed as u64)
}
