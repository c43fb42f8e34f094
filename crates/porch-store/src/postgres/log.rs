//! The conversation log's writes: appends and read markers.
//!
//! Several nodes append to one conversation at once. An append reads the conversation and
//! any stored entry with its `clientMessageId` (one round trip, no lock), lets porch-core's
//! `decide_append` rule, and writes the entry and the conversation row with one statement
//! (`write`). A plain message, nearly every append, does all of that in one statement, one
//! round trip (`append_plain`). No lock is held across round trips, so a node that freezes mid-append holds
//! nothing: a statement it sent finishes and commits without it. `seq` is gap-free in commit
//! order, the idempotency index is the last word on a `clientMessageId`, and a read marker is
//! one upsert that can only move forward. An assignment or a release moves the agent's load in
//! the same statement, and `agents_within_capacity` is the last word on an agent's capacity.

use std::time::{Duration, Instant};

use deadpool_postgres::GenericClient;
use porch_core::ids::{new_id, prefix};
use porch_core::limits::{POSTGRES_APPEND_ATTEMPTS_MAX, POSTGRES_UNCONFIRMED_RESOLVE_MS};
use porch_core::store::{
    AppendDecision, AppendOutcome, AppendRequest, Assignee, GuestIdentity, StoreError,
    decide_append,
};
use porch_core::webhook::EventType;
use porch_wire::rest::{Conversation, ConversationState, Message};
use tokio_postgres::types::ToSql;

use super::batch::{self, Shared};
use super::pool::Db;
use super::rows::{
    self, CONVERSATION_COLUMNS, CONVERSATION_FROM, Context, MESSAGE_COLUMNS, seq_to_sql, violates,
    violates_check,
};
use super::turns::Turns;
use super::webhooks::enqueue_sql;

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

/// The assignee's load, for `decide_append` (`None`: no such agent). Read without a lock: the
/// write's `agents_within_capacity` decides if it changed since.
async fn assignee_load(
    client: &impl GenericClient,
    assignee: &Assignee,
) -> Result<Option<u32>, StoreError> {
    let doing = format!("reading the load of {}", assignee.agent_id);
    let statement = client
        .prepare_cached("SELECT assigned_count FROM agents WHERE id = $1")
        .await
        .context(&doing)?;
    let Some(row) = client.query_opt(&statement, &[&assignee.agent_id]).await.context(&doing)?
    else {
        return Ok(None);
    };
    let count: i64 = row.try_get(0).context(&doing)?;
    u32::try_from(count).map(Some).map_err(|_| {
        StoreError::Unavailable(format!("agent {} has a load of {count}", assignee.agent_id))
    })
}

/// What an append decides on: the conversation as it is now, the entry `request` would
/// repeat, if stored, and the assignee's load, if it assigns. The queries go out together
/// (pipelined), one round trip.
async fn read_for_append(
    client: &impl GenericClient,
    request: &AppendRequest,
) -> Result<(Conversation, Option<Message>, Option<u32>), StoreError> {
    let doing = format!("reading {} to append", request.conversation_id);
    let conversation = async {
        let statement = client
            .prepare_cached(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1"
            ))
            .await
            .context(&doing)?;
        match client.query_opt(&statement, &[&request.conversation_id]).await.context(&doing)? {
            Some(row) => rows::conversation(&row),
            None => Err(StoreError::ConversationUnknown(request.conversation_id.clone())),
        }
    };
    let stored = async {
        match &request.client_message_id {
            Some(id) => stored_message(client, request, id).await,
            None => Ok(None),
        }
    };
    let load = async {
        match &request.assign {
            Some(assignee) => assignee_load(client, assignee).await,
            None => Ok(None),
        }
    };
    tokio::try_join!(conversation, stored, load)
}

/// Appends one entry; see `Store::append`. Committed before it returns. A plain entry goes
/// with the others of its conversation waiting on this node, in one statement (`batch`).
pub(crate) async fn append(
    shared: &Shared,
    request: AppendRequest,
) -> Result<AppendOutcome, StoreError> {
    if request.is_plain() {
        return batch::append(shared, request).await;
    }
    alone(&shared.db, &shared.turns, request, Vec::new(), None).await
}

