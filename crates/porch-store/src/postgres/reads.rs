//! The reads. Each is one statement on a pooled connection, outside any explicit transaction:
//! under READ COMMITTED one statement sees one snapshot, which is all a single read needs.
//! Statements are prepared once per connection (`prepare_cached`), so a read is one round trip.

use porch_core::model::{
    AgentRecord, ClientRecord, DeploymentRecord, GuestRecord, GuestSession, GuestStanding,
    WIDGET_CLIENT_ID,
};
use porch_core::store::{
    ConversationFilter, ConversationSearch, CustomerPageRequest, Durability, PageRequest,
    StoreError, contains_pattern,
};
use porch_core::token::SigningKey;
use porch_wire::rest::{Conversation, ConversationPage, ConversationState, MessagePage};
use tokio_postgres::types::ToSql;

use super::pool::Db;
use super::rows::{
    self, AGENT_COLUMNS, CLIENT_COLUMNS, CONVERSATION_COLUMNS, CONVERSATION_FROM,
    CONVERSATION_FROM_CURSOR, Context, DEPLOYMENT_COLUMNS, GUEST_COLUMNS, GUEST_STANDING_COLUMNS,
    MESSAGE_COLUMNS, SIGNING_KEY_COLUMNS, StoredRow, seq_to_sql,
};

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) async fn all<T>(
    db: &Db,
    sql: &str,
    params: Params<'_>,
    map: fn(&dyn StoredRow) -> Result<T, StoreError>,
    doing: &str,
) -> Result<Vec<T>, StoreError> {
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(doing)?;
    let found = client.query(&statement, params).await.context(doing)?;
    found.iter().map(|row| map(row)).collect()
}

pub(crate) async fn one<T>(
    db: &Db,
    sql: &str,
    key: &str,
    map: fn(&dyn StoredRow) -> Result<T, StoreError>,
    doing: &str,
) -> Result<Option<T>, StoreError> {
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(doing)?;
    let found = client.query_opt(&statement, &[&key]).await.context(doing)?;
    found.as_ref().map(|row| map(row)).transpose()
}

// Ties on creation time are broken by id in byte order (`COLLATE "C"`), as SQLite does,
// whatever collation the database was created with.

pub(crate) async fn clients(db: &Db) -> Result<Vec<ClientRecord>, StoreError> {
    // The widget pseudo-client (migration 2) is internal: operators never manage it.
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM clients WHERE id <> $1 ORDER BY created_at_ms, id COLLATE \"C\""
    );
    all(db, &sql, &[&WIDGET_CLIENT_ID], rows::client, "listing clients").await
}

pub(crate) async fn client(db: &Db, id: &str) -> Result<Option<ClientRecord>, StoreError> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1");
    one(db, &sql, id, rows::client, "reading a client").await
}

pub(crate) async fn deployments(db: &Db) -> Result<Vec<DeploymentRecord>, StoreError> {
    let sql = format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d ORDER BY d.created_at_ms, d.id COLLATE \"C\""
    );
    all(db, &sql, &[], rows::deployment, "listing deployments").await
}

pub(crate) async fn deployment(db: &Db, id: &str) -> Result<Option<DeploymentRecord>, StoreError> {
    let sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1");
    one(db, &sql, id, rows::deployment, "reading a deployment").await
}

pub(crate) async fn agents(db: &Db) -> Result<Vec<AgentRecord>, StoreError> {
    let sql =
        format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY created_at_ms, id COLLATE \"C\"");
    all(db, &sql, &[], rows::agent, "listing agents").await
}

pub(crate) async fn agent_by_name(db: &Db, name: &str) -> Result<Option<AgentRecord>, StoreError> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE name = $1");
    one(db, &sql, name, rows::agent, "reading an agent").await
}

pub(crate) async fn agent_by_id(
    db: &Db,
    agent_id: &str,
) -> Result<Option<AgentRecord>, StoreError> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1");
    one(db, &sql, agent_id, rows::agent, "reading an agent").await
}

pub(crate) async fn signing_keys(db: &Db) -> Result<Vec<SigningKey>, StoreError> {
    let sql = format!(
        "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys ORDER BY created_at_ms, kid COLLATE \"C\""
    );
    all(db, &sql, &[], rows::signing_key, "listing signing keys").await
}

pub(crate) async fn guest_standings(
    db: &Db,
    ids: &[String],
) -> Result<Vec<(String, GuestStanding)>, StoreError> {
    let sql = format!(
        "SELECT {GUEST_STANDING_COLUMNS} FROM guests g \
         JOIN deployments d ON d.id = g.deployment_id JOIN conversations c ON c.id = g.conversation_id \
         WHERE g.id = ANY($1)"
    );
    all(db, &sql, &[&ids], rows::guest_standing, "reading guests' standings").await
}

