//! The conversation log's writes: appends and read markers. Each runs on the writer thread,
//! inside the batch's transaction and its own savepoint: the writer is the lock, so nothing
//! else writes while an append reads, decides (`porch_core::store::decide_append`) and writes.

use porch_core::ids::{new_id, prefix};
use porch_core::store::{
    AppendDecision, AppendOutcome, AppendRequest, GuestIdentity, StoreError, decide_append,
};
use porch_wire::rest::{Conversation, ConversationState, Message};
use rusqlite::{Connection, OptionalExtension, params};

use super::reads::conversation_by_id;
use super::routing;
use super::rows::{self, Context, MESSAGE_COLUMNS, seq_to_sql};
use super::webhooks;

fn message_by_client_id(
    conn: &Connection,
    conversation_id: &str,
    sender_id: &str,
    client_message_id: &str,
) -> Result<Option<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE conversation_id = ?1 AND sender_id = ?2 AND client_message_id = ?3"
    );
    let params = params![conversation_id, sender_id, client_message_id];
    let doing = format!("looking up clientMessageId in {conversation_id}");
    rows::first(conn, &sql, params, rows::message, &doing)
}

/// Appends one entry; see `Store::append` and `porch_core::store::decide_append`, which holds
/// the rules. The writer thread is the lock: nothing else writes while this runs.
pub(crate) fn append(
    conn: &Connection,
    request: AppendRequest,
) -> Result<AppendOutcome, StoreError> {
    let conversation_id = request.conversation_id.clone();
    let Some(conversation) = conversation_by_id(conn, &conversation_id)? else {
        return Err(StoreError::ConversationUnknown(request.conversation_id));
    };
    let stored = match &request.client_message_id {
        Some(id) => message_by_client_id(conn, &conversation_id, &request.sender.id, id)?,
        None => None,
    };
    let assignee_load = match &request.assign {
        Some(assignee) => routing::load(conn, &assignee.agent_id)?,
        None => None,
    };
    let (event_type, identify) = (request.webhook_event(), request.identify.clone());
    let routed_before = Routed::of(&conversation);
    let decision =
        decide_append(request, conversation, stored, new_id(prefix::MESSAGE), assignee_load)?;
    let (message, mut conversation, previous_seq, claim, release) = match decision {
        AppendDecision::Replay(message) => return Ok(AppendOutcome::Duplicate { message }),
        AppendDecision::Write { message, conversation, previous_seq, claim, release } => {
            (message, conversation, previous_seq, claim, release)
        }
    };
    // In the append's savepoint: a guest of another customer takes the entry back with it.
    if let Some(identity) = &identify {
        identify_guest(conn, identity)?;
        identity.apply(&mut conversation.guest);
    }
    insert(conn, &message)?;
    advance(conn, &conversation, previous_seq, routed_before == Routed::of(&conversation))?;
    // The event goes out with the entry or not at all: same savepoint, same commit.
    let agent_id = (message.event == Some(ConversationState::Assigned))
        .then_some(conversation.assigned_agent_id.as_deref())
        .flatten();
    webhooks::enqueue(
        conn,
        &webhooks::Event {
            conversation_id: &conversation.id,
            deployment_id: &conversation.deployment_id,
            seq: message.seq,
            event_type: event_type.as_str(),
            agent_id,
            now_ms: message.created_at_ms,
            queue: &conversation.queue,
        },
    )?;
    // In the append's savepoint: a refused claim takes the entry back with it.
    if let Some(assignee) = &claim {
        routing::claim(conn, assignee, message.created_at_ms)?;
    }
    if let Some(agent_id) = &release {
        routing::release(conn, agent_id)?;
    }
    if cfg!(debug_assertions) {
        let max_seq: Option<i64> = conn
            .prepare_cached("SELECT max(seq) FROM messages WHERE conversation_id = ?1")
            .and_then(|mut s| s.query_row([&conversation.id], |row| row.get(0)))
            .context("checking the log")?;
        debug_assert_eq!(max_seq, Some(seq_to_sql(message.seq)), "seq is last_seq + 1, gap-free");
    }
    Ok(AppendOutcome::created(message, conversation, release))
}

/// The guest becomes the customer (`Store::identify_guest`'s statement), or the append fails.
fn identify_guest(conn: &Connection, identity: &GuestIdentity) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(crate::rows::IDENTIFY_GUEST_SQL)
        .and_then(|mut s| {
            s.execute(params![
                identity.guest_id,
                identity.external_id,
                identity.display_name,
                identity.email
            ])
        })
        .context(&format!("identifying guest {}", identity.guest_id))?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::GuestOfAnotherCustomer(identity.guest_id.clone()))
    }
}

