//! The `Store` trait: everything Porch keeps, behind one small interface.
//!
//! The store is the only source of truth. Live fan-out (the hub in process, the broker
//! between nodes) only speeds delivery up; a client that missed a live event gets it from the store on resume.
//!
//! Guarantees every implementation gives (the storage test suite checks them):
//! - `append` assigns `seq` = previous + 1 per conversation, gap-free, in commit order.
//! - `append` returns only after the entry is durable by the store's documented standard.
//! - An append whose `(conversation, sender, clientMessageId)` was stored before returns the
//!   stored message as `Duplicate` and writes nothing; the same id with another text is
//!   `StoreError::IdempotencyConflict`.
//! - A closed conversation takes no more appends.
//! - Exactly one owner: an assignment takes effect only if the conversation is not held by an
//!   agent and the agent is below its capacity, both checked in the commit that assigns
//!   (`ConversationTaken`, `AgentAtCapacity`), whatever races it. An agent's load moves in
//!   the commit of every assignment and release (`docs/routing.md`).
//! - At most one live offer per conversation, whatever races it (`change_offer`).

use std::future::Future;
use std::pin::Pin;

use porch_wire::rest::{
    AgentStatus, Conversation, ConversationPage, ConversationState, Message, MessagePage, Notice,
    Participant, VisitorContext,
};

use crate::canned::CannedReply;
use crate::identity::IdentityKey;
use crate::model::{
    AgentProfile, AgentRecord, AgentRouting, BotRecord, ClientRecord, DeploymentRecord,
    DeploymentSettings, GuestRecord, GuestSession, GuestStanding, QueueSettings, SetUp,
};
use crate::offer::{Offer, OfferOutcome, OfferRequest};
use crate::token::SigningKey;
use crate::webhook::{Claim, Delivery, DeliveryState, EventType, Finish, WebhookEndpoint};

/// The future every store method returns. Boxed so `dyn Store` works; one allocation per call
/// is noise next to a database round trip.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What can go wrong in a store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot commit (disk full, database down). Retryable; nothing was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The disk under the store has no room for the write (SQLite's `SQLITE_FULL`). Retryable
    /// once space returns; nothing of the refused write was kept.
    #[error("store full: {0}")]
    Full(String),
    /// The connection broke after a write was sent and before its answer came (PostgreSQL's
    /// COMMIT lost on the way back), and asking again did not settle it in time: the write may
    /// or may not be stored. Retryable with the same idempotency key, which never stores it
    /// twice (docs/delivery.md, "Ambiguous commits").
    #[error("store outcome unknown: {0}")]
    Unconfirmed(String),
    #[error("clientMessageId was already used with a different text")]
    IdempotencyConflict,
    #[error("conversation {0} does not exist")]
    ConversationUnknown(String),
    #[error("conversation {0} is closed")]
    ConversationClosed(String),
    /// A unique name (agent, client, deployment) is taken.
    #[error("{0}")]
    NameTaken(String),
    /// An assignment of a conversation another agent (or the same one) already holds.
    #[error("conversation {conversation_id} is held by agent {agent_id}")]
    ConversationTaken { conversation_id: String, agent_id: String },
    /// An assignment to an agent that holds `capacity` conversations already.
    #[error("agent {agent_id} holds {capacity} conversations, its capacity")]
    AgentAtCapacity { agent_id: String, capacity: u32 },
    /// An assignment to an agent that does not exist.
    #[error("agent {0} does not exist")]
    AgentUnknown(String),
    /// An append that needs `AppendRequest::holder` to hold the conversation, which `holder`
    /// (another agent, or nobody) does.
    #[error("conversation {conversation_id} is not held by the acting agent")]
    NotHolder { conversation_id: String, holder: Option<String> },
    /// A reopen (`AppendRequest::reopen_closed_since_ms`) of a conversation that is open: another
    /// send reopened it first (or it was never closed). Nothing was written.
    #[error("conversation {0} is open; there is nothing to reopen")]
    NotClosed(String),
    /// An append expecting the conversation at a `last_seq` (`AppendRequest::expect_last_seq`)
    /// found another entry appended since: another node's fallback, or a new message. Nothing
    /// was written.
    #[error("conversation {0} changed since it was read")]
    Changed(String),
    /// An identifying append (`AppendRequest::identify`) for a guest another customer's
    /// `externalId` holds already: nothing was written.
    #[error("guest {0} belongs to another customer")]
    GuestOfAnotherCustomer(String),
}

/// A new entry for a conversation's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendRequest {
    pub conversation_id: String,
    pub sender: Participant,
    /// The idempotency key: a guest's, agent's or bot's `clientMessageId`, or the server's own
    /// for a system entry (`AppendRequest::system`, never shown to clients). A store that
    /// retries a write whose outcome it did not see (a connection lost during COMMIT) finds
    /// the entry by it instead of writing it twice.
    pub client_message_id: Option<String>,
    pub text: String,
    /// A state change this entry records; the conversation row changes in the same commit.
    pub event: Option<ConversationState>,
    /// With `event: Assigned`, the agent it is assigned to.
    pub assign: Option<Assignee>,
    /// A bot's quick replies and cards, or a guest's pick (stored with the entry).
    pub content: Option<porch_wire::bot::Content>,
    /// The agent that must hold the conversation for the append to commit (an agent's reply,
    /// transfer, unassign or close): anyone else holding it, or nobody, is `NotHolder`. With
    /// `event: Assigned` (a transfer to an agent), this holder lets it go to the assignee.
    pub holder: Option<String>,
    /// With `holder`: a conversation nobody holds (waiting) is allowed too (an agent closing a
    /// waiting conversation of its queue).
    pub or_unheld: bool,
    /// Moves the conversation to this queue (a transfer to a queue, a bot's hand-off).
    pub queue: Option<String>,
    /// Agents only: a transfer's internal note, kept with the entry.
    pub note: Option<String>,
    /// Agents only: a close's wrap-up code, kept with the entry.
    pub wrap_up: Option<String>,
    pub now_ms: i64,
    /// An attachment message's file, stored complete before the append (docs/attachments.md).
    pub attachment: Option<porch_wire::attachment::Attachment>,
    /// A reopen (docs/routing.md): the entry commits only on a conversation closed at or after
    /// this time (its last entry, the close, no older), which it takes to `event` (`waiting`,
    /// or `assigned` with `assign`). Closed before: `ConversationClosed` (the window has
    /// passed); not closed: `NotClosed` (another send reopened it first).
    pub reopen_closed_since_ms: Option<i64>,
    /// The entry commits only if the conversation's `last_seq` is still this (`Changed`
    /// otherwise): a queue's fallback, which every node's timer may fire, is written once.
    pub expect_last_seq: Option<u64>,
    /// Marks the entry as a queue's unanswered fallback (docs/routing.md).
    pub fallback: bool,
    /// The webhook event this entry is, when it is not the one its state change makes
    /// (`EventType::of_entry`): a transfer, a guest identified.
    pub webhook_event: Option<EventType>,
    /// The conversation's guest becomes this customer in the entry's commit (an anonymous
    /// session upgraded by an identity token, docs/identity.md): refused with
    /// `GuestOfAnotherCustomer`, and nothing written, when another customer has it already.
    /// Boxed: rare, and every append (SQLite's writer queue holds them) would carry its size.
    pub identify: Option<Box<GuestIdentity>>,
}