/// Appends one entry by itself. `sent` and `unknown` carry what an earlier try (a batch) sent
/// and, if its outcome is unknown, why.
///
/// A retry of a stored `clientMessageId` is answered before the closed check, as in SQLite:
/// the sender's first attempt was accepted, and "closed" would read as "not taken".
///
/// Ambiguous commits: when the connection breaks after a write statement went out, the
/// statement may have committed without its answer reaching this node. The append then asks
/// again on another connection, for up to `POSTGRES_UNCONFIRMED_RESOLVE_MS`, keeping its turn
/// (so this node's later appends to the conversation stay behind it): the idempotency key
/// finds the entry if it was stored, and an entry whose id is one this call sent is its own,
/// answered as `Created`, so the caller sees one outcome and the log holds the entry once.
/// An append without a key cannot be asked about: `Unconfirmed` at once.
pub(super) async fn alone(
    db: &Db,
    turns: &Turns,
    request: AppendRequest,
    mut sent: Vec<String>,
    mut unknown: Option<StoreError>,
) -> Result<AppendOutcome, StoreError> {
    if let Some(first) = &unknown
        && request.client_message_id.is_none()
    {
        return Err(unconfirmed(first));
    }
    // A few appends of one conversation from this node at a time, so they never hold more
    // than a few pooled connections between them (`turns`).
    let _turn = turns.take(&request.conversation_id).await?;
    let resolve = Duration::from_millis(POSTGRES_UNCONFIRMED_RESOLVE_MS);
    let deadline = Instant::now() + resolve;
    loop {
        let error = match attempt(db, &request, &mut sent).await {
            Ok(outcome) => return Ok(outcome),
            Err(Failure::Refused(e)) => match (&unknown, e) {
                // Not reached (the pool, a reconnect): an earlier write is still unknown.
                (Some(_), e @ StoreError::Unavailable(_)) => e,
                // A definite answer, after a re-read that did not find the entry.
                (_, e) => return Err(e),
            },
            Err(Failure::Unknown(e)) => e,
        };
        let first = unknown.get_or_insert(error);
        if request.client_message_id.is_none() || Instant::now() >= deadline {
            return Err(unconfirmed(first));
        }
        tracing::warn!(
            conversation = %request.conversation_id,
            "the answer to an append was lost ({first}); asking PostgreSQL again"
        );
        tokio::time::sleep(UNCONFIRMED_PAUSE).await;
    }
}

fn unconfirmed(first: &StoreError) -> StoreError {
    StoreError::Unconfirmed(format!(
        "{first}; not settled within {POSTGRES_UNCONFIRMED_RESOLVE_MS} ms: the entry may be stored"
    ))
}

/// Between two attempts to settle an unknown outcome: a lost connection is usually a restart
/// or a failover, seconds long; asking much faster only fills the log.
const UNCONFIRMED_PAUSE: Duration = Duration::from_millis(250);

/// Why one attempt to append did not return an outcome.
pub(super) enum Failure {
    /// A definite answer: this attempt wrote nothing.
    Refused(StoreError),
    /// The connection broke after a write statement went out: it may have committed.
    Unknown(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Refused(e)
    }
}

/// A write statement's error as a `Failure`: one PostgreSQL sent means it rolled the statement
/// back; any other (the connection closed, reset or failed) leaves its outcome unknown.
pub(super) fn failure(error: tokio_postgres::Error, doing: &str) -> Failure {
    let lost = error.as_db_error().is_none();
    let error = Err::<(), _>(error).context(doing).unwrap_err();
    if lost { Failure::Unknown(error) } else { Failure::Refused(error) }
}

/// The answer to a `Replay`: the entry is this call's own when its id is one this call sent
/// (its commit's answer was lost), so it is `Created`, with the conversation as read now
/// (it may have moved on since); otherwise the sender's retry of an earlier send.
fn replayed(message: Message, now: Option<Conversation>, sent: &[String]) -> AppendOutcome {
    match now {
        // Who the lost commit released is not known again; the supervisors' overview is.
        Some(now) if sent.contains(&message.id) => AppendOutcome::created(message, now, None),
        _ => AppendOutcome::Duplicate { message },
    }
}

