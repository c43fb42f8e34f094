//! Routing (docs/routing.md): agents' status, capacity, queues and load, queues' settings, and
//! the one-owner rule of assignments, alone and under races. The racing suites take two
//! stores: the same one twice on SQLite, two nodes on one database on PostgreSQL.

use std::sync::Arc;

use porch_core::ids::{new_id, prefix};
use porch_core::model::{AgentRecord, AgentRouting, QueueSettings};
use porch_core::store::{AppendOutcome, PageRequest, Store, StoreError};
use porch_wire::rest::{AgentStatus, Conversation, ConversationState, Message};

use super::*;

/// A new agent serving `queues`, stored.
pub async fn new_agent(store: &dyn Store, queues: &[&str]) -> AgentRecord {
    let agent = agent_record(&format!("routing-{}", new_id(prefix::AGENT)), queues);
    store.create_agent(agent.clone()).await.unwrap();
    agent
}

async fn routing_of(store: &dyn Store, agent: &AgentRecord) -> AgentRouting {
    store.agent_routing(&agent.id).await.unwrap().expect("the agent exists")
}

/// Every entry of a conversation's log.
async fn log_of(store: &dyn Store, conversation: &Conversation) -> Vec<Message> {
    let page = PageRequest { after_seq: Some(0), before_seq: None, limit: 1_000 };
    store.messages(&conversation.id, page).await.unwrap().messages
}

pub async fn suite_agent_routing(store: &dyn Store) {
    let queue = format!("rq-{}", new_id(prefix::AGENT));
    let agent = new_agent(store, &[&queue]).await;
    let fresh = routing_of(store, &agent).await;
    assert_eq!(
        fresh,
        AgentRouting {
            agent_id: agent.id.clone(),
            queues: vec![queue.clone()],
            status: AgentStatus::Offline,
            capacity: None,
            load: 0,
            last_assigned_at_ms: 0,
        },
        "a new agent is offline, with its queues' capacity, holding nothing"
    );
    assert_eq!(store.agent_routing("agt_nobody").await.unwrap(), None);

    for status in AgentStatus::ALL {
        assert!(store.set_agent_status(&agent.id, status).await.unwrap());
        assert_eq!(routing_of(store, &agent).await.status, status);
    }
    assert!(store.set_agent_capacity(&agent.id, Some(5)).await.unwrap());
    assert_eq!(routing_of(store, &agent).await.capacity, Some(5));
    assert!(store.set_agent_capacity(&agent.id, None).await.unwrap());
    assert_eq!(routing_of(store, &agent).await.capacity, None);
    let other = format!("{queue}-other");
    assert!(store.set_agent_queues(&agent.id, vec![other.clone(), queue.clone()]).await.unwrap());
    assert_eq!(routing_of(store, &agent).await.queues, vec![other.clone(), queue.clone()]);
    assert_eq!(
        store.agents().await.unwrap().into_iter().find(|a| a.id == agent.id).unwrap().queues,
        vec![other.clone(), queue.clone()],
        "the agent record reads the same queues"
    );
    // Unknown agents are reported, not ignored.
    assert!(!store.set_agent_status("agt_nobody", AgentStatus::Away).await.unwrap());
    assert!(!store.set_agent_capacity("agt_nobody", Some(2)).await.unwrap());
    assert!(!store.set_agent_queues("agt_nobody", vec![]).await.unwrap());
    // Supervisor: a flag, off for a new agent, read back by every read of the record.
    let supervisor = |agents: Vec<porch_core::model::AgentRecord>| {
        agents.into_iter().find(|a| a.id == agent.id).map(|a| a.supervisor)
    };
    assert_eq!(supervisor(store.agents().await.unwrap()), Some(false), "a new agent is plain");
    assert!(store.set_agent_supervisor(&agent.id, true).await.unwrap());
    assert_eq!(supervisor(store.agents().await.unwrap()), Some(true));
    let by_name = store.agent_by_name(&agent.name).await.unwrap().unwrap();
    assert!(by_name.supervisor, "read by name too (what every agent request checks)");
    assert!(store.set_agent_supervisor(&agent.id, false).await.unwrap());
    assert_eq!(supervisor(store.agents().await.unwrap()), Some(false));
    assert!(!store.set_agent_supervisor("agt_nobody", true).await.unwrap());

    // Queues: nothing stored until configured; a second set replaces the first.
    assert!(store.queue_settings(vec![queue.clone()]).await.unwrap().is_empty());
    let settings = QueueSettings {
        capacity_default: Some(4),
        auto_accept: true,
        manual_take: false,
        ..QueueSettings::unset(&queue)
    };
    store.set_queue(settings.clone()).await.unwrap();
    store.set_queue(QueueSettings::unset(&other)).await.unwrap();
    let names = vec![queue.clone(), other.clone(), "rq-never".to_owned()];
    let mut expected = vec![settings.clone(), QueueSettings::unset(&other)];
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(store.queue_settings(names.clone()).await.unwrap(), expected);
    let changed = QueueSettings { capacity_default: None, ..settings };
    store.set_queue(changed.clone()).await.unwrap();
    assert_eq!(store.queue_settings(vec![queue.clone()]).await.unwrap(), vec![changed]);
}

