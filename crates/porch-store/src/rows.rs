//! Row ↔ record mapping, and turning SQLite errors into `StoreError`s.
//!
//! Every conversion from a stored value is checked: a row written by an older Porch, edited by
//! hand or damaged on disk becomes `StoreError::Unavailable` with the column named, never a
//! panic in the server.

use std::collections::BTreeMap;

use porch_core::model::{
    AgentRecord, ClientRecord, DeploymentRecord, GuestRecord, GuestSession, GuestStanding,
};
use porch_core::store::StoreError;
use porch_core::token::SigningKey;
use porch_wire::rest::{
    Conversation, ConversationState, Guest, Message, Notice, Participant, Role,
};
use rusqlite::Row;
use rusqlite::types::Type;

/// Adds what the store was doing to a SQLite error, so a log line says more than
/// "database is locked".
pub(crate) trait Context<T> {
    fn context(self, doing: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn context(self, doing: &str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Unavailable(format!("{doing}: {e}")))
    }
}

/// Sequence numbers are `u64` on the wire and `INTEGER` (i64) in SQLite. Values from callers
/// beyond i64 are clamped: no stored seq can be that large, so the clamped query means the same.
pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn conversion_error(column: usize, ty: Type, why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, ty, why.into())
}

fn get_seq(row: &Row<'_>, column: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(column)?;
    u64::try_from(value).map_err(|_| {
        conversion_error(column, Type::Integer, format!("negative sequence number {value}"))
    })
}

fn get_json<T: serde::de::DeserializeOwned>(row: &Row<'_>, column: usize) -> rusqlite::Result<T> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text)
        .map_err(|e| conversion_error(column, Type::Text, format!("invalid JSON: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Vec<String> and BTreeMap<String, String> cannot fail to serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn get_state(row: &Row<'_>, column: usize) -> rusqlite::Result<ConversationState> {
    let text: String = row.get(column)?;
    ConversationState::parse(&text)
        .ok_or_else(|| conversion_error(column, Type::Text, format!("unknown state `{text}`")))
}

fn get_optional_state(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<ConversationState>> {
    match row.get::<_, Option<String>>(column)? {
        None => Ok(None),
        Some(text) => ConversationState::parse(&text)
            .map(Some)
            .ok_or_else(|| conversion_error(column, Type::Text, format!("unknown event `{text}`"))),
    }
}

fn get_role(row: &Row<'_>, column: usize) -> rusqlite::Result<Role> {
    let text: String = row.get(column)?;
    match text.as_str() {
        "guest" => Ok(Role::Guest),
        "agent" => Ok(Role::Agent),
        "system" => Ok(Role::System),
        _ => Err(conversion_error(column, Type::Text, format!("unknown role `{text}`"))),
    }
}

pub(crate) const CLIENT_COLUMNS: &str = "id, name, secret_hash, scopes, created_at_ms";

pub(crate) fn client(row: &Row<'_>) -> rusqlite::Result<ClientRecord> {
    Ok(ClientRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        secret_hash: row.get(2)?,
        scopes: get_json(row, 3)?,
        created_at_ms: row.get(4)?,
    })
}

/// `FROM deployments d`.
pub(crate) const DEPLOYMENT_COLUMNS: &str = "d.id, d.name, d.origins, d.queue, d.guest_token_ttl_secs, d.enabled, d.created_at_ms, d.notice";

pub(crate) fn deployment(row: &Row<'_>) -> rusqlite::Result<DeploymentRecord> {
    deployment_at(row, 0)
}

/// A deployment from the columns of `DEPLOYMENT_COLUMNS`, starting at `first`.
fn deployment_at(row: &Row<'_>, first: usize) -> rusqlite::Result<DeploymentRecord> {
    let ttl_secs: i64 = row.get(first + 4)?;
    Ok(DeploymentRecord {
        id: row.get(first)?,
        name: row.get(first + 1)?,
        origins: get_json(row, first + 2)?,
        queue: row.get(first + 3)?,
        guest_token_ttl_secs: u64::try_from(ttl_secs).map_err(|_| {
            conversion_error(
                first + 4,
                Type::Integer,
                format!("negative token lifetime {ttl_secs}"),
            )
        })?,
        enabled: row.get(first + 5)?,
        created_at_ms: row.get(first + 6)?,
        notice: get_notice(row, first + 7)?,
    })
}

fn get_notice(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<Notice>> {
    row.get::<_, Option<String>>(column)?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| conversion_error(column, Type::Text, format!("invalid notice JSON: {e}")))
}

/// `FROM guests g` joined to its deployment `d` and conversation `c`.
pub(crate) const GUEST_STANDING_COLUMNS: &str =
    "g.id, g.revoked, g.deployment_id, d.enabled, d.notice, c.last_seq";

pub(crate) fn guest_standing(row: &Row<'_>) -> rusqlite::Result<(String, GuestStanding)> {
    let standing = GuestStanding {
        revoked: row.get(1)?,
        deployment_id: row.get(2)?,
        deployment_enabled: row.get(3)?,
        notice: get_notice(row, 4)?,
        last_seq: get_seq(row, 5)?,
    };
    Ok((row.get(0)?, standing))
}

pub(crate) const AGENT_COLUMNS: &str = "id, name, secret_hash, queues, created_at_ms";

pub(crate) fn agent(row: &Row<'_>) -> rusqlite::Result<AgentRecord> {
    Ok(AgentRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        secret_hash: row.get(2)?,
        queues: get_json(row, 3)?,
        created_at_ms: row.get(4)?,
    })
}

pub(crate) const SIGNING_KEY_COLUMNS: &str = "kid, secret, created_at_ms";

pub(crate) fn signing_key(row: &Row<'_>) -> rusqlite::Result<SigningKey> {
    Ok(SigningKey { kid: row.get(0)?, secret: row.get(1)?, created_at_ms: row.get(2)? })
}

/// The wire `Guest` from six consecutive columns starting at `first`, in the order of
/// `GUEST_COLUMNS`. Shared by guest reads and the conversation JOIN.
fn wire_guest(row: &Row<'_>, first: usize) -> rusqlite::Result<Guest> {
    let attributes: BTreeMap<String, String> = get_json(row, first + 4)?;
    Ok(Guest {
        id: row.get(first)?,
        display_name: row.get(first + 1)?,
        email: row.get(first + 2)?,
        external_id: row.get(first + 3)?,
        attributes,
        created_at_ms: row.get(first + 5)?,
    })
}

pub(crate) const GUEST_COLUMNS: &str = "g.id, g.display_name, g.email, g.external_id, g.attributes, g.created_at_ms, g.deployment_id, g.conversation_id, g.client_id, g.revoked";

pub(crate) fn guest(row: &Row<'_>) -> rusqlite::Result<GuestRecord> {
    Ok(GuestRecord {
        guest: wire_guest(row, 0)?,
        deployment_id: row.get(6)?,
        conversation_id: row.get(7)?,
        client_id: row.get(8)?,
        revoked: row.get(9)?,
    })
}

/// A conversation with its guest embedded; use with `CONVERSATION_FROM`.
pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.deployment_id, c.queue, c.state, c.assigned_agent_id, c.last_seq, \
     c.created_at_ms, c.updated_at_ms, g.id, g.display_name, g.email, g.external_id, g.attributes, g.created_at_ms";
pub(crate) const CONVERSATION_FROM: &str = "conversations c JOIN guests g ON g.id = c.guest_id";

pub(crate) fn conversation(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: row.get(0)?,
        deployment_id: row.get(1)?,
        queue: row.get(2)?,
        state: get_state(row, 3)?,
        assigned_agent_id: row.get(4)?,
        last_seq: get_seq(row, 5)?,
        created_at_ms: row.get(6)?,
        updated_at_ms: row.get(7)?,
        guest: wire_guest(row, 8)?,
    })
}