/// One attempt on one connection: the one-statement path for a plain entry, else read,
/// decide and write, again while what it decided on changed. `sent` collects the ids of the
/// entries this attempt's writes carried.
async fn attempt(
    db: &Db,
    request: &AppendRequest,
    sent: &mut Vec<String>,
) -> Result<AppendOutcome, Failure> {
    let client = db.client().await?;
    if request.is_plain()
        && let Some(outcome) = append_plain(&client, request, sent).await?
    {
        return Ok(outcome);
    }
    for _ in 0..POSTGRES_APPEND_ATTEMPTS_MAX {
        let (conversation, stored, load) = read_for_append(&client, request).await?;
        let (state, agent) = (conversation.state, conversation.assigned_agent_id.clone());
        // Kept only when an entry is stored: it is the answer if that entry is this call's.
        let now = stored.is_some().then(|| conversation.clone());
        // The rules are porch-core's; this function only reads and writes.
        let message_id = new_id(prefix::MESSAGE);
        match decide_append(request.clone(), conversation, stored, message_id, load)? {
            AppendDecision::Replay(message) => {
                return Ok(replayed(message, now, sent));
            }
            AppendDecision::Write { mut message, mut conversation, claim, release, .. } => {
                let read = (state, agent.as_deref(), request.expect_last_seq);
                let moves = Moves { claim: claim.as_ref(), release: release.as_deref() };
                let identify = request.identify.as_deref();
                let also = Also { event_type: request.webhook_event(), identify };
                sent.push(message.id.clone());
                let written = write(&client, &message, &conversation, read, moves, also).await?;
                let Some((seq, updated_at_ms)) = written else {
                    // Changed since the read: read again, unless no retry can succeed.
                    if let Some(identity) = identify {
                        check_guest(&client, identity).await?;
                    }
                    continue;
                };
                if let Some(identity) = identify {
                    identity.apply(&mut conversation.guest);
                }
                (message.seq, conversation.last_seq) = (seq, seq);
                (message.created_at_ms, conversation.updated_at_ms) =
                    (updated_at_ms, updated_at_ms);
                conversation.last_message = Some(porch_core::preview::last_message(&message));
                return Ok(AppendOutcome::created(message, conversation, release));
            }
        }
    }
    Err(Failure::Refused(StoreError::Unavailable(format!(
        "conversation {} changed under {POSTGRES_APPEND_ATTEMPTS_MAX} attempts to append to it",
        request.conversation_id
    ))))
}

/// The rows an append statement's outbox events come from (`enqueue_sql`): its `inserted`
/// entries with the conversation's deployment and queue from its `updated` row.
pub(super) const INSERTED_EVENTS: &str = "(SELECT i.conversation_id, i.seq, i.created_at_ms AS at_ms, u.deployment_id, u.queue \
      FROM inserted i, updated u)";

/// The columns of `append_plain`'s answer after the conversation's: the stored entry's, then
/// the new entry's `seq` and time.
pub(super) const PLAIN_STORED_AT: usize = 16;
const PLAIN_SEQ_AT: usize = PLAIN_STORED_AT + rows::MESSAGE_COLUMN_COUNT;