/// Who an identity token said the guest is (`AppendRequest::identify`), as
/// `Store::identify_guest` records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestIdentity {
    pub guest_id: String,
    pub external_id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

impl GuestIdentity {
    /// The guest as the store leaves it: the customer's id, a name and email when the token
    /// gave them, vouched for by the identity token unless it was known before.
    pub fn apply(&self, guest: &mut porch_wire::rest::Guest) {
        if guest.external_id.is_none() {
            guest.verified_by = Some(porch_wire::rest::Verification::IdentityToken);
        }
        guest.external_id = Some(self.external_id.clone());
        if let Some(name) = &self.display_name {
            guest.display_name = Some(name.clone());
        }
        if let Some(email) = &self.email {
            guest.email = Some(email.clone());
        }
    }
}

impl AppendRequest {
    /// An entry with nothing but its sender, text and state change; set the rest after.
    pub fn new(conversation_id: &str, sender: Participant, text: String, now_ms: i64) -> Self {
        AppendRequest {
            conversation_id: conversation_id.to_owned(),
            sender,
            client_message_id: None,
            text,
            event: None,
            assign: None,
            content: None,
            holder: None,
            or_unheld: false,
            queue: None,
            note: None,
            wrap_up: None,
            attachment: None,
            webhook_event: None,
            identify: None,
            now_ms,
            reopen_closed_since_ms: None,
            expect_last_seq: None,
            fallback: false,
        }
    }

    /// A system entry (sender `porch`) with its own fresh idempotency key: the key stays the
    /// same through every retry of this request, so a retry after an unknown outcome finds
    /// the entry instead of logging the event twice.
    pub fn system(conversation_id: &str, text: String, now_ms: i64) -> Self {
        let mut request = AppendRequest::new(conversation_id, system_participant(), text, now_ms);
        request.client_message_id = Some(crate::ids::new_id(crate::ids::prefix::SYSTEM_ENTRY));
        request
    }

    /// The webhook event the entry is: `webhook_event`, a reopen's, or the one of its state
    /// change.
    pub fn webhook_event(&self) -> EventType {
        match self.webhook_event {
            Some(event) => event,
            None if self.reopen_closed_since_ms.is_some() => EventType::ConversationReopened,
            None => EventType::of_entry(self.event),
        }
    }

    /// Text and nothing else (an agent's reply may name the holder it must be): no state change,
    /// assignment, unheld conversation, move, note, wrap-up, content, file, reopen, expected
    /// `last_seq`, fallback, event of its own or identification. Only such an entry may take a
    /// store's shortcut that writes before `decide_append` rules (PostgreSQL's one-statement
    /// append): every other field is a condition or a column the shortcut does not check or
    /// write.
    pub fn is_plain(&self) -> bool {
        self.event.is_none()
            && self.assign.is_none()
            && !self.or_unheld
            && self.queue.is_none()
            && self.note.is_none()
            && self.wrap_up.is_none()
            && self.content.is_none()
            && self.attachment.is_none()
            && self.reopen_closed_since_ms.is_none()
            && self.expect_last_seq.is_none()
            && !self.fallback
            && self.webhook_event.is_none()
            && self.identify.is_none()
    }
}

/// The agent an assignment names, with the capacity the caller resolved for it
/// (`model::capacity_of`): the store assigns only while the agent's load is below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignee {
    pub agent_id: String,
    pub capacity: u32,
}

/// What `append` did.
// Returned once per append and consumed at once; boxing would add an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// A new entry, durable, with the conversation as it is after it, and the agent whose
    /// load the same commit lowered (it let the conversation go); the agent whose load it
    /// raised is the conversation's after an `assigned` entry (`moved_agents`).
    Created { message: Message, conversation: Conversation, released: Option<String> },
    /// The `clientMessageId` was stored before; this is the original entry. Nothing was written.
    Duplicate { message: Message },
}

impl AppendOutcome {
    /// A new entry as clients see it: a system entry's idempotency key is the server's own
    /// and never shown (stores read it back the same way, `hide_system_key`).
    pub fn created(
        mut message: Message,
        conversation: Conversation,
        released: Option<String>,
    ) -> AppendOutcome {
        hide_system_key(&mut message);
        AppendOutcome::Created { message, conversation, released }
    }

    pub fn message(&self) -> &Message {
        match self {
            AppendOutcome::Created { message, .. } | AppendOutcome::Duplicate { message } => {
                message
            }
        }
    }

    /// The agents whose load this commit moved: the assignee of an `assigned` entry, and the
    /// agent that let the conversation go. Empty for nearly every entry (a plain message).
    pub fn moved_agents(&self) -> Vec<&str> {
        let AppendOutcome::Created { message, conversation, released } = self else {
            return Vec::new();
        };
        let claimed = (message.event == Some(ConversationState::Assigned))
            .then_some(conversation.assigned_agent_id.as_deref())
            .flatten();
        claimed.into_iter().chain(released.as_deref()).collect()
    }
}

/// Porch itself, the sender of system entries (state changes, notes).
pub fn system_participant() -> Participant {
    Participant { role: porch_wire::rest::Role::System, id: "porch".into(), display_name: None }
}

/// Clears a system entry's `clientMessageId`: it is the server's idempotency key, not
/// something a client chose, so clients never see it.
pub fn hide_system_key(message: &mut Message) {
    if message.sender.role == porch_wire::rest::Role::System {
        message.client_message_id = None;
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

/// Which conversations an agent's search reads (`Store::search_conversations`): those of
/// `queues` in `states` (empty: every state) whose guest's name or email, or the text of one of
/// whose messages, contains `text` (case-insensitive; `None` matches every one). Most recently
/// active first (ties by id), after the cursor; one page of at most `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationSearch {
    pub queues: Vec<String>,
    pub states: Vec<ConversationState>,
    pub text: Option<String>,
    /// The conversations after this one in that order (the last one of the previous page). One
    /// outside `queues` gives an empty page.
    pub before_conversation_id: Option<String>,
    pub limit: u32,
}

/// The `LIKE` pattern that finds `text` anywhere in a column: its `\`, `%` and `_` escaped
/// with `\` (both engines' statements say `ESCAPE '\'`), between two `%`.
pub fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Which of a customer's conversations to read. A customer is an `externalId` on a
/// deployment: every guest created with it, by any client. Newest first by creation time (ties
/// by id), which never changes, so paging with `before` neither skips nor repeats one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerPageRequest {
    pub deployment_id: String,
    pub external_id: String,
    /// The conversations after this one in that order (the last one of the previous page). One
    /// that is not this customer's gives an empty page.
    pub before_conversation_id: Option<String>,
    pub limit: u32,
}

