//! The storage suite: every guarantee of `porch_core::store::Store`, checked end to end.
//!
//! Each `suite_*` takes any `Store`, so a new backend proves itself by running the same
//! functions against its own store (include this directory with `#[path]`). Suites that need
//! concurrent tasks take an `Arc<dyn Store>`, because spawned tasks must own their store.
//! Every suite creates its own records with fresh ids and names, so suites can share a store.

mod attachments;
mod bots;
mod canned;
mod context;
mod customers;
mod erasure;
mod fallbacks;
mod group;
mod handover;
mod identity;
mod log;
mod offers;
mod records;
mod reopen;
mod routing;
mod search;
mod webhooks;

pub use attachments::*;
pub use bots::*;
pub use canned::*;
pub use context::*;
pub use customers::*;
pub use erasure::*;
pub use fallbacks::*;
pub use group::*;
pub use handover::*;
pub use identity::*;
pub use log::*;
pub use offers::*;
pub use records::*;
pub use reopen::*;
pub use routing::*;
pub use search::*;
pub use webhooks::*;

use std::collections::BTreeMap;

use porch_core::ids::{base32, new_id, prefix, random_bytes};
use porch_core::model::{AgentRecord, ClientRecord, DeploymentRecord, GuestRecord};
use porch_core::store::{AppendOutcome, AppendRequest, Assignee, Store};
use porch_wire::rest::{Conversation, ConversationState, Guest, Message, Participant, Role};

pub const T0_MS: i64 = 1_700_000_000_000;

pub fn client_record(name: &str) -> ClientRecord {
    ClientRecord {
        id: new_id(prefix::CLIENT),
        name: name.to_owned(),
        secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        scopes: vec!["guests:write".to_owned(), "guests:read".to_owned()],
        created_at_ms: T0_MS,
        standing: Default::default(),
    }
}

pub fn deployment_record(name: &str, queue: &str) -> DeploymentRecord {
    DeploymentRecord {
        id: new_id(prefix::DEPLOYMENT),
        name: name.to_owned(),
        origins: vec!["https://shop.example".to_owned(), "http://127.0.0.1:8080".to_owned()],
        queue: queue.to_owned(),
        guest_token_ttl_secs: 3_600,
        enabled: true,
        created_at_ms: T0_MS + 1,
        notice: None,
        welcome: porch_wire::rest::Welcome::default(),
    }
}

pub fn agent_record(name: &str, queues: &[&str]) -> AgentRecord {
    AgentRecord {
        id: new_id(prefix::AGENT),
        name: name.to_owned(),
        secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$YWdlbnQ".to_owned(),
        queues: queues.iter().map(|q| (*q).to_owned()).collect(),
        created_at_ms: T0_MS + 2,
        standing: Default::default(),
        supervisor: false,
        profile: Default::default(),
    }
}

/// A client and a deployment on `queue`, which guests need to exist.
pub async fn seed(store: &dyn Store, queue: &str) -> (ClientRecord, DeploymentRecord) {
    let client = client_record(&format!("backend-{}", new_id(prefix::CLIENT)));
    let deployment = deployment_record(&format!("site-{}", new_id(prefix::DEPLOYMENT)), queue);
    store.create_client(client.clone()).await.unwrap();
    store.create_deployment(deployment.clone()).await.unwrap();
    (client, deployment)
}

pub fn guest_record(
    client: &ClientRecord,
    deployment: &DeploymentRecord,
    created_at_ms: i64,
) -> GuestRecord {
    GuestRecord {
        guest: Guest {
            id: new_id(prefix::GUEST),
            display_name: Some("Ada".to_owned()),
            email: Some("ada@example.com".to_owned()),
            external_id: None,
            attributes: BTreeMap::from([
                ("plan".to_owned(), "pro".to_owned()),
                ("lang".to_owned(), "fr".to_owned()),
            ]),
            created_at_ms,
            verified_by: None,
        },
        deployment_id: deployment.id.clone(),
        conversation_id: new_id(prefix::CONVERSATION),
        client_id: client.id.clone(),
        revoked: false,
        erased: false,
    }
}

/// A seeded deployment and one fresh conversation on `queue`.
pub async fn new_conversation(store: &dyn Store, queue: &str) -> Conversation {
    let (client, deployment) = seed(store, queue).await;
    store.create_guest(guest_record(&client, &deployment, T0_MS), queue.to_owned()).await.unwrap()
}

pub fn guest_of(conversation: &Conversation) -> Participant {
    Participant { role: Role::Guest, id: conversation.guest.id.clone(), display_name: None }
}

pub fn says(
    conversation: &Conversation,
    sender: &Participant,
    client_message_id: &str,
    text: &str,
) -> AppendRequest {
    AppendRequest {
        conversation_id: conversation.id.clone(),
        sender: sender.clone(),
        client_message_id: Some(client_message_id.to_owned()),
        text: text.to_owned(),
        event: None,
        assign: None,
        content: None,
        holder: None,
        or_unheld: false,
        queue: None,
        note: None,
        wrap_up: None,
        now_ms: T0_MS + 1_000,
        attachment: None,
        reopen_closed_since_ms: None,
        expect_last_seq: None,
        fallback: false,
        webhook_event: None,
        identify: None,
    }
}

pub fn system_event(
    conversation: &Conversation,
    event: ConversationState,
    agent_id: Option<&str>,
) -> AppendRequest {
    AppendRequest {
        conversation_id: conversation.id.clone(),
        sender: Participant { role: Role::System, id: "porch".to_owned(), display_name: None },
        client_message_id: None,
        text: format!("conversation {}", event.as_str()),
        event: Some(event),
        assign: agent_id.map(|agent_id| Assignee {
            agent_id: agent_id.to_owned(),
            capacity: porch_core::limits::AGENT_CAPACITY_DEFAULT,
        }),
        content: None,
        holder: None,
        or_unheld: false,
        queue: None,
        note: None,
        wrap_up: None,
        now_ms: T0_MS + 2_000,
        attachment: None,
        reopen_closed_since_ms: None,
        expect_last_seq: None,
        fallback: false,
        webhook_event: None,
        identify: None,
    }
}

/// The assignment of `conversation` to `agent_id`, checked against `capacity`.
pub fn assign_to(conversation: &Conversation, agent_id: &str, capacity: u32) -> AppendRequest {
    let mut request = system_event(conversation, ConversationState::Assigned, Some(agent_id));
    request.assign = Some(Assignee { agent_id: agent_id.to_owned(), capacity });
    request
}

pub fn created(outcome: AppendOutcome) -> (Message, Conversation) {
    match outcome {
        AppendOutcome::Created { message, conversation, .. } => (message, conversation),
        other => panic!("expected Created, got {other:?}"),
    }
}

pub fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

/// Appends `count` new guest messages, texts `m1`, `m2`, ….
pub async fn fill(store: &dyn Store, conversation: &Conversation, count: u64) {
    let guest = guest_of(conversation);
    let batch = base32(&random_bytes::<8>());
    for i in 1..=count {
        let (message, _) = created(
            store
                .append(says(conversation, &guest, &format!("{batch}-{i}"), &format!("m{i}")))
                .await
                .unwrap(),
        );
        assert_eq!(message.text, format!("m{i}"));
    }
}
