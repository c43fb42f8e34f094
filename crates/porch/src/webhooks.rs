//! `porch webhooks`: a deployment's webhook endpoints, their dead letters, and a test delivery
//! (docs/webhooks.md). On the same store as `serve`, while it runs: the nodes read endpoints
//! and the outbox from the store at every poll.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use porch_core::limits::{Limits, WEBHOOK_DEAD_LIST_MAX};
use porch_core::webhook::{Delivery, DeliveryState, EventType, WebhookEndpoint};
use porch_server::config::WebhookTargets;
use porch_server::webhooks::{self, Sender, attempt, render};
use serde_json::json;

use crate::settings::{LimitArgs, StoreArgs, load_file, open_store};

/// Which targets are allowed, and the limits: as `porch serve` has them (same flags, variables
/// and file keys), so the CLI refuses and times out as the server would.
#[derive(Args, Clone, Debug)]
pub struct PolicyArgs {
    /// Allow http:// targets (as `porch serve --webhook-allow-http`). [default: false]
    #[arg(long, env = "PORCH_WEBHOOK_ALLOW_HTTP", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub webhook_allow_http: Option<bool>,
    /// Allow targets on loopback, private and link-local addresses (as `porch serve
    /// --webhook-allow-private-targets`). [default: false]
    #[arg(long, env = "PORCH_WEBHOOK_ALLOW_PRIVATE_TARGETS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub webhook_allow_private_targets: Option<bool>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Register an endpoint for a deployment's events. Its secret (whsec_…) is printed once.
    Add {
        /// The deployment whose events go there (dep_…).
        #[arg(long)]
        deployment: String,
        /// The receiver, https://… (http:// only with --webhook-allow-http).
        #[arg(long)]
        url: String,
        /// An event type to deliver (repeatable): conversation.created, message.created,
        /// conversation.assigned, conversation.returned, conversation.closed,
        /// conversation.transferred, guest.identified. [default: all]
        #[arg(long = "event")]
        events: Vec<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List endpoints (never their secrets).
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove an endpoint, with its pending and dead deliveries.
    Remove {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Give an endpoint a new secret, printed once. The old one keeps signing beside it for
    /// webhook_secret_overlap_ms (a day), so the receiver can switch without a gap.
    RotateSecret {
        id: String,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Send a signed sample event to an endpoint now and say what the receiver answered, or
    /// why a delivery would fail (refused target, connection, TLS, timeout, status).
    Test {
        id: String,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List an endpoint's dead deliveries (out of attempts), oldest first, with their causes.
    Dead {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Deliver an endpoint's dead deliveries again, as new ones (same webhook-id).
    Replay {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(command: WebhooksCommand) -> Result<()> {
    match command {
        WebhooksCommand::Add { deployment, url, events, json, policy, store } => {
            let (sender, _) = resolve(&policy, &store)?;
            let events = if events.is_empty() {
                EventType::ALL.iter().map(|t| t.as_str().to_owned()).collect()
            } else {
                events
            };
            let store = open_store(&store).await?;
            let endpoint = webhooks::register(store.as_ref(), &sender, &deployment, &url, &events)
                .await
                .map_err(|r| anyhow::Error::msg(r.describe()))?;
            let mut value = endpoint_json(&endpoint);
            value["secret"] = json!(endpoint.secret);
            let human = format!(
                "{}\nsecret {}  (shown once; receivers verify with it)",
                endpoint_line(&endpoint),
                endpoint.secret
            );
            print(json, value, human);
        }
        WebhooksCommand::List { json, store } => {
            let list = open_store(&store).await?.webhook_endpoints().await?;
            let value = json!(list.iter().map(endpoint_json).collect::<Vec<_>>());
            print(json, value, list.iter().map(endpoint_line).collect::<Vec<_>>().join("\n"));
        }
        WebhooksCommand::Remove { id, store } => {
            if !open_store(&store).await?.delete_webhook_endpoint(&id).await? {
                bail!("no webhook endpoint `{id}`; see `porch webhooks list`");
            }
            println!("webhook endpoint {id} removed, with its deliveries");
        }
        WebhooksCommand::RotateSecret { id, policy, store } => {
            let overlap_ms = resolve(&policy, &store)?.1.webhook_secret_overlap_ms;
            let store = open_store(&store).await?;
            let Some(secret) = webhooks::rotate_secret(store.as_ref(), &id, overlap_ms).await?
            else {
                bail!("no webhook endpoint `{id}`; see `porch webhooks list`");
            };
            println!(
                "webhook endpoint {id}: new secret {secret}  (shown once)\nthe previous secret keeps signing beside it for {} s",
                overlap_ms / 1000
            );
        }
        WebhooksCommand::Test { id, policy, store } => test(&id, &policy, &store).await?,
        WebhooksCommand::Dead { id, json, store } => {
            let store = open_store(&store).await?;
            let dead =
                store.webhook_deliveries(&id, DeliveryState::Dead, WEBHOOK_DEAD_LIST_MAX).await?;
            let value = json!(dead.iter().map(delivery_json).collect::<Vec<_>>());
            let human = dead.iter().map(delivery_line).collect::<Vec<_>>().join("\n");
            print(json, value, human);
        }
        WebhooksCommand::Replay { id, store } => {
            let store = open_store(&store).await?;
            let count = store.replay_webhook_deliveries(&id, porch_core::time::now_ms()).await?;
            println!("webhook endpoint {id}: {count} dead deliveries are pending again");
        }
    }
    Ok(())
}

/// Sends a sample and prints the answer, or the failure's cause; fails (exit 2) on failure.
async fn test(id: &str, policy: &PolicyArgs, store_args: &StoreArgs) -> Result<()> {
    let (sender, _) = resolve(policy, store_args)?;
    let store = open_store(store_args).await?;
    let Some(endpoint) = webhooks::endpoint(store.as_ref(), id).await? else {
        bail!("no webhook endpoint `{id}`; see `porch webhooks list`");
    };
    let now_ms = porch_core::time::now_ms();
    let (webhook_id, body) = render::sample(&endpoint.deployment_id, now_ms);
    let secrets = endpoint.signing_secrets(now_ms).len();
    println!("POST {} (webhook-id {webhook_id}, {secrets} signature(s))", endpoint.url);
    match attempt::post(&sender, &endpoint, &webhook_id, body, now_ms).await {
        Ok(answer) => {
            println!(
                "delivered: HTTP {} in {} ms; body: {}",
                answer.status, answer.elapsed_ms, answer.body_start
            );
            Ok(())
        }
        Err(failure) => bail!("a delivery would fail: {}", failure.cause()),
    }
}

/// The delivery client and the limits, from the file, then variables and flags (as `serve`).
fn resolve(policy: &PolicyArgs, store: &StoreArgs) -> Result<(Sender, Limits)> {
    let file = load_file(store.config.as_deref())?;
    let targets = WebhookTargets {
        allow_http: policy.webhook_allow_http.or(file.webhook_allow_http).unwrap_or(false),
        allow_private: policy
            .webhook_allow_private_targets
            .or(file.webhook_allow_private_targets)
            .unwrap_or(false),
    };
    let mut limits = file.limits;
    policy.limits.apply(&mut limits)?;
    let sender = Sender::new(targets, limits.webhook_timeout_ms).map_err(anyhow::Error::msg)?;
    Ok((sender, limits))
}

fn print(as_json: bool, value: serde_json::Value, human: String) {
    if as_json {
        println!("{value}");
    } else if !human.is_empty() {
        println!("{human}");
    }
}

fn endpoint_json(e: &WebhookEndpoint) -> serde_json::Value {
    json!({ "id": e.id, "deploymentId": e.deployment_id, "url": e.url, "eventTypes": e.event_types, "createdAtMs": e.created_at_ms })
}

fn endpoint_line(e: &WebhookEndpoint) -> String {
    format!("{}  {}  {}  events: {}", e.id, e.deployment_id, e.url, e.event_types.join(" "))
}

fn delivery_json(d: &Delivery) -> serde_json::Value {
    json!({ "webhookId": d.webhook_id(), "conversationId": d.conversation_id, "seq": d.seq, "type": d.event_type, "attempts": d.attempts, "lastError": d.last_error, "createdAtMs": d.created_at_ms })
}

fn delivery_line(d: &Delivery) -> String {
    format!(
        "{}  {} seq {}  {}  {} attempts  {}",
        d.webhook_id(),
        d.conversation_id,
        d.seq,
        d.event_type,
        d.attempts,
        d.last_error.as_deref().unwrap_or("")
    )
}