/// One deployment's stored files (`Store::attachment_usage`): the files its messages name and
/// keep (deleted ones not counted), and their bytes. Previews and unfinished uploads are not
/// counted: they are small, or soon gone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachmentUsage {
    pub deployment_id: String,
    pub files: u64,
    pub bytes: u64,
}

/// What `Store::erase_customer` did: the guests it erased and revoked, their conversations,
/// and how many log entries became tombstones. Empty lists when the customer was erased
/// before and nothing new appeared since.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erasure {
    pub guest_ids: Vec<String>,
    pub conversation_ids: Vec<String>,
    pub messages: u64,
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

/// How busy the store is right now, for `/metrics`: read when scraped, never on a hot path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorePressure {
    /// Writes waiting for SQLite's writer thread (queued, or waiting for room in a full
    /// queue); `None` on PostgreSQL, which has no such queue.
    pub write_queue: Option<u64>,
    /// Transactions SQLite's writer has committed (or tried to) since the store opened, each a
    /// group of writes with one fsync; `None` on PostgreSQL.
    pub write_batches: Option<u64>,
    /// Connections of the pool reads (and, on PostgreSQL, writes) take.
    pub pool_size: u64,
    /// Of those, in use now.
    pub pool_in_use: u64,
    /// Callers waiting for one now.
    pub pool_waiting: u64,
}

/// Which kind of record holding a secret an operator acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    Agent,
    Client,
}

