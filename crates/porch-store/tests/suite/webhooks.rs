//! The webhook outbox: rows written by the commits that cause them, claims that lease, the
//! per-conversation order, retries, dead letters and replay.

use std::sync::Arc;

use porch_core::ids::{new_id, prefix};
use porch_core::store::Store;
use porch_core::webhook::{Claim, Delivery, DeliveryState, EventType, Finish, WebhookEndpoint};
use porch_wire::rest::{Conversation, ConversationState};

use super::*;

pub fn endpoint_record(deployment_id: &str, types: &[EventType]) -> WebhookEndpoint {
    WebhookEndpoint {
        id: new_id(prefix::WEBHOOK_ENDPOINT),
        deployment_id: deployment_id.to_owned(),
        url: "https://hooks.example.com/porch".to_owned(),
        event_types: types.iter().map(|t| t.as_str().to_owned()).collect(),
        secret: porch_core::webhook::new_secret(),
        previous_secret: None,
        previous_secret_until_ms: 0,
        created_at_ms: T0_MS,
    }
}

fn claim(endpoint: &WebhookEndpoint, owner: &str, now_ms: i64) -> Claim {
    Claim {
        endpoint_id: endpoint.id.clone(),
        owner: owner.to_owned(),
        now_ms,
        lease_until_ms: now_ms + 60_000,
        limit: 10,
    }
}

fn keys(deliveries: &[Delivery]) -> Vec<(String, u64, String)> {
    deliveries.iter().map(|d| (d.conversation_id.clone(), d.seq, d.event_type.clone())).collect()
}

async fn pending(store: &dyn Store, endpoint: &WebhookEndpoint) -> Vec<(String, u64, String)> {
    keys(&store.webhook_deliveries(&endpoint.id, DeliveryState::Pending, 100).await.unwrap())
}

/// A conversation of a deployment with two endpoints: `all` takes every event, `closed` only
/// `conversation.closed`. Endpoints exist before the guest, so its creation is enqueued.
async fn subscribed(store: &dyn Store) -> (Conversation, WebhookEndpoint, WebhookEndpoint) {
    let (client, deployment) = seed(store, "hooks").await;
    let all = endpoint_record(&deployment.id, &EventType::ALL);
    let closed = endpoint_record(&deployment.id, &[EventType::ConversationClosed]);
    store.create_webhook_endpoint(all.clone()).await.unwrap();
    store.create_webhook_endpoint(closed.clone()).await.unwrap();
    let guest = guest_record(&client, &deployment, T0_MS);
    let conversation = store.create_guest(guest, "hooks".to_owned()).await.unwrap();
    (conversation, all, closed)
}

/// Every append and every new conversation enqueues one row per subscribed endpoint, in its
/// commit; a duplicate or refused append enqueues nothing; other deployments hear nothing.
pub async fn suite_webhook_enqueue(store: &dyn Store) {
    let (conversation, all, closed) = subscribed(store).await;
    let elsewhere = new_conversation(store, "hooks").await;
    let guest = guest_of(&conversation);
    let first = says(&conversation, &guest, "c1", "hello");
    store.append(first.clone()).await.unwrap();
    store.append(first).await.unwrap();
    // An assignment names a stored agent (routing's rule), serving the conversation's queue.
    let agent = new_agent(store, &[conversation.queue.as_str()]).await;
    store
        .append(system_event(&conversation, ConversationState::Assigned, Some(&agent.id)))
        .await
        .unwrap();
    store.append(system_event(&conversation, ConversationState::Waiting, None)).await.unwrap();
    store.append(system_event(&conversation, ConversationState::Closed, None)).await.unwrap();
    assert!(store.append(says(&conversation, &guest, "c2", "late")).await.is_err());
    fill(store, &elsewhere, 1).await;
    let id = &conversation.id;
    let expected: Vec<(String, u64, String)> = [
        (0, "conversation.created"),
        (1, "message.created"),
        (2, "conversation.assigned"),
        (3, "conversation.returned"),
        (4, "conversation.closed"),
    ]
    .into_iter()
    .map(|(seq, t)| (id.clone(), seq, t.to_owned()))
    .collect();
    assert_eq!(pending(store, &all).await, expected);
    assert_eq!(pending(store, &closed).await, [(id.clone(), 4, "conversation.closed".to_owned())]);
    let rows = store.webhook_deliveries(&all.id, DeliveryState::Pending, 100).await.unwrap();
    assert_eq!(
        rows[2].agent_id.as_deref(),
        Some(agent.id.as_str()),
        "an assignment names its agent"
    );
    assert!(rows.iter().all(|d| d.attempts == 0 && d.last_error.is_none()));
    assert_eq!(rows[0].webhook_id(), rows[0].clone().webhook_id(), "one id per event");
    assert_ne!(rows[0].webhook_id(), rows[1].webhook_id());
}

