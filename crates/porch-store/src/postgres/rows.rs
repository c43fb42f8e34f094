//! Row ↔ record mapping, and turning PostgreSQL errors into `StoreError`s.
//!
//! As in the SQLite store, every conversion from a stored value is checked: a damaged or
//! hand-edited row becomes `StoreError::Unavailable` naming the column, never a panic.

use std::collections::BTreeMap;

use porch_core::model::{
    AgentRecord, ClientRecord, DeploymentRecord, GuestRecord, GuestSession, GuestStanding,
};
use porch_core::store::StoreError;
use porch_core::token::SigningKey;
use porch_wire::rest::{
    Conversation, ConversationState, Guest, Message, Notice, Participant, Role,
};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;

/// The whole story of an error. tokio-postgres' own `Display` says only "db error" or
/// "error connecting to server"; the server's message and the IO cause are in the details.
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Adds what the store was doing to an error. Every database error is `Unavailable`: the
/// transaction it happened in was rolled back, so nothing was acknowledged.
pub(crate) trait Context<T> {
    fn context(self, doing: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, tokio_postgres::Error> {
    fn context(self, doing: &str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Unavailable(format!("{doing}: {}", describe(&e))))
    }
}

/// True when `error` is a unique violation of the named constraint or index.
pub(crate) fn violates(error: &tokio_postgres::Error, constraint: &str) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && error.as_db_error().and_then(|db| db.constraint()) == Some(constraint)
}

/// Sequence numbers are `u64` on the wire and `BIGINT` here. Larger values from callers are
/// clamped: no stored seq can be that large, so the clamped query means the same.
pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn bad_column(row: &Row, column: usize, why: &str) -> StoreError {
    let name = row.columns().get(column).map_or("?", |c| c.name());
    StoreError::Unavailable(format!("stored column `{name}` is unreadable: {why}"))
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, column: usize) -> Result<T, StoreError> {
    row.try_get(column).map_err(|e| bad_column(row, column, &describe(&e)))
}

pub(crate) fn get_seq(row: &Row, column: usize) -> Result<u64, StoreError> {
    let value: i64 = get(row, column)?;
    u64::try_from(value)
        .map_err(|_| bad_column(row, column, &format!("negative sequence number {value}")))
}

fn get_state(row: &Row, column: usize) -> Result<ConversationState, StoreError> {
    let text: &str = get(row, column)?;
    ConversationState::parse(text)
        .ok_or_else(|| bad_column(row, column, &format!("unknown state `{text}`")))
}

fn get_optional_state(row: &Row, column: usize) -> Result<Option<ConversationState>, StoreError> {
    get::<Option<&str>>(row, column)?
        .map(|text| {
            ConversationState::parse(text)
                .ok_or_else(|| bad_column(row, column, &format!("unknown event `{text}`")))
        })
        .transpose()
}

fn get_role(row: &Row, column: usize) -> Result<Role, StoreError> {
    match get::<&str>(row, column)? {
        "guest" => Ok(Role::Guest),
        "agent" => Ok(Role::Agent),
        "system" => Ok(Role::System),
        other => Err(bad_column(row, column, &format!("unknown role `{other}`"))),
    }
}

/// Guest attributes are JSONB, read as text (`::text`) so no JSON feature of the driver is
/// needed; serde checks the shape.
fn get_attributes(row: &Row, column: usize) -> Result<BTreeMap<String, String>, StoreError> {
    let text: &str = get(row, column)?;
    serde_json::from_str(text)
        .map_err(|e| bad_column(row, column, &format!("invalid attributes: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // A BTreeMap<String, String> cannot fail to serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) const CLIENT_COLUMNS: &str = "id, name, secret_hash, scopes, created_at_ms";

pub(crate) fn client(row: &Row) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        id: get(row, 0)?,
        name: get(row, 1)?,
        secret_hash: get(row, 2)?,
        scopes: get(row, 3)?,
        created_at_ms: get(row, 4)?,
    })
}

/// `FROM deployments d`.
pub(crate) const DEPLOYMENT_COLUMNS: &str = "d.id, d.name, d.origins, d.queue, d.guest_token_ttl_secs, d.enabled, d.created_at_ms, d.notice";

pub(crate) fn deployment(row: &Row) -> Result<DeploymentRecord, StoreError> {
    deployment_at(row, 0)
}

/// A deployment from the columns of `DEPLOYMENT_COLUMNS`, starting at `first`.
fn deployment_at(row: &Row, first: usize) -> Result<DeploymentRecord, StoreError> {
    let ttl_secs: i64 = get(row, first + 4)?;
    Ok(DeploymentRecord {
        id: get(row, first)?,
        name: get(row, first + 1)?,
        origins: get(row, first + 2)?,
        queue: get(row, first + 3)?,
        guest_token_ttl_secs: u64::try_from(ttl_secs).map_err(|_| {
            bad_column(row, first + 4, &format!("negative token lifetime {ttl_secs}"))
        })?,
        enabled: get(row, first + 5)?,
        created_at_ms: get(row, first + 6)?,
        notice: get_notice(row, first + 7)?,
    })
}

fn get_notice(row: &Row, column: usize) -> Result<Option<Notice>, StoreError> {
    get::<Option<&str>>(row, column)?
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| bad_column(row, column, &format!("invalid notice JSON: {e}")))
}