/// A plain entry (no state change, no assignment: nearly every message) in one round trip.
/// Its rule is short: written unless the conversation is closed, the sender already stored
/// this `clientMessageId`, or an agent's reply names a holder the conversation does not have. One statement reads the conversation and that entry, writes if the
/// rule allows, and returns what it read; `decide_append` then rules on what was read, so the
/// answer is porch-core's and the statement only spares the round trip of the read.
///
/// The statement's reads see its snapshot, and its `UPDATE` writes only if the row still has
/// the state and agent the snapshot had (when it waited for another append's row lock,
/// PostgreSQL re-checks that on the row as committed), so the conversation it returns is the
/// one the entry was appended to. `None` when the rule allowed a write the statement did not
/// make: the row changed since the snapshot, or another node stored this `clientMessageId`
/// meanwhile (the idempotency index undid the statement). The caller then reads and decides
/// as for any other entry.
async fn append_plain(
    client: &impl GenericClient,
    request: &AppendRequest,
    sent: &mut Vec<String>,
) -> Result<Option<AppendOutcome>, Failure> {
    let doing = format!("appending to {}", request.conversation_id);
    let enqueue = enqueue_sql(INSERTED_EVENTS, 9);
    let statement = client
        .prepare_cached(&format!(
            "WITH snapshot AS ( \
                 SELECT state, assigned_agent_id FROM conversations WHERE id = $2 \
             ), stored AS ( \
                 SELECT {MESSAGE_COLUMNS} FROM messages \
                 WHERE conversation_id = $2 AND sender_id = $5 AND client_message_id = $3 \
             ), updated AS ( \
                 UPDATE conversations u SET last_seq = u.last_seq + 1, \
                        updated_at_ms = GREATEST(u.updated_at_ms, $8), last_message = $11 \
                 FROM snapshot s \
                 WHERE u.id = $2 AND s.state <> 'closed' AND u.state = s.state \
                   AND u.assigned_agent_id IS NOT DISTINCT FROM s.assigned_agent_id \
                   AND ($12::text IS NULL OR (s.state = 'assigned' AND s.assigned_agent_id = $12)) \
                   AND NOT EXISTS (SELECT 1 FROM stored) \
                 RETURNING u.last_seq, u.updated_at_ms, u.deployment_id, u.queue \
             ), inserted AS ( \
                 INSERT INTO messages (id, conversation_id, seq, client_message_id, sender_role, sender_id, \
                                       sender_display_name, text, event, created_at_ms) \
                 SELECT $1, $2, last_seq, $3, $4, $5, $6, $7, NULL, updated_at_ms FROM updated \
                 RETURNING conversation_id, seq, created_at_ms \
             ), queued AS ({enqueue}) \
             SELECT {CONVERSATION_COLUMNS}, s.*, i.seq, i.created_at_ms \
             FROM {CONVERSATION_FROM} LEFT JOIN stored s ON true LEFT JOIN inserted i ON true \
             WHERE c.id = $2"
        ))
        .await
        .context(&doing)?;
    let message_id = new_id(prefix::MESSAGE);
    sent.push(message_id.clone());
    let params: &[&(dyn ToSql + Sync)] = &[
        &message_id,
        &request.conversation_id,
        &request.client_message_id,
        &rows::stored_role(request.sender.role),
        &request.sender.id,
        &request.sender.display_name,
        &request.text,
        &request.now_ms,
        &EventType::of_entry(None).as_str(),
        &None::<&str>,
        &plain_preview(request),
        &request.holder,
    ];
    let row = match client.query_opt(&statement, params).await {
        Ok(row) => row,
        Err(e) if violates(&e, "messages_idempotency") => return Ok(None),
        Err(e) => return Err(failure(e, &doing)),
    };
    let Some(row) = row else {
        return Err(StoreError::ConversationUnknown(request.conversation_id.clone()).into());
    };
    let conversation = rows::conversation(&row)?;
    let stored_id: Option<String> = row.try_get(PLAIN_STORED_AT).context(&doing)?;
    let stored = match stored_id {
        Some(_) => Some(rows::message_at(&row, PLAIN_STORED_AT)?),
        None => None,
    };
    let now = stored.is_some().then(|| conversation.clone());
    let written: Option<i64> = row.try_get(PLAIN_SEQ_AT).context(&doing)?;
    match decide_append(request.clone(), conversation, stored, message_id, None)? {
        AppendDecision::Replay(message) => Ok(Some(replayed(message, now, sent))),
        AppendDecision::Write { .. } if written.is_none() => Ok(None),
        AppendDecision::Write { mut message, mut conversation, .. } => {
            let seq = rows::seq(&row, PLAIN_SEQ_AT)?;
            let updated_at_ms: i64 = row.try_get(PLAIN_SEQ_AT + 1).context(&doing)?;
            (message.seq, conversation.last_seq) = (seq, seq);
            (message.created_at_ms, conversation.updated_at_ms) = (updated_at_ms, updated_at_ms);
            conversation.last_message = Some(porch_core::preview::last_message(&message));
            Ok(Some(AppendOutcome::created(message, conversation, None)))
        }
    }
}

/// The preview column's value for a plain entry, from the request (the statement writes it
/// before `decide_append` has seen the row; its rule needs only the sender and the text).
pub(super) fn plain_preview(request: &AppendRequest) -> String {
    let preview = porch_core::preview::of(&request.sender, &request.text, false);
    crate::rows::to_json(&preview)
}

