//! Creating clients, deployments, agents, keys and identity keys, and setting agents' and
//! queues' routing: shared by the `porch` CLI and the demo set-up (`porch serve --demo`), so
//! both make records the same way.

use porch_core::identity::IdentityKey;
use porch_core::ids::{new_id, new_secret, prefix};
use porch_core::model::{
    AgentRecord, AgentRouting, ClientRecord, DeploymentRecord, DeploymentSettings, QueueSettings,
    SetUp, Standing, validate_capacity, validate_fallback, validate_origin, validate_welcome,
};
use porch_core::store::{Account, Deletion, Store, StoreError};
use porch_core::token::SigningKey;
use porch_wire::rest::Welcome;

/// A new record and its secret, which is shown once and never stored.
pub struct Created<T> {
    pub record: T,
    pub secret: String,
}

pub async fn create_client(
    store: &dyn Store,
    name: &str,
    scopes: Vec<String>,
) -> Result<Created<ClientRecord>, String> {
    let created = new_client(name, scopes).await?;
    store.create_client(created.record.clone()).await.map_err(describe)?;
    Ok(created)
}

/// A client record and its secret, checked, not stored yet.
async fn new_client(name: &str, scopes: Vec<String>) -> Result<Created<ClientRecord>, String> {
    if let Some(bad) = scopes.iter().find(|s| !porch_wire::scope::ALL.contains(&s.as_str())) {
        return Err(format!(
            "unknown scope `{bad}`; known scopes: {}",
            porch_wire::scope::ALL.join(", ")
        ));
    }
    let secret = new_secret(prefix::SECRET);
    let record = ClientRecord {
        id: new_id(prefix::CLIENT),
        name: name.to_string(),
        secret_hash: hash(&secret).await,
        scopes,
        created_at_ms: porch_core::time::now_ms(),
        standing: Standing::default(),
    };
    Ok(Created { record, secret })
}

pub struct DeploymentSpec {
    pub name: String,
    pub origins: Vec<String>,
    pub queue: String,
    pub guest_token_ttl_secs: u64,
}

pub async fn create_deployment(
    store: &dyn Store,
    spec: DeploymentSpec,
) -> Result<DeploymentRecord, String> {
    let record = new_deployment(spec)?;
    store.create_deployment(record.clone()).await.map_err(describe)?;
    Ok(record)
}

/// A deployment record, checked, not stored yet.
fn new_deployment(spec: DeploymentSpec) -> Result<DeploymentRecord, String> {
    for origin in &spec.origins {
        validate_origin(origin)?;
    }
    if spec.queue.is_empty() {
        return Err("a deployment needs a queue name".into());
    }
    let record = DeploymentRecord {
        id: new_id(prefix::DEPLOYMENT),
        name: spec.name,
        origins: spec.origins,
        queue: spec.queue,
        guest_token_ttl_secs: spec.guest_token_ttl_secs,
        enabled: true,
        created_at_ms: porch_core::time::now_ms(),
        notice: None,
        welcome: Welcome::default(),
    };
    Ok(record)
}

/// Changes to a deployment, each optional: what is not named stays as it is.
#[derive(Default)]
pub struct DeploymentChanges {
    pub add_origins: Vec<String>,
    pub remove_origins: Vec<String>,
    pub queue: Option<String>,
    pub guest_token_ttl_secs: Option<u64>,
    /// `Some(None)` clears the greeting.
    pub greeting: Option<Option<String>>,
    /// `Some(None)` clears the reply time.
    pub reply_within_mins: Option<Option<u32>>,
    /// Whether the widget shows its offline form while nobody can answer.
    pub offline_form: Option<bool>,
}

/// Applies `changes` to the deployment `id` and returns it as stored. Origins are checked as
/// at creation; removing one it does not have is refused, so a typo does not pass silently.
pub async fn update_deployment(
    store: &dyn Store,
    id: &str,
    changes: DeploymentChanges,
) -> Result<DeploymentRecord, String> {
    let unknown = || format!("no deployment `{id}`; see `porch deployments list`");
    let current = store.deployment(id).await.map_err(describe)?.ok_or_else(unknown)?;
    let settings = apply(&current, changes)?;
    if !store.update_deployment(id, settings.clone()).await.map_err(describe)? {
        return Err(unknown());
    }
    Ok(DeploymentRecord {
        origins: settings.origins,
        queue: settings.queue,
        guest_token_ttl_secs: settings.guest_token_ttl_secs,
        welcome: settings.welcome,
        ..current
    })
}