/// A claim leases the oldest due row of each conversation; the next row of a conversation
/// waits until the one before it is delivered or dead; a lease keeps other owners off until it
/// ends, and only the owner finishes.
pub async fn suite_webhook_claims(store: &dyn Store) {
    let (conversation, all, _) = subscribed(store).await;
    fill(store, &conversation, 2).await;
    let t = T0_MS + 10_000;
    let taken = store.claim_webhook_deliveries(claim(&all, "node-a", t)).await.unwrap();
    assert_eq!(keys(&taken).iter().map(|k| k.1).collect::<Vec<_>>(), [0], "one per conversation");
    assert!(store.claim_webhook_deliveries(claim(&all, "node-b", t)).await.unwrap().is_empty());
    let first = &taken[0];
    assert!(!store.finish_webhook_delivery(first, "node-b", Finish::Delivered).await.unwrap());
    assert!(store.finish_webhook_delivery(first, "node-a", Finish::Delivered).await.unwrap());
    assert!(!store.finish_webhook_delivery(first, "node-a", Finish::Delivered).await.unwrap());

    let second = store.claim_webhook_deliveries(claim(&all, "node-a", t)).await.unwrap();
    assert_eq!(second.iter().map(|d| d.seq).collect::<Vec<_>>(), [1]);
    let retry = Finish::Retry { at_ms: t + 5_000, error: "HTTP 503".to_owned() };
    assert!(store.finish_webhook_delivery(&second[0], "node-a", retry).await.unwrap());
    assert!(
        store.claim_webhook_deliveries(claim(&all, "node-a", t + 4_999)).await.unwrap().is_empty(),
        "seq 1 is not due, and seq 2 waits for it"
    );
    let again = store.claim_webhook_deliveries(claim(&all, "node-b", t + 5_000)).await.unwrap();
    assert_eq!((again[0].seq, again[0].attempts), (1, 1));
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(again[0].webhook_id(), second[0].webhook_id(), "the same id on every attempt");

    // node-b's lease ends unfinished (a node that died): node-a takes the row over, and
    // node-b can no longer finish it.
    let short = Claim { lease_until_ms: t + 5_001, ..claim(&all, "node-b", t + 5_000) };
    assert!(store.claim_webhook_deliveries(short).await.unwrap().is_empty(), "leased until +60 s");
    let later = t + 5_000 + 60_000;
    let over = store.claim_webhook_deliveries(claim(&all, "node-a", later)).await.unwrap();
    assert_eq!(over.iter().map(|d| d.seq).collect::<Vec<_>>(), [1]);
    let dead = Finish::Dead { error: "HTTP 410".to_owned() };
    assert!(!store.finish_webhook_delivery(&over[0], "node-b", dead.clone()).await.unwrap());
    assert!(store.finish_webhook_delivery(&over[0], "node-a", dead).await.unwrap());
    let next = store.claim_webhook_deliveries(claim(&all, "node-a", later)).await.unwrap();
    assert_eq!(next.iter().map(|d| d.seq).collect::<Vec<_>>(), [2], "a dead row no longer blocks");
}

/// Dead rows are listed with their cause and replayed as new; removing an endpoint removes its
/// rows; a rotation keeps the previous secret.
pub async fn suite_webhook_dead_letters(store: &dyn Store) {
    let (conversation, all, closed) = subscribed(store).await;
    let t = T0_MS + 10_000;
    let taken = store.claim_webhook_deliveries(claim(&all, "node-a", t)).await.unwrap();
    let long_error = "x".repeat(10_000);
    let dead = Finish::Dead { error: long_error };
    assert!(store.finish_webhook_delivery(&taken[0], "node-a", dead).await.unwrap());
    let listed = store.webhook_deliveries(&all.id, DeliveryState::Dead, 100).await.unwrap();
    assert_eq!(keys(&listed), [(conversation.id.clone(), 0, "conversation.created".to_owned())]);
    let kept = listed[0].last_error.as_deref().unwrap_or_default().chars().count();
    assert_eq!(kept, porch_core::limits::WEBHOOK_ERROR_CHARS_MAX, "a cause is kept short");
    assert_eq!(store.replay_webhook_deliveries(&all.id, t + 1).await.unwrap(), 1);
    assert_eq!(store.replay_webhook_deliveries(&all.id, t + 1).await.unwrap(), 0);
    let back = store.claim_webhook_deliveries(claim(&all, "node-a", t + 1)).await.unwrap();
    assert_eq!((back[0].seq, back[0].attempts, back[0].created_at_ms), (0, 0, t + 1));

    assert!(store.rotate_webhook_secret(&all.id, "whsec_bmV3".to_owned(), t + 9).await.unwrap());
    assert!(!store.rotate_webhook_secret("whe_none", "whsec_bmV3".to_owned(), 0).await.unwrap());
    let endpoints = store.webhook_endpoints().await.unwrap();
    let rotated = endpoints.iter().find(|e| e.id == all.id).unwrap();
    assert_eq!(
        (
            rotated.secret.as_str(),
            rotated.previous_secret.as_deref(),
            rotated.previous_secret_until_ms
        ),
        ("whsec_bmV3", Some(all.secret.as_str()), t + 9)
    );
    store.append(system_event(&conversation, ConversationState::Closed, None)).await.unwrap();
    assert!(store.delete_webhook_endpoint(&closed.id).await.unwrap());
    assert!(!store.delete_webhook_endpoint(&closed.id).await.unwrap());
    assert!(pending(store, &closed).await.is_empty(), "its rows went with it");
    assert!(!store.webhook_endpoints().await.unwrap().iter().any(|e| e.id == closed.id));
}