/// A queue's agents come in offer order: never assigned first, then the longest since.
pub async fn suite_queue_agents(store: &dyn Store) {
    let queue = format!("order-{}", new_id(prefix::AGENT));
    let early = new_agent(store, &[&queue]).await;
    let late = new_agent(store, &[&queue]).await;
    let never = new_agent(store, &["elsewhere", &queue]).await;
    new_agent(store, &["elsewhere"]).await;
    for (agent, at_ms) in [(&late, T0_MS + 9_000), (&early, T0_MS + 5_000)] {
        let conversation = new_conversation(store, &queue).await;
        let mut assign = assign_to(&conversation, &agent.id, 3);
        assign.now_ms = at_ms;
        created(store.append(assign).await.unwrap());
    }
    let order: Vec<String> =
        store.queue_agents(&queue).await.unwrap().into_iter().map(|a| a.agent_id).collect();
    assert_eq!(order, vec![never.id.clone(), early.id.clone(), late.id.clone()]);
    let read = routing_of(store, &early).await;
    assert_eq!((read.load, read.last_assigned_at_ms), (1, T0_MS + 5_000));
    assert!(store.queue_agents("order-nobody").await.unwrap().is_empty());
}

/// One owner: a held conversation is not taken (not even by its holder), nothing is written
/// by a refusal, and leaving `assigned` releases the holder.
pub async fn suite_one_owner(store: &dyn Store) {
    let queue = "owner";
    let (first, second) = (new_agent(store, &[queue]).await, new_agent(store, &[queue]).await);
    let conversation = new_conversation(store, queue).await;
    let (entry, held) =
        created(store.append(assign_to(&conversation, &first.id, 2)).await.unwrap());
    assert_eq!(entry.event, Some(ConversationState::Assigned));
    assert_eq!(held.assigned_agent_id.as_deref(), Some(first.id.as_str()));
    assert_eq!(routing_of(store, &first).await.load, 1);
    assert_eq!(routing_of(store, &first).await.last_assigned_at_ms, entry.created_at_ms);

    for agent in [&second, &first] {
        assert_eq!(
            store.append(assign_to(&conversation, &agent.id, 2)).await,
            Err(StoreError::ConversationTaken {
                conversation_id: conversation.id.clone(),
                agent_id: first.id.clone()
            })
        );
    }
    assert_eq!(store.conversation(&conversation.id).await.unwrap(), Some(held.clone()));
    assert_eq!(log_of(store, &conversation).await.len(), 1, "a refusal writes nothing");
    assert_eq!(routing_of(store, &first).await.load, 1);
    assert_eq!(routing_of(store, &second).await.load, 0);

    // Back to the queue: the holder is released and another agent may take it.
    let (_, back) = created(
        store.append(system_event(&conversation, ConversationState::Waiting, None)).await.unwrap(),
    );
    assert_eq!((back.state, back.assigned_agent_id), (ConversationState::Waiting, None));
    assert_eq!(routing_of(store, &first).await.load, 0);
    created(store.append(assign_to(&conversation, &second.id, 2)).await.unwrap());
    assert_eq!(routing_of(store, &second).await.load, 1);
    // Closing releases too, and names who handled it.
    let (_, closed) = created(
        store.append(system_event(&conversation, ConversationState::Closed, None)).await.unwrap(),
    );
    assert_eq!(closed.assigned_agent_id.as_deref(), Some(second.id.as_str()));
    assert_eq!(routing_of(store, &second).await.load, 0);

    let other = new_conversation(store, queue).await;
    assert_eq!(
        store.append(assign_to(&other, "agt_nobody", 2)).await,
        Err(StoreError::AgentUnknown("agt_nobody".to_owned()))
    );
    assert!(log_of(store, &other).await.is_empty());
}