/// Writes the entry and the conversation row in one statement: one commit, and the row is
/// locked only while PostgreSQL runs it, never across round trips. Appends of several nodes
/// to one conversation queue on that lock inside PostgreSQL, and each takes `last_seq + 1` of
/// the row as the one before it committed it (READ COMMITTED re-reads a row it waited for),
/// so `seq` is gap-free in commit order.
///
/// The decision was made on a read without a lock, so the write takes effect only if what it
/// depends on is still so: the conversation's state and agent (`read`), and its `last_seq` for
/// an append that expects one (`AppendRequest::expect_last_seq`: a fallback). A new `seq` and a later
/// time do not change it; they are computed here, as `decide_append` computes them: the next
/// `seq`, and a time no earlier than the row's (the entry is dated `updated_at_ms` as written,
/// so a node whose clock lags never dates an entry before the one it follows). Returns the
/// `seq` and that time.
/// None when the row changed (a state change came in between) or another writer stored this
/// `clientMessageId` since the read (the idempotency index undoes the statement): nothing was
/// written, and the next read sees why.
///
/// The agents' rows change in the same statement, only if the conversation's did (they read
/// its RETURNING), and after it, so every statement locks a conversation before an agent: no
/// two appends wait on each other in opposite orders. A claim sets the agent's
/// `assigned_count_cap` to the capacity it was checked against; an assignment racing for an
/// agent's last place waits for the first one's row lock, then re-reads the row, counts one too
/// many and violates `agents_within_capacity`, which undoes its whole statement:
/// `AgentAtCapacity`.
async fn write(
    client: &impl GenericClient,
    message: &Message,
    conversation: &Conversation,
    read: (ConversationState, Option<&str>, Option<u64>),
    moves: Moves<'_>,
    also: Also<'_>,
) -> Result<Option<(u64, i64)>, Failure> {
    let doing = format!("appending to {}", message.conversation_id);
    // The insert reads the update's RETURNING, so it happens only if the update did; the
    // outbox rows read the insert's, so the event commits with its entry or not at all. `$16`
    // and `$18` are NULL when the append claims or releases nobody: `id = NULL` matches no row.
    let enqueue = enqueue_sql(INSERTED_EVENTS, 14);
    let statement = client
        .prepare_cached(&format!(
            "WITH identified AS ({IDENTIFY}), updated AS ( \
                 UPDATE conversations SET last_seq = last_seq + 1, \
                        updated_at_ms = GREATEST(updated_at_ms, $9), state = $10, assigned_agent_id = $11, \
                        queue = $19, last_message = $33 \
                 WHERE id = $2 AND state = $12 AND assigned_agent_id IS NOT DISTINCT FROM $13 \
                   AND ($27::BIGINT IS NULL OR last_seq = $27) \
                   AND ($29::text IS NULL OR EXISTS (SELECT 1 FROM identified)) \
                 RETURNING last_seq, updated_at_ms, deployment_id, queue \
             ), claimed AS ( \
                 UPDATE agents SET assigned_count = assigned_count + 1, assigned_count_cap = $17, \
                        last_assigned_at_ms = (SELECT updated_at_ms FROM updated) \
                 WHERE id = $16 AND EXISTS (SELECT 1 FROM updated) \
             ), released AS ( \
                 UPDATE agents SET assigned_count = assigned_count - 1 \
                 WHERE id = $18 AND assigned_count > 0 AND EXISTS (SELECT 1 FROM updated) \
             ), inserted AS ( \
                 INSERT INTO messages (id, conversation_id, seq, client_message_id, sender_role, sender_id, \
                                       sender_display_name, text, event, created_at_ms, note, wrap_up, content, \
                                       attachment, attachment_id, attachment_bytes, reopened, fallback) \
                 SELECT $1, $2, last_seq, $3, $4, $5, $6, $7, $8, updated_at_ms, $20, $21, $22, $23, $24, $25, $26, $28 FROM updated \
                 RETURNING conversation_id, seq, created_at_ms \
             ), queued AS ({enqueue}) \
             SELECT seq, created_at_ms FROM inserted"
        ))
        .await
        .context(&doing)?;
    let event_type = also.event_type.as_str();
    let identify = also.identify;
    let attachment = crate::rows::AttachmentColumns::of(message);
    let agent_id = (message.event == Some(ConversationState::Assigned))
        .then_some(conversation.assigned_agent_id.as_deref())
        .flatten();
    let params: &[&(dyn ToSql + Sync)] = &[
        &message.id,
        &message.conversation_id,
        &message.client_message_id,
        &rows::stored_role(message.sender.role),
        &message.sender.id,
        &message.sender.display_name,
        &message.text,
        &message.event.map(ConversationState::as_str),
        &message.created_at_ms,
        &conversation.state.as_str(),
        &conversation.assigned_agent_id,
        &read.0.as_str(),
        &read.1,
        &event_type,
        &agent_id,
        &moves.claim.map(|c| c.agent_id.as_str()),
        &i64::from(moves.claim.map_or(0, |c| c.capacity)),
        &moves.release,
        &conversation.queue,
        &message.note,
        &message.wrap_up,
        &rows::content_to_sql(message.content.as_ref()),
        &attachment.json,
        &attachment.id,
        &attachment.bytes,
        &message.reopened,
        &read.2.map(seq_to_sql),
        &message.fallback,
        &identify.map(|i| i.external_id.as_str()),
        &identify.map(|i| i.guest_id.as_str()),
        &identify.and_then(|i| i.display_name.as_deref()),
        &identify.and_then(|i| i.email.as_deref()),
        &crate::rows::preview_to_sql(conversation),
    ];
    let row = match client.query_opt(&statement, params).await {
        Ok(row) => row,
        Err(e) if violates(&e, "messages_idempotency") => return Ok(None),
        Err(e) if violates_check(&e, "agents_within_capacity") => {
            let claim = moves.claim.map(|c| (c.agent_id.clone(), c.capacity));
            let (agent_id, capacity) = claim.unwrap_or_default();
            return Err(StoreError::AgentAtCapacity { agent_id, capacity }.into());
        }
        Err(e) => return Err(failure(e, &doing)),
    };
    let Some(row) = row else { return Ok(None) };
    let updated_at_ms: i64 = row.try_get(1).context(&doing)?;
    Ok(Some((rows::seq(&row, 0)?, updated_at_ms)))
}

