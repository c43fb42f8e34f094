//! Row → record mapping, for both backends: the columns every read selects, in one order, and
//! how a row of them becomes a record.
//!
//! Each backend implements `StoredRow` for its own row type (`sqlite/rows.rs`,
//! `postgres/rows.rs`): how a column is read there, and an error that names it. Everything else
//! is here, once. Every conversion from a stored value is checked: a row written by an older
//! Porch, edited by hand or damaged on disk becomes `StoreError::Unavailable` with the column
//! named, never a panic in the server.

use porch_core::canned::CannedReply;
use porch_core::identity::{IdentityAlgorithm, IdentityKey};
use porch_core::model::{
    AgentProfile, AgentRecord, AgentRouting, BotRecord, ClientRecord, DeploymentRecord, Fallback,
    FallbackAction, GuestRecord, GuestSession, GuestStanding, QueueSettings, Standing,
};
use porch_core::offer::Offer;
use porch_core::store::{Account, Deletion, StoreError};
use porch_core::token::SigningKey;
use porch_core::webhook::{Delivery, DeliveryState, Finish, WebhookEndpoint};
use porch_wire::bot::Handoff;
use porch_wire::rest::{
    AgentStatus, Conversation, ConversationState, Guest, LastMessage, Message, Notice, Participant,
    Preview, Role, Verification, VisitorContext, Welcome,
};

/// A row, as the mapping below reads it.
pub(crate) trait StoredRow {
    fn text(&self, column: usize) -> Result<String, StoreError>;
    fn optional_text(&self, column: usize) -> Result<Option<String>, StoreError>;
    fn integer(&self, column: usize) -> Result<i64, StoreError>;
    fn optional_integer(&self, column: usize) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: usize) -> Result<bool, StoreError>;
    fn bytes(&self, column: usize) -> Result<Vec<u8>, StoreError>;
    /// A list of strings: JSON text in SQLite, `TEXT[]` in PostgreSQL.
    fn list(&self, column: usize) -> Result<Vec<String>, StoreError>;
    /// The error for a value of `column` that the mapping cannot use.
    fn bad(&self, column: usize, why: &str) -> StoreError;
}

/// Sequence numbers are `u64` on the wire and signed 64-bit integers in both databases. Values
/// from callers beyond `i64` are clamped: no stored seq can be that large, so the clamped query
/// means the same.
pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// JSON text for a column that holds JSON (lists in SQLite, attributes, notices).
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // String lists, string maps and notices cannot fail to serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

pub(crate) fn seq(row: &dyn StoredRow, column: usize) -> Result<u64, StoreError> {
    let value = row.integer(column)?;
    u64::try_from(value).map_err(|_| row.bad(column, &format!("negative sequence number {value}")))
}

fn json<T: serde::de::DeserializeOwned>(
    text: &str,
    row: &dyn StoredRow,
    column: usize,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| row.bad(column, &format!("invalid JSON: {e}")))
}

/// A row's first column, an id.
pub(crate) fn first_id(row: &dyn StoredRow) -> Result<String, StoreError> {
    row.text(0)
}

/// A wait of `queue_standing`: (start, first assignment) in milliseconds; never negative, so
/// a clock that stepped back makes a wait of 0 rather than an error.
pub(crate) fn wait_ms(row: &dyn StoredRow) -> Result<u64, StoreError> {
    let (started_ms, assigned_ms) = (row.integer(0)?, row.integer(1)?);
    Ok(u64::try_from(assigned_ms.saturating_sub(started_ms)).unwrap_or(0))
}

pub(crate) fn state(row: &dyn StoredRow, column: usize) -> Result<ConversationState, StoreError> {
    let text = row.text(column)?;
    ConversationState::parse(&text)
        .ok_or_else(|| row.bad(column, &format!("unknown state `{text}`")))
}

fn optional_state(
    row: &dyn StoredRow,
    column: usize,
) -> Result<Option<ConversationState>, StoreError> {
    match row.optional_text(column)? {
        None => Ok(None),
        Some(text) => ConversationState::parse(&text)
            .map(Some)
            .ok_or_else(|| row.bad(column, &format!("unknown event `{text}`"))),
    }
}