/// No agent over its capacity: the assignment past it is refused and writes nothing; a
/// release makes room; a capacity below the load takes nothing away.
pub async fn suite_capacity(store: &dyn Store) {
    let queue = "capacity";
    let agent = new_agent(store, &[queue]).await;
    let mut conversations = Vec::new();
    for _ in 0..3 {
        conversations.push(new_conversation(store, queue).await);
    }
    for conversation in &conversations[..2] {
        created(store.append(assign_to(conversation, &agent.id, 2)).await.unwrap());
    }
    let full = Err(StoreError::AgentAtCapacity { agent_id: agent.id.clone(), capacity: 2 });
    assert_eq!(store.append(assign_to(&conversations[2], &agent.id, 2)).await, full);
    let untouched = store.conversation(&conversations[2].id).await.unwrap().unwrap();
    assert_eq!((untouched.state, untouched.last_seq), (ConversationState::Waiting, 0));
    assert_eq!(routing_of(store, &agent).await.load, 2);

    // A lower capacity refuses more, and keeps what the agent holds.
    assert!(matches!(
        store.append(assign_to(&conversations[2], &agent.id, 1)).await,
        Err(StoreError::AgentAtCapacity { capacity: 1, .. })
    ));
    assert_eq!(routing_of(store, &agent).await.load, 2);

    store.append(system_event(&conversations[0], ConversationState::Closed, None)).await.unwrap();
    assert_eq!(routing_of(store, &agent).await.load, 1);
    created(store.append(assign_to(&conversations[2], &agent.id, 2)).await.unwrap());
    assert_eq!(routing_of(store, &agent).await.load, 2);
}

/// What one racer got.
fn outcome(result: Result<AppendOutcome, StoreError>) -> &'static str {
    match result {
        Ok(AppendOutcome::Created { .. }) => "assigned",
        Err(StoreError::ConversationTaken { .. }) => "taken",
        Err(StoreError::AgentAtCapacity { .. }) => "full",
        other => panic!("an assignment race ended in {other:?}"),
    }
}