/// The guest update of an identifying append (`AppendRequest::identify`), first in `write`'s
/// statement: the conversation's row changes only if it did, so the entry, its event and the
/// guest's new customer commit together. A guest another customer took meanwhile fails its
/// condition as PostgreSQL re-reads the row it waited for. `$29` is NULL (no row changes) for
/// every other append.
const IDENTIFY: &str = "UPDATE guests SET external_id = $29, \
     verified_by = CASE WHEN external_id IS NULL THEN 'identityToken' ELSE verified_by END, \
     display_name = COALESCE($31, display_name), email = COALESCE($32, email) \
     WHERE $29::text IS NOT NULL AND id = $30 AND (external_id IS NULL OR external_id = $29) \
     RETURNING id";

/// What else an append's statement writes: its event's type, and the guest it identifies.
#[derive(Clone, Copy)]
struct Also<'a> {
    event_type: EventType,
    identify: Option<&'a GuestIdentity>,
}

/// After an identifying write that changed nothing: `GuestOfAnotherCustomer` when that is why
/// (no retry would change it); otherwise the caller reads again, as for any changed row.
async fn check_guest(
    client: &impl GenericClient,
    identity: &GuestIdentity,
) -> Result<(), StoreError> {
    let doing = format!("reading guest {}", identity.guest_id);
    let statement = client
        .prepare_cached("SELECT external_id FROM guests WHERE id = $1")
        .await
        .context(&doing)?;
    let row = client.query_opt(&statement, &[&identity.guest_id]).await.context(&doing)?;
    let external_id: Option<String> = match row {
        Some(row) => row.try_get(0).context(&doing)?,
        None => None,
    };
    match external_id {
        Some(other) if other != identity.external_id => {
            Err(StoreError::GuestOfAnotherCustomer(identity.guest_id.clone()))
        }
        _ => Ok(()),
    }
}

/// The agents an append claims and releases (`AppendDecision::Write`).
#[derive(Clone, Copy)]
struct Moves<'a> {
    claim: Option<&'a Assignee>,
    release: Option<&'a str>,
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
    rows::seq(&row, 0)
}