fn role(row: &dyn StoredRow, column: usize) -> Result<Role, StoreError> {
    match row.text(column)?.as_str() {
        "guest" => Ok(Role::Guest),
        "agent" => Ok(Role::Agent),
        "system" => Ok(Role::System),
        other => Err(row.bad(column, &format!("unknown role `{other}`"))),
    }
}

fn notice(row: &dyn StoredRow, column: usize) -> Result<Option<Notice>, StoreError> {
    row.optional_text(column)?.map(|text| json(&text, row, column)).transpose()
}

/// A deployment's welcome: JSON text, NULL for none (see `welcome_to_sql`).
fn welcome(row: &dyn StoredRow, column: usize) -> Result<Welcome, StoreError> {
    Ok(row
        .optional_text(column)?
        .map(|text| json(&text, row, column))
        .transpose()?
        .unwrap_or_default())
}

/// The welcome column's value: NULL when there is nothing to say.
pub(crate) fn welcome_to_sql(welcome: &Welcome) -> Option<String> {
    (!welcome.is_empty()).then(|| to_json(welcome))
}

pub(crate) const CLIENT_COLUMNS: &str =
    "id, name, secret_hash, scopes, created_at_ms, enabled, tokens_valid_after_secs";

pub(crate) fn client(row: &dyn StoredRow) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        id: row.text(0)?,
        name: row.text(1)?,
        secret_hash: row.text(2)?,
        scopes: row.list(3)?,
        created_at_ms: row.integer(4)?,
        standing: standing(row, 5)?,
    })
}

/// `FROM deployments d`.
pub(crate) const DEPLOYMENT_COLUMNS: &str = "d.id, d.name, d.origins, d.queue, d.guest_token_ttl_secs, d.enabled, d.created_at_ms, d.notice, d.welcome";

pub(crate) fn deployment(row: &dyn StoredRow) -> Result<DeploymentRecord, StoreError> {
    deployment_at(row, 0)
}

/// A deployment from the columns of `DEPLOYMENT_COLUMNS`, starting at `first`.
fn deployment_at(row: &dyn StoredRow, first: usize) -> Result<DeploymentRecord, StoreError> {
    let ttl_secs = row.integer(first + 4)?;
    Ok(DeploymentRecord {
        id: row.text(first)?,
        name: row.text(first + 1)?,
        origins: row.list(first + 2)?,
        queue: row.text(first + 3)?,
        guest_token_ttl_secs: u64::try_from(ttl_secs)
            .map_err(|_| row.bad(first + 4, &format!("negative token lifetime {ttl_secs}")))?,
        enabled: row.flag(first + 5)?,
        created_at_ms: row.integer(first + 6)?,
        notice: notice(row, first + 7)?,
        welcome: welcome(row, first + 8)?,
    })
}

/// `FROM guests g` joined to its deployment `d` and conversation `c`.
pub(crate) const GUEST_STANDING_COLUMNS: &str =
    "g.id, g.revoked, g.deployment_id, d.enabled, d.notice, c.last_seq, g.erased";

pub(crate) fn guest_standing(row: &dyn StoredRow) -> Result<(String, GuestStanding), StoreError> {
    let standing = GuestStanding {
        revoked: row.flag(1)?,
        deployment_id: row.text(2)?,
        deployment_enabled: row.flag(3)?,
        notice: notice(row, 4)?,
        last_seq: seq(row, 5)?,
        erased: row.flag(6)?,
    };
    Ok((row.text(0)?, standing))
}

pub(crate) const AGENT_COLUMNS: &str = "id, name, secret_hash, queues, created_at_ms, enabled, tokens_valid_after_secs, supervisor, \
     display_name, avatar_url";

pub(crate) fn agent(row: &dyn StoredRow) -> Result<AgentRecord, StoreError> {
    Ok(AgentRecord {
        id: row.text(0)?,
        name: row.text(1)?,
        secret_hash: row.text(2)?,
        queues: row.list(3)?,
        created_at_ms: row.integer(4)?,
        standing: standing(row, 5)?,
        supervisor: row.flag(7)?,
        profile: AgentProfile {
            display_name: row.optional_text(8)?,
            avatar_url: row.optional_text(9)?,
        },
    })
}

/// An agent's routing state (`FROM agents`): `assigned_count` is its load.
pub(crate) const AGENT_ROUTING_COLUMNS: &str =
    "id, queues, status, capacity, assigned_count, last_assigned_at_ms";

