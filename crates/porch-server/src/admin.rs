//! Creating clients, deployments, agents and keys: shared by the `porch` CLI and the first
//! start's demo setup, so both make records the same way.

use porch_core::ids::{new_id, new_secret, prefix};
use porch_core::model::{
    AgentRecord, ClientRecord, DeploymentRecord, DeploymentSettings, validate_origin,
};
use porch_core::store::{Store, StoreError};
use porch_core::token::SigningKey;

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
    };
    store.create_client(record.clone()).await.map_err(describe)?;
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
    };
    store.create_deployment(record.clone()).await.map_err(describe)?;
    Ok(record)
}

/// Changes to a deployment, each optional: what is not named stays as it is.
#[derive(Default)]
pub struct DeploymentChanges {
    pub add_origins: Vec<String>,
    pub remove_origins: Vec<String>,
    pub queue: Option<String>,
    pub guest_token_ttl_secs: Option<u64>,
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
    Ok(DeploymentSettings { origins, queue, guest_token_ttl_secs })
}

pub async fn create_agent(
    store: &dyn Store,
    name: &str,
    queues: Vec<String>,
) -> Result<Created<AgentRecord>, String> {
    if name.is_empty() || queues.is_empty() {
        return Err("an agent needs a name and at least one queue".into());
    }
    let secret = new_secret(prefix::SECRET);
    let record = AgentRecord {
        id: new_id(prefix::AGENT),
        name: name.to_string(),
        secret_hash: hash(&secret).await,
        queues,
        created_at_ms: porch_core::time::now_ms(),
    };
    store.create_agent(record.clone()).await.map_err(describe)?;
    Ok(Created { record, secret })
}

/// Adds a fresh signing key; it signs from now on, and older keys keep verifying.
pub async fn rotate_key(store: &dyn Store) -> Result<SigningKey, String> {
    let key = SigningKey {
        kid: new_id(prefix::KEY),
        secret: porch_core::ids::random_bytes::<32>().to_vec(),
        created_at_ms: porch_core::time::now_ms(),
    };
    store.add_signing_key(key.clone()).await.map_err(describe)?;
    Ok(key)
}

async fn hash(secret: &str) -> String {
    let secret = secret.to_string();
    tokio::task::spawn_blocking(move || porch_core::secret::hash(&secret))
        .await
        .expect("hashing does not panic")
}

fn describe(e: StoreError) -> String {
    e.to_string()
}

/// Credentials of the demo setup, printed once on the first start.
pub struct Demo {
    pub deployment: DeploymentRecord,
    pub client: Created<ClientRecord>,
    pub agent: Created<AgentRecord>,
}

/// On an empty store, creates a demo deployment (allowing the public origin), client and
/// agent. Returns `None` when the store already has a deployment.
pub async fn create_demo(store: &dyn Store, public_origin: &str) -> Result<Option<Demo>, String> {
    if !store.deployments().await.map_err(describe)?.is_empty() {
        return Ok(None);
    }
    let mut origins = vec![public_origin.to_string()];
    // The same server is often opened as localhost and as 127.0.0.1.
    if let Some(port_part) = public_origin.strip_prefix("http://127.0.0.1") {
        origins.push(format!("http://localhost{port_part}"));
    } else if let Some(port_part) = public_origin.strip_prefix("http://localhost") {
        origins.push(format!("http://127.0.0.1{port_part}"));
    }
    let spec = DeploymentSpec {
        name: "demo".into(),
        origins,
        queue: "default".into(),
        guest_token_ttl_secs: porch_core::limits::GUEST_TOKEN_TTL_SECS,
    };
    let deployment = create_deployment(store, spec).await?;
    let client = create_client(
        store,
        "demo",
        vec![porch_wire::scope::GUESTS.into(), porch_wire::scope::NOTICES.into()],
    )
    .await?;
    let agent = create_agent(store, "demo-agent", vec!["default".into()]).await?;
    Ok(Some(Demo { deployment, client, agent }))
}