/// What `Store::delete_account` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// No agent or client has this id.
    Unknown,
    /// Kept: the agent holds this many open conversations, or the client created this many
    /// guests (whose records name it).
    InUse(u64),
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
    /// Replaces a deployment's origins, queue and token lifetime. Returns false when no
    /// deployment has this id.
    fn update_deployment(&self, id: &str, settings: DeploymentSettings) -> StoreFuture<'_, bool>;
    fn create_agent(&self, agent: AgentRecord) -> StoreFuture<'_, ()>;
    /// Creates the set-up's deployment, client and agent in one commit, unless a deployment
    /// with its name exists: then nothing is written and the answer is false. Of nodes
    /// starting together with `--demo`, one creates the demo and the others see it there.
    /// A client or agent name that is taken fails the whole set-up (`NameTaken`).
    fn create_set_up(&self, set_up: SetUp) -> StoreFuture<'_, bool>;
    fn agents(&self) -> StoreFuture<'_, Vec<AgentRecord>>;
    fn agent_by_name(&self, name: &str) -> StoreFuture<'_, Option<AgentRecord>>;
    /// One agent by id (a supervisor's `agent` frame names it).
    fn agent(&self, id: &str) -> StoreFuture<'_, Option<AgentRecord>>;
    /// Enables or disables an agent or a client (by id). False when none has this id.
    fn set_account_enabled(
        &self,
        account: Account,
        id: &str,
        enabled: bool,
    ) -> StoreFuture<'_, bool>;
    /// Replaces an agent's or a client's secret hash and refuses its tokens issued before
    /// `tokens_valid_after_secs`, in one commit. False when none has this id.
    fn reset_account_secret(
        &self,
        account: Account,
        id: &str,
        secret_hash: String,
        tokens_valid_after_secs: i64,
    ) -> StoreFuture<'_, bool>;
    /// Deletes an agent that holds no open conversation, or a client that created no guest,
    /// in one statement (the condition and the delete see the same rows).
    fn delete_account(&self, account: Account, id: &str) -> StoreFuture<'_, Deletion>;
    fn signing_keys(&self) -> StoreFuture<'_, Vec<SigningKey>>;
    fn add_signing_key(&self, key: SigningKey) -> StoreFuture<'_, ()>;
    /// Removes the key `kid` unless it is the newest (the one that signs), atomically: a key
    /// added meanwhile makes no difference to that. True when a key was removed. Whether its
    /// tokens have all expired is the caller's decision (`token::retire`).
    fn remove_signing_key(&self, kid: &str) -> StoreFuture<'_, bool>;
    /// Stores `key` only if the store holds no signing key yet, atomically: of nodes starting
    /// together on an empty store, exactly one key is kept. True when `key` was stored.
    fn add_first_signing_key(&self, key: SigningKey) -> StoreFuture<'_, bool>;

    // Identity keys and the identity tokens already used (issue 20, docs/identity.md).
    /// Registers an identity key. A `kid` in use (on any deployment) is `NameTaken`.
    fn add_identity_key(&self, key: IdentityKey) -> StoreFuture<'_, ()>;
    /// The identity keys of one deployment, oldest first.
    fn identity_keys(&self, deployment_id: &str) -> StoreFuture<'_, Vec<IdentityKey>>;
    /// Removes an identity key: tokens it signed are refused from now on. False when no key has
    /// this kid.
    fn remove_identity_key(&self, kid: &str) -> StoreFuture<'_, bool>;
    /// Records an identity token's `jti` as used on `deployment_id` until `expires_at_ms`, by
    /// guest session `guest_id` (an anonymous session it upgrades; `None` for one it opens).
    /// True on its first use, and when the same guest session used it (a retry whose answer was
    /// lost); false when it is recorded, not yet expired at `now_ms`, for another session or
    /// none (a replay). Atomic: of nodes presenting the same jti at once for different
    /// sessions, exactly one gets true.
    fn use_identity_jti(
        &self,
        deployment_id: &str,
        jti: &str,
        guest_id: Option<&str>,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'_, bool>;

    /// Makes a guest the customer `external_id` names (an anonymous session upgraded by an
    /// identity token), replacing its display name and email when given. Conditional, so the
    /// store arbitrates: false when no guest has this id or it already belongs to another
    /// customer (the same one again is true, nothing lost).
    fn identify_guest(
        &self,
        guest_id: &str,
        external_id: &str,
        display_name: Option<String>,
        email: Option<String>,
    ) -> StoreFuture<'_, bool>;

    // Guests and conversations.
    /// Creates a guest and its conversation (state `waiting`, `last_seq` 0) in one commit.
    fn create_guest(&self, guest: GuestRecord, queue: String) -> StoreFuture<'_, Conversation>;
    fn guest(&self, id: &str) -> StoreFuture<'_, Option<GuestRecord>>;
    /// A guest with its deployment and conversation, in one read (one snapshot): what every
    /// guest request checks first, and what a guest's session opens with.
    fn guest_session(&self, id: &str) -> StoreFuture<'_, Option<GuestSession>>;
    /// Guests' standings, their deployments' and their conversations' heads, for many guests in
    /// one read (one round trip on a networked store: every live guest needs one at every
    /// heartbeat, and a node batches them). Guests that are gone are left out.
    fn guest_standings(
        &self,
        guest_ids: Vec<String>,
    ) -> StoreFuture<'_, Vec<(String, GuestStanding)>>;
    fn conversation(&self, id: &str) -> StoreFuture<'_, Option<Conversation>>;
    /// Newest first (by last activity).
    fn conversations(&self, filter: ConversationFilter) -> StoreFuture<'_, Vec<Conversation>>;
    /// A page of an agent's search; see `ConversationSearch`.
    fn search_conversations(&self, search: ConversationSearch)
    -> StoreFuture<'_, ConversationPage>;
    /// A page of a customer's conversations; see `CustomerPageRequest`.
    fn customer_conversations(
        &self,
        request: CustomerPageRequest,
    ) -> StoreFuture<'_, ConversationPage>;
    fn append(&self, request: AppendRequest) -> StoreFuture<'_, AppendOutcome>;
    /// Appends a connection's pipelined sends (at most `PIPELINED_SENDS_MAX`) as one group:
    /// each is an `append` with its own outcome, in the order given, and those of one
    /// conversation get their `seq` in that order. On SQLite they share one commit; on
    /// PostgreSQL each conversation's go one after the other, the conversations at once. The
    /// outer error is the whole group's (nothing stored).
    fn append_group(
        &self,
        requests: Vec<AppendRequest>,
    ) -> StoreFuture<'_, Vec<Result<AppendOutcome, StoreError>>>;

    // Attachments (docs/attachments.md).
    /// Where this store keeps attachments' bytes: the data directory beside SQLite's file, the
    /// database itself on PostgreSQL (so every node reads what any node wrote).
    fn blobs(&self) -> std::sync::Arc<dyn crate::blob::BlobStore>;
    /// The message that carries attachment `attachment_id`, if one does.
    fn attachment_message(&self, attachment_id: &str) -> StoreFuture<'_, Option<Message>>;
    /// Which of `attachment_ids` some message names (the sweep keeps those files).
    fn attachments_named(&self, attachment_ids: Vec<String>) -> StoreFuture<'_, Vec<String>>;
    /// The bytes of every file in a conversation's log (its quota).
    fn attachment_bytes(&self, conversation_id: &str) -> StoreFuture<'_, u64>;
    /// Up to `limit` files whose bytes are due for deletion (docs/attachments.md, "Retention"):
    /// those of erased entries (their messages lost their file but still name it), and, with
    /// `closed_before_ms`, the kept files of conversations closed with no entry since then.
    fn attachments_due(
        &self,
        closed_before_ms: Option<i64>,
        limit: usize,
    ) -> StoreFuture<'_, Vec<String>>;
    /// Marks the messages of `attachment_ids` deleted, once their bytes are gone: a kept
    /// file's message says `deleted` and no longer counts towards quota or usage; an erased
    /// entry stops naming its file. Idempotent: how many messages changed.
    fn mark_attachments_deleted(&self, attachment_ids: Vec<String>) -> StoreFuture<'_, u64>;
    /// The files messages name and keep, and their bytes, per deployment (`porch attachments
    /// usage`, `/metrics`), by deployment id.
    fn attachment_usage(&self) -> StoreFuture<'_, Vec<AttachmentUsage>>;

    fn messages(&self, conversation_id: &str, page: PageRequest) -> StoreFuture<'_, MessagePage>;
    /// Records that `participant_id` read up to `seq`. Never moves backwards.
    fn mark_read(
        &self,
        conversation_id: &str,
        participant_id: &str,
        seq: u64,
    ) -> StoreFuture<'_, u64>;

    /// Revokes a guest: its tokens are refused from now on (`guest_revoked`). Returns false
    /// when no guest has this id.
    fn revoke_guest(&self, guest_id: &str) -> StoreFuture<'_, bool>;
    /// Erases the customer `external_id` names on `deployment_id` (docs/identity.md, "Erasure"),
    /// in one commit: each of its guests loses its name, email, attributes and `externalId`
    /// (kept only as `model::erased_key`) and is revoked and marked erased; in their
    /// conversations, the guest's entries and the system notes (entries without an event,
    /// which name the guest) keep their `seq`, sender role and time but lose their text and
    /// display name, marked `erased`; their outbox rows lose their last error (a receiver's
    /// answer may quote them). `None` when no guest of this deployment ever had this
    /// `external_id`, erased or not: an unknown customer.
    fn erase_customer(
        &self,
        deployment_id: &str,
        external_id: &str,
    ) -> StoreFuture<'_, Option<Erasure>>;
    /// Enables or disables a deployment. Returns false when no deployment has this id.
    fn set_deployment_enabled(&self, deployment_id: &str, enabled: bool) -> StoreFuture<'_, bool>;
    /// Sets (`Some`) or clears (`None`) a deployment's notice, replacing any other. Returns
    /// false when no deployment has this id.
    fn set_deployment_notice(
        &self,
        deployment_id: &str,
        notice: Option<Notice>,
    ) -> StoreFuture<'_, bool>;

    // Routing (docs/routing.md). Agents by id; the CLI resolves names first.
    /// An agent's routing state; `None` when no agent has this id.
    fn agent_routing(&self, agent_id: &str) -> StoreFuture<'_, Option<AgentRouting>>;
    /// Every agent serving `queue`, in offer order: the longest since its last assignment
    /// first (never assigned first of all), ties by id.
    fn queue_agents(&self, queue: &str) -> StoreFuture<'_, Vec<AgentRouting>>;
    /// Sets an agent's status. False when no agent has this id.
    fn set_agent_status(&self, agent_id: &str, status: AgentStatus) -> StoreFuture<'_, bool>;
    /// Sets (`Some`) or clears (`None`: its queues' default) an agent's own capacity. A
    /// capacity below the agent's load takes nothing away: it gets no more until it is below.
    /// False when no agent has this id.
    fn set_agent_capacity(&self, agent_id: &str, capacity: Option<u32>) -> StoreFuture<'_, bool>;
    /// Replaces the queues an agent serves. False when no agent has this id.
    fn set_agent_queues(&self, agent_id: &str, queues: Vec<String>) -> StoreFuture<'_, bool>;
    /// Makes an agent a supervisor (`true`) or a plain agent again. False when no agent has
    /// this id.
    fn set_agent_supervisor(&self, agent_id: &str, supervisor: bool) -> StoreFuture<'_, bool>;
    /// Replaces an agent's display name and avatar (checked by `AgentProfile::check`). False
    /// when no agent has this id.
    fn set_agent_profile(&self, agent_id: &str, profile: AgentProfile) -> StoreFuture<'_, bool>;
    /// One read of a queue for its guests' positions (`crate::queue`): the ids of its waiting
    /// conversations, oldest first (by start, ties by id), at most `waiting_max`; and its
    /// latest `waits_max` waits (start to first assignment) of conversations now in it that an
    /// agent held, most recently active first.
    fn queue_standing(
        &self,
        queue: &str,
        waiting_max: u32,
        waits_max: u32,
    ) -> StoreFuture<'_, crate::queue::QueueStanding>;
    /// Stores a queue's settings, replacing those it had.
    fn set_queue(&self, settings: QueueSettings) -> StoreFuture<'_, ()>;
    /// The stored settings of the queues named; a queue never configured is left out (its
    /// settings are `QueueSettings::unset`).
    fn queue_settings(&self, names: Vec<String>) -> StoreFuture<'_, Vec<QueueSettings>>;
    /// Every queue with an unanswered fallback (`QueueSettings::fallback`), by name.
    fn fallback_queues(&self) -> StoreFuture<'_, Vec<QueueSettings>>;
    /// The conversations of `queue` due for its fallback: waiting there since at or before
    /// `waiting_since_ms` (since the last entry that changed their state or queue, else since
    /// their creation) with no fallback entry after it. Oldest wait first, at most `limit`.
    fn due_fallbacks(
        &self,
        queue: &str,
        waiting_since_ms: i64,
        limit: u32,
    ) -> StoreFuture<'_, Vec<Conversation>>;

    /// Replaces a deployment's wrap-up codes (an empty list: a close needs none). False when no
    /// deployment has this id.
    fn set_wrap_up_codes(&self, deployment_id: &str, codes: Vec<String>) -> StoreFuture<'_, bool>;
    /// A deployment's wrap-up codes, in the order they were set.
    fn wrap_up_codes(&self, deployment_id: &str) -> StoreFuture<'_, Vec<String>>;
    /// Keeps where the guest's visitor was when its conversation started (set once, when the
    /// session is created). False when no guest has this id.
    fn set_guest_context(&self, guest_id: &str, context: VisitorContext) -> StoreFuture<'_, bool>;
    /// A guest's visitor context; `None` when it gave none (or no guest has this id).
    fn guest_context(&self, guest_id: &str) -> StoreFuture<'_, Option<VisitorContext>>;

    // Canned replies (`crate::canned`), per deployment.
    /// Stores a canned reply, replacing the deployment's reply of the same shortcut.
    fn set_canned_reply(&self, reply: CannedReply) -> StoreFuture<'_, ()>;
    /// A deployment's canned replies, by shortcut.
    fn canned_replies(&self, deployment_id: &str) -> StoreFuture<'_, Vec<CannedReply>>;
    /// Deletes one; false when the deployment has no reply of that shortcut.
    fn delete_canned_reply(&self, deployment_id: &str, shortcut: &str) -> StoreFuture<'_, bool>;

    // Offers (docs/routing.md; the rules are `offer::decide_offer`).
    /// Changes a conversation's offer record if the rules allow it, as a conditional write: of
    /// two racing changes, from any nodes, one is decided on what the other wrote.
    fn change_offer(&self, request: OfferRequest) -> StoreFuture<'_, OfferOutcome>;
    /// A conversation's offer record; `None` if it was never offered (or its offer cleared).
    fn offer_of(&self, conversation_id: &str) -> StoreFuture<'_, Option<Offer>>;
    /// The offer records of these conversations, in one read (a routing pass over a queue's
    /// waiting conversations); those never offered are absent. Any order.
    fn offers_of(&self, conversation_ids: Vec<String>) -> StoreFuture<'_, Vec<Offer>>;
    /// Every offer live at `now_ms` (a node recomputes its timers from these on start).
    fn live_offers(&self, now_ms: i64) -> StoreFuture<'_, Vec<Offer>>;
    /// Forgets a conversation's offer record (after its assignment: who passed starts over if
    /// it ever waits again).
    fn clear_offer(&self, conversation_id: &str) -> StoreFuture<'_, ()>;

    fn durability(&self) -> StoreFuture<'_, Durability>;

    /// Queue and pool use, for `/metrics`. Cheap and synchronous: no store round trip.
    fn pressure(&self) -> StorePressure;

    // Webhooks (`crate::webhook`). Every append and every new conversation enqueues one outbox
    // row per endpoint of its deployment subscribed to its event type, in the same commit.
    /// Stores a new endpoint. Its deployment must exist.
    fn create_webhook_endpoint(&self, endpoint: WebhookEndpoint) -> StoreFuture<'_, ()>;
    /// Every endpoint, oldest first.
    fn webhook_endpoints(&self) -> StoreFuture<'_, Vec<WebhookEndpoint>>;
    /// Removes an endpoint and its outbox rows. False when no endpoint has this id.
    fn delete_webhook_endpoint(&self, id: &str) -> StoreFuture<'_, bool>;
    /// Makes `secret` the endpoint's secret; the one it replaces keeps signing until
    /// `previous_until_ms`. False when no endpoint has this id.
    fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: String,
        previous_until_ms: i64,
    ) -> StoreFuture<'_, bool>;
    /// Leases up to `claim.limit` due rows of one endpoint to `claim.owner` until
    /// `claim.lease_until_ms`, atomically: a row leased to one node is taken by no other until
    /// the lease ends. A row is due when it is pending, its next attempt is not in the future,
    /// it is not leased, and no earlier pending row of its conversation waits for the same
    /// endpoint (per-conversation order). Oldest due first.
    fn claim_webhook_deliveries(&self, claim: Claim) -> StoreFuture<'_, Vec<Delivery>>;
    /// Records an attempt's outcome for a row leased to `owner` and ends the lease. False (and
    /// nothing written) when the row is gone or leased to another node since.
    fn finish_webhook_delivery(
        &self,
        delivery: &Delivery,
        owner: &str,
        finish: Finish,
    ) -> StoreFuture<'_, bool>;
    /// One endpoint's rows in `state`, oldest first, at most `limit`.
    fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        state: DeliveryState,
        limit: u32,
    ) -> StoreFuture<'_, Vec<Delivery>>;
    /// Makes an endpoint's dead rows pending again, due at `now_ms` with their attempts
    /// counted from zero and a new horizon from `now_ms`. Returns how many.
    fn replay_webhook_deliveries(&self, endpoint_id: &str, now_ms: i64) -> StoreFuture<'_, u64>;

    // Bots (docs/bots.md).
    /// Stores a new bot. Its deployment must exist.
    fn create_bot(&self, bot: BotRecord) -> StoreFuture<'_, ()>;
    /// Every bot, oldest first.
    fn bots(&self) -> StoreFuture<'_, Vec<BotRecord>>;
    fn bot(&self, id: &str) -> StoreFuture<'_, Option<BotRecord>>;
    /// Removes a bot; its tokens are refused from then on. False when no bot has this id.
    fn delete_bot(&self, id: &str) -> StoreFuture<'_, bool>;
    /// Enables or disables a bot (`BotRecord::enabled`). False when no bot has this id.
    fn set_bot_enabled(&self, id: &str, enabled: bool) -> StoreFuture<'_, bool>;
    /// Records (or replaces) a bot's hand-off summary of a conversation, written before the
    /// entry that moves the conversation, so agents never see it without its summary.
    fn set_handoff(&self, handoff: porch_wire::bot::Handoff) -> StoreFuture<'_, ()>;
    fn handoff(&self, conversation_id: &str) -> StoreFuture<'_, Option<porch_wire::bot::Handoff>>;
}