pub(crate) fn agent_routing(row: &dyn StoredRow) -> Result<AgentRouting, StoreError> {
    let status = row.text(2)?;
    Ok(AgentRouting {
        agent_id: row.text(0)?,
        queues: row.list(1)?,
        status: AgentStatus::parse(&status)
            .ok_or_else(|| row.bad(2, &format!("unknown status `{status}`")))?,
        capacity: row.optional_integer(3)?.map(|c| count(row, 3, c)).transpose()?,
        load: count(row, 4, row.integer(4)?)?,
        last_assigned_at_ms: row.integer(5)?,
    })
}

/// A stored count of conversations (a capacity, a load): never negative, and small.
fn count(row: &dyn StoredRow, column: usize, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| row.bad(column, &format!("count {value} out of range")))
}

pub(crate) const QUEUE_COLUMNS: &str = "name, capacity_default, auto_accept, manual_take, bot_id, fallback_after_secs, fallback_action, fallback_text";

pub(crate) fn queue(row: &dyn StoredRow) -> Result<QueueSettings, StoreError> {
    Ok(QueueSettings {
        name: row.text(0)?,
        capacity_default: row.optional_integer(1)?.map(|c| count(row, 1, c)).transpose()?,
        auto_accept: row.flag(2)?,
        manual_take: row.flag(3)?,
        bot_id: row.optional_text(4)?,
        fallback: fallback(row, 5)?,
    })
}

/// A queue's fallback from its three columns (all NULL: none).
fn fallback(row: &dyn StoredRow, first: usize) -> Result<Option<Fallback>, StoreError> {
    let Some(after_secs) = row.optional_integer(first)? else { return Ok(None) };
    let name = row.optional_text(first + 1)?.unwrap_or_default();
    let text = row.optional_text(first + 2)?.unwrap_or_default();
    let action = FallbackAction::from_parts(&name, text).ok_or_else(|| {
        StoreError::Unavailable(format!("a queue's fallback action `{name}` is unknown"))
    })?;
    let after_secs = u32::try_from(after_secs).map_err(|_| {
        StoreError::Unavailable(format!("a queue's fallback wait {after_secs} is out of range"))
    })?;
    Ok(Some(Fallback { after_secs, action }))
}

/// A conversation's offer record (`FROM offers`).
pub(crate) const OFFER_COLUMNS: &str = "conversation_id, agent_id, expires_at_ms, passed, version";

pub(crate) fn offer(row: &dyn StoredRow) -> Result<Offer, StoreError> {
    Ok(Offer {
        conversation_id: row.text(0)?,
        agent_id: row.optional_text(1)?,
        expires_at_ms: row.integer(2)?,
        passed: row.list(3)?,
        version: row.integer(4)?,
    })
}

/// `enabled, tokens_valid_after_secs`, starting at `first`.
fn standing(row: &dyn StoredRow, first: usize) -> Result<Standing, StoreError> {
    Ok(Standing { enabled: row.flag(first)?, tokens_valid_after_secs: row.integer(first + 1)? })
}

pub(crate) const SIGNING_KEY_COLUMNS: &str = "kid, secret, created_at_ms";

pub(crate) fn signing_key(row: &dyn StoredRow) -> Result<SigningKey, StoreError> {
    Ok(SigningKey { kid: row.text(0)?, secret: row.bytes(1)?, created_at_ms: row.integer(2)? })
}

pub(crate) const IDENTITY_KEY_COLUMNS: &str =
    "kid, deployment_id, algorithm, material, created_at_ms";

pub(crate) fn identity_key(row: &dyn StoredRow) -> Result<IdentityKey, StoreError> {
    let algorithm = row.text(2)?;
    Ok(IdentityKey {
        kid: row.text(0)?,
        deployment_id: row.text(1)?,
        algorithm: IdentityAlgorithm::parse(&algorithm)
            .ok_or_else(|| row.bad(2, &format!("unknown algorithm `{algorithm}`")))?,
        material: row.bytes(3)?,
        created_at_ms: row.integer(4)?,
    })
}

