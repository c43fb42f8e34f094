//! Webhook endpoints and the outbox (`porch_core::webhook`), as in the SQLite store. The
//! outbox's rows are written by the statement of the append (`log`) or the guest creation
//! (`writes`) that causes them, so an event commits with its cause or not at all. A claim is one
//! `UPDATE` of rows locked with `SKIP LOCKED`: nodes claiming together take different rows, and
//! none waits on another.

use porch_core::store::StoreError;
use porch_core::webhook::{Claim, Delivery, DeliveryState, Finish, WebhookEndpoint};

use super::pool::Db;
use super::reads::{Params, all};
use super::rows::{Context, seq_to_sql};
use crate::rows::{
    DELIVERY_COLUMNS, WEBHOOK_ENDPOINT_COLUMNS, delivery, stored_error, webhook_endpoint,
};

/// The outbox rows an event adds, as SQL to put after a statement's other parts: the event's
/// row (conversation, seq, time, deployment, queue) comes from `source`, the type and agent
/// from parameters `$type_param` and `$type_param + 1`.
pub(crate) fn enqueue_sql(source: &str, type_param: usize) -> String {
    let agent_param = type_param + 1;
    format!(
        "INSERT INTO webhook_outbox (endpoint_id, conversation_id, seq, event_type, agent_id, state, \
                                     attempts, next_attempt_at_ms, lease_until_ms, created_at_ms, queue) \
         SELECT e.id, s.conversation_id, s.seq, ${type_param}, ${agent_param}, 'pending', 0, s.at_ms, 0, s.at_ms, s.queue \
         FROM {source} s JOIN webhook_endpoints e ON e.deployment_id = s.deployment_id \
         WHERE ${type_param} = ANY(e.event_types)"
    )
}

/// Runs one writing statement; returns how many rows it changed.
async fn execute(db: &Db, sql: &str, params: Params<'_>, doing: &str) -> Result<u64, StoreError> {
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(doing)?;
    client.execute(&statement, params).await.context(doing)
}

pub(crate) async fn create_endpoint(db: &Db, e: &WebhookEndpoint) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO webhook_endpoints ({WEBHOOK_ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    );
    let params: Params<'_> = &[
        &e.id,
        &e.deployment_id,
        &e.url,
        &e.event_types,
        &e.secret,
        &e.previous_secret,
        &e.previous_secret_until_ms,
        &e.created_at_ms,
    ];
    execute(db, &sql, params, &format!("creating webhook endpoint {}", e.id)).await.map(|_| ())
}

pub(crate) async fn endpoints(db: &Db) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let sql = format!(
        "SELECT {WEBHOOK_ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at_ms, id COLLATE \"C\""
    );
    all(db, &sql, &[], webhook_endpoint, "listing webhook endpoints").await
}

pub(crate) async fn delete_endpoint(db: &Db, id: &str) -> Result<bool, StoreError> {
    let sql = "DELETE FROM webhook_endpoints WHERE id = $1";
    let doing = format!("removing webhook endpoint {id}");
    Ok(execute(db, sql, &[&id], &doing).await? == 1)
}

pub(crate) async fn rotate_secret(
    db: &Db,
    id: &str,
    secret: &str,
    previous_until_ms: i64,
) -> Result<bool, StoreError> {
    let sql = "UPDATE webhook_endpoints SET previous_secret = secret, secret = $2, \
                      previous_secret_until_ms = $3 WHERE id = $1";
    let doing = format!("rotating the secret of webhook endpoint {id}");
    Ok(execute(db, sql, &[&id, &secret, &previous_until_ms], &doing).await? == 1)
}