/// Eight agents, half on each store, take one conversation at once: exactly one gets it, the
/// log has one assignment, and only the winner's load moved.
pub async fn suite_racing_takes(nodes: [Arc<dyn Store>; 2]) {
    const AGENTS: usize = 8;
    let queue = "race-take";
    let conversation = new_conversation(&*nodes[0], queue).await;
    let mut agents = Vec::new();
    for _ in 0..AGENTS {
        agents.push(new_agent(&*nodes[0], &[queue]).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, agent) in agents.iter().enumerate() {
        let node = Arc::clone(&nodes[i % 2]);
        let request = assign_to(&conversation, &agent.id, 3);
        let agent_id = agent.id.clone();
        tasks.spawn(async move { (agent_id, outcome(node.append(request).await)) });
    }
    let results = tasks.join_all().await;
    let winners: Vec<&String> =
        results.iter().filter(|(_, o)| *o == "assigned").map(|(a, _)| a).collect();
    assert_eq!(winners.len(), 1, "exactly one owner: {results:?}");
    assert!(results.iter().all(|(_, o)| *o != "full"), "{results:?}");
    let stored = nodes[1].conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!(stored.assigned_agent_id.as_ref(), Some(winners[0]));
    let log = log_of(&*nodes[1], &conversation).await;
    assert_eq!(log.len(), 1, "one assignment entry: {log:?}");
    for agent in &agents {
        let expected = u32::from(&agent.id == winners[0]);
        assert_eq!(routing_of(&*nodes[1], agent).await.load, expected);
    }
}

/// One agent of capacity 3 is assigned twelve conversations at once through both stores:
/// exactly three assignments stand, the other nine are refused and write nothing.
pub async fn suite_racing_capacity(nodes: [Arc<dyn Store>; 2]) {
    const CONVERSATIONS: usize = 12;
    const CAPACITY: u32 = 3;
    let queue = "race-full";
    let agent = new_agent(&*nodes[0], &[queue]).await;
    let mut conversations = Vec::new();
    for _ in 0..CONVERSATIONS {
        conversations.push(new_conversation(&*nodes[0], queue).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (c, conversation) in conversations.iter().enumerate() {
        let node = Arc::clone(&nodes[c % 2]);
        let request = assign_to(conversation, &agent.id, CAPACITY);
        tasks.spawn(async move { outcome(node.append(request).await) });
    }
    let results = tasks.join_all().await;
    assert_eq!(results.iter().filter(|o| **o == "assigned").count(), CAPACITY as usize);
    assert_eq!(results.iter().filter(|o| **o == "full").count(), CONVERSATIONS - 3);
    assert_eq!(routing_of(&*nodes[1], &agent).await.load, CAPACITY);
    let mut held = 0;
    for conversation in &conversations {
        let stored = nodes[1].conversation(&conversation.id).await.unwrap().unwrap();
        held += u32::from(stored.state == ConversationState::Assigned);
        assert_eq!(stored.last_seq, u64::from(stored.state == ConversationState::Assigned));
    }
    assert_eq!(held, CAPACITY);
}

/// Four agents of capacity 3 race for the same twelve conversations through both stores: no
/// agent ends over its capacity, no conversation has two owners, and every load is what the
/// conversations say.
pub async fn suite_racing_owners(nodes: [Arc<dyn Store>; 2]) {
    const CONVERSATIONS: usize = 12;
    const CAPACITY: u32 = 3;
    let queue = "race-owners";
    let mut conversations = Vec::new();
    for _ in 0..CONVERSATIONS {
        conversations.push(new_conversation(&*nodes[0], queue).await);
    }
    let mut agents = Vec::new();
    for _ in 0..4 {
        agents.push(new_agent(&*nodes[0], &[queue]).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (c, conversation) in conversations.iter().enumerate() {
        for (a, agent) in agents.iter().enumerate() {
            let node = Arc::clone(&nodes[(c + a) % 2]);
            let request = assign_to(conversation, &agent.id, CAPACITY);
            tasks.spawn(async move { outcome(node.append(request).await) });
        }
    }
    let results = tasks.join_all().await;
    let assigned = results.iter().filter(|o| **o == "assigned").count();
    // Four agents of capacity 3 hold at most 12; every conversation is held by one at most.
    assert!(assigned <= CONVERSATIONS, "{assigned} assignments of {CONVERSATIONS} conversations");
    let mut held_by = std::collections::BTreeMap::<String, u32>::new();
    for conversation in &conversations {
        let stored = nodes[1].conversation(&conversation.id).await.unwrap().unwrap();
        let entries = log_of(&*nodes[1], conversation).await;
        let assignments =
            entries.iter().filter(|m| m.event == Some(ConversationState::Assigned)).count();
        match stored.state {
            ConversationState::Assigned => {
                assert_eq!(assignments, 1, "one owner of {}: {entries:?}", conversation.id);
                *held_by.entry(stored.assigned_agent_id.unwrap()).or_default() += 1;
            }
            state => {
                assert_eq!((state, assignments), (ConversationState::Waiting, 0));
            }
        }
    }
    assert_eq!(held_by.values().sum::<u32>() as usize, assigned);
    for agent in &agents {
        let load = routing_of(&*nodes[1], agent).await.load;
        assert!(load <= CAPACITY, "agent over capacity: {load}");
        assert_eq!(load, held_by.get(&agent.id).copied().unwrap_or(0), "load counts its own");
    }
}

/// A queue's positions and waits (`queue_standing`): waiting conversations oldest first, and
/// the waits (start to first assignment) of those an agent held, none of the others.
pub async fn suite_queue_standing(store: &dyn Store) {
    let queue = format!("standing-{}", new_id(prefix::AGENT));
    let agent = new_agent(store, &[&queue]).await;
    let (client, deployment) = seed(store, &queue).await;
    let mut started = Vec::new();
    // Created newest first, so the order read is the store's, not the order of creation.
    for at_ms in [T0_MS + 3_000, T0_MS + 1_000, T0_MS + 2_000] {
        let guest = guest_record(&client, &deployment, at_ms);
        started.push(store.create_guest(guest, queue.clone()).await.unwrap());
    }
    let ids = |c: &[&Conversation]| c.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let (third, first, second) = (&started[0], &started[1], &started[2]);
    let read = store.queue_standing(&queue, 100, 20).await.unwrap();
    assert_eq!(read.waiting, ids(&[first, second, third]), "oldest first");
    assert!(read.waits_ms.is_empty(), "no history yet");
    assert_eq!(store.queue_standing(&queue, 2, 20).await.unwrap().waiting.len(), 2);

    let mut assign = assign_to(first, &agent.id, 3);
    assign.now_ms = T0_MS + 61_000;
    created(store.append(assign).await.unwrap());
    let mut close = system_event(third, ConversationState::Closed, None);
    close.now_ms = T0_MS + 70_000;
    created(store.append(close).await.unwrap());
    let read = store.queue_standing(&queue, 100, 20).await.unwrap();
    assert_eq!(read.waiting, ids(&[second]));
    assert_eq!(read.waits_ms, vec![60_000], "a close without an agent is no wait");

    let mut take = assign_to(second, &agent.id, 3);
    take.now_ms = T0_MS + 12_000;
    created(store.append(take).await.unwrap());
    let read = store.queue_standing(&queue, 100, 20).await.unwrap();
    assert!(read.waiting.is_empty());
    assert_eq!(read.waits_ms.len(), 2);
    assert!(read.waits_ms.contains(&10_000) && read.waits_ms.contains(&60_000));
    assert_eq!(store.queue_standing(&queue, 100, 1).await.unwrap().waits_ms.len(), 1);
    let other = store.queue_standing("standing-nobody", 100, 20).await.unwrap();
    assert_eq!(other, porch_core::queue::QueueStanding::default());
}