/// Records a `jti` as used until its token expires by a guest session, unless it is recorded,
/// unexpired and another session's (or no session's): the one statement that decides a replay,
/// on both engines (`?1` deployment, `?2` jti, `?3` expiry, `?4` now, both ms, `?5` the guest
/// or NULL; PostgreSQL's placeholders are `pg_placeholders` of these). A conflicting row that
/// has expired is taken over, so a jti a builder reuses long after is not refused forever; one
/// the same guest recorded is taken again, so a retry whose answer was lost is answered as the
/// first use was (NULL equals nothing: a session a token opens never retries one). One row
/// changed means first use, or that guest's again.
pub(crate) const USE_JTI_SQL: &str = "INSERT INTO identity_jtis (deployment_id, jti, expires_at_ms, guest_id) \
     VALUES (?1, ?2, ?3, ?5) \
     ON CONFLICT (deployment_id, jti) DO UPDATE SET expires_at_ms = excluded.expires_at_ms, \
     guest_id = excluded.guest_id \
     WHERE identity_jtis.expires_at_ms < ?4 OR identity_jtis.guest_id = ?5";

/// Forgets a few expired jtis (`?1` now, ms), at each use: the table stays the size of the
/// tokens alive, and no single write deletes an unbounded number of rows.
pub(crate) const PRUNE_JTIS_SQL: &str = "DELETE FROM identity_jtis WHERE (deployment_id, jti) IN \
     (SELECT deployment_id, jti FROM identity_jtis WHERE expires_at_ms < ?1 LIMIT 16)";

/// Makes a guest a customer's (`?1` guest, `?2` external id, `?3` display name, `?4` email;
/// a NULL name or email keeps the one stored), unless it is another customer's already. One
/// row changed means it is now this customer's. An anonymous guest becomes verified by
/// identity token; one that was this customer's already keeps how it was verified.
pub(crate) const IDENTIFY_GUEST_SQL: &str = "UPDATE guests SET external_id = ?2, \
     verified_by = CASE WHEN external_id IS NULL THEN 'identityToken' ELSE verified_by END, \
     display_name = COALESCE(?3, display_name), email = COALESCE(?4, email) \
     WHERE id = ?1 AND (external_id IS NULL OR external_id = ?2)";

/// A statement written with SQLite's `?N` placeholders, in PostgreSQL's `$N`.
pub(crate) fn pg_placeholders(sql: &str) -> String {
    sql.replace('?', "$")
}

/// The delete of `Store::delete_account`, and the count that explains a refusal.
pub(crate) fn delete_account_sql(account: Account) -> (&'static str, &'static str) {
    match account {
        Account::Agent => (
            "DELETE FROM agents WHERE id = $1 AND NOT EXISTS \
             (SELECT 1 FROM conversations WHERE assigned_agent_id = $1 AND state <> 'closed')",
            "SELECT (SELECT count(*) FROM agents WHERE id = $1), \
             (SELECT count(*) FROM conversations WHERE assigned_agent_id = $1 AND state <> 'closed')",
        ),
        Account::Client => (
            "DELETE FROM clients WHERE id = $1 AND NOT EXISTS \
             (SELECT 1 FROM guests WHERE client_id = $1)",
            "SELECT (SELECT count(*) FROM clients WHERE id = $1), \
             (SELECT count(*) FROM guests WHERE client_id = $1)",
        ),
    }
}

/// A refused delete, from the count query's two columns: the record's rows, its uses.
pub(crate) fn deletion(exists: i64, uses: i64) -> Deletion {
    if exists == 0 {
        return Deletion::Unknown;
    }
    // Used meanwhile and released since: still refused, with no count to show.
    Deletion::InUse(u64::try_from(uses).unwrap_or(0))
}

/// The guest columns every conversation read embeds, with `$attributes`: how the backend reads
/// the attributes as JSON text (SQLite stores text, PostgreSQL JSONB, read as `::text`).
macro_rules! guest_public_columns {
    ($attributes:literal) => {
        concat!(
            "g.id, g.display_name, g.email, g.external_id, ",
            $attributes,
            ", g.created_at_ms, g.verified_by"
        )
    };
}
pub(crate) use guest_public_columns;

/// A guest's record: `guest_public_columns!`, then the rest.
macro_rules! guest_columns {
    ($attributes:literal) => {
        concat!(
            $crate::rows::guest_public_columns!($attributes),
            ", g.deployment_id, g.conversation_id, g.client_id, g.revoked, g.erased"
        )
    };
}
pub(crate) use guest_columns;