fn apply(
    current: &DeploymentRecord,
    changes: DeploymentChanges,
) -> Result<DeploymentSettings, String> {
    let mut origins = current.origins.clone();
    for gone in &changes.remove_origins {
        let before = origins.len();
        origins.retain(|o| o != gone);
        if origins.len() == before {
            return Err(format!(
                "deployment {} has no origin `{gone}`; its origins: {}",
                current.id,
                current.origins.join(" ")
            ));
        }
    }
    for origin in changes.add_origins {
        validate_origin(&origin)?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let queue = changes.queue.unwrap_or_else(|| current.queue.clone());
    if queue.is_empty() {
        return Err("a deployment needs a queue name".into());
    }
    let guest_token_ttl_secs = changes.guest_token_ttl_secs.unwrap_or(current.guest_token_ttl_secs);
    if guest_token_ttl_secs == 0 {
        return Err("--guest-token-ttl-secs must be at least 1".into());
    }
    let welcome = Welcome {
        greeting: changes.greeting.unwrap_or_else(|| current.welcome.greeting.clone()),
        reply_within_mins: changes.reply_within_mins.unwrap_or(current.welcome.reply_within_mins),
        offline_form: changes.offline_form.unwrap_or(current.welcome.offline_form),
    };
    validate_welcome(&welcome)?;
    Ok(DeploymentSettings { origins, queue, guest_token_ttl_secs, welcome })
}

pub async fn create_agent(
    store: &dyn Store,
    name: &str,
    queues: Vec<String>,
) -> Result<Created<AgentRecord>, String> {
    let created = new_agent(name, queues).await?;
    store.create_agent(created.record.clone()).await.map_err(describe)?;
    Ok(created)
}

/// An agent record and its secret, checked, not stored yet.
async fn new_agent(name: &str, queues: Vec<String>) -> Result<Created<AgentRecord>, String> {
    if name.is_empty() || queues.is_empty() {
        return Err("an agent needs a name and at least one queue".into());
    }
    crate::bots::admin::check_agent_queues(&queues)?;
    let secret = new_secret(prefix::SECRET);
    let record = AgentRecord {
        id: new_id(prefix::AGENT),
        name: name.to_string(),
        secret_hash: hash(&secret).await,
        queues,
        created_at_ms: porch_core::time::now_ms(),
        standing: Standing::default(),
        supervisor: false,
        profile: Default::default(),
    };
    Ok(Created { record, secret })
}

/// What `porch agents set` changes; `None` leaves a field as it was.
#[derive(Clone, Debug, Default)]
pub struct AgentRoutingChanges {
    /// `Some(None)` clears the agent's own capacity: its queues' default applies.
    pub capacity: Option<Option<i64>>,
    pub queues: Option<Vec<String>>,
}

/// Sets an agent's capacity and queues (docs/routing.md); every change is checked before any
/// is stored. Answers the agent's routing state after them.
pub async fn set_agent_routing(
    store: &dyn Store,
    name: &str,
    changes: AgentRoutingChanges,
) -> Result<AgentRouting, String> {
    let capacity = match changes.capacity {
        Some(Some(asked)) => Some(Some(validate_capacity(asked)?)),
        Some(None) => Some(None),
        None => None,
    };
    if changes.queues.as_ref().is_some_and(|q| q.is_empty() || q.iter().any(String::is_empty)) {
        return Err("an agent needs at least one queue, each with a name".into());
    }
    crate::bots::admin::check_agent_queues(changes.queues.as_deref().unwrap_or_default())?;
    let unknown = || format!("no agent named `{name}`; see `porch agents list`");
    let agent = store.agent_by_name(name).await.map_err(describe)?.ok_or_else(unknown)?;
    if let Some(capacity) = capacity {
        store.set_agent_capacity(&agent.id, capacity).await.map_err(describe)?;
    }
    if let Some(queues) = changes.queues {
        store.set_agent_queues(&agent.id, queues).await.map_err(describe)?;
    }
    store.agent_routing(&agent.id).await.map_err(describe)?.ok_or_else(unknown)
}

/// Makes an agent a supervisor, or a plain agent again (docs/routing.md, "Supervisors"); its
/// sessions see the change at their next request or connection. Answers whether it is one.
pub async fn set_agent_supervisor(
    store: &dyn Store,
    name: &str,
    supervisor: Option<bool>,
) -> Result<bool, String> {
    let unknown = || format!("no agent named `{name}`; see `porch agents list`");
    let agent = store.agent_by_name(name).await.map_err(describe)?.ok_or_else(unknown)?;
    let Some(supervisor) = supervisor else { return Ok(agent.supervisor) };
    if !store.set_agent_supervisor(&agent.id, supervisor).await.map_err(describe)? {
        return Err(unknown());
    }
    Ok(supervisor)
}

/// What `porch agents set` changes of what guests see; `None` leaves a field as it was,
/// `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct AgentProfileChanges {
    pub display_name: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
}