/// What an append does, decided by the rules every backend shares.
// Made and consumed once per append, inside the backend's transaction: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendDecision {
    /// The `clientMessageId` was stored before with the same text: answer with it, write nothing.
    Replay(Message),
    /// Write `message` and update the conversation row to `conversation`; `previous_seq` is the
    /// row's `last_seq` before, which the write may use as a guard. In the same commit, the
    /// agent of `claim` takes one more conversation (refused if that puts it over
    /// `claim.capacity`) and the agent of `release` one fewer.
    Write {
        message: Message,
        conversation: Conversation,
        previous_seq: u64,
        claim: Option<Assignee>,
        release: Option<String>,
    },
}

/// The rules of `Store::append`, in one place for every backend. The backend locks the
/// conversation, looks up a stored entry with the same sender and `clientMessageId` and, for
/// an assignment, the assignee's load (`None`: no such agent), calls this, and persists a
/// `Write` in the same transaction.
///
/// A retry of a stored id is answered before the closed check: the sender's first attempt was
/// accepted, and "closed" would read as "your message was not taken".
pub fn decide_append(
    request: AppendRequest,
    mut conversation: Conversation,
    stored: Option<Message>,
    message_id: String,
    assignee_load: Option<u32>,
) -> Result<AppendDecision, StoreError> {
    debug_assert_eq!(conversation.id, request.conversation_id, "the backend locked the right row");
    if let Some(stored) = stored {
        return if stored.text == request.text && stored.content == request.content {
            Ok(AppendDecision::Replay(stored))
        } else {
            Err(StoreError::IdempotencyConflict)
        };
    }
    check_reopen(&request, &conversation)?;
    let previous_seq = conversation.last_seq;
    if request.expect_last_seq.is_some_and(|expected| expected != previous_seq) {
        return Err(StoreError::Changed(request.conversation_id));
    }
    // Both backends store seq as a signed 64-bit integer.
    let seq =
        previous_seq.checked_add(1).filter(|s| i64::try_from(*s).is_ok()).ok_or_else(|| {
            StoreError::Unavailable(format!(
                "conversation {} has run out of sequence numbers",
                request.conversation_id
            ))
        })?;
    // Whoever holds the conversation lets it go when it leaves `assigned`.
    let mut holder = (conversation.state == ConversationState::Assigned)
        .then(|| conversation.assigned_agent_id.clone())
        .flatten();
    let allowed = |acting: &String| {
        holder.as_ref() == Some(acting) || (request.or_unheld && holder.is_none())
    };
    if request.holder.as_ref().is_some_and(|acting| !allowed(acting)) {
        return Err(StoreError::NotHolder { conversation_id: request.conversation_id, holder });
    }
    let (mut claim, mut release) = (None, None);
    match request.event {
        Some(ConversationState::Assigned) => {
            // A transfer: the acting holder lets go, the assignee claims, in one commit.
            let letting_go = holder.take_if(|h| request.holder.as_deref() == Some(h.as_str()));
            let assignee = check_assignment(&request, &conversation, holder, assignee_load)?;
            if letting_go.as_ref() == Some(&assignee.agent_id) {
                return Err(StoreError::ConversationTaken {
                    conversation_id: conversation.id.clone(),
                    agent_id: assignee.agent_id,
                });
            }
            conversation.state = ConversationState::Assigned;
            conversation.assigned_agent_id = Some(assignee.agent_id.clone());
            claim = Some(assignee);
            release = letting_go;
        }
        // Back in the queue: nobody holds it any more.
        Some(ConversationState::Waiting) => {
            conversation.state = ConversationState::Waiting;
            conversation.assigned_agent_id = None;
            release = holder;
        }
        // The agent stays named (who handled it), but no longer holds it.
        Some(ConversationState::Closed) => {
            conversation.state = ConversationState::Closed;
            release = holder;
        }
        None => {}
    }
    if let Some(queue) = request.queue {
        conversation.queue = queue;
    }
    conversation.last_seq = seq;
    // One clock for the log: an entry is never dated before the one it follows, so times and
    // `seq` agree even when nodes' clocks do not (a node whose clock lags writes the time of the
    // entry before). Lists sort by `updated_at_ms`, which moves with it.
    let at_ms = conversation.updated_at_ms.max(request.now_ms);
    conversation.updated_at_ms = at_ms;
    let message = Message {
        id: message_id,
        conversation_id: request.conversation_id,
        seq,
        client_message_id: request.client_message_id,
        sender: request.sender,
        text: request.text,
        event: request.event,
        content: request.content,
        note: request.note,
        wrap_up: request.wrap_up,
        created_at_ms: at_ms,
        attachment: request.attachment,
        erased: false,
        reopened: request.reopen_closed_since_ms.is_some(),
        fallback: request.fallback,
    };
    // Written with the entry, by the same commit: agents' lists read it with the row.
    conversation.last_message = Some(crate::preview::last_message(&message));
    Ok(AppendDecision::Write { message, conversation, previous_seq, claim, release })
}