/// A conversation with its guest embedded (`guest_public_columns!`); with `CONVERSATION_FROM`.
macro_rules! conversation_columns {
    ($attributes:literal) => {
        concat!(
            "c.id, c.deployment_id, c.queue, c.state, c.assigned_agent_id, c.last_seq, c.created_at_ms, c.updated_at_ms, c.last_message, ",
            $crate::rows::guest_public_columns!($attributes)
        )
    };
}
pub(crate) use conversation_columns;

pub(crate) const CONVERSATION_FROM: &str = "conversations c JOIN guests g ON g.id = c.guest_id";

/// The cursor row of a customer's page (`Store::customer_conversations`): a second copy of
/// `CONVERSATION_FROM`, as `k` and `kg`.
pub(crate) const CONVERSATION_FROM_CURSOR: &str =
    "conversations k JOIN guests kg ON kg.id = k.guest_id";

/// How many columns `guest_public_columns!` has: the columns after them start here.
const GUEST_PUBLIC_COUNT: usize = 7;

/// The wire `Guest` from the columns of `guest_public_columns!`, starting at `first`.
fn wire_guest(row: &dyn StoredRow, first: usize) -> Result<Guest, StoreError> {
    Ok(Guest {
        id: row.text(first)?,
        display_name: row.optional_text(first + 1)?,
        email: row.optional_text(first + 2)?,
        external_id: row.optional_text(first + 3)?,
        attributes: json(&row.text(first + 4)?, row, first + 4)?,
        created_at_ms: row.integer(first + 5)?,
        verified_by: verification(row, first + 6)?,
    })
}

fn verification(row: &dyn StoredRow, column: usize) -> Result<Option<Verification>, StoreError> {
    match row.optional_text(column)? {
        None => Ok(None),
        Some(text) => Verification::parse(&text)
            .map(Some)
            .ok_or_else(|| row.bad(column, &format!("unknown verification `{text}`"))),
    }
}

pub(crate) fn guest(row: &dyn StoredRow) -> Result<GuestRecord, StoreError> {
    let rest = GUEST_PUBLIC_COUNT;
    Ok(GuestRecord {
        guest: wire_guest(row, 0)?,
        deployment_id: row.text(rest)?,
        conversation_id: row.text(rest + 1)?,
        client_id: row.text(rest + 2)?,
        revoked: row.flag(rest + 3)?,
        erased: row.flag(rest + 4)?,
    })
}

pub(crate) fn conversation(row: &dyn StoredRow) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: row.text(0)?,
        deployment_id: row.text(1)?,
        queue: row.text(2)?,
        state: state(row, 3)?,
        assigned_agent_id: row.optional_text(4)?,
        last_seq: seq(row, 5)?,
        created_at_ms: row.integer(6)?,
        updated_at_ms: row.integer(7)?,
        reopen_until_ms: None,
        last_message: last_message(row, 8)?,
        guest: wire_guest(row, 9)?,
        agent: None,
    })
}

/// The conversation's `lastMessage`: its stored `Preview` (JSON, NULL before the first entry
/// and after an erasure), with the `seq` and time of the row's last append (columns 5 and 7).
fn last_message(row: &dyn StoredRow, column: usize) -> Result<Option<LastMessage>, StoreError> {
    let Some(text) = row.optional_text(column)? else { return Ok(None) };
    let preview: Preview = json(&text, row, column)?;
    Ok(Some(LastMessage { seq: seq(row, 5)?, created_at_ms: row.integer(7)?, preview }))
}

/// The preview column's value after an append.
pub(crate) fn preview_to_sql(conversation: &Conversation) -> Option<String> {
    conversation.last_message.as_ref().map(|last| to_json(&last.preview))
}

/// A guest's record, its conversation and its deployment, from one statement (each read has a
/// fixed cost beside its rows: S2, BENCHMARKS.md): the conversation (with the guest's public
/// fields), the rest of the guest's record, the deployment. `conversation_columns` is the
/// backend's; the caller adds the `WHERE`.
pub(crate) fn guest_session_select(conversation_columns: &str) -> String {
    format!(
        "SELECT {conversation_columns}, g.deployment_id, g.conversation_id, g.client_id, g.revoked, g.erased, {DEPLOYMENT_COLUMNS} \
         FROM guests g JOIN conversations c ON c.id = g.conversation_id JOIN deployments d ON d.id = g.deployment_id"
    )
}