/// Changes an agent's display name and avatar (checked: `AgentProfile::check`) and answers
/// them as stored. Guests read them from the agent's next assignment or reconnection on.
pub async fn set_agent_profile(
    store: &dyn Store,
    name: &str,
    changes: AgentProfileChanges,
) -> Result<porch_core::model::AgentProfile, String> {
    let unknown = || format!("no agent named `{name}`; see `porch agents list`");
    let agent = store.agent_by_name(name).await.map_err(describe)?.ok_or_else(unknown)?;
    let mut profile = agent.profile;
    if changes.display_name.is_none() && changes.avatar_url.is_none() {
        return Ok(profile);
    }
    if let Some(display_name) = changes.display_name {
        profile.display_name = display_name;
    }
    if let Some(avatar_url) = changes.avatar_url {
        profile.avatar_url = avatar_url;
    }
    profile.check()?;
    if !store.set_agent_profile(&agent.id, profile.clone()).await.map_err(describe)? {
        return Err(unknown());
    }
    Ok(profile)
}

/// What `porch queues set` changes; `None` leaves a setting as it was.
#[derive(Clone, Debug, Default)]
pub struct QueueChanges {
    /// `Some(None)` clears the queue's default: `agent_capacity_default` applies.
    pub capacity_default: Option<Option<i64>>,
    pub auto_accept: Option<bool>,
    pub manual_take: Option<bool>,
    /// `Some(None)`: new conversations go to the queue's agents again, not to a bot.
    pub bot: Option<Option<String>>,
    /// `Some(None)` removes the queue's unanswered fallback (docs/routing.md).
    pub fallback: Option<Option<porch_core::model::Fallback>>,
}

/// Changes a queue's routing settings (a queue nobody configured starts from
/// `QueueSettings::unset`) and answers them as stored.
pub async fn set_queue(
    store: &dyn Store,
    name: &str,
    changes: QueueChanges,
) -> Result<QueueSettings, String> {
    if name.is_empty() {
        return Err("a queue needs a name".into());
    }
    let stored = store.queue_settings(vec![name.to_owned()]).await.map_err(describe)?;
    let mut settings = stored.into_iter().next().unwrap_or_else(|| QueueSettings::unset(name));
    if let Some(default) = changes.capacity_default {
        settings.capacity_default = default.map(validate_capacity).transpose()?;
    }
    settings.auto_accept = changes.auto_accept.unwrap_or(settings.auto_accept);
    settings.manual_take = changes.manual_take.unwrap_or(settings.manual_take);
    if let Some(bot) = changes.bot {
        settings.bot_id = crate::bots::admin::check_queue_bot(store, name, bot).await?;
    }
    if let Some(fallback) = changes.fallback {
        settings.fallback = fallback.map(|f| validate_fallback(name, f)).transpose()?;
    }
    store.set_queue(settings.clone()).await.map_err(describe)?;
    Ok(settings)
}