/// A closed conversation takes no more appends, but a reopen within its window: that one
/// decides on the conversation as if open (nobody holds it; the agent stays named). A reopen
/// of an open conversation is `NotClosed`: another send reopened it first.
fn check_reopen(request: &AppendRequest, conversation: &Conversation) -> Result<(), StoreError> {
    let closed = conversation.state == ConversationState::Closed;
    match request.reopen_closed_since_ms {
        None if closed => Err(StoreError::ConversationClosed(request.conversation_id.clone())),
        None => Ok(()),
        Some(_) if !closed => Err(StoreError::NotClosed(request.conversation_id.clone())),
        Some(since_ms) if conversation.updated_at_ms < since_ms => {
            Err(StoreError::ConversationClosed(request.conversation_id.clone()))
        }
        // Closed holds nobody: an assignment below claims as for a waiting conversation.
        Some(_) => Ok(()),
    }
}

/// Exactly one owner: an assignment needs a conversation nobody holds and an existing agent
/// below its capacity.
fn check_assignment(
    request: &AppendRequest,
    conversation: &Conversation,
    holder: Option<String>,
    assignee_load: Option<u32>,
) -> Result<Assignee, StoreError> {
    let Some(assignee) = request.assign.clone() else {
        return Err(StoreError::Unavailable(format!(
            "an assignment of {} names no agent (a bug in the caller)",
            conversation.id
        )));
    };
    if let Some(agent_id) = holder {
        return Err(StoreError::ConversationTaken {
            conversation_id: conversation.id.clone(),
            agent_id,
        });
    }
    let Some(load) = assignee_load else {
        return Err(StoreError::AgentUnknown(assignee.agent_id));
    };
    if load >= assignee.capacity {
        return Err(StoreError::AgentAtCapacity {
            agent_id: assignee.agent_id,
            capacity: assignee.capacity,
        });
    }
    Ok(assignee)
}