/// The entry's row.
fn insert(conn: &Connection, message: &Message) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO messages (id, conversation_id, seq, client_message_id, sender_role, sender_id, \
                               sender_display_name, text, event, created_at_ms, note, wrap_up, content, \
                               attachment, attachment_id, attachment_bytes, reopened, fallback) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )
    .and_then(|mut s| {
        let attachment = crate::rows::AttachmentColumns::of(message);
        s.execute(params![
            message.id,
            message.conversation_id,
            seq_to_sql(message.seq),
            message.client_message_id,
            rows::stored_role(message.sender.role),
            message.sender.id,
            message.sender.display_name,
            message.text,
            message.event.map(ConversationState::as_str),
            message.created_at_ms,
            message.note,
            message.wrap_up,
            rows::content_to_sql(message.content.as_ref()),
            attachment.json,
            attachment.id,
            attachment.bytes,
            message.reopened,
            message.fallback
        ])
    })
    .context(&format!("appending seq {} to {}", message.seq, message.conversation_id))?;
    Ok(())
}

/// The columns of a conversation its indexes other than `conversations_by_queue` are built on
/// (`conversations_waiting`: the queue, the state). Most entries change none of them.
#[derive(PartialEq)]
struct Routed {
    state: ConversationState,
    queue: String,
    assigned_agent_id: Option<String>,
}

impl Routed {
    fn of(conversation: &Conversation) -> Routed {
        Routed {
            state: conversation.state,
            queue: conversation.queue.clone(),
            assigned_agent_id: conversation.assigned_agent_id.clone(),
        }
    }
}

/// The conversation row after the entry, guarded by the `last_seq` the decision read. Only
/// something writing the row outside this writer's transaction could fail the guard, which the
/// write lock rules out; refused rather than acknowledging a log with a hole in it.
///
/// An entry that leaves the routing columns as they were does not name them: SQLite rewrites
/// the entries of every index on a column an `UPDATE` sets, whether or not its value changes,
/// so setting `state` and `queue` to themselves cost a waiting conversation's message a page of
/// `conversations_waiting` in the WAL.
fn advance(
    conn: &Connection,
    conversation: &Conversation,
    previous_seq: u64,
    routing_unchanged: bool,
) -> Result<(), StoreError> {
    let sql = if routing_unchanged {
        "UPDATE conversations SET last_seq = ?2, updated_at_ms = ?3, last_message = ?5 \
         WHERE id = ?1 AND last_seq = ?4"
    } else {
        "UPDATE conversations SET last_seq = ?2, updated_at_ms = ?3, last_message = ?5, \
                state = ?6, assigned_agent_id = ?7, queue = ?8 \
         WHERE id = ?1 AND last_seq = ?4"
    };
    let updated = conn
        .prepare_cached(sql)
        .and_then(|mut s| {
            let row = params![
                conversation.id,
                seq_to_sql(conversation.last_seq),
                conversation.updated_at_ms,
                seq_to_sql(previous_seq),
                crate::rows::preview_to_sql(conversation)
            ];
            let routing = params![
                conversation.state.as_str(),
                conversation.assigned_agent_id,
                conversation.queue
            ];
            if routing_unchanged {
                s.execute(row)
            } else {
                s.execute([row, routing].concat().as_slice())
            }
        })
        .context(&format!("advancing {} to seq {}", conversation.id, conversation.last_seq))?;
    match updated {
        1 => Ok(()),
        _ => Err(StoreError::Unavailable(format!(
            "conversation {} changed during an append",
            conversation.id
        ))),
    }
}

/// Raises the read marker of `participant_id` to `seq`, capped at the conversation's
/// `last_seq` so a client cannot mark messages read that do not exist yet.
pub(crate) fn mark_read(
    conn: &Connection,
    conversation_id: &str,
    participant_id: &str,
    seq: u64,
) -> Result<u64, StoreError> {
    let last_seq: Option<i64> = conn
        .prepare_cached("SELECT last_seq FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conversation_id], |row| row.get(0)).optional())
        .context(&format!("reading last_seq of {conversation_id}"))?;
    let Some(last_seq) = last_seq else {
        return Err(StoreError::ConversationUnknown(conversation_id.to_owned()));
    };
    let stored: i64 = conn
        .prepare_cached(
            "INSERT INTO read_markers (conversation_id, participant_id, read_seq) VALUES (?1, ?2, ?3) \
             ON CONFLICT (conversation_id, participant_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq) \
             RETURNING read_seq",
        )
        .and_then(|mut s| s.query_row(params![conversation_id, participant_id, seq_to_sql(seq).min(last_seq)], |row| row.get(0)))
        .context(&format!("marking {conversation_id} read"))?;
    u64::try_from(stored).map_err(|_| {
        StoreError::Unavailable(format!("negative read marker {stored} in {conversation_id}"))
    })
}