/// The id and standing of the agent (named by its login name) or client (by its id) an
/// operator names, or why there is none.
async fn find_account(
    store: &dyn Store,
    account: Account,
    key: &str,
) -> Result<(String, Standing), String> {
    if account == Account::Client && key == porch_core::model::WIDGET_CLIENT_ID {
        return Err(format!("{key} is Porch's own client for widget guests; it cannot be changed"));
    }
    let found = match account {
        Account::Agent => {
            store.agent_by_name(key).await.map_err(describe)?.map(|a| (a.id, a.standing))
        }
        Account::Client => store.client(key).await.map_err(describe)?.map(|c| (c.id, c.standing)),
    };
    found.ok_or_else(|| match account {
        Account::Agent => format!("no agent named `{key}`; see `porch agents list`"),
        Account::Client => format!("no client `{key}`; see `porch clients list`"),
    })
}

/// Gives the agent or client a new secret (returned, to be shown once) and refuses every
/// token issued before it. Returns once the new secret's tokens count (at most a second:
/// `Standing::reset_at`).
pub async fn reset_secret(
    store: &dyn Store,
    account: Account,
    key: &str,
) -> Result<Created<String>, String> {
    let (id, standing) = find_account(store, account, key).await?;
    let secret = new_secret(prefix::SECRET);
    let reset = standing.reset_at(porch_core::time::now_ms());
    let valid_after_secs = reset.tokens_valid_after_secs;
    if !store
        .reset_account_secret(account, &id, hash(&secret).await, valid_after_secs)
        .await
        .map_err(describe)?
    {
        return Err(format!("{id} was deleted meanwhile"));
    }
    let wait_ms = valid_after_secs.saturating_mul(1000) - porch_core::time::now_ms();
    if let Ok(wait_ms) = u64::try_from(wait_ms) {
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
    }
    Ok(Created { record: id, secret })
}

/// Enables or disables the agent or client; returns its id.
pub async fn set_enabled(
    store: &dyn Store,
    account: Account,
    key: &str,
    enabled: bool,
) -> Result<String, String> {
    let (id, _) = find_account(store, account, key).await?;
    if !store.set_account_enabled(account, &id, enabled).await.map_err(describe)? {
        return Err(format!("{id} was deleted meanwhile"));
    }
    Ok(id)
}

/// Deletes the agent or client; returns its id. An agent holding open conversations, or a
/// client whose guests' records name it, is kept, with what to do instead: its tokens are
/// refused once it is gone, so nothing may be left needing it.
pub async fn delete(store: &dyn Store, account: Account, key: &str) -> Result<String, String> {
    let (id, _) = find_account(store, account, key).await?;
    match store.delete_account(account, &id).await.map_err(describe)? {
        Deletion::Deleted => Ok(id),
        Deletion::Unknown => Err(format!("{id} was deleted meanwhile")),
        Deletion::InUse(count) => Err(match account {
            Account::Agent => format!(
                "agent {key} holds {count} open conversation(s); disable it (`porch agents disable {key}`), \
                 let another agent take or close them, then delete it"
            ),
            Account::Client => format!(
                "client {id} created {count} guest(s), whose records name it; \
                 disable it instead (`porch clients disable {id}`): that refuses its secret and tokens the same way"
            ),
        }),
    }
}

/// Adds a fresh signing key; it signs from now on, and older keys keep verifying.
pub async fn rotate_key(store: &dyn Store) -> Result<SigningKey, String> {
    let key = SigningKey::generate();
    store.add_signing_key(key.clone()).await.map_err(describe)?;
    Ok(key)
}

/// Registers an identity key on a deployment (docs/identity.md): a public JWK (ES256 or
/// EdDSA) when `jwk` is given, else a new HS256 secret, whose `shown_secret` the caller prints
/// once.
pub async fn add_identity_key(
    store: &dyn Store,
    deployment_id: &str,
    jwk: Option<&str>,
) -> Result<IdentityKey, String> {
    if store.deployment(deployment_id).await.map_err(describe)?.is_none() {
        return Err(format!("no deployment `{deployment_id}`; see `porch deployments list`"));
    }
    let key = match jwk {
        Some(jwk) => IdentityKey::from_jwk(deployment_id, jwk)?,
        None => IdentityKey::generate_hs256(deployment_id),
    };
    store.add_identity_key(key.clone()).await.map_err(describe)?;
    Ok(key)
}

