//! The delivery loop of a node: every `webhook_poll_interval_ms`, for each endpoint with a free
//! slot, lease its due rows (`Store::claim_webhook_deliveries`) and deliver each on a task of its
//! own. An endpoint has `webhook_concurrency_per_endpoint` slots on each node, so a slow or
//! hanging receiver holds its own slots, never another endpoint's, and nothing of a guest's
//! or agent's path waits for a delivery: sends only write the outbox row, in their commit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use porch_core::webhook::{Claim, Delivery, Finish, Schedule, WebhookEndpoint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::attempt;
use super::render;
use super::target::Sender;
use crate::metrics::{METRICS, WebhookOutcome};
use crate::state::AppState;

/// What every delivery task of the node shares.
#[derive(Clone)]
struct Deliverer {
    state: AppState,
    sender: Sender,
    schedule: Schedule,
}

/// Starts the node's delivery loop; it ends at shutdown. Deliveries in flight then are left to
/// their lease: another node, or this one restarted, attempts them again when it ends.
pub fn start(state: AppState) -> JoinHandle<()> {
    let limits = &state.config.limits;
    let sender = state.webhooks.clone();
    let schedule = Schedule {
        base_ms: limits.webhook_retry_base_ms,
        max_ms: limits.webhook_retry_max_ms,
        horizon_ms: limits.webhook_retry_horizon_ms,
    };
    tokio::spawn(run(Deliverer { state, sender, schedule }))
}

async fn run(deliverer: Deliverer) {
    let mut shutdown = deliverer.state.shutdown.clone();
    let poll = Duration::from_millis(deliverer.state.config.limits.webhook_poll_interval_ms);
    let mut slots: HashMap<String, Arc<Semaphore>> = HashMap::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => return,
        }
        let endpoints = match deliverer.state.store.webhook_endpoints().await {
            Ok(endpoints) => endpoints,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read the endpoints; retrying");
                continue;
            }
        };
        // Slots of removed endpoints go; their tasks hold their own permits.
        slots.retain(|id, _| endpoints.iter().any(|e| &e.id == id));
        for endpoint in endpoints {
            let concurrency = deliverer.state.config.limits.webhook_concurrency_per_endpoint;
            let slots = slots
                .entry(endpoint.id.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(concurrency as usize)))
                .clone();
            deliverer.claim(endpoint, slots).await;
        }
    }
}

impl Deliverer {
    /// Leases as many due rows of `endpoint` as it has free slots, and delivers each.
    async fn claim(&self, endpoint: WebhookEndpoint, slots: Arc<Semaphore>) {
        let free = u32::try_from(slots.available_permits()).unwrap_or(u32::MAX);
        if free == 0 {
            return;
        }
        let now_ms = porch_core::time::now_ms();
        let lease_ms = i64::try_from(self.state.config.limits.webhook_lease_ms).unwrap_or(i64::MAX);
        let claim = Claim {
            endpoint_id: endpoint.id.clone(),
            owner: self.state.config.node_id.clone(),
            now_ms,
            lease_until_ms: now_ms.saturating_add(lease_ms),
            limit: free,
        };
        let claimed = match self.state.store.claim_webhook_deliveries(claim).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(endpoint = %endpoint.id, error = %e, "webhooks: cannot claim deliveries");
                return;
            }
        };
        let endpoint = Arc::new(endpoint);
        for delivery in claimed {
            // The claim took at most `free` rows, and only this loop takes permits.
            let Ok(permit) = slots.clone().try_acquire_owned() else { break };
            tokio::spawn(self.clone().deliver(endpoint.clone(), delivery, permit));
        }
    }

    /// One attempt of one row, and its outcome recorded (which ends the lease).
    async fn deliver(
        self,
        endpoint: Arc<WebhookEndpoint>,
        delivery: Delivery,
        _slot: OwnedSemaphorePermit,
    ) {
        let store = self.state.store.as_ref();
        let body = match render::body(store, &delivery).await {
            Ok(body) => body,
            Err(e) => {
                // The lease ends on its own, and the row is attempted again then.
                tracing::warn!(endpoint = %endpoint.id, error = %e, "webhooks: cannot read an event to deliver");
                return;
            }
        };
        let now_ms = porch_core::time::now_ms();
        METRICS.webhook_in_flight(1);
        let finish = match body {
            None => Finish::Dead {
                error: "the event's conversation or entry is gone from the store".to_owned(),
            },
            Some(body) => {
                match attempt::post(&self.sender, &endpoint, &delivery.webhook_id(), body, now_ms)
                    .await
                {
                    Ok(_) => Finish::Delivered,
                    Err(failure) => {
                        let jitter =
                            u16::from_le_bytes(porch_core::ids::random_bytes::<2>()) % 1001;
                        self.schedule.after_failure(
                            delivery.attempts.saturating_add(1),
                            delivery.created_at_ms,
                            porch_core::time::now_ms(),
                            u32::from(jitter),
                            failure.cause(),
                        )
                    }
                }
            }
        };
        METRICS.webhook_in_flight(-1);
        METRICS.webhook(match finish {
            Finish::Delivered => WebhookOutcome::Delivered,
            Finish::Retry { .. } => WebhookOutcome::Retried,
            Finish::Dead { .. } => WebhookOutcome::Dead,
        });
        log(&endpoint, &delivery, &finish);
        let owner = &self.state.config.node_id;
        match store.finish_webhook_delivery(&delivery, owner, finish).await {
            Ok(true) => {}
            // Its lease ended mid-attempt and another node took it: that node's outcome counts.
            Ok(false) => {
                tracing::info!(endpoint = %endpoint.id, webhook_id = %delivery.webhook_id(), "webhooks: a delivery's lease ended before its attempt did")
            }
            Err(e) => {
                tracing::warn!(endpoint = %endpoint.id, error = %e, "webhooks: cannot record a delivery; it is attempted again when its lease ends")
            }
        }
    }
}

fn log(endpoint: &WebhookEndpoint, delivery: &Delivery, finish: &Finish) {
    let id = delivery.webhook_id();
    match finish {
        Finish::Delivered => {
            tracing::debug!(endpoint = %endpoint.id, webhook_id = %id, "webhooks: delivered")
        }
        Finish::Retry { at_ms, error } => {
            tracing::info!(endpoint = %endpoint.id, webhook_id = %id, attempts = delivery.attempts + 1, retry_at_ms = at_ms, %error, "webhooks: delivery failed; retrying later")
        }
        Finish::Dead { error } => {
            tracing::warn!(endpoint = %endpoint.id, webhook_id = %id, attempts = delivery.attempts + 1, %error, "webhooks: delivery dead-lettered (porch webhooks dead, replay)")
        }
    }
}
