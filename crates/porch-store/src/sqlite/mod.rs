//! The embedded store: the `Store` trait on one SQLite file.
//!
//! # Design
//! - WAL mode, so readers never block the writer and other processes (the `porch` CLI
//!   creating clients and agents while the server runs) can use the same file; a 5 s
//!   `busy_timeout` absorbs their short transactions.
//! - One writer thread owns the only write connection (`writer`). Writes queue to it over a
//!   bounded channel and commit in groups: one `BEGIN IMMEDIATE … COMMIT`, so one fsync, for
//!   everything queued, each write in its own savepoint. An acknowledgement is sent only after
//!   `COMMIT`, so with `synchronous=FULL` (the default) an acknowledged message survives a
//!   power cut. WAL checkpoints run on a thread of their own (`checkpointer`), not inside
//!   the writer's commits.
//! - Reads run on a small pool of read-only connections (`pool`): lists on tokio's blocking
//!   pool, reads an index bounds (one row, one page) on the calling worker (`reads`).
//! - The schema and its migrations are in `schema`; the backend's side of row mapping in
//!   `rows`; appends and read markers in `log`; webhook endpoints and the outbox in
//!   `webhooks`; routing's records (agents' status, capacity and load, queues' settings) in
//!   `routing`; offers in `offers`; every other write in `writes`.

mod attachments;
mod bots;
mod canned;
mod checkpointer;
mod command;
mod context;
mod erasure;
mod fallbacks;
mod identity;
mod log;
mod offers;
mod pool;
mod reads;
mod routing;
mod rows;
mod schema;
mod webhooks;
mod wrapups;
mod writer;
mod writes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use porch_core::canned::CannedReply;
use porch_core::identity::IdentityKey;
use porch_core::model::{
    AgentProfile, AgentRecord, AgentRouting, ClientRecord, DeploymentRecord, DeploymentSettings,
    GuestRecord, GuestSession, GuestStanding, QueueSettings, SetUp,
};
use porch_core::offer::{Offer, OfferOutcome, OfferRequest};
use porch_core::store::{
    Account, AppendOutcome, AppendRequest, AttachmentUsage, ConversationFilter, ConversationSearch,
    CustomerPageRequest, Deletion, Durability, Erasure, PageRequest, Store, StoreError,
    StoreFuture, StorePressure,
};
use porch_core::token::SigningKey;
use porch_core::webhook::{Claim, Delivery, DeliveryState, Finish, WebhookEndpoint};
use porch_wire::rest::{
    AgentStatus, Conversation, ConversationPage, Message, MessagePage, Notice, VisitorContext,
};

use self::command::Command;
use self::pool::{ReaderPool, read, read_short};
use self::routing::AgentChange;
use self::writer::Writer;

/// When SQLite makes a commit durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync of the WAL only at checkpoints: faster, survives a process crash but may lose the
    /// last commits on power loss or an OS crash.
    Normal,
    /// fsync of the WAL on every commit (group commit makes that one fsync per batch): an
    /// acknowledged write survives power loss.
    #[default]
    Full,
}

impl Synchronous {
    fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// How to open the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database file. SQLite keeps `-wal` and `-shm` files next to it.
    pub path: PathBuf,
    pub synchronous: Synchronous,
    /// Read connections in the pool. At least one is opened whatever this says.
    pub read_connections: usize,
}

impl SqliteOptions {
    /// The defaults (`synchronous=FULL`, four readers) for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions {
            path: path.into(),
            synchronous: Synchronous::default(),
            read_connections: porch_core::limits::SQLITE_READ_CONNECTIONS,
        }
    }
}

