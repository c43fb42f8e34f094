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
use crate::webhook::{Claim, Delivery, DeliveryState, Finish, WebhookEndpoint};

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

mod append;

pub use append::{
    AppendDecision, AppendOutcome, AppendRequest, Assignee, GuestIdentity, decide_append,
};

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