/// Replaces a deployment's wrap-up codes (docs/routing.md); an empty list makes a close's
/// code optional again. Each code is 1 to `WRAP_UP_CODE_CHARS_MAX` characters without
/// whitespace, at most `WRAP_UP_CODES_MAX` of them, none twice; else nothing is written.
pub async fn set_wrap_up_codes(
    store: &dyn Store,
    deployment_id: &str,
    codes: Vec<String>,
) -> Result<Vec<String>, String> {
    use porch_core::limits::{WRAP_UP_CODE_CHARS_MAX, WRAP_UP_CODES_MAX};
    if codes.len() > WRAP_UP_CODES_MAX {
        return Err(format!(
            "{} wrap-up codes; a deployment lists at most {WRAP_UP_CODES_MAX} (WRAP_UP_CODES_MAX)",
            codes.len()
        ));
    }
    for (i, code) in codes.iter().enumerate() {
        let chars = code.chars().count();
        if chars == 0 || chars > WRAP_UP_CODE_CHARS_MAX || code.chars().any(char::is_whitespace) {
            return Err(format!(
                "wrap-up code `{code}` must be 1 to {WRAP_UP_CODE_CHARS_MAX} characters without spaces (WRAP_UP_CODE_CHARS_MAX): use dashes, e.g. refund-issued"
            ));
        }
        if codes[..i].contains(code) {
            return Err(format!("wrap-up code `{code}` is given twice; name each once"));
        }
    }
    if !store.set_wrap_up_codes(deployment_id, codes.clone()).await.map_err(describe)? {
        return Err(format!("no deployment `{deployment_id}`; see `porch deployments list`"));
    }
    Ok(codes)
}

pub(crate) async fn hash(secret: &str) -> String {
    let secret = secret.to_string();
    tokio::task::spawn_blocking(move || porch_core::secret::hash(&secret))
        .await
        .expect("hashing does not panic")
}

pub(crate) fn describe(e: StoreError) -> String {
    e.to_string()
}

/// Credentials of the demo set-up, printed once by the start that created it.
pub struct Demo {
    pub deployment: DeploymentRecord,
    pub client: Created<ClientRecord>,
    pub agent: Created<AgentRecord>,
}

/// The demo deployment's name: a store holding a deployment of that name has its demo.
pub const DEMO_NAME: &str = "demo";

/// Creates the demo set-up (a deployment allowing the public origin, a client and an agent)
/// in one commit, unless a deployment named `demo` exists: `None` then. Nodes starting
/// together each try; the store lets one create it (`Store::create_set_up`).
pub async fn create_demo(store: &dyn Store, public_origin: &str) -> Result<Option<Demo>, String> {
    let mut origins = vec![public_origin.to_string()];
    // The same server is often opened as localhost and as 127.0.0.1.
    if let Some(port_part) = public_origin.strip_prefix("http://127.0.0.1") {
        origins.push(format!("http://localhost{port_part}"));
    } else if let Some(port_part) = public_origin.strip_prefix("http://localhost") {
        origins.push(format!("http://127.0.0.1{port_part}"));
    }
    let deployment = DeploymentRecord {
        // What a first run shows in the widget, as an operator would set it
        // (`porch deployments update --greeting --reply-within-mins`).
        welcome: Welcome {
            greeting: Some(
                "Hello! This is Porch's demo. Write anything, then answer yourself from the agent \
                 console."
                    .into(),
            ),
            reply_within_mins: Some(5),
            offline_form: true,
        },
        ..new_deployment(DeploymentSpec {
            name: DEMO_NAME.into(),
            origins,
            queue: "default".into(),
            guest_token_ttl_secs: porch_core::limits::GUEST_TOKEN_TTL_SECS,
        })?
    };
    let scopes = vec![porch_wire::scope::GUESTS.into(), porch_wire::scope::NOTICES.into()];
    let client = new_client(DEMO_NAME, scopes).await?;
    let agent = new_agent("demo-agent", vec!["default".into()]).await?;
    let set_up = SetUp {
        deployment: deployment.clone(),
        client: client.record.clone(),
        agent: agent.record.clone(),
    };
    let created = store.create_set_up(set_up).await.map_err(describe)?;
    Ok(created.then_some(Demo { deployment, client, agent }))
}