pub(crate) fn guest_session(row: &dyn StoredRow) -> Result<GuestSession, StoreError> {
    let conversation = conversation(row)?;
    // After the conversation's 9 columns and the guest's public ones.
    let rest = 9 + GUEST_PUBLIC_COUNT;
    let guest = GuestRecord {
        guest: conversation.guest.clone(),
        deployment_id: row.text(rest)?,
        conversation_id: row.text(rest + 1)?,
        client_id: row.text(rest + 2)?,
        revoked: row.flag(rest + 3)?,
        erased: row.flag(rest + 4)?,
    };
    Ok(GuestSession { guest, deployment: deployment_at(row, rest + 5)?, conversation })
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, client_message_id, sender_role, sender_id, \
     sender_display_name, text, event, created_at_ms, note, wrap_up, content, attachment, erased, reopened, fallback";
/// How many columns `MESSAGE_COLUMNS` names: a query reading columns after them starts there.
pub(crate) const MESSAGE_COLUMN_COUNT: usize = 17;

/// An attachment message's columns: the file as JSON, and its id and size on their own (for
/// the sweep's lookup and the quota's sum). All `None` for other messages.
pub(crate) struct AttachmentColumns {
    pub json: Option<String>,
    pub id: Option<String>,
    pub bytes: Option<i64>,
}

impl AttachmentColumns {
    pub(crate) fn of(message: &Message) -> AttachmentColumns {
        let file = message.attachment.as_ref();
        AttachmentColumns {
            json: file.map(|a| serde_json::to_string(a).expect("an attachment serializes")),
            id: file.map(|a| a.id.clone()),
            bytes: file.map(|a| i64::try_from(a.size).unwrap_or(i64::MAX)),
        }
    }
}

pub(crate) fn message(row: &dyn StoredRow) -> Result<Message, StoreError> {
    message_at(row, 0)
}

/// A message from the columns of `MESSAGE_COLUMNS`, starting at `first` (a page query may put
/// `last_seq` before them).
pub(crate) fn message_at(row: &dyn StoredRow, first: usize) -> Result<Message, StoreError> {
    let sender_id = row.text(first + 5)?;
    let mut sender_role = role(row, first + 4)?;
    // A bot's entries are stored as `agent` (migration 13 says why); its id tells them apart.
    if sender_role == Role::Agent && sender_id.starts_with(BOT_ID_PREFIX) {
        sender_role = Role::Bot;
    }
    let content = row.optional_text(first + 12)?;
    let mut message = Message {
        id: row.text(first)?,
        conversation_id: row.text(first + 1)?,
        seq: seq(row, first + 2)?,
        client_message_id: row.optional_text(first + 3)?,
        sender: Participant {
            role: sender_role,
            id: sender_id,
            display_name: row.optional_text(first + 6)?,
        },
        text: row.text(first + 7)?,
        event: optional_state(row, first + 8)?,
        content: content.map(|text| json(&text, row, first + 12)).transpose()?,
        created_at_ms: row.integer(first + 9)?,
        note: row.optional_text(first + 10)?,
        wrap_up: row.optional_text(first + 11)?,
        attachment: match row.optional_text(first + 13)? {
            Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
                StoreError::Unavailable(format!("a stored attachment does not parse: {e}"))
            })?),
            None => None,
        },
        erased: row.flag(first + 14)?,
        reopened: row.flag(first + 15)?,
        fallback: row.flag(first + 16)?,
    };
    // A system entry's `client_message_id` is the server's idempotency key, never shown.
    porch_core::store::hide_system_key(&mut message);
    Ok(message)
}

/// `bot_`: how a stored sender id names a bot.
const BOT_ID_PREFIX: &str = "bot_";

/// The `sender_role` column's value: a bot's entries are stored as `agent` (migration 13).
pub(crate) fn stored_role(role: Role) -> &'static str {
    match role {
        Role::Bot => Role::Agent.as_str(),
        other => other.as_str(),
    }
}

/// The `content` column's value: JSON, NULL when the entry carries none.
pub(crate) fn content_to_sql(content: Option<&porch_wire::bot::Content>) -> Option<String> {
    content.filter(|c| !c.is_empty()).map(to_json)
}

pub(crate) const BOT_COLUMNS: &str = "id, deployment_id, name, secret_hash, created_at_ms, enabled";

