//! The reads. SQLite calls block, so there are two ways in (`pool`):
//! - `read` runs on tokio's blocking pool: for lists, whose length the caller does not bound.
//! - `read_short` runs on the calling async worker, when a connection is idle at that moment,
//!   and falls back to `read` otherwise. Only for reads that an index bounds: one row by key,
//!   or one page of a conversation (at most `history_page_max` rows). Such a read takes a few
//!   microseconds from the page cache, less than the two thread hand-offs of `spawn_blocking`
//!   (measured in S2: futex wake-ups and context switches were a third of a handshake's CPU,
//!   for three reads). It never waits for the pool, so it never blocks the worker on
//!   another read; in WAL mode it does not wait for the writer either.

use porch_core::model::{
    AgentRecord, ClientRecord, DeploymentRecord, GuestRecord, GuestSession, GuestStanding,
};
use porch_core::store::{
    ConversationFilter, ConversationSearch, CustomerPageRequest, PageRequest, StoreError,
    contains_pattern,
};
use porch_core::token::SigningKey;
use porch_wire::rest::{Conversation, ConversationPage, ConversationState, MessagePage};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{
    self, AGENT_COLUMNS, CLIENT_COLUMNS, CONVERSATION_COLUMNS, CONVERSATION_FROM,
    CONVERSATION_FROM_CURSOR, Context, DEPLOYMENT_COLUMNS, GUEST_COLUMNS, GUEST_STANDING_COLUMNS,
    MESSAGE_COLUMNS, SIGNING_KEY_COLUMNS, StoredRow, seq_to_sql, to_json,
};

fn all<T>(
    conn: &Connection,
    sql: &str,
    map: fn(&dyn StoredRow) -> Result<T, StoreError>,
    doing: &str,
) -> Result<Vec<T>, StoreError> {
    rows::all(conn, sql, [], map, doing)
}

fn one<T>(
    conn: &Connection,
    sql: &str,
    key: &str,
    map: fn(&dyn StoredRow) -> Result<T, StoreError>,
    doing: &str,
) -> Result<Option<T>, StoreError> {
    rows::first(conn, sql, [key], map, doing)
}

pub(crate) fn clients(conn: &Connection) -> Result<Vec<ClientRecord>, StoreError> {
    all(
        conn,
        // The widget pseudo-client (migration 2) is internal: operators never manage it.
        &format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE id != 'cli_widget' ORDER BY created_at_ms, id"
        ),
        rows::client,
        "listing clients",
    )
}

pub(crate) fn client(conn: &Connection, id: &str) -> Result<Option<ClientRecord>, StoreError> {
    one(
        conn,
        &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?1"),
        id,
        rows::client,
        "reading a client",
    )
}

pub(crate) fn deployments(conn: &Connection) -> Result<Vec<DeploymentRecord>, StoreError> {
    let sql =
        format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d ORDER BY d.created_at_ms, d.id");
    all(conn, &sql, rows::deployment, "listing deployments")
}

pub(crate) fn deployment(
    conn: &Connection,
    id: &str,
) -> Result<Option<DeploymentRecord>, StoreError> {
    let sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = ?1");
    one(conn, &sql, id, rows::deployment, "reading a deployment")
}

pub(crate) fn agents(conn: &Connection) -> Result<Vec<AgentRecord>, StoreError> {
    all(
        conn,
        &format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY created_at_ms, id"),
        rows::agent,
        "listing agents",
    )
}

pub(crate) fn agent_by_name(
    conn: &Connection,
    name: &str,
) -> Result<Option<AgentRecord>, StoreError> {
    one(
        conn,
        &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE name = ?1"),
        name,
        rows::agent,
        "reading an agent",
    )
}

pub(crate) fn agent_by_id(
    conn: &Connection,
    agent_id: &str,
) -> Result<Option<AgentRecord>, StoreError> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1");
    one(conn, &sql, agent_id, rows::agent, "reading an agent")
}

pub(crate) fn signing_keys(conn: &Connection) -> Result<Vec<SigningKey>, StoreError> {
    let sql = format!("SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys ORDER BY created_at_ms, kid");
    all(conn, &sql, rows::signing_key, "listing signing keys")
}