/// The SQLite store. Dropping it waits for queued writes to commit and closes the file.
pub struct SqliteStore {
    // Readers are declared first so they close first; the writer's connection closes last
    // and, as the file's last connection in this process, checkpoints the WAL.
    readers: Arc<ReaderPool>,
    writer: Writer,
    /// Attachments' bytes: `attachments/` beside the database file.
    blobs: Arc<crate::dir_blobs::DirBlobs>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed, with parent dir 0700 and file 0600 on unix) and migrates.
    ///
    /// Blocking; call it at startup, before serving.
    pub fn open(options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let path = options.path.as_path();
        prepare_file(path)?;
        let write_conn = schema::open_connection(path, options.synchronous, schema::Role::Writer)?;
        schema::migrate(&write_conn)?;
        let readers = ReaderPool::open(path, options.synchronous, options.read_connections)?;
        let checkpoint_conn =
            schema::open_connection(path, options.synchronous, schema::Role::Checkpointer)?;
        let writer = Writer::spawn(write_conn, checkpoint_conn)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let blobs = Arc::new(crate::dir_blobs::DirBlobs::open(dir.join("attachments"))?);
        tracing::debug!(path = %path.display(), synchronous = ?options.synchronous, "opened the sqlite store");
        Ok(SqliteStore { readers, writer, blobs })
    }
}

/// Creates the parent directory (0700) and the file (0600) before SQLite does, so that
/// guest data and secret hashes are never readable by other local users, not even for the
/// moment between SQLite creating the file and a later chmod. SQLite gives the `-wal` and
/// `-shm` files the database file's permissions.
fn prepare_file(path: &Path) -> Result<(), StoreError> {
    let failed = |doing: &str, e: std::io::Error| {
        StoreError::Unavailable(format!("{doing} {}: {e}", path.display()))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(parent).map_err(|e| failed("creating the directory of", e))?;
    }
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(path).map_err(|e| failed("creating", e))?;
    Ok(())
}