#[cfg(test)]
mod tests {
    use porch_wire::rest::{Guest, Role};

    use super::*;

    fn conversation(state: ConversationState, last_seq: u64) -> Conversation {
        Conversation {
            id: "cnv_1".into(),
            deployment_id: "dep_1".into(),
            queue: "default".into(),
            state,
            guest: Guest::default(),
            assigned_agent_id: Some("agt_1".into()),
            last_seq,
            created_at_ms: 0,
            updated_at_ms: 500,
            reopen_until_ms: None,
            last_message: None,
            agent: None,
        }
    }

    fn request(text: &str, event: Option<ConversationState>, now_ms: i64) -> AppendRequest {
        AppendRequest {
            conversation_id: "cnv_1".into(),
            sender: Participant { role: Role::Guest, id: "gst_1".into(), display_name: None },
            client_message_id: Some("c1".into()),
            text: text.into(),
            event,
            assign: (event == Some(ConversationState::Assigned))
                .then(|| Assignee { agent_id: "agt_2".into(), capacity: 2 }),
            content: None,
            holder: None,
            or_unheld: false,
            queue: None,
            note: None,
            wrap_up: None,
            now_ms,
            attachment: None,
            reopen_closed_since_ms: None,
            expect_last_seq: None,
            fallback: false,
            webhook_event: None,
            identify: None,
        }
    }

    #[test]
    fn only_the_holder_acts_when_a_holder_is_required() {
        let held = conversation(ConversationState::Assigned, 3);
        let mut asked = request("x", Some(ConversationState::Waiting), 900);
        asked.holder = Some("agt_9".into());
        let refused = decide_append(asked.clone(), held.clone(), None, "m".into(), None);
        assert_eq!(
            refused,
            Err(StoreError::NotHolder {
                conversation_id: "cnv_1".into(),
                holder: Some("agt_1".into())
            }),
            "another agent's conversation is not acted on"
        );
        asked.holder = Some("agt_1".into());
        asked.queue = Some("billing".into());
        let decided = decide_append(asked, held, None, "m".into(), None).unwrap();
        assert_eq!(moves(&decided), (None, Some("agt_1")), "an unassign releases its holder");
        let (_, after, _) = write(decided);
        assert_eq!((after.state, after.queue.as_str()), (ConversationState::Waiting, "billing"));
    }

    #[test]
    fn a_transfer_to_an_agent_moves_the_load_in_one_write() {
        let held = conversation(ConversationState::Assigned, 3);
        let mut asked = request("x", Some(ConversationState::Assigned), 900);
        asked.holder = Some("agt_1".into());
        asked.note = Some("VIP".into());
        let decided = decide_append(asked.clone(), held.clone(), None, "m".into(), Some(0));
        let decided = decided.unwrap();
        assert_eq!(moves(&decided), (Some("agt_2"), Some("agt_1")));
        let (message, after, _) = write(decided);
        assert_eq!(after.assigned_agent_id.as_deref(), Some("agt_2"));
        assert_eq!(message.note.as_deref(), Some("VIP"));
        // What the commit returns names both agents whose load moved, for supervisors.
        let outcome = AppendOutcome::created(message, after, Some("agt_1".into()));
        assert_eq!(outcome.moved_agents(), vec!["agt_2", "agt_1"]);
        let full = decide_append(asked.clone(), held.clone(), None, "m".into(), Some(2));
        assert!(matches!(full, Err(StoreError::AgentAtCapacity { .. })), "{full:?}");
        asked.assign = Some(Assignee { agent_id: "agt_1".into(), capacity: 2 });
        let to_self = decide_append(asked, held, None, "m".into(), Some(0));
        assert!(matches!(to_self, Err(StoreError::ConversationTaken { .. })), "{to_self:?}");
    }

    fn write(decision: AppendDecision) -> (Message, Conversation, u64) {
        match decision {
            AppendDecision::Write { message, conversation, previous_seq, .. } => {
                (message, conversation, previous_seq)
            }
            other => panic!("expected a write, got {other:?}"),
        }
    }

    /// The agents a write claims and releases.
    fn moves(decision: &AppendDecision) -> (Option<&str>, Option<&str>) {
        match decision {
            AppendDecision::Write { claim, release, .. } => {
                (claim.as_ref().map(|c| c.agent_id.as_str()), release.as_deref())
            }
            other => panic!("expected a write, got {other:?}"),
        }
    }

    fn decide(
        event: Option<ConversationState>,
        conversation: Conversation,
        assignee_load: Option<u32>,
    ) -> Result<AppendDecision, StoreError> {
        decide_append(request("x", event, 900), conversation, None, "m".into(), assignee_load)
    }

    fn unheld(state: ConversationState) -> Conversation {
        Conversation { assigned_agent_id: None, ..conversation(state, 3) }
    }

    #[test]
    fn an_assignment_needs_a_conversation_nobody_holds() {
        let held = conversation(ConversationState::Assigned, 3);
        assert_eq!(
            decide(Some(ConversationState::Assigned), held, Some(0)),
            Err(StoreError::ConversationTaken {
                conversation_id: "cnv_1".into(),
                agent_id: "agt_1".into()
            }),
            "another agent's conversation is not taken from it"
        );
        let mine = Conversation {
            assigned_agent_id: Some("agt_2".into()),
            ..conversation(ConversationState::Assigned, 3)
        };
        assert!(
            matches!(
                decide(Some(ConversationState::Assigned), mine, Some(1)),
                Err(StoreError::ConversationTaken { .. })
            ),
            "nor assigned twice to the same one (its load would count it twice)"
        );
        let taken =
            decide(Some(ConversationState::Assigned), unheld(ConversationState::Waiting), Some(1))
                .unwrap();
        assert_eq!(moves(&taken), (Some("agt_2"), None));
        // A closed conversation that once had an agent is closed, not taken.
        assert_eq!(
            decide(
                Some(ConversationState::Assigned),
                conversation(ConversationState::Closed, 3),
                Some(0)
            ),
            Err(StoreError::ConversationClosed("cnv_1".into()))
        );
    }

