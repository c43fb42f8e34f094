//! The `Store` trait on PostgreSQL, so several Porch nodes can share one database.
//!
//! # Design
//! - A deadpool pool of tokio-postgres connections, no TLS (`NoTls`): run PostgreSQL on the
//!   same host or a private network, or put a TLS tunnel in front. Broken connections are
//!   dropped at checkout and replaced (`pool`).
//! - Nodes coordinate only through the database. An append writes its entry and its
//!   conversation row in one statement, only if the row's state and agent are still the ones
//!   it decided on, and takes `last_seq + 1` of the row as committed, so `seq` is gap-free in
//!   commit order across nodes and no lock is held across round trips; a plain message reads
//!   what it decides on in that same statement, one round trip (`log`), and the plain
//!   messages of one conversation that wait on a node go in one statement and one commit
//!   (`batch`); a node sends a few appends per conversation at a time (`turns`); unique
//!   constraints (names, the idempotency index) settle every other race (`writes`, `log`).
//! - Every session runs with a statement, lock and idle-in-transaction timeout (`pool`): a
//!   node that stops answering cannot hold anything for long, and nothing waits forever.
//! - A write returns only after COMMIT; with `synchronous_commit=on` and `fsync=on` (the
//!   defaults, read back by `durability`) COMMIT waits for the WAL flush.
//! - Reads are single statements on pooled connections (`reads`); the schema and its
//!   migrations are in `schema`, row mapping and error mapping in `rows`; webhook endpoints
//!   and the outbox in `webhooks` (its rows are written by the statements of `log` and
//!   `writes` that cause them); routing's records (agents' status, capacity and load, queues'
//!   settings) in `routing`; offers in `offers`.
//! - Every database error is `StoreError::Unavailable` (retryable), except a full disk
//!   (`Full`, SQLSTATE 53100), unique-name violations (`NameTaken`) and the log's own outcomes
//!   (duplicate, conflict, closed, unknown). An append whose connection broke after its write
//!   went out asks again by its idempotency key until it knows (`log`), else `Unconfirmed`.
//! - A silent link is bounded: TCP keepalive and `TCP_USER_TIMEOUT` on every socket, and
//!   `/readyz`'s probe within `POSTGRES_PROBE_TIMEOUT_MS` (`pool`).

mod attachments;
mod batch;
mod blobs;
mod bots;
mod canned;
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
mod tls;
mod turns;
mod webhooks;
mod wrapups;
mod writes;

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

use self::pool::Db;
use self::routing::AgentChange;
use self::writes::Flag;

/// How to reach the database.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// E.g. `postgres://porch:secret@db.internal:5432/porch` (or libpq's `key=value` form).
    /// Never printed: `Debug` and every error show only `host:port`.
    pub url: String,
    /// The schema Porch's tables live in (the connections' `search_path`), created if missing.
    /// Lets tests and several tenants share one database. `None` uses the server's default
    /// search path (usually `public`). Lowercase letters, digits and `_` only.
    pub schema: Option<String>,
    /// Connections in the pool: the most statements this node runs at once.
    pub pool_size: usize,
}

impl PostgresOptions {
    /// The defaults (default search path, 16 connections) for the database at `url`.
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            schema: None,
            pool_size: porch_core::limits::POSTGRES_POOL_SIZE_DEFAULT,
        }
    }
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PostgresOptions")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// The PostgreSQL store. Cheap to share behind an `Arc`; dropping it closes its connections.
pub struct PostgresStore {
    db: Db,
    /// The pool, appends' turns per conversation and plain appends waiting for their batch.
    shared: batch::Shared,
    /// Attachments' bytes, in the database on the same pool.
    blobs: std::sync::Arc<blobs::PgBlobs>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, creates the schema if asked and migrates it. Fails with
    /// `StoreError::Unavailable("cannot reach PostgreSQL at host:port: …")` when the server
    /// cannot be reached, at once for a refused port, within 5 s for a silent host; a server
    /// still starting up is waited for (`Db::first_client`).
    pub async fn connect(options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let db = Db::new(&options)?;
        let mut client = db.first_client().await?;
        schema::migrate(&mut client, options.schema.as_deref()).await?;
        drop(client);
        tracing::debug!(schema = ?options.schema, pool_size = options.pool_size, "opened the postgres store");
        let blobs = std::sync::Arc::new(blobs::PgBlobs { db: db.clone() });
        let shared = batch::Shared {
            db: db.clone(),
            turns: std::sync::Arc::new(turns::Turns::new(options.pool_size.max(1))),
            batches: std::sync::Arc::default(),
        };
        Ok(PostgresStore { db, shared, blobs })
    }
}