pub(crate) fn bot(row: &dyn StoredRow) -> Result<BotRecord, StoreError> {
    Ok(BotRecord {
        id: row.text(0)?,
        deployment_id: row.text(1)?,
        name: row.text(2)?,
        secret_hash: row.text(3)?,
        created_at_ms: row.integer(4)?,
        enabled: row.flag(5)?,
    })
}

pub(crate) const HANDOFF_COLUMNS: &str = "conversation_id, bot_id, queue, summary, at_ms";

pub(crate) fn handoff(row: &dyn StoredRow) -> Result<Handoff, StoreError> {
    Ok(Handoff {
        conversation_id: row.text(0)?,
        bot_id: row.text(1)?,
        queue: row.text(2)?,
        summary: row.text(3)?,
        at_ms: row.integer(4)?,
    })
}

pub(crate) const WEBHOOK_ENDPOINT_COLUMNS: &str = "id, deployment_id, url, event_types, secret, previous_secret, \
     previous_secret_until_ms, created_at_ms";

pub(crate) fn webhook_endpoint(row: &dyn StoredRow) -> Result<WebhookEndpoint, StoreError> {
    Ok(WebhookEndpoint {
        id: row.text(0)?,
        deployment_id: row.text(1)?,
        url: row.text(2)?,
        event_types: row.list(3)?,
        secret: row.text(4)?,
        previous_secret: row.optional_text(5)?,
        previous_secret_until_ms: row.integer(6)?,
        created_at_ms: row.integer(7)?,
    })
}

pub(crate) const DELIVERY_COLUMNS: &str = "endpoint_id, conversation_id, seq, event_type, agent_id, state, \
     attempts, next_attempt_at_ms, last_error, created_at_ms, queue";

pub(crate) fn delivery(row: &dyn StoredRow) -> Result<Delivery, StoreError> {
    let state_text = row.text(5)?;
    let attempts = row.integer(6)?;
    Ok(Delivery {
        endpoint_id: row.text(0)?,
        conversation_id: row.text(1)?,
        // `seq` 0 is the conversation's creation, so not `seq()`'s check of a log entry.
        seq: u64::try_from(row.integer(2)?).map_err(|_| row.bad(2, "negative sequence number"))?,
        event_type: row.text(3)?,
        agent_id: row.optional_text(4)?,
        state: DeliveryState::parse(&state_text)
            .ok_or_else(|| row.bad(5, &format!("unknown delivery state `{state_text}`")))?,
        attempts: u32::try_from(attempts)
            .map_err(|_| row.bad(6, &format!("attempts out of range: {attempts}")))?,
        next_attempt_at_ms: row.integer(7)?,
        last_error: row.optional_text(8)?,
        created_at_ms: row.integer(9)?,
        queue: row.optional_text(10)?,
    })
}

/// A failure's cause as kept with its delivery: at most `WEBHOOK_ERROR_CHARS_MAX` characters.
pub(crate) fn stored_error(finish: &Finish) -> Option<String> {
    match finish {
        Finish::Delivered => None,
        Finish::Retry { error, .. } | Finish::Dead { error } => {
            Some(error.chars().take(porch_core::limits::WEBHOOK_ERROR_CHARS_MAX).collect())
        }
    }
}

/// The columns of `canned_replies`, in the order `canned_reply` reads them.
pub(crate) const CANNED_REPLY_COLUMNS: &str = "deployment_id, shortcut, text, updated_at_ms";

pub(crate) fn canned_reply(row: &dyn StoredRow) -> Result<CannedReply, StoreError> {
    Ok(CannedReply {
        deployment_id: row.text(0)?,
        shortcut: row.text(1)?,
        text: row.text(2)?,
        updated_at_ms: row.integer(3)?,
    })
}

/// A guest's visitor context: `guests.context`, JSON text, or NULL when it gave none.
pub(crate) fn visitor_context(row: &dyn StoredRow) -> Result<Option<VisitorContext>, StoreError> {
    let Some(text) = row.optional_text(0)? else { return Ok(None) };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| row.bad(0, &format!("not a visitor context: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_column_count_counts_message_columns() {
        assert_eq!(super::MESSAGE_COLUMNS.split(',').count(), super::MESSAGE_COLUMN_COUNT);
    }
}