impl Store for SqliteStore {
    fn create_client(&self, client: ClientRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.call(|reply| Command::CreateClient { client, reply }))
    }

    fn clients(&self) -> StoreFuture<'_, Vec<ClientRecord>> {
        Box::pin(read(&self.readers, reads::clients))
    }

    fn client(&self, id: &str) -> StoreFuture<'_, Option<ClientRecord>> {
        let id = id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| reads::client(conn, &id)))
    }

    fn create_deployment(&self, deployment: DeploymentRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.call(|reply| Command::CreateDeployment { deployment, reply }))
    }

    fn deployments(&self) -> StoreFuture<'_, Vec<DeploymentRecord>> {
        Box::pin(read(&self.readers, reads::deployments))
    }

    fn deployment(&self, id: &str) -> StoreFuture<'_, Option<DeploymentRecord>> {
        let id = id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| reads::deployment(conn, &id)))
    }

    fn create_agent(&self, agent: AgentRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.call(|reply| Command::CreateAgent { agent, reply }))
    }

    fn create_set_up(&self, set_up: SetUp) -> StoreFuture<'_, bool> {
        Box::pin(self.writer.call(|reply| Command::CreateSetUp { set_up: Box::new(set_up), reply }))
    }

    fn agents(&self) -> StoreFuture<'_, Vec<AgentRecord>> {
        Box::pin(read(&self.readers, reads::agents))
    }

    fn agent_by_name(&self, name: &str) -> StoreFuture<'_, Option<AgentRecord>> {
        let name = name.to_owned();
        Box::pin(read_short(&self.readers, move |conn| reads::agent_by_name(conn, &name)))
    }

    fn agent(&self, id: &str) -> StoreFuture<'_, Option<AgentRecord>> {
        let id = id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| reads::agent(conn, &id)))
    }

    fn set_account_enabled(
        &self,
        account: Account,
        id: &str,
        enabled: bool,
    ) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::SetFlag {
            flag: writes::Flag::enabled(account),
            id,
            value: enabled,
            reply,
        }))
    }

    fn reset_account_secret(
        &self,
        account: Account,
        id: &str,
        secret_hash: String,
        tokens_valid_after_secs: i64,
    ) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        let valid_after_secs = tokens_valid_after_secs;
        Box::pin(self.writer.call(move |reply| Command::ResetSecret {
            account,
            id,
            secret_hash,
            valid_after_secs,
            reply,
        }))
    }

    fn delete_account(&self, account: Account, id: &str) -> StoreFuture<'_, Deletion> {
        let id = id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::DeleteAccount { account, id, reply }))
    }

    fn signing_keys(&self) -> StoreFuture<'_, Vec<SigningKey>> {
        Box::pin(read(&self.readers, reads::signing_keys))
    }

    fn add_signing_key(&self, key: SigningKey) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.call(|reply| Command::AddSigningKey { key, reply }))
    }

    fn remove_signing_key(&self, kid: &str) -> StoreFuture<'_, bool> {
        let kid = kid.to_owned();
        Box::pin(self.writer.call(|reply| Command::RemoveSigningKey { kid, reply }))
    }

    fn add_first_signing_key(&self, key: SigningKey) -> StoreFuture<'_, bool> {
        Box::pin(self.writer.call(|reply| Command::AddFirstSigningKey { key, reply }))
    }

    fn add_identity_key(&self, key: IdentityKey) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.call(|reply| Command::AddIdentityKey { key, reply }))
    }

    fn identity_keys(&self, deployment_id: &str) -> StoreFuture<'_, Vec<IdentityKey>> {
        let deployment_id = deployment_id.to_owned();
        Box::pin(read(&self.readers, move |conn| identity::keys(conn, &deployment_id)))
    }

    fn remove_identity_key(&self, kid: &str) -> StoreFuture<'_, bool> {
        let kid = kid.to_owned();
        Box::pin(self.writer.call(|reply| Command::RemoveIdentityKey { kid, reply }))
    }

    fn use_identity_jti(
        &self,
        deployment_id: &str,
        jti: &str,
        guest_id: Option<&str>,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'_, bool> {
        let deployment_id = deployment_id.to_owned();
        let jti = jti.to_owned();
        let guest_id = guest_id.map(str::to_owned);
        Box::pin(self.writer.call(move |reply| Command::UseIdentityJti {
            deployment_id,
            jti,
            guest_id,
            expires_at_ms,
            now_ms,
            reply,
        }))
    }

    fn identify_guest(
        &self,
        guest_id: &str,
        external_id: &str,
        display_name: Option<String>,
        email: Option<String>,
    ) -> StoreFuture<'_, bool> {
        let (guest_id, external_id) = (guest_id.to_owned(), external_id.to_owned());
        Box::pin(self.writer.call(move |reply| Command::IdentifyGuest {
            guest_id,
            external_id,
            display_name,
            email,
            reply,
        }))
    }

    fn create_guest(&self, guest: GuestRecord, queue: String) -> StoreFuture<'_, Conversation> {
        Box::pin(self.writer.call(|reply| Command::CreateGuest { guest, queue, reply }))
    }

    fn guest(&self, id: &str) -> StoreFuture<'_, Option<GuestRecord>> {
        let id = id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| reads::guest(conn, &id)))
    }

    fn guest_session(&self, id: &str) -> StoreFuture<'_, Option<GuestSession>> {
        let id = id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| reads::guest_session(conn, &id)))
    }

    fn guest_standings(
        &self,
        guest_ids: Vec<String>,
    ) -> StoreFuture<'_, Vec<(String, GuestStanding)>> {
        Box::pin(read(&self.readers, move |conn| reads::guest_standings(conn, &guest_ids)))
    }

    fn conversation(&self, id: &str) -> StoreFuture<'_, Option<Conversation>> {
        let id = id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| reads::conversation_by_id(conn, &id)))
    }

    fn conversations(&self, filter: ConversationFilter) -> StoreFuture<'_, Vec<Conversation>> {
        Box::pin(read(&self.readers, move |conn| reads::conversations(conn, &filter)))
    }

    fn append(&self, request: AppendRequest) -> StoreFuture<'_, AppendOutcome> {
        Box::pin(self.writer.call(|reply| Command::Append { request, reply }))
    }

    fn append_group(
        &self,
        requests: Vec<AppendRequest>,
    ) -> StoreFuture<'_, Vec<Result<AppendOutcome, StoreError>>> {
        // One command, so the writer cannot start a batch between two of them.
        Box::pin(self.writer.call(|reply| Command::AppendGroup { requests, reply }))
    }

    fn search_conversations(
        &self,
        search: ConversationSearch,
    ) -> StoreFuture<'_, ConversationPage> {
        Box::pin(read(&self.readers, move |conn| reads::search_conversations(conn, &search)))
    }

    fn customer_conversations(
        &self,
        request: CustomerPageRequest,
    ) -> StoreFuture<'_, ConversationPage> {
        Box::pin(read(&self.readers, move |conn| reads::customer_conversations(conn, &request)))
    }

    fn blobs(&self) -> Arc<dyn porch_core::blob::BlobStore> {
        self.blobs.clone()
    }

    fn attachment_message(&self, attachment_id: &str) -> StoreFuture<'_, Option<Message>> {
        let id = attachment_id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| attachments::message(conn, &id)))
    }

    fn attachments_named(&self, attachment_ids: Vec<String>) -> StoreFuture<'_, Vec<String>> {
        Box::pin(read(&self.readers, move |conn| attachments::named(conn, &attachment_ids)))
    }

    fn attachment_bytes(&self, conversation_id: &str) -> StoreFuture<'_, u64> {
        let id = conversation_id.to_owned();
        Box::pin(read(&self.readers, move |conn| attachments::bytes(conn, &id)))
    }

    fn attachments_due(
        &self,
        closed_before_ms: Option<i64>,
        limit: usize,
    ) -> StoreFuture<'_, Vec<String>> {
        Box::pin(read(&self.readers, move |conn| attachments::due(conn, closed_before_ms, limit)))
    }

    fn mark_attachments_deleted(&self, attachment_ids: Vec<String>) -> StoreFuture<'_, u64> {
        Box::pin(self.writer.run(move |conn| attachments::mark_deleted(conn, &attachment_ids)))
    }

    fn attachment_usage(&self) -> StoreFuture<'_, Vec<AttachmentUsage>> {
        Box::pin(read(&self.readers, attachments::usage))
    }

    fn messages(&self, conversation_id: &str, page: PageRequest) -> StoreFuture<'_, MessagePage> {
        let conversation_id = conversation_id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| {
            reads::messages(conn, &conversation_id, page)
        }))
    }

    fn revoke_guest(&self, guest_id: &str) -> StoreFuture<'_, bool> {
        let id = guest_id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::SetFlag {
            flag: writes::Flag::GuestRevoked,
            id,
            value: true,
            reply,
        }))
    }

    fn erase_customer(
        &self,
        deployment_id: &str,
        external_id: &str,
    ) -> StoreFuture<'_, Option<Erasure>> {
        let (deployment_id, external_id) = (deployment_id.to_owned(), external_id.to_owned());
        Box::pin(
            self.writer
                .run(move |conn| erasure::erase_customer(conn, &deployment_id, &external_id)),
        )
    }

    fn set_deployment_enabled(&self, deployment_id: &str, enabled: bool) -> StoreFuture<'_, bool> {
        let id = deployment_id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::SetFlag {
            flag: writes::Flag::DeploymentEnabled,
            id,
            value: enabled,
            reply,
        }))
    }

    fn update_deployment(&self, id: &str, settings: DeploymentSettings) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::UpdateDeployment { id, settings, reply }))
    }

    fn set_deployment_notice(
        &self,
        deployment_id: &str,
        notice: Option<Notice>,
    ) -> StoreFuture<'_, bool> {
        let deployment_id = deployment_id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::SetNotice { deployment_id, notice, reply }))
    }

    fn mark_read(
        &self,
        conversation_id: &str,
        participant_id: &str,
        seq: u64,
    ) -> StoreFuture<'_, u64> {
        let conversation_id = conversation_id.to_owned();
        let participant_id = participant_id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::MarkRead {
            conversation_id,
            participant_id,
            seq,
            reply,
        }))
    }

    fn agent_routing(&self, agent_id: &str) -> StoreFuture<'_, Option<AgentRouting>> {
        let id = agent_id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| routing::agent_routing(conn, &id)))
    }

    fn queue_agents(&self, queue: &str) -> StoreFuture<'_, Vec<AgentRouting>> {
        let queue = queue.to_owned();
        Box::pin(read(&self.readers, move |conn| routing::queue_agents(conn, &queue)))
    }

    fn set_agent_status(&self, agent_id: &str, status: AgentStatus) -> StoreFuture<'_, bool> {
        self.change_agent(agent_id, AgentChange::Status(status))
    }

    fn set_agent_capacity(&self, agent_id: &str, capacity: Option<u32>) -> StoreFuture<'_, bool> {
        self.change_agent(agent_id, AgentChange::Capacity(capacity))
    }

    fn set_agent_queues(&self, agent_id: &str, queues: Vec<String>) -> StoreFuture<'_, bool> {
        self.change_agent(agent_id, AgentChange::Queues(queues))
    }

    fn set_agent_supervisor(&self, agent_id: &str, supervisor: bool) -> StoreFuture<'_, bool> {
        self.change_agent(agent_id, AgentChange::Supervisor(supervisor))
    }

    fn set_agent_profile(&self, agent_id: &str, profile: AgentProfile) -> StoreFuture<'_, bool> {
        self.change_agent(agent_id, AgentChange::Profile(profile))
    }

    fn set_queue(&self, settings: QueueSettings) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.call(move |reply| Command::SetQueue { settings, reply }))
    }

    fn queue_settings(&self, names: Vec<String>) -> StoreFuture<'_, Vec<QueueSettings>> {
        Box::pin(read(&self.readers, move |conn| routing::queue_settings(conn, &names)))
    }

    fn fallback_queues(&self) -> StoreFuture<'_, Vec<QueueSettings>> {
        Box::pin(read(&self.readers, fallbacks::queues))
    }

    fn due_fallbacks(
        &self,
        queue: &str,
        waiting_since_ms: i64,
        limit: u32,
    ) -> StoreFuture<'_, Vec<Conversation>> {
        let queue = queue.to_owned();
        Box::pin(read(&self.readers, move |conn| {
            fallbacks::due(conn, &queue, waiting_since_ms, limit)
        }))
    }

    fn queue_standing(
        &self,
        queue: &str,
        waiting_max: u32,
        waits_max: u32,
    ) -> StoreFuture<'_, porch_core::queue::QueueStanding> {
        let queue = queue.to_owned();
        Box::pin(read(&self.readers, move |conn| {
            routing::queue_standing(conn, &queue, waiting_max, waits_max)
        }))
    }

    fn set_wrap_up_codes(&self, deployment_id: &str, codes: Vec<String>) -> StoreFuture<'_, bool> {
        let deployment_id = deployment_id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::SetWrapUps { deployment_id, codes, reply }))
    }

    fn wrap_up_codes(&self, deployment_id: &str) -> StoreFuture<'_, Vec<String>> {
        let id = deployment_id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| wrapups::list(conn, &id)))
    }

    fn set_guest_context(&self, guest_id: &str, context: VisitorContext) -> StoreFuture<'_, bool> {
        let guest_id = guest_id.to_owned();
        Box::pin(self.writer.call(|reply| Command::SetGuestContext { guest_id, context, reply }))
    }

    fn guest_context(&self, guest_id: &str) -> StoreFuture<'_, Option<VisitorContext>> {
        let guest_id = guest_id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| context::get(conn, &guest_id)))
    }

    fn set_canned_reply(&self, reply: CannedReply) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.call(|r| Command::SetCannedReply { canned: reply, reply: r }))
    }

    fn canned_replies(&self, deployment_id: &str) -> StoreFuture<'_, Vec<CannedReply>> {
        let deployment_id = deployment_id.to_owned();
        Box::pin(read(&self.readers, move |conn| canned::list(conn, &deployment_id)))
    }

    fn delete_canned_reply(&self, deployment_id: &str, shortcut: &str) -> StoreFuture<'_, bool> {
        let (deployment_id, shortcut) = (deployment_id.to_owned(), shortcut.to_owned());
        Box::pin(self.writer.call(|reply| Command::DeleteCannedReply {
            deployment_id,
            shortcut,
            reply,
        }))
    }

    fn change_offer(&self, request: OfferRequest) -> StoreFuture<'_, OfferOutcome> {
        Box::pin(self.writer.call(move |reply| Command::ChangeOffer { request, reply }))
    }

    fn offer_of(&self, conversation_id: &str) -> StoreFuture<'_, Option<Offer>> {
        let id = conversation_id.to_owned();
        Box::pin(read_short(&self.readers, move |conn| offers::offer_of(conn, &id)))
    }

    fn offers_of(&self, conversation_ids: Vec<String>) -> StoreFuture<'_, Vec<Offer>> {
        Box::pin(read(&self.readers, move |conn| offers::offers_of(conn, &conversation_ids)))
    }

    fn live_offers(&self, now_ms: i64) -> StoreFuture<'_, Vec<Offer>> {
        Box::pin(read(&self.readers, move |conn| offers::live_offers(conn, now_ms)))
    }

    fn clear_offer(&self, conversation_id: &str) -> StoreFuture<'_, ()> {
        let conversation_id = conversation_id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::ClearOffer { conversation_id, reply }))
    }

    fn durability(&self) -> StoreFuture<'_, Durability> {
        Box::pin(self.writer.call(|reply| Command::Durability { reply }))
    }

    /// Waiting for a reader is not counted: readers wait on a condition variable, and a
    /// counter there would cost every read for a figure the in-use count already shows.
    fn pressure(&self) -> StorePressure {
        let (size, in_use) = self.readers.use_now();
        StorePressure {
            write_queue: Some(self.writer.queued()),
            write_batches: Some(self.writer.batches()),
            pool_size: size as u64,
            pool_in_use: in_use as u64,
            pool_waiting: 0,
        }
    }

    fn create_webhook_endpoint(&self, endpoint: WebhookEndpoint) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.run(move |c| webhooks::create_endpoint(c, &endpoint)))
    }

    fn webhook_endpoints(&self) -> StoreFuture<'_, Vec<WebhookEndpoint>> {
        Box::pin(read(&self.readers, webhooks::endpoints))
    }

    fn delete_webhook_endpoint(&self, id: &str) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(self.writer.run(move |c| webhooks::delete_endpoint(c, &id)))
    }

    fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: String,
        previous_until_ms: i64,
    ) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(
            self.writer.run(move |c| webhooks::rotate_secret(c, &id, &secret, previous_until_ms)),
        )
    }

    fn claim_webhook_deliveries(&self, claim: Claim) -> StoreFuture<'_, Vec<Delivery>> {
        Box::pin(self.writer.run(move |c| webhooks::claim(c, &claim)))
    }

    fn finish_webhook_delivery(
        &self,
        delivery: &Delivery,
        owner: &str,
        finish: Finish,
    ) -> StoreFuture<'_, bool> {
        let (delivery, owner) = (delivery.clone(), owner.to_owned());
        Box::pin(self.writer.run(move |c| webhooks::finish(c, &delivery, &owner, &finish)))
    }

    fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        state: DeliveryState,
        limit: u32,
    ) -> StoreFuture<'_, Vec<Delivery>> {
        let endpoint_id = endpoint_id.to_owned();
        Box::pin(read(&self.readers, move |c| webhooks::deliveries(c, &endpoint_id, state, limit)))
    }

    fn replay_webhook_deliveries(&self, endpoint_id: &str, now_ms: i64) -> StoreFuture<'_, u64> {
        let endpoint_id = endpoint_id.to_owned();
        Box::pin(self.writer.run(move |c| webhooks::replay(c, &endpoint_id, now_ms)))
    }

    fn create_bot(&self, bot: porch_core::model::BotRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.run(move |c| bots::create(c, &bot)))
    }

    fn bots(&self) -> StoreFuture<'_, Vec<porch_core::model::BotRecord>> {
        Box::pin(read(&self.readers, bots::all))
    }

    fn bot(&self, id: &str) -> StoreFuture<'_, Option<porch_core::model::BotRecord>> {
        let id = id.to_owned();
        Box::pin(read_short(&self.readers, move |c| bots::one(c, &id)))
    }

    fn delete_bot(&self, id: &str) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(self.writer.run(move |c| bots::delete(c, &id)))
    }

    fn set_bot_enabled(&self, id: &str, enabled: bool) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(self.writer.run(move |c| bots::set_enabled(c, &id, enabled)))
    }

    fn set_handoff(&self, handoff: porch_wire::bot::Handoff) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.run(move |c| bots::set_handoff(c, &handoff)))
    }

    fn handoff(&self, conversation_id: &str) -> StoreFuture<'_, Option<porch_wire::bot::Handoff>> {
        let id = conversation_id.to_owned();
        Box::pin(read_short(&self.readers, move |c| bots::handoff(c, &id)))
    }
}

impl SqliteStore {
    fn change_agent(&self, agent_id: &str, change: AgentChange) -> StoreFuture<'_, bool> {
        let agent_id = agent_id.to_owned();
        Box::pin(self.writer.call(move |reply| Command::ChangeAgent { agent_id, change, reply }))
    }
}