pub(crate) async fn guest(db: &Db, id: &str) -> Result<Option<GuestRecord>, StoreError> {
    let sql = format!("SELECT {GUEST_COLUMNS} FROM guests g WHERE g.id = $1");
    one(db, &sql, id, rows::guest, "reading a guest").await
}

pub(crate) async fn guest_session(db: &Db, id: &str) -> Result<Option<GuestSession>, StoreError> {
    let sql = format!("{} WHERE g.id = $1", rows::guest_session_select());
    one(db, &sql, id, rows::guest_session, "reading a guest's session").await
}

pub(crate) async fn conversation(db: &Db, id: &str) -> Result<Option<Conversation>, StoreError> {
    let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1");
    one(db, &sql, id, rows::conversation, &format!("reading conversation {id}")).await
}

/// Queues and states travel as `TEXT[]` parameters, so the statement text is fixed (and
/// prepared once) whatever the number of queues.
pub(crate) async fn conversations(
    db: &Db,
    filter: &ConversationFilter,
) -> Result<Vec<Conversation>, StoreError> {
    if filter.queues.is_empty() || filter.limit == 0 {
        return Ok(Vec::new());
    }
    let states: Vec<&str> = filter.states.iter().map(|s| ConversationState::as_str(*s)).collect();
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} \
         WHERE c.queue = ANY($1) AND (cardinality($2::text[]) = 0 OR c.state = ANY($2)) \
         ORDER BY c.updated_at_ms DESC, c.id COLLATE \"C\" \
         LIMIT $3"
    );
    let params: Params<'_> = &[&filter.queues, &states, &i64::from(filter.limit)];
    all(db, &sql, params, rows::conversation, "listing conversations").await
}