impl Store for PostgresStore {
    fn create_client(&self, client: ClientRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { writes::create_client(&self.db.client().await?, &client).await })
    }

    fn clients(&self) -> StoreFuture<'_, Vec<ClientRecord>> {
        Box::pin(reads::clients(&self.db))
    }

    fn client(&self, id: &str) -> StoreFuture<'_, Option<ClientRecord>> {
        let id = id.to_owned();
        Box::pin(async move { reads::client(&self.db, &id).await })
    }

    fn create_deployment(&self, deployment: DeploymentRecord) -> StoreFuture<'_, ()> {
        Box::pin(
            async move { writes::create_deployment(&self.db.client().await?, &deployment).await },
        )
    }

    fn deployments(&self) -> StoreFuture<'_, Vec<DeploymentRecord>> {
        Box::pin(reads::deployments(&self.db))
    }

    fn deployment(&self, id: &str) -> StoreFuture<'_, Option<DeploymentRecord>> {
        let id = id.to_owned();
        Box::pin(async move { reads::deployment(&self.db, &id).await })
    }

    fn create_agent(&self, agent: AgentRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { writes::create_agent(&self.db.client().await?, &agent).await })
    }

    fn create_set_up(&self, set_up: SetUp) -> StoreFuture<'_, bool> {
        Box::pin(async move { writes::create_set_up(&self.db, &set_up).await })
    }

    fn agents(&self) -> StoreFuture<'_, Vec<AgentRecord>> {
        Box::pin(reads::agents(&self.db))
    }

    fn agent_by_name(&self, name: &str) -> StoreFuture<'_, Option<AgentRecord>> {
        let name = name.to_owned();
        Box::pin(async move { reads::agent_by_name(&self.db, &name).await })
    }

    fn agent(&self, id: &str) -> StoreFuture<'_, Option<AgentRecord>> {
        let id = id.to_owned();
        Box::pin(async move { reads::agent(&self.db, &id).await })
    }

    fn signing_keys(&self) -> StoreFuture<'_, Vec<SigningKey>> {
        Box::pin(reads::signing_keys(&self.db))
    }

    fn add_signing_key(&self, key: SigningKey) -> StoreFuture<'_, ()> {
        Box::pin(async move { writes::add_signing_key(&self.db, &key).await })
    }

    fn remove_signing_key(&self, kid: &str) -> StoreFuture<'_, bool> {
        let kid = kid.to_owned();
        Box::pin(async move { writes::remove_signing_key(&self.db, &kid).await })
    }

    fn add_first_signing_key(&self, key: SigningKey) -> StoreFuture<'_, bool> {
        Box::pin(async move { writes::add_first_signing_key(&self.db, &key).await })
    }

    fn add_identity_key(&self, key: IdentityKey) -> StoreFuture<'_, ()> {
        Box::pin(async move { identity::add_key(&self.db, &key).await })
    }

    fn identity_keys(&self, deployment_id: &str) -> StoreFuture<'_, Vec<IdentityKey>> {
        let deployment_id = deployment_id.to_owned();
        Box::pin(async move { identity::keys(&self.db, &deployment_id).await })
    }

    fn remove_identity_key(&self, kid: &str) -> StoreFuture<'_, bool> {
        let kid = kid.to_owned();
        Box::pin(async move { identity::remove_key(&self.db, &kid).await })
    }

    fn use_identity_jti(
        &self,
        deployment_id: &str,
        jti: &str,
        guest_id: Option<&str>,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'_, bool> {
        let (deployment_id, jti) = (deployment_id.to_owned(), jti.to_owned());
        let guest_id = guest_id.map(str::to_owned);
        Box::pin(async move {
            let guest_id = guest_id.as_deref();
            identity::use_jti(&self.db, &deployment_id, &jti, guest_id, expires_at_ms, now_ms).await
        })
    }

    fn identify_guest(
        &self,
        guest_id: &str,
        external_id: &str,
        display_name: Option<String>,
        email: Option<String>,
    ) -> StoreFuture<'_, bool> {
        let (guest_id, external_id) = (guest_id.to_owned(), external_id.to_owned());
        Box::pin(async move {
            let (name, email) = (display_name.as_deref(), email.as_deref());
            identity::identify_guest(&self.db, &guest_id, &external_id, name, email).await
        })
    }

    fn create_guest(&self, guest: GuestRecord, queue: String) -> StoreFuture<'_, Conversation> {
        Box::pin(writes::create_guest(&self.db, guest, queue))
    }

    fn guest(&self, id: &str) -> StoreFuture<'_, Option<GuestRecord>> {
        let id = id.to_owned();
        Box::pin(async move { reads::guest(&self.db, &id).await })
    }

    fn guest_session(&self, id: &str) -> StoreFuture<'_, Option<GuestSession>> {
        let id = id.to_owned();
        Box::pin(async move { reads::guest_session(&self.db, &id).await })
    }

    fn guest_standings(
        &self,
        guest_ids: Vec<String>,
    ) -> StoreFuture<'_, Vec<(String, GuestStanding)>> {
        Box::pin(async move { reads::guest_standings(&self.db, &guest_ids).await })
    }

    fn conversation(&self, id: &str) -> StoreFuture<'_, Option<Conversation>> {
        let id = id.to_owned();
        Box::pin(async move { reads::conversation(&self.db, &id).await })
    }

    fn conversations(&self, filter: ConversationFilter) -> StoreFuture<'_, Vec<Conversation>> {
        Box::pin(async move { reads::conversations(&self.db, &filter).await })
    }

    fn append(&self, request: AppendRequest) -> StoreFuture<'_, AppendOutcome> {
        Box::pin(log::append(&self.shared, request))
    }

    fn append_group(
        &self,
        requests: Vec<AppendRequest>,
    ) -> StoreFuture<'_, Vec<Result<AppendOutcome, StoreError>>> {
        Box::pin(async move { Ok(batch::append_group(&self.shared, requests).await) })
    }

    fn search_conversations(
        &self,
        search: ConversationSearch,
    ) -> StoreFuture<'_, ConversationPage> {
        Box::pin(async move { reads::search_conversations(&self.db, &search).await })
    }

    fn customer_conversations(
        &self,
        request: CustomerPageRequest,
    ) -> StoreFuture<'_, ConversationPage> {
        Box::pin(async move { reads::customer_conversations(&self.db, &request).await })
    }

    fn blobs(&self) -> std::sync::Arc<dyn porch_core::blob::BlobStore> {
        self.blobs.clone()
    }

    fn attachment_message(&self, attachment_id: &str) -> StoreFuture<'_, Option<Message>> {
        let id = attachment_id.to_owned();
        Box::pin(async move { attachments::message(&self.db, &id).await })
    }

    fn attachments_named(&self, attachment_ids: Vec<String>) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move { attachments::named(&self.db, attachment_ids).await })
    }

    fn attachment_bytes(&self, conversation_id: &str) -> StoreFuture<'_, u64> {
        let id = conversation_id.to_owned();
        Box::pin(async move { attachments::bytes(&self.db, &id).await })
    }

    fn attachments_due(
        &self,
        closed_before_ms: Option<i64>,
        limit: usize,
    ) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move { attachments::due(&self.db, closed_before_ms, limit).await })
    }

    fn mark_attachments_deleted(&self, attachment_ids: Vec<String>) -> StoreFuture<'_, u64> {
        Box::pin(async move { attachments::mark_deleted(&self.db, attachment_ids).await })
    }

    fn attachment_usage(&self) -> StoreFuture<'_, Vec<AttachmentUsage>> {
        Box::pin(async move { attachments::usage(&self.db).await })
    }

    fn messages(&self, conversation_id: &str, page: PageRequest) -> StoreFuture<'_, MessagePage> {
        let conversation_id = conversation_id.to_owned();
        Box::pin(async move { reads::messages(&self.db, &conversation_id, page).await })
    }

    fn mark_read(
        &self,
        conversation_id: &str,
        participant_id: &str,
        seq: u64,
    ) -> StoreFuture<'_, u64> {
        let conversation_id = conversation_id.to_owned();
        let participant_id = participant_id.to_owned();
        Box::pin(
            async move { log::mark_read(&self.db, &conversation_id, &participant_id, seq).await },
        )
    }

    fn revoke_guest(&self, guest_id: &str) -> StoreFuture<'_, bool> {
        let id = guest_id.to_owned();
        Box::pin(async move { writes::set_flag(&self.db, Flag::GuestRevoked, &id, true).await })
    }

    fn set_account_enabled(
        &self,
        account: Account,
        id: &str,
        enabled: bool,
    ) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(
            async move { writes::set_flag(&self.db, Flag::enabled(account), &id, enabled).await },
        )
    }

    fn reset_account_secret(
        &self,
        account: Account,
        id: &str,
        secret_hash: String,
        tokens_valid_after_secs: i64,
    ) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move {
            writes::reset_secret(&self.db, account, &id, &secret_hash, tokens_valid_after_secs)
                .await
        })
    }

    fn delete_account(&self, account: Account, id: &str) -> StoreFuture<'_, Deletion> {
        let id = id.to_owned();
        Box::pin(async move { writes::delete_account(&self.db, account, &id).await })
    }

    fn erase_customer(
        &self,
        deployment_id: &str,
        external_id: &str,
    ) -> StoreFuture<'_, Option<Erasure>> {
        let (deployment_id, external_id) = (deployment_id.to_owned(), external_id.to_owned());
        Box::pin(
            async move { erasure::erase_customer(&self.db, &deployment_id, &external_id).await },
        )
    }

    fn set_deployment_enabled(&self, deployment_id: &str, enabled: bool) -> StoreFuture<'_, bool> {
        let id = deployment_id.to_owned();
        Box::pin(
            async move { writes::set_flag(&self.db, Flag::DeploymentEnabled, &id, enabled).await },
        )
    }

    fn update_deployment(&self, id: &str, settings: DeploymentSettings) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move { writes::update_deployment(&self.db, &id, &settings).await })
    }

    fn set_deployment_notice(
        &self,
        deployment_id: &str,
        notice: Option<Notice>,
    ) -> StoreFuture<'_, bool> {
        let id = deployment_id.to_owned();
        Box::pin(async move { writes::set_notice(&self.db, &id, notice.as_ref()).await })
    }

    fn agent_routing(&self, agent_id: &str) -> StoreFuture<'_, Option<AgentRouting>> {
        let id = agent_id.to_owned();
        Box::pin(async move { routing::agent_routing(&self.db, &id).await })
    }

    fn queue_agents(&self, queue: &str) -> StoreFuture<'_, Vec<AgentRouting>> {
        let queue = queue.to_owned();
        Box::pin(async move { routing::queue_agents(&self.db, &queue).await })
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
        Box::pin(async move { routing::set_queue(&self.db, &settings).await })
    }

    fn queue_settings(&self, names: Vec<String>) -> StoreFuture<'_, Vec<QueueSettings>> {
        Box::pin(async move { routing::queue_settings(&self.db, &names).await })
    }

    fn fallback_queues(&self) -> StoreFuture<'_, Vec<QueueSettings>> {
        Box::pin(fallbacks::queues(&self.db))
    }

    fn due_fallbacks(
        &self,
        queue: &str,
        waiting_since_ms: i64,
        limit: u32,
    ) -> StoreFuture<'_, Vec<Conversation>> {
        let queue = queue.to_owned();
        Box::pin(async move { fallbacks::due(&self.db, &queue, waiting_since_ms, limit).await })
    }

    fn queue_standing(
        &self,
        queue: &str,
        waiting_max: u32,
        waits_max: u32,
    ) -> StoreFuture<'_, porch_core::queue::QueueStanding> {
        let queue = queue.to_owned();
        Box::pin(
            async move { routing::queue_standing(&self.db, &queue, waiting_max, waits_max).await },
        )
    }

    fn set_wrap_up_codes(&self, deployment_id: &str, codes: Vec<String>) -> StoreFuture<'_, bool> {
        let deployment_id = deployment_id.to_owned();
        Box::pin(async move { wrapups::set(&self.db, &deployment_id, &codes).await })
    }

    fn wrap_up_codes(&self, deployment_id: &str) -> StoreFuture<'_, Vec<String>> {
        let id = deployment_id.to_owned();
        Box::pin(async move { wrapups::list(&self.db, &id).await })
    }

    fn set_guest_context(&self, guest_id: &str, context: VisitorContext) -> StoreFuture<'_, bool> {
        let guest_id = guest_id.to_owned();
        Box::pin(async move { context::set(&self.db, &guest_id, &context).await })
    }

    fn guest_context(&self, guest_id: &str) -> StoreFuture<'_, Option<VisitorContext>> {
        let guest_id = guest_id.to_owned();
        Box::pin(async move { context::get(&self.db, &guest_id).await })
    }

    fn set_canned_reply(&self, reply: CannedReply) -> StoreFuture<'_, ()> {
        Box::pin(async move { canned::set(&self.db, &reply).await })
    }

    fn canned_replies(&self, deployment_id: &str) -> StoreFuture<'_, Vec<CannedReply>> {
        let deployment_id = deployment_id.to_owned();
        Box::pin(async move { canned::list(&self.db, &deployment_id).await })
    }

    fn delete_canned_reply(&self, deployment_id: &str, shortcut: &str) -> StoreFuture<'_, bool> {
        let (deployment_id, shortcut) = (deployment_id.to_owned(), shortcut.to_owned());
        Box::pin(async move { canned::delete(&self.db, &deployment_id, &shortcut).await })
    }

    fn change_offer(&self, request: OfferRequest) -> StoreFuture<'_, OfferOutcome> {
        Box::pin(async move { offers::change(&self.db, &request).await })
    }

    fn offer_of(&self, conversation_id: &str) -> StoreFuture<'_, Option<Offer>> {
        let id = conversation_id.to_owned();
        Box::pin(async move { offers::offer_of(&self.db, &id).await })
    }

    fn offers_of(&self, conversation_ids: Vec<String>) -> StoreFuture<'_, Vec<Offer>> {
        Box::pin(async move { offers::offers_of(&self.db, &conversation_ids).await })
    }

    fn live_offers(&self, now_ms: i64) -> StoreFuture<'_, Vec<Offer>> {
        Box::pin(async move { offers::live_offers(&self.db, now_ms).await })
    }

    fn clear_offer(&self, conversation_id: &str) -> StoreFuture<'_, ()> {
        let id = conversation_id.to_owned();
        Box::pin(async move { offers::clear(&self.db, &id).await })
    }

    fn durability(&self) -> StoreFuture<'_, Durability> {
        Box::pin(reads::durability(&self.db))
    }

    fn pressure(&self) -> StorePressure {
        self.db.pressure()
    }

    fn create_webhook_endpoint(&self, endpoint: WebhookEndpoint) -> StoreFuture<'_, ()> {
        Box::pin(async move { webhooks::create_endpoint(&self.db, &endpoint).await })
    }

    fn webhook_endpoints(&self) -> StoreFuture<'_, Vec<WebhookEndpoint>> {
        Box::pin(webhooks::endpoints(&self.db))
    }

    fn delete_webhook_endpoint(&self, id: &str) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move { webhooks::delete_endpoint(&self.db, &id).await })
    }

    fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: String,
        previous_until_ms: i64,
    ) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(
            async move { webhooks::rotate_secret(&self.db, &id, &secret, previous_until_ms).await },
        )
    }

    fn claim_webhook_deliveries(&self, claim: Claim) -> StoreFuture<'_, Vec<Delivery>> {
        Box::pin(async move { webhooks::claim(&self.db, &claim).await })
    }

    fn finish_webhook_delivery(
        &self,
        delivery: &Delivery,
        owner: &str,
        finish: Finish,
    ) -> StoreFuture<'_, bool> {
        let (delivery, owner) = (delivery.clone(), owner.to_owned());
        Box::pin(async move { webhooks::finish(&self.db, &delivery, &owner, &finish).await })
    }

    fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        state: DeliveryState,
        limit: u32,
    ) -> StoreFuture<'_, Vec<Delivery>> {
        let endpoint_id = endpoint_id.to_owned();
        Box::pin(async move { webhooks::deliveries(&self.db, &endpoint_id, state, limit).await })
    }

    fn replay_webhook_deliveries(&self, endpoint_id: &str, now_ms: i64) -> StoreFuture<'_, u64> {
        let endpoint_id = endpoint_id.to_owned();
        Box::pin(async move { webhooks::replay(&self.db, &endpoint_id, now_ms).await })
    }

    fn create_bot(&self, bot: porch_core::model::BotRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { bots::create(&self.db, &bot).await })
    }

    fn bots(&self) -> StoreFuture<'_, Vec<porch_core::model::BotRecord>> {
        Box::pin(bots::all_bots(&self.db))
    }

    fn bot(&self, id: &str) -> StoreFuture<'_, Option<porch_core::model::BotRecord>> {
        let id = id.to_owned();
        Box::pin(async move { bots::bot(&self.db, &id).await })
    }

    fn delete_bot(&self, id: &str) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move { bots::delete(&self.db, &id).await })
    }

    fn set_bot_enabled(&self, id: &str, enabled: bool) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move { bots::set_enabled(&self.db, &id, enabled).await })
    }

    fn set_handoff(&self, handoff: porch_wire::bot::Handoff) -> StoreFuture<'_, ()> {
        Box::pin(async move { bots::set_handoff(&self.db, &handoff).await })
    }

    fn handoff(&self, conversation_id: &str) -> StoreFuture<'_, Option<porch_wire::bot::Handoff>> {
        let id = conversation_id.to_owned();
        Box::pin(async move { bots::handoff(&self.db, &id).await })
    }
}

impl PostgresStore {
    fn change_agent(&self, agent_id: &str, change: AgentChange) -> StoreFuture<'_, bool> {
        let id = agent_id.to_owned();
        Box::pin(async move { routing::change_agent(&self.db, &id, &change).await })
    }
}