/// `FROM guests g` joined to its deployment `d` and conversation `c`.
pub(crate) const GUEST_STANDING_COLUMNS: &str =
    "g.id, g.revoked, g.deployment_id, d.enabled, d.notice, c.last_seq";

pub(crate) fn guest_standing(row: &Row) -> Result<(String, GuestStanding), StoreError> {
    let standing = GuestStanding {
        revoked: get(row, 1)?,
        deployment_id: get(row, 2)?,
        deployment_enabled: get(row, 3)?,
        notice: get_notice(row, 4)?,
        last_seq: get_seq(row, 5)?,
    };
    Ok((get(row, 0)?, standing))
}

pub(crate) const AGENT_COLUMNS: &str = "id, name, secret_hash, queues, created_at_ms";

pub(crate) fn agent(row: &Row) -> Result<AgentRecord, StoreError> {
    Ok(AgentRecord {
        id: get(row, 0)?,
        name: get(row, 1)?,
        secret_hash: get(row, 2)?,
        queues: get(row, 3)?,
        created_at_ms: get(row, 4)?,
    })
}

pub(crate) const SIGNING_KEY_COLUMNS: &str = "kid, secret, created_at_ms";

pub(crate) fn signing_key(row: &Row) -> Result<SigningKey, StoreError> {
    Ok(SigningKey { kid: get(row, 0)?, secret: get(row, 1)?, created_at_ms: get(row, 2)? })
}

/// The wire `Guest` from six consecutive columns starting at `first`, in the order of
/// `GUEST_COLUMNS`. Shared by guest reads and the conversation JOIN.
fn wire_guest(row: &Row, first: usize) -> Result<Guest, StoreError> {
    Ok(Guest {
        id: get(row, first)?,
        display_name: get(row, first + 1)?,
        email: get(row, first + 2)?,
        external_id: get(row, first + 3)?,
        attributes: get_attributes(row, first + 4)?,
        created_at_ms: get(row, first + 5)?,
    })
}

pub(crate) const GUEST_COLUMNS: &str = "g.id, g.display_name, g.email, g.external_id, g.attributes::text, g.created_at_ms, \
     g.deployment_id, g.conversation_id, g.client_id, g.revoked";

pub(crate) fn guest(row: &Row) -> Result<GuestRecord, StoreError> {
    Ok(GuestRecord {
        guest: wire_guest(row, 0)?,
        deployment_id: get(row, 6)?,
        conversation_id: get(row, 7)?,
        client_id: get(row, 8)?,
        revoked: get(row, 9)?,
    })
}

/// A conversation with its guest embedded; use with `CONVERSATION_FROM`.
pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.deployment_id, c.queue, c.state, c.assigned_agent_id, c.last_seq, \
     c.created_at_ms, c.updated_at_ms, g.id, g.display_name, g.email, g.external_id, g.attributes::text, g.created_at_ms";
pub(crate) const CONVERSATION_FROM: &str = "conversations c JOIN guests g ON g.id = c.guest_id";

pub(crate) fn conversation(row: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: get(row, 0)?,
        deployment_id: get(row, 1)?,
        queue: get(row, 2)?,
        state: get_state(row, 3)?,
        assigned_agent_id: get(row, 4)?,
        last_seq: get_seq(row, 5)?,
        created_at_ms: get(row, 6)?,
        updated_at_ms: get(row, 7)?,
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

pub(crate) fn guest_session(row: &Row) -> Result<GuestSession, StoreError> {
    let conversation = conversation(row)?;
    let guest = GuestRecord {
        guest: conversation.guest.clone(),
        deployment_id: get(row, 14)?,
        conversation_id: get(row, 15)?,
        client_id: get(row, 16)?,
        revoked: get(row, 17)?,
    };
    Ok(GuestSession { guest, deployment: deployment_at(row, 18)?, conversation })
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, client_message_id, sender_role, sender_id, \
     sender_display_name, text, event, created_at_ms";

/// A message from the columns of `MESSAGE_COLUMNS`, starting at `first` (the page query puts
/// `last_seq` before them).
pub(crate) fn message_at(row: &Row, first: usize) -> Result<Message, StoreError> {
    Ok(Message {
        id: get(row, first)?,
        conversation_id: get(row, first + 1)?,
        seq: get_seq(row, first + 2)?,
        client_message_id: get(row, first + 3)?,
        sender: Participant {
            role: get_role(row, first + 4)?,
            id: get(row, first + 5)?,
            display_name: get(row, first + 6)?,
        },
        text: get(row, first + 7)?,
        event: get_optional_state(row, first + 8)?,
        created_at_ms: get(row, first + 9)?,
    })
}

pub(crate) fn message(row: &Row) -> Result<Message, StoreError> {
    message_at(row, 0)
}