/// See `Store::claim_webhook_deliveries`. The outer `WHERE` re-checks the lease, since a row
/// locked by a concurrent claim is skipped but one committed since the inner read is re-read.
pub(crate) async fn claim(db: &Db, claim: &Claim) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "UPDATE webhook_outbox SET lease_owner = $2, lease_until_ms = $4 \
         WHERE lease_until_ms <= $3 AND (endpoint_id, conversation_id, seq) IN ( \
             SELECT o.endpoint_id, o.conversation_id, o.seq FROM webhook_outbox o \
             WHERE o.endpoint_id = $1 AND o.state = 'pending' AND o.next_attempt_at_ms <= $3 \
               AND o.lease_until_ms <= $3 \
               AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.endpoint_id = o.endpoint_id \
                   AND p.conversation_id = o.conversation_id AND p.state = 'pending' AND p.seq < o.seq) \
             ORDER BY o.next_attempt_at_ms, o.created_at_ms LIMIT $5 FOR UPDATE SKIP LOCKED) \
         RETURNING {DELIVERY_COLUMNS}"
    );
    let limit = i64::from(claim.limit);
    let params: Params<'_> =
        &[&claim.endpoint_id, &claim.owner, &claim.now_ms, &claim.lease_until_ms, &limit];
    let doing = format!("claiming deliveries of webhook endpoint {}", claim.endpoint_id);
    let mut claimed = all(db, &sql, params, delivery, &doing).await?;
    // RETURNING's order is unspecified.
    claimed.sort_by_key(|d| (d.next_attempt_at_ms, d.created_at_ms));
    Ok(claimed)
}

/// See `Store::finish_webhook_delivery`.
pub(crate) async fn finish(
    db: &Db,
    delivery: &Delivery,
    owner: &str,
    finish: &Finish,
) -> Result<bool, StoreError> {
    let (endpoint, conversation, seq) =
        (&delivery.endpoint_id, &delivery.conversation_id, seq_to_sql(delivery.seq));
    let doing = format!("recording a delivery to webhook endpoint {endpoint}");
    let changed = match finish {
        Finish::Delivered => {
            let sql = "DELETE FROM webhook_outbox WHERE endpoint_id = $1 AND conversation_id = $2 \
                       AND seq = $3 AND lease_owner = $4 AND state = 'pending'";
            execute(db, sql, &[endpoint, conversation, &seq, &owner], &doing).await?
        }
        Finish::Retry { .. } | Finish::Dead { .. } => {
            let (state, at_ms) = match finish {
                Finish::Retry { at_ms, .. } => (DeliveryState::Pending, *at_ms),
                _ => (DeliveryState::Dead, delivery.next_attempt_at_ms),
            };
            let sql = "UPDATE webhook_outbox SET state = $5, attempts = attempts + 1, \
                              next_attempt_at_ms = $6, last_error = $7, lease_owner = NULL, lease_until_ms = 0 \
                       WHERE endpoint_id = $1 AND conversation_id = $2 AND seq = $3 AND lease_owner = $4 \
                         AND state = 'pending'";
            let error = stored_error(finish);
            let state = state.as_str();
            let params: Params<'_> =
                &[endpoint, conversation, &seq, &owner, &state, &at_ms, &error];
            execute(db, sql, params, &doing).await?
        }
    };
    Ok(changed == 1)
}

pub(crate) async fn deliveries(
    db: &Db,
    endpoint_id: &str,
    state: DeliveryState,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE endpoint_id = $1 AND state = $2 \
         ORDER BY created_at_ms, conversation_id COLLATE \"C\", seq LIMIT $3"
    );
    let doing = format!("listing deliveries of webhook endpoint {endpoint_id}");
    let (state, limit) = (state.as_str(), i64::from(limit));
    all(db, &sql, &[&endpoint_id, &state, &limit], delivery, &doing).await
}

pub(crate) async fn replay(db: &Db, endpoint_id: &str, now_ms: i64) -> Result<u64, StoreError> {
    let sql = "UPDATE webhook_outbox SET state = 'pending', attempts = 0, next_attempt_at_ms = $2, \
                      created_at_ms = $2, lease_owner = NULL, lease_until_ms = 0 \
               WHERE endpoint_id = $1 AND state = 'dead'";
    let doing = format!("replaying dead deliveries of webhook endpoint {endpoint_id}");
    execute(db, sql, &[&endpoint_id, &now_ms], &doing).await
}