/// A guest's record, its conversation and its deployment, from one statement (each read
/// has a fixed cost beside its rows: S2, BENCHMARKS.md). Columns: the conversation (with the
/// guest's public fields), the rest of the guest's record, the deployment; `guest_session`
/// reads them. The caller adds the `WHERE`.
pub(crate) fn guest_session_select() -> String {
    format!(
        "SELECT {CONVERSATION_COLUMNS}, g.deployment_id, g.conversation_id, g.client_id, g.revoked, {DEPLOYMENT_COLUMNS} \
         FROM guests g JOIN conversations c ON c.id = g.conversation_id JOIN deployments d ON d.id = g.deployment_id"
    )
}

pub(crate) fn guest_session(row: &Row<'_>) -> rusqlite::Result<GuestSession> {
    let conversation = conversation(row)?;
    let guest = GuestRecord {
        guest: conversation.guest.clone(),
        deployment_id: row.get(14)?,
        conversation_id: row.get(15)?,
        client_id: row.get(16)?,
        revoked: row.get(17)?,
    };
    Ok(GuestSession { guest, deployment: deployment_at(row, 18)?, conversation })
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, client_message_id, sender_role, sender_id, \
     sender_display_name, text, event, created_at_ms";

pub(crate) fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        conversation_id: row.get(1)?,
        seq: get_seq(row, 2)?,
        client_message_id: row.get(3)?,
        sender: Participant { role: get_role(row, 4)?, id: row.get(5)?, display_name: row.get(6)? },
        text: row.get(7)?,
        event: get_optional_state(row, 8)?,
        created_at_ms: row.get(9)?,
    })
}