/// A page of an agent's search; see `ConversationSearch`. A scan of the queues' conversations
/// in the order of `conversations_by_queue`, each tested against the guest's name and email
/// and then its messages until one matches (ILIKE: case-insensitive): no text index, so a
/// search costs what reading those conversations costs.
pub(crate) async fn search_conversations(
    db: &Db,
    search: &ConversationSearch,
) -> Result<ConversationPage, StoreError> {
    if search.queues.is_empty() || search.limit == 0 {
        return Ok(ConversationPage { conversations: Vec::new(), has_more: false });
    }
    let states: Vec<&str> = search.states.iter().map(|s| ConversationState::as_str(*s)).collect();
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} \
         WHERE c.queue = ANY($1) AND (cardinality($2::text[]) = 0 OR c.state = ANY($2)) \
           AND ($3::text IS NULL OR g.display_name ILIKE $3 ESCAPE '\\' \
                OR g.email ILIKE $3 ESCAPE '\\' \
                OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id \
                           AND m.event IS NULL AND m.text ILIKE $3 ESCAPE '\\')) \
           AND ($4::text IS NULL OR EXISTS ( \
               SELECT 1 FROM conversations k \
               WHERE k.id = $4 AND k.queue = ANY($1) \
                 AND (c.updated_at_ms < k.updated_at_ms \
                      OR (c.updated_at_ms = k.updated_at_ms AND c.id COLLATE \"C\" < k.id)))) \
         ORDER BY c.updated_at_ms DESC, c.id COLLATE \"C\" DESC \
         LIMIT $5"
    );
    let pattern = search.text.as_deref().map(contains_pattern);
    let limit = i64::from(search.limit) + 1;
    let params: Params<'_> =
        &[&search.queues, &states, &pattern, &search.before_conversation_id, &limit];
    let mut conversations =
        all(db, &sql, params, rows::conversation, "searching conversations").await?;
    let wanted = usize::try_from(search.limit).unwrap_or(usize::MAX);
    let has_more = conversations.len() > wanted;
    conversations.truncate(wanted);
    Ok(ConversationPage { conversations, has_more })
}

/// A page of a customer's conversations; see `CustomerPageRequest`. The cursor is looked up
/// among the customer's own conversations, so another's id gives nothing. One row past the
/// limit is read to learn `has_more`.
pub(crate) async fn customer_conversations(
    db: &Db,
    request: &CustomerPageRequest,
) -> Result<ConversationPage, StoreError> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} \
         WHERE g.deployment_id = $1 AND g.external_id = $2 \
           AND ($3::text IS NULL OR EXISTS ( \
               SELECT 1 FROM {CONVERSATION_FROM_CURSOR} \
               WHERE k.id = $3 AND kg.deployment_id = $1 AND kg.external_id = $2 \
                 AND (c.created_at_ms < k.created_at_ms \
                      OR (c.created_at_ms = k.created_at_ms AND c.id COLLATE \"C\" < k.id)))) \
         ORDER BY c.created_at_ms DESC, c.id COLLATE \"C\" DESC \
         LIMIT $4"
    );
    let limit = i64::from(request.limit) + 1;
    let params: Params<'_> =
        &[&request.deployment_id, &request.external_id, &request.before_conversation_id, &limit];
    let mut conversations =
        all(db, &sql, params, rows::conversation, "listing a customer's conversations").await?;
    let wanted = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let has_more = conversations.len() > wanted;
    conversations.truncate(wanted);
    Ok(ConversationPage { conversations, has_more })
}

/// A page of one conversation's log; see `PageRequest`.
///
/// One statement, so `last_seq` and the page come from one snapshot without an explicit
/// REPEATABLE READ transaction (which would cost BEGIN and COMMIT round trips). The LEFT
/// JOIN keeps the conversation row when the page is empty; no row at all means no such
/// conversation. One row past the limit is read to learn `has_more`.
pub(crate) async fn messages(
    db: &Db,
    conversation_id: &str,
    page: PageRequest,
) -> Result<MessagePage, StoreError> {
    let forward = page.after_seq.is_some();
    let order = if forward { "ASC" } else { "DESC" };
    let sql = format!(
        "SELECT c.last_seq, m.* FROM conversations c \
         LEFT JOIN LATERAL ( \
             SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE conversation_id = c.id AND seq > $2 AND seq < $3 \
             ORDER BY seq {order} LIMIT $4 \
         ) m ON true \
         WHERE c.id = $1 \
         ORDER BY m.seq"
    );
    let after = page.after_seq.map_or(0, seq_to_sql);
    let before = page.before_seq.map_or(i64::MAX, seq_to_sql);
    let doing = format!("reading messages of {conversation_id}");
    let params: Params<'_> = &[&conversation_id, &after, &before, &(i64::from(page.limit) + 1)];
    let client = db.client().await?;
    let statement = client.prepare_cached(&sql).await.context(&doing)?;
    let found = client.query(&statement, params).await.context(&doing)?;

    let Some(first) = found.first() else {
        return Err(StoreError::ConversationUnknown(conversation_id.to_owned()));
    };
    let last_seq = rows::seq(first, 0)?;
    let mut messages = Vec::with_capacity(found.len());
    for row in &found {
        // An empty page is the one row whose message columns are all NULL.
        if row.try_get::<_, Option<&str>>(1).context(&doing)?.is_some() {
            messages.push(rows::message_at(row, 1)?);
        }
    }
    let wanted = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let has_more = messages.len() > wanted;
    if has_more {
        // The extra row lies beyond the page in the direction read: the newest one going
        // forward, the oldest one going backward (rows are in ascending seq here).
        if forward {
            messages.truncate(wanted);
        } else {
            messages.drain(..messages.len() - wanted);
        }
    }
    debug_assert!(
        messages.windows(2).all(|w| w[0].seq + 1 == w[1].seq),
        "a page is a gap-free run of seqs"
    );
    Ok(MessagePage { messages, has_more, last_seq })
}

/// Reads back the settings that decide whether a commit is durable, as the server has them for
/// Porch's sessions.
/// What `/readyz` asks: bounded (`Db::probe`), so a silent link makes the node not ready.
pub(crate) async fn durability(db: &Db) -> Result<Durability, StoreError> {
    db.probe(read_durability(db)).await
}

async fn read_durability(db: &Db) -> Result<Durability, StoreError> {
    let doing = "reading synchronous_commit and fsync";
    let client = db.client().await?;
    let row = client
        .query_one("SELECT current_setting('synchronous_commit'), current_setting('fsync')", &[])
        .await
        .context(doing)?;
    let synchronous_commit: String = row.try_get(0).context(doing)?;
    let fsync: String = row.try_get(1).context(doing)?;
    // Every synchronous_commit level but `off` waits for the local WAL flush before COMMIT
    // returns (`remote_*` wait for a standby too); without fsync that flush reaches only the
    // OS cache, so a power cut can still lose it.
    let flushes =
        matches!(synchronous_commit.as_str(), "on" | "local" | "remote_write" | "remote_apply");
    Ok(Durability {
        engine: "postgres",
        settings: format!("synchronous_commit={synchronous_commit} fsync={fsync}"),
        survives_power_loss: flushes && fsync == "on",
    })
}