/// The ids travel as one JSON array, so one prepared statement serves every batch size.
pub(crate) fn guest_standings(
    conn: &Connection,
    ids: &[String],
) -> Result<Vec<(String, GuestStanding)>, StoreError> {
    let sql = format!(
        "SELECT {GUEST_STANDING_COLUMNS} FROM guests g \
         JOIN deployments d ON d.id = g.deployment_id JOIN conversations c ON c.id = g.conversation_id \
         WHERE g.id IN (SELECT value FROM json_each(?1))"
    );
    rows::all(conn, &sql, [to_json(ids)], rows::guest_standing, "reading guests' standings")
}

pub(crate) fn guest(conn: &Connection, id: &str) -> Result<Option<GuestRecord>, StoreError> {
    one(
        conn,
        &format!("SELECT {GUEST_COLUMNS} FROM guests g WHERE g.id = ?1"),
        id,
        rows::guest,
        "reading a guest",
    )
}

pub(crate) fn guest_session(
    conn: &Connection,
    id: &str,
) -> Result<Option<GuestSession>, StoreError> {
    let sql = format!("{} WHERE g.id = ?1", rows::guest_session_select());
    one(conn, &sql, id, rows::guest_session, "reading a guest's session")
}

/// Shared with the writer, which reads the conversation it appends to on its own connection.
pub(crate) fn conversation_by_id(
    conn: &Connection,
    id: &str,
) -> Result<Option<Conversation>, StoreError> {
    let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = ?1");
    one(conn, &sql, id, rows::conversation, &format!("reading conversation {id}"))
}

/// The state and queue lists travel as JSON arrays expanded by `json_each`, so the statement
/// text is fixed (and cached) whatever the number of queues.
pub(crate) fn conversations(
    conn: &Connection,
    filter: &ConversationFilter,
) -> Result<Vec<Conversation>, StoreError> {
    if filter.queues.is_empty() || filter.limit == 0 {
        return Ok(Vec::new());
    }
    let states: Vec<&str> = filter.states.iter().map(|s| ConversationState::as_str(*s)).collect();
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} \
         WHERE c.queue IN (SELECT value FROM json_each(?1)) \
           AND (?2 = '[]' OR c.state IN (SELECT value FROM json_each(?2))) \
         ORDER BY c.updated_at_ms DESC, c.id \
         LIMIT ?3"
    );
    let params = params![to_json(&filter.queues), to_json(&states), i64::from(filter.limit)];
    rows::all(conn, &sql, params, rows::conversation, "listing conversations")
}

/// A page of an agent's search; see `ConversationSearch`. A scan of the queues' conversations
/// in the order of `conversations_by_queue`, each tested against the guest's name and email
/// and then its messages until one matches: no text index, so a search costs what reading
/// those conversations costs (LIKE is case-insensitive for ASCII letters only here).
pub(crate) fn search_conversations(
    conn: &Connection,
    search: &ConversationSearch,
) -> Result<ConversationPage, StoreError> {
    if search.queues.is_empty() || search.limit == 0 {
        return Ok(ConversationPage { conversations: Vec::new(), has_more: false });
    }
    let states: Vec<&str> = search.states.iter().map(|s| ConversationState::as_str(*s)).collect();
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} \
         WHERE c.queue IN (SELECT value FROM json_each(?1)) \
           AND (?2 = '[]' OR c.state IN (SELECT value FROM json_each(?2))) \
           AND (?3 IS NULL OR g.display_name LIKE ?3 ESCAPE '\\' OR g.email LIKE ?3 ESCAPE '\\' \
                OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id \
                           AND m.event IS NULL AND m.text LIKE ?3 ESCAPE '\\')) \
           AND (?4 IS NULL OR EXISTS ( \
               SELECT 1 FROM conversations k \
               WHERE k.id = ?4 AND k.queue IN (SELECT value FROM json_each(?1)) \
                 AND (c.updated_at_ms < k.updated_at_ms \
                      OR (c.updated_at_ms = k.updated_at_ms AND c.id < k.id)))) \
         ORDER BY c.updated_at_ms DESC, c.id DESC \
         LIMIT ?5"
    );
    let pattern = search.text.as_deref().map(contains_pattern);
    let params = params![
        to_json(&search.queues),
        to_json(&states),
        pattern,
        search.before_conversation_id,
        i64::from(search.limit) + 1
    ];
    let mut conversations =
        rows::all(conn, &sql, params, rows::conversation, "searching conversations")?;
    let wanted = usize::try_from(search.limit).unwrap_or(usize::MAX);
    let has_more = conversations.len() > wanted;
    conversations.truncate(wanted);
    Ok(ConversationPage { conversations, has_more })
}

