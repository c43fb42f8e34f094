//! Outbound webhooks, following the Standard Webhooks specification (docs/webhooks.md).
//!
//! - The outbox is the store's: every append and every new conversation writes one row per
//!   subscribed endpoint in its own commit (`porch_core::webhook`), so sends never wait for a
//!   receiver and a crash loses no event.
//! - `dispatch`: each node's delivery loop (leases, per-endpoint slots, retries, dead letters).
//! - `attempt`: one signed POST and what its failure means; `render`: the body, from the log.
//! - `target`: which targets are allowed, and the HTTP client that enforces it at connect time.
//! - `api`: a deployment's endpoints for the customer's backend (client scope `webhooks`);
//!   `manage`: rotating one's secret, its dead letters and their replay, for the same backend.
//! - Here: registering and rotating endpoints, shared by the API and the CLI (`porch webhooks`).

pub mod api;
pub mod attempt;
pub mod dispatch;
pub mod manage;
pub mod render;
pub mod target;

use porch_core::ids::{new_id, prefix};
use porch_core::limits::WEBHOOK_ENDPOINTS_PER_DEPLOYMENT_MAX;
use porch_core::store::{Store, StoreError};
use porch_core::webhook::{WebhookEndpoint, new_secret, parse_event_types};

pub use target::Sender;

/// Why an endpoint was not registered.
#[derive(Debug)]
pub enum Refusal {
    DeploymentUnknown(String),
    /// The URL or its addresses are not allowed.
    Target(String),
    EventTypes(String),
    /// The deployment has `WEBHOOK_ENDPOINTS_PER_DEPLOYMENT_MAX` endpoints already.
    Full,
    Store(StoreError),
}

impl Refusal {
    pub fn describe(&self) -> String {
        match self {
            Refusal::DeploymentUnknown(id) => {
                format!("no deployment `{id}`; see `porch deployments list`")
            }
            Refusal::Target(why) | Refusal::EventTypes(why) => why.clone(),
            Refusal::Full => format!(
                "the deployment has {WEBHOOK_ENDPOINTS_PER_DEPLOYMENT_MAX} webhook endpoints, the limit; remove one first"
            ),
            Refusal::Store(e) => e.to_string(),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        Refusal::Store(e)
    }
}

/// Registers an endpoint for a deployment's events of `event_types`, with a new secret,
/// after checking its URL (resolved now) against `sender`'s target policy.
pub async fn register(
    store: &dyn Store,
    sender: &Sender,
    deployment_id: &str,
    url: &str,
    event_types: &[String],
) -> Result<WebhookEndpoint, Refusal> {
    let types = parse_event_types(event_types).map_err(Refusal::EventTypes)?;
    if store.deployment(deployment_id).await?.is_none() {
        return Err(Refusal::DeploymentUnknown(deployment_id.to_owned()));
    }
    sender.check_resolving(url).await.map_err(Refusal::Target)?;
    let existing = store.webhook_endpoints().await?;
    if existing.iter().filter(|e| e.deployment_id == deployment_id).count()
        >= WEBHOOK_ENDPOINTS_PER_DEPLOYMENT_MAX
    {
        return Err(Refusal::Full);
    }
    let mut names: Vec<String> = types.iter().map(|t| t.as_str().to_owned()).collect();
    names.sort();
    names.dedup();
    let endpoint = WebhookEndpoint {
        id: new_id(prefix::WEBHOOK_ENDPOINT),
        deployment_id: deployment_id.to_owned(),
        url: url.to_owned(),
        event_types: names,
        secret: new_secret(),
        previous_secret: None,
        previous_secret_until_ms: 0,
        created_at_ms: porch_core::time::now_ms(),
    };
    store.create_webhook_endpoint(endpoint.clone()).await?;
    Ok(endpoint)
}

/// Gives endpoint `id` a new secret; the old one keeps signing for `overlap_ms`. Returns the
/// new secret, or `None` when no endpoint has this id.
pub async fn rotate_secret(
    store: &dyn Store,
    id: &str,
    overlap_ms: u64,
) -> Result<Option<String>, StoreError> {
    let secret = new_secret();
    let until_ms =
        porch_core::time::now_ms().saturating_add(i64::try_from(overlap_ms).unwrap_or(i64::MAX));
    Ok(store.rotate_webhook_secret(id, secret.clone(), until_ms).await?.then_some(secret))
}

/// One endpoint by id.
pub async fn endpoint(store: &dyn Store, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
    Ok(store.webhook_endpoints().await?.into_iter().find(|e| e.id == id))
}
