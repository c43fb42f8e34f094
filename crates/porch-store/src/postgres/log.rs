//! The conversation log's writes: appends and read markers.
//!
//! Several nodes append to one conversation at once. Its row lock orders them (so `seq` is
//! gap-free in commit order), the idempotency index is the last word on a `clientMessageId`,
//! and a read marker is one upsert that can only move forward.

use deadpool_postgres::GenericClient;
use porch_core::ids::{new_id, prefix};
use porch_core::store::{AppendDecision, AppendOutcome, AppendRequest, StoreError, decide_append};
use porch_wire::rest::{ConversationState, Message};
use tokio_postgres::types::ToSql;

use super::pool::Db;
use super::rows::{
    self, CONVERSATION_COLUMNS, CONVERSATION_FROM, Context, MESSAGE_COLUMNS, seq_to_sql, violates,
};

/// The stored message of this sender with this `clientMessageId`, if any.
async fn stored_message(
    client: &impl GenericClient,
    request: &AppendRequest,
    client_message_id: &str,
) -> Result<Option<Message>, StoreError> {
    let doing = format!("looking up clientMessageId in {}", request.conversation_id);
    let statement = client
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE conversation_id = $1 AND sender_id = $2 AND client_message_id = $3"
        ))
        .await
        .context(&doing)?;
    let params: &[&(dyn ToSql + Sync)] =
        &[&request.conversation_id, &request.sender.id, &client_message_id];
    match client.query_opt(&statement, params).await.context(&doing)? {
        Some(row) => rows::message(&row).map(Some),
        None => Ok(None),
    }
}

/// Appends one entry; see `Store::append`. One transaction, committed before returning.
///
/// `FOR NO KEY UPDATE` on the conversation row serializes the appends of one conversation
/// across every node: the next one waits for this COMMIT, then (READ COMMITTED: each later
/// statement takes a new snapshot) sees its message, so `seq` is `last_seq + 1` in commit
/// order. It is the weakest lock that conflicts with itself: plain `FOR UPDATE` would also
/// block the foreign-key checks of concurrent `mark_read`s on the same conversation.
///
/// A retry of a stored `clientMessageId` is answered before the closed check, as in SQLite:
/// the sender's first attempt was accepted, and "closed" would read as "not taken".
pub(crate) async fn append(db: &Db, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
    // Owned: `request` moves into `decide_append` below.
    let conversation_id = request.conversation_id.clone();
    let doing = format!("appending to {conversation_id}");
    let mut client = db.client().await?;
    let tx = client.transaction().await.context(&doing)?;
    let lock = tx
        .prepare_cached(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1 FOR NO KEY UPDATE OF c"
        ))
        .await
        .context(&doing)?;
    // Every early return drops `tx`, which rolls back and releases the lock.
    let Some(row) = tx.query_opt(&lock, &[&conversation_id]).await.context(&doing)? else {
        return Err(StoreError::ConversationUnknown(request.conversation_id));
    };
    let conversation = rows::conversation(&row)?;
    let stored = match &request.client_message_id {
        Some(id) => stored_message(&tx, &request, id).await?,
        None => None,
    };
    // The rules are porch-core's; this function only locks, reads and writes.
    let retry = (request.clone(), conversation.clone());
    let (message, conversation, previous_seq) =
        match decide_append(request, conversation, stored, new_id(prefix::MESSAGE))? {
            AppendDecision::Replay(message) => return Ok(AppendOutcome::Duplicate { message }),
            AppendDecision::Write { message, conversation, previous_seq } => {
                (message, conversation, previous_seq)
            }
        };
    let seq = message.seq;

    // The message and the conversation row in one statement: one round trip less while the
    // row lock is held. The `last_seq = $14` guard refuses to acknowledge a log with a hole if
    // anything ever wrote the row without the lock.
    let insert = tx
        .prepare_cached(
            "WITH inserted AS ( \
                 INSERT INTO messages (id, conversation_id, seq, client_message_id, sender_role, sender_id, \
                                       sender_display_name, text, event, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ) \
             UPDATE conversations SET last_seq = $3, updated_at_ms = $11, state = $12, assigned_agent_id = $13 \
             WHERE id = $2 AND last_seq = $14",
        )
        .await
        .context(&doing)?;
    let params: &[&(dyn ToSql + Sync)] = &[
        &message.id,
        &message.conversation_id,
        &seq_to_sql(seq),
        &message.client_message_id,
        &message.sender.role.as_str(),
        &message.sender.id,
        &message.sender.display_name,
        &message.text,
        &message.event.map(ConversationState::as_str),
        &message.created_at_ms,
        &conversation.updated_at_ms,
        &conversation.state.as_str(),
        &conversation.assigned_agent_id,
        &seq_to_sql(previous_seq),
    ];
    match tx.execute(&insert, params).await {
        Ok(1) => {}
        Ok(_) => {
            return Err(StoreError::Unavailable(format!(
                "conversation {conversation_id} changed during an append"
            )));
        }
        // Unreachable while every writer takes the row lock, but the index is the last word:
        // if another writer's row won, answer from it as a retry would be answered.
        Err(e) if violates(&e, "messages_idempotency") => {
            tx.rollback().await.context(&doing)?;
            let (request, conversation) = retry;
            let client_message_id = request.client_message_id.clone().unwrap_or_default();
            let Some(stored) = stored_message(&client, &request, &client_message_id).await? else {
                return Err(StoreError::Unavailable(format!(
                    "clientMessageId {client_message_id} in {conversation_id} collided with a write that then vanished"
                )));
            };
            return match decide_append(request, conversation, Some(stored), String::new())? {
                AppendDecision::Replay(message) => Ok(AppendOutcome::Duplicate { message }),
                AppendDecision::Write { .. } => {
                    unreachable!("a stored entry is always replayed or refused")
                }
            };
        }
        Err(e) => return Err(e).context(&format!("appending seq {seq} to {conversation_id}")),
    }
    tx.commit().await.context(&format!("committing seq {seq} to {conversation_id}"))?;
    Ok(AppendOutcome::Created { message, conversation })
}

/// Raises the read marker of `participant_id` to `seq`, capped at the conversation's
/// `last_seq`, in one upsert: concurrent marks from several nodes cannot lower it, and a
/// missing conversation yields no row.
pub(crate) async fn mark_read(
    db: &Db,
    conversation_id: &str,
    participant_id: &str,
    seq: u64,
) -> Result<u64, StoreError> {
    let doing = format!("marking {conversation_id} read");
    let client = db.client().await?;
    let statement = client
        .prepare_cached(
            "INSERT INTO read_markers (conversation_id, participant_id, read_seq) \
             SELECT id, $2, LEAST($3, last_seq) FROM conversations WHERE id = $1 \
             ON CONFLICT (conversation_id, participant_id) \
             DO UPDATE SET read_seq = GREATEST(read_markers.read_seq, excluded.read_seq) \
             RETURNING read_seq",
        )
        .await
        .context(&doing)?;
    let params: &[&(dyn ToSql + Sync)] = &[&conversation_id, &participant_id, &seq_to_sql(seq)];
    let Some(row) = client.query_opt(&statement, params).await.context(&doing)? else {
        return Err(StoreError::ConversationUnknown(conversation_id.to_owned()));
    };
    rows::get_seq(&row, 0)
}