/// Nodes claiming at once take different rows.
pub async fn suite_webhook_concurrent_claims(store: Arc<dyn Store>) {
    let (_, all, _) = subscribed(&*store).await;
    for _ in 0..19 {
        let (client, deployment) =
            (client_record(&new_id(prefix::CLIENT)), all.deployment_id.clone());
        store.create_client(client.clone()).await.unwrap();
        let deployment = store.deployment(&deployment).await.unwrap().unwrap();
        store
            .create_guest(guest_record(&client, &deployment, T0_MS), "hooks".to_owned())
            .await
            .unwrap();
    }
    let t = T0_MS + 10_000;
    let claims = (0..4).map(|i| {
        let store = store.clone();
        let claim = Claim { limit: 20, ..claim(&all, &format!("node-{i}"), t) };
        tokio::spawn(async move { store.claim_webhook_deliveries(claim).await.unwrap() })
    });
    let mut taken: Vec<String> = Vec::new();
    for claim in claims.collect::<Vec<_>>() {
        taken.extend(claim.await.unwrap().iter().map(|d| d.conversation_id.clone()));
    }
    let count = taken.len();
    taken.sort();
    taken.dedup();
    assert_eq!((count, taken.len()), (20, 20), "every row taken once");
}

/// An entry that is an event of its own (`AppendRequest::webhook_event`) enqueues that event,
/// not the one of its state change; an identifying append changes the guest, writes its entry
/// and enqueues `guest.identified` in one commit, or, for a guest another customer has, does
/// none of them.
pub async fn suite_webhook_own_events(store: &dyn Store) {
    use porch_core::store::{GuestIdentity, StoreError};
    let (conversation, all, _) = subscribed(store).await;
    let mut transfer = system_event(&conversation, ConversationState::Waiting, None);
    transfer.queue = Some("elsewhere".to_owned());
    transfer.note = Some("for agents only".to_owned());
    transfer.webhook_event = Some(EventType::ConversationTransferred);
    store.append(transfer).await.unwrap();

    let identity = |external_id: &str| GuestIdentity {
        guest_id: conversation.guest.id.clone(),
        external_id: external_id.to_owned(),
        display_name: Some("Ada Lovelace".to_owned()),
        email: None,
    };
    let identifying = |external_id: &str| {
        let mut request = system_event(&conversation, ConversationState::Waiting, None);
        request.event = None;
        request.text = "The guest signed in".to_owned();
        request.webhook_event = Some(EventType::GuestIdentified);
        request.identify = Some(Box::new(identity(external_id)));
        request
    };
    store.append(identifying("crm-42")).await.unwrap();
    let guest = store.guest(&conversation.guest.id).await.unwrap().unwrap().guest;
    assert_eq!(
        (guest.external_id.as_deref(), guest.display_name.as_deref()),
        (Some("crm-42"), Some("Ada Lovelace"))
    );
    assert_eq!(guest.verified_by, Some(porch_wire::rest::Verification::IdentityToken));

    let refused = store.append(identifying("crm-7")).await.unwrap_err();
    assert_eq!(refused, StoreError::GuestOfAnotherCustomer(conversation.guest.id.clone()));
    let id = &conversation.id;
    let expected: Vec<(String, u64, String)> =
        [(0, "conversation.created"), (1, "conversation.transferred"), (2, "guest.identified")]
            .into_iter()
            .map(|(seq, t)| (id.clone(), seq, t.to_owned()))
            .collect();
    assert_eq!(pending(store, &all).await, expected, "nothing of the refused one");
    let after = store.conversation(id).await.unwrap().unwrap();
    assert_eq!((after.last_seq, after.queue.as_str()), (2, "elsewhere"), "no entry either");
    let guest = store.guest(&conversation.guest.id).await.unwrap().unwrap().guest;
    assert_eq!(guest.external_id.as_deref(), Some("crm-42"), "still the first customer's");
}
