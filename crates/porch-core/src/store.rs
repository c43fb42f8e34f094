//! The `Store` trait: everything Porch keeps, behind one small interface.
//!
//! The store is the only source of truth. Live fan-out (the hub, later a broker) only
//! speeds delivery up; a client that missed a live event gets it from the store on resume.
//!
//! Guarantees every implementation gives (the storage test suite checks them):
//! - `append` assigns `seq` = previous + 1 per conversation, gap-free, in commit order.
//! - `append` returns only after the entry is durable by the store's documented standard.
//! - An append whose `(conversation, sender, clientMessageId)` was stored before returns the
//!   stored message as `Duplicate` and writes nothing; the same id with another text is
//!   `StoreError::IdempotencyConflict`.
//! - A closed conversation takes no more appends.

use std::future::Future;
use std::pin::Pin;

use porch_wire::rest::{Conversation, ConversationState, Message, MessagePage, Participant};

use crate::model::{AgentRecord, ClientRecord, DeploymentRecord, GuestRecord};
use crate::token::SigningKey;

/// The future every store method returns. Boxed so `dyn Store` works; one allocation per call
/// is noise next to a database round trip.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What can go wrong in a store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot commit (disk full, database down). Retryable; nothing was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("clientMessageId was already used with a different text")]
    IdempotencyConflict,
    #[error("conversation {0} does not exist")]
    ConversationUnknown(String),
    #[error("conversation {0} is closed")]
    ConversationClosed(String),
    /// A unique name (agent, client, deployment) is taken.
    #[error("{0}")]
    NameTaken(String),
}

/// A new entry for a conversation's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendRequest {
    pub conversation_id: String,
    pub sender: Participant,
    /// Set for guest and agent messages, absent for system messages.
    pub client_message_id: Option<String>,
    pub text: String,
    /// A state change this entry records; the conversation row changes in the same commit.
    pub event: Option<ConversationState>,
    /// With `event: Assigned`, the agent it is assigned to.
    pub assign_agent_id: Option<String>,
    pub now_ms: i64,
}

/// What `append` did.
// Returned once per append and consumed at once; boxing would add an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// A new entry, durable, with the conversation as it is after it.
    Created { message: Message, conversation: Conversation },
    /// The `clientMessageId` was stored before; this is the original entry. Nothing was written.
    Duplicate { message: Message },
}

impl AppendOutcome {
    pub fn message(&self) -> &Message {
        match self {
            AppendOutcome::Created { message, .. } | AppendOutcome::Duplicate { message } => message,
        }
    }
}

/// Which part of a log to read. `after` pages forward, `before` backward; neither means the
/// latest page. Messages always come back in ascending `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub after_seq: Option<u64>,
    pub before_seq: Option<u64>,
    pub limit: u32,
}

/// Which conversations to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationFilter {
    pub queues: Vec<String>,
    /// Empty means every state.
    pub states: Vec<ConversationState>,
    pub limit: u32,
}

/// How durable an acknowledged write is, as the store is actually configured (read back from
/// the engine, not from Porch's config), so tests and `/readyz` can assert it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Durability {
    pub engine: &'static str,
    /// E.g. `journal_mode=wal synchronous=full`.
    pub settings: String,
    /// True when an acknowledged write survives power loss, not only a process crash.
    pub survives_power_loss: bool,
}

/// Everything Porch keeps. One implementation per backend (`porch-store`).
pub trait Store: Send + Sync + 'static {
    // Administration: the CLI and the first start use these.
    fn create_client(&self, client: ClientRecord) -> StoreFuture<'_, ()>;
    fn clients(&self) -> StoreFuture<'_, Vec<ClientRecord>>;
    fn client(&self, id: &str) -> StoreFuture<'_, Option<ClientRecord>>;
    fn create_deployment(&self, deployment: DeploymentRecord) -> StoreFuture<'_, ()>;
    fn deployments(&self) -> StoreFuture<'_, Vec<DeploymentRecord>>;
    fn deployment(&self, id: &str) -> StoreFuture<'_, Option<DeploymentRecord>>;
    fn create_agent(&self, agent: AgentRecord) -> StoreFuture<'_, ()>;
    fn agents(&self) -> StoreFuture<'_, Vec<AgentRecord>>;
    fn agent_by_name(&self, name: &str) -> StoreFuture<'_, Option<AgentRecord>>;
    fn signing_keys(&self) -> StoreFuture<'_, Vec<SigningKey>>;
    fn add_signing_key(&self, key: SigningKey) -> StoreFuture<'_, ()>;

    // Guests and conversations.
    /// Creates a guest and its conversation (state `waiting`, `last_seq` 0) in one commit.
    fn create_guest(&self, guest: GuestRecord, queue: String) -> StoreFuture<'_, Conversation>;
    fn guest(&self, id: &str) -> StoreFuture<'_, Option<GuestRecord>>;
    fn conversation(&self, id: &str) -> StoreFuture<'_, Option<Conversation>>;
    /// Newest first (by last activity).
    fn conversations(&self, filter: ConversationFilter) -> StoreFuture<'_, Vec<Conversation>>;
    fn append(&self, request: AppendRequest) -> StoreFuture<'_, AppendOutcome>;
    fn messages(&self, conversation_id: &str, page: PageRequest) -> StoreFuture<'_, MessagePage>;
    /// Records that `participant_id` read up to `seq`. Never moves backwards.
    fn mark_read(&self, conversation_id: &str, participant_id: &str, seq: u64) -> StoreFuture<'_, u64>;

    /// Revokes a guest: its tokens are refused from now on (`guest_revoked`). Returns false
    /// when no guest has this id.
    fn revoke_guest(&self, guest_id: &str) -> StoreFuture<'_, bool>;
    /// Enables or disables a deployment. Returns false when no deployment has this id.
    fn set_deployment_enabled(&self, deployment_id: &str, enabled: bool) -> StoreFuture<'_, bool>;

    fn durability(&self) -> StoreFuture<'_, Durability>;
}