/// A page of a customer's conversations; see `CustomerPageRequest`. The cursor is looked up
/// among the customer's own conversations, so another's id gives nothing. One row past the
/// limit is read to learn `has_more`.
pub(crate) fn customer_conversations(
    conn: &Connection,
    request: &CustomerPageRequest,
) -> Result<ConversationPage, StoreError> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} \
         WHERE g.deployment_id = ?1 AND g.external_id = ?2 \
           AND (?3 IS NULL OR EXISTS ( \
               SELECT 1 FROM {CONVERSATION_FROM_CURSOR} \
               WHERE k.id = ?3 AND kg.deployment_id = ?1 AND kg.external_id = ?2 \
                 AND (c.created_at_ms < k.created_at_ms \
                      OR (c.created_at_ms = k.created_at_ms AND c.id < k.id)))) \
         ORDER BY c.created_at_ms DESC, c.id DESC \
         LIMIT ?4"
    );
    let params = params![
        request.deployment_id,
        request.external_id,
        request.before_conversation_id,
        i64::from(request.limit) + 1
    ];
    let mut conversations =
        rows::all(conn, &sql, params, rows::conversation, "listing a customer's conversations")?;
    let wanted = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let has_more = conversations.len() > wanted;
    conversations.truncate(wanted);
    Ok(ConversationPage { conversations, has_more })
}

/// A page of one conversation's log; see `PageRequest`.
///
/// One read transaction, so `last_seq` and the page come from the same snapshot. One row past
/// the limit is read to learn `has_more` without a second query.
pub(crate) fn messages(
    conn: &Connection,
    conversation_id: &str,
    page: PageRequest,
) -> Result<MessagePage, StoreError> {
    let snapshot = conn.unchecked_transaction().context("starting a read")?;
    let last_seq: Option<i64> = snapshot
        .prepare_cached("SELECT last_seq FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conversation_id], |row| row.get(0)).optional())
        .context(&format!("reading last_seq of {conversation_id}"))?;
    let Some(last_seq) = last_seq else {
        return Err(StoreError::ConversationUnknown(conversation_id.to_owned()));
    };
    let last_seq = u64::try_from(last_seq).map_err(|_| {
        StoreError::Unavailable(format!("negative last_seq {last_seq} in {conversation_id}"))
    })?;

    let after = page.after_seq.map_or(0, seq_to_sql);
    let before = page.before_seq.map_or(i64::MAX, seq_to_sql);
    // Forward from `after`, otherwise backward from `before` (or from the end).
    let forward = page.after_seq.is_some();
    let order = if forward { "ASC" } else { "DESC" };
    let wanted = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE conversation_id = ?1 AND seq > ?2 AND seq < ?3 \
         ORDER BY seq {order} LIMIT ?4"
    );
    let params = params![conversation_id, after, before, i64::from(page.limit) + 1];
    let doing = format!("reading messages of {conversation_id}");
    let mut messages = rows::all(&snapshot, &sql, params, rows::message, &doing)?;
    drop(snapshot);

    let has_more = messages.len() > wanted;
    messages.truncate(wanted);
    if !forward {
        messages.reverse();
    }
    debug_assert!(
        messages.windows(2).all(|w| w[0].seq + 1 == w[1].seq),
        "a page is a gap-free run of seqs"
    );
    Ok(MessagePage { messages, has_more, last_seq })
}