    #[test]
    fn an_assignment_needs_an_agent_below_its_capacity() {
        let waiting = unheld(ConversationState::Waiting);
        assert_eq!(
            decide(Some(ConversationState::Assigned), waiting.clone(), Some(2)),
            Err(StoreError::AgentAtCapacity { agent_id: "agt_2".into(), capacity: 2 })
        );
        assert!(matches!(
            decide(Some(ConversationState::Assigned), waiting.clone(), Some(7)),
            Err(StoreError::AgentAtCapacity { .. })
        ));
        assert_eq!(
            decide(Some(ConversationState::Assigned), waiting.clone(), None),
            Err(StoreError::AgentUnknown("agt_2".into()))
        );
        let mut nameless = request("x", Some(ConversationState::Assigned), 900);
        nameless.assign = None;
        assert!(matches!(
            decide_append(nameless, waiting, None, "m".into(), Some(0)),
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn leaving_assigned_releases_the_holder_and_nothing_else_does() {
        let held = conversation(ConversationState::Assigned, 3);
        let closed = decide(Some(ConversationState::Closed), held.clone(), None).unwrap();
        assert_eq!(moves(&closed), (None, Some("agt_1")));
        assert_eq!(
            write(closed).1.assigned_agent_id.as_deref(),
            Some("agt_1"),
            "a closed conversation still names who handled it"
        );
        let back = decide(Some(ConversationState::Waiting), held.clone(), None).unwrap();
        assert_eq!(moves(&back), (None, Some("agt_1")));
        assert_eq!(
            moves(&decide(None, held, None).unwrap()),
            (None, None),
            "a message moves nobody"
        );
        let waiting = unheld(ConversationState::Waiting);
        assert_eq!(
            moves(&decide(Some(ConversationState::Closed), waiting.clone(), None).unwrap()),
            (None, None)
        );
        assert_eq!(
            moves(&decide(Some(ConversationState::Waiting), waiting, None).unwrap()),
            (None, None)
        );
    }

    #[test]
    fn appends_take_the_next_seq_and_apply_their_event() {
        let open = conversation(ConversationState::Waiting, 7);
        let (message, after, previous) = write(
            decide_append(request("hi", None, 900), open.clone(), None, "msg_1".into(), None)
                .unwrap(),
        );
        assert_eq!((message.seq, previous, after.last_seq, after.updated_at_ms), (8, 7, 8, 900));
        let (_, assigned, _) = write(
            decide_append(
                request("x", Some(ConversationState::Assigned), 900),
                open.clone(),
                None,
                "m".into(),
                Some(0),
            )
            .unwrap(),
        );
        assert_eq!(
            (assigned.state, assigned.assigned_agent_id.as_deref()),
            (ConversationState::Assigned, Some("agt_2"))
        );
        let (_, back, _) = write(
            decide_append(
                request("x", Some(ConversationState::Waiting), 900),
                open.clone(),
                None,
                "m".into(),
                None,
            )
            .unwrap(),
        );
        assert_eq!(back.assigned_agent_id, None, "back in the queue, nobody holds it");
        let (_, late, _) =
            write(decide_append(request("x", None, 100), open, None, "m".into(), None).unwrap());
        assert_eq!(
            late.updated_at_ms, 500,
            "a clock stepping back does not move a conversation down"
        );
    }

    #[test]
    fn a_reopen_takes_a_conversation_closed_within_its_window_and_nothing_else() {
        // Closed at 500 (its last entry), naming agt_1, who handled it.
        let closed = conversation(ConversationState::Closed, 3);
        let mut back = request("x", Some(ConversationState::Assigned), 900);
        back.client_message_id = None;
        back.reopen_closed_since_ms = Some(500);
        let decided = decide_append(back.clone(), closed.clone(), None, "m".into(), Some(0));
        let decided = decided.unwrap();
        assert_eq!(moves(&decided), (Some("agt_2"), None), "closed holds nobody to release");
        let (message, after, _) = write(decided);
        assert!(message.reopened);
        assert_eq!((after.state, after.last_seq), (ConversationState::Assigned, 4));
        let mut queued = back.clone();
        (queued.event, queued.assign) = (Some(ConversationState::Waiting), None);
        let (_, after, _) =
            write(decide_append(queued, closed.clone(), None, "m".into(), None).unwrap());
        assert_eq!(after.state, ConversationState::Waiting);
        back.reopen_closed_since_ms = Some(501);
        assert_eq!(
            decide_append(back.clone(), closed, None, "m".into(), Some(0)),
            Err(StoreError::ConversationClosed("cnv_1".into())),
            "closed before the window: not reopened"
        );
        back.reopen_closed_since_ms = Some(0);
        assert_eq!(
            decide_append(back, unheld(ConversationState::Waiting), None, "m".into(), Some(0)),
            Err(StoreError::NotClosed("cnv_1".into())),
            "of two sends reopening at once, the second finds it open"
        );
    }

    #[test]
    fn retries_are_answered_before_anything_else() {
        let closed = conversation(ConversationState::Closed, 3);
        let stored = write(
            decide_append(
                request("hi", None, 1),
                conversation(ConversationState::Waiting, 2),
                None,
                "msg_1".into(),
                None,
            )
            .unwrap(),
        )
        .0;
        let replay = decide_append(
            request("hi", None, 2),
            closed.clone(),
            Some(stored.clone()),
            "unused".into(),
            None,
        )
        .unwrap();
        assert_eq!(
            replay,
            AppendDecision::Replay(stored.clone()),
            "a retry learns it was taken, even once closed"
        );
        let conflict = decide_append(
            request("other", None, 2),
            closed.clone(),
            Some(stored),
            "unused".into(),
            None,
        );
        assert_eq!(conflict, Err(StoreError::IdempotencyConflict));
        let refused = decide_append(request("new", None, 2), closed, None, "m".into(), None);
        assert_eq!(refused, Err(StoreError::ConversationClosed("cnv_1".into())));
        let full = decide_append(
            request("x", None, 2),
            conversation(ConversationState::Waiting, i64::MAX as u64),
            None,
            "m".into(),
            None,
        );
        assert!(
            matches!(full, Err(StoreError::Unavailable(_))),
            "seq stays a signed 64-bit integer"
        );
    }
}
