//! Offers (docs/routing.md): each node offers the waiting conversations of its connected
//! agents' queues, one agent at a time, and ends the offers of its agents that ran out. The
//! store holds every offer (`Store::change_offer`, one live offer per conversation whatever
//! races it); this loop only decides when to ask it. Its timers are the store's offer records,
//! read again at every pass, so a restarted node picks up where it was.
//!
//! A conversation goes to the agent `choose_offeree` names among all of its queue's agents; a
//! node offers it only when that agent is connected here, so the agent that waited longest
//! gets it whichever node it is on. Passes run when something on this node changes (a new
//! conversation, a state change, a status, a decline) and every `OFFER_SCAN_INTERVAL_MS`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use porch_core::limits::{CONVERSATION_LIST_MAX, OFFER_SCAN_INTERVAL_MS};
use porch_core::model::{AgentRouting, QueueSettings, capacity_of};
use porch_core::offer::{Offer, OfferChange, OfferRefusal, OfferRequest, choose_offeree};
use porch_core::store::ConversationFilter;
use porch_core::time::now_ms;
use porch_wire::ErrorCode;
use porch_wire::event::LiveEvent;
use porch_wire::frame::{OfferEndReason, ServerFrame};
use porch_wire::rest::{AgentStatus, Conversation, ConversationState, Participant, Role};
use tokio::sync::Notify;

use crate::agents;
use crate::auth::AgentPrincipal;
use crate::conversation;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What wakes this node's offer loop.
#[derive(Default)]
pub struct Offers {
    wake: Notify,
}

impl Offers {
    /// Something changed that may make or end an offer: run a pass now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The loop: a pass, then a wait until the next of this node's offers runs out, a wake, a
/// conversation event from any node, or the scan interval, until the node shuts down.
pub async fn run(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    loop {
        let next_expiry_ms = match pass(&state).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = ?e, "an offer pass failed; retrying at the next");
                None
            }
        };
        let scan_ms = OFFER_SCAN_INTERVAL_MS;
        let wait_ms = next_expiry_ms
            .map_or(scan_ms, |at| u64::try_from(at - now_ms()).unwrap_or(0).min(scan_ms));
        tokio::select! {
            () = state.offers.wake.notified() => {}
            // Another node's conversation too: its agents here may take it.
            () = state.hub.conversation_changed() => {}
            () = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// What one pass knows: the agents connected here, and the offers held per agent.
struct Pass {
    here: BTreeSet<String>,
    offered: HashMap<String, u32>,
    next_expiry_ms: Option<i64>,
    now_ms: i64,
}

impl Pass {
    fn expires(&mut self, at_ms: i64) {
        self.next_expiry_ms = Some(self.next_expiry_ms.map_or(at_ms, |n| n.min(at_ms)));
    }
}

/// One pass over the queues of the agents connected here. Returns when the next offer runs
/// out.
async fn pass(state: &AppState) -> ApiResult<Option<i64>> {
    let here: BTreeSet<String> = state.presence.here().into_iter().collect();
    if here.is_empty() {
        return Ok(None);
    }
    let now_ms = now_ms();
    let mut offered = HashMap::new();
    let mut pass = Pass { here, offered: HashMap::new(), next_expiry_ms: None, now_ms };
    for offer in state.store.live_offers(now_ms).await? {
        if let Some(agent_id) = offer.agent_id {
            if pass.here.contains(&agent_id) {
                pass.expires(offer.expires_at_ms);
            }
            *offered.entry(agent_id).or_insert(0) += 1;
        }
    }
    pass.offered = offered;
    let mut queues = BTreeSet::new();
    for agent_id in &pass.here {
        if let Some(agent) = state.store.agent_routing(agent_id).await? {
            queues.extend(agent.queues);
        }
    }
    for queue in queues {
        offer_queue(state, &queue, &mut pass).await?;
    }
    Ok(pass.next_expiry_ms)
}

async fn offer_queue(state: &AppState, queue: &str, pass: &mut Pass) -> ApiResult<()> {
    let settings = crate::routing::queue(state, queue).await?;
    let mut agents = state.store.queue_agents(queue).await?;
    let names: BTreeSet<String> = agents.iter().flat_map(|a| a.queues.clone()).collect();
    let all_settings = state.store.queue_settings(names.into_iter().collect()).await?;
    let filter = ConversationFilter {
        queues: vec![queue.to_owned()],
        states: vec![ConversationState::Waiting],
        limit: CONVERSATION_LIST_MAX,
    };
    let mut waiting = state.store.conversations(filter).await?;
    // The longest-waiting guest first.
    waiting.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
    if waiting.is_empty() {
        return Ok(());
    }
    // One read for the queue, not one per waiting guest: a pass runs at every change of any
    // conversation, and a busy queue has hundreds waiting.
    let ids = waiting.iter().map(|c| c.id.clone()).collect();
    let mut records: HashMap<String, Offer> = state
        .store
        .offers_of(ids)
        .await?
        .into_iter()
        .map(|o| (o.conversation_id.clone(), o))
        .collect();
    for conversation in waiting {
        let record = records.remove(&conversation.id);
        offer_one(state, &conversation, record, &settings, &mut agents, &all_settings, pass)
            .await?;
    }
    Ok(())
}

/// Ends a lapsed offer of an agent here, then offers the conversation to the next agent (or
/// assigns it, on an auto-accept queue) if that agent is connected here.
/// `record` is the conversation's offer record as the pass read it.
async fn offer_one(
    state: &AppState,
    conversation: &Conversation,
    record: Option<Offer>,
    settings: &QueueSettings,
    agents: &mut [AgentRouting],
    all_settings: &[QueueSettings],
    pass: &mut Pass,
) -> ApiResult<()> {
    let mut passed = Vec::new();
    let mut ended_at_ms = i64::MIN;
    if let Some(offer) = record {
        if offer.live_for(pass.now_ms).is_some() {
            return Ok(());
        }
        passed = offer.passed;
        ended_at_ms = offer.expires_at_ms;
        if let Some(lapsed) = offer.agent_id {
            if pass.here.contains(&lapsed) && expire(state, &conversation.id, &lapsed).await? {
                agents.iter_mut().filter(|a| a.agent_id == lapsed).for_each(|a| {
                    a.status = AgentStatus::Away;
                });
            }
            passed.push(lapsed);
        }
    }
    let default_capacity = state.config.limits.agent_capacity_default;
    let offered = &pass.offered;
    // An agent's live offers count against its room, so it is never offered more than it
    // could accept.
    let room = |a: &AgentRouting| {
        let pending = offered.get(&a.agent_id).copied().unwrap_or(0);
        capacity_of(a, all_settings, default_capacity).saturating_sub(pending)
    };
    let Some((chosen, new_round)) = choose_offeree(agents, room, &passed) else {
        return Ok(());
    };
    let agent_id = chosen.agent_id.clone();
    if !pass.here.contains(&agent_id) {
        return Ok(());
    }
    // Everyone passed: the next round waits one offer's time, so an agent that declined is
    // not offered the same conversation again at once.
    let round_at_ms = ended_at_ms.saturating_add(offer_timeout_ms(state));
    if new_round && pass.now_ms < round_at_ms {
        pass.expires(round_at_ms);
        return Ok(());
    }
    if settings.auto_accept {
        return auto_assign(state, conversation, &agent_id, agents).await;
    }
    let expires_at_ms = pass.now_ms + offer_timeout_ms(state);
    let change = OfferChange::Make { agent_id: agent_id.clone(), expires_at_ms, new_round };
    let request =
        OfferRequest { conversation_id: conversation.id.clone(), change, now_ms: pass.now_ms };
    if state.store.change_offer(request).await?.is_ok() {
        let frame = ServerFrame::Offer { conversation: conversation.clone(), expires_at_ms };
        state.publish(LiveEvent::to_agent(&agent_id, frame));
        *pass.offered.entry(agent_id).or_insert(0) += 1;
        pass.expires(expires_at_ms);
    }
    Ok(())
}

fn offer_timeout_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.limits.offer_timeout_ms).unwrap_or(i64::MAX / 4)
}

/// Writes the expiry of `agent_id`'s offer and sets the agent `away`: someone who lets an
/// offer run out is not at the desk. False when another node wrote it first.
async fn expire(state: &AppState, conversation_id: &str, agent_id: &str) -> ApiResult<bool> {
    let request = OfferRequest {
        conversation_id: conversation_id.to_owned(),
        change: OfferChange::Expire { agent_id: agent_id.to_owned() },
        now_ms: now_ms(),
    };
    if state.store.change_offer(request).await?.is_err() {
        return Ok(false);
    }
    state.store.set_agent_status(agent_id, AgentStatus::Away).await?;
    let ended = ServerFrame::OfferEnded {
        conversation_id: conversation_id.to_owned(),
        reason: OfferEndReason::Expired,
    };
    state.publish(LiveEvent::to_agent(agent_id, ended));
    state.publish(LiveEvent::to_agent(agent_id, ServerFrame::Status { status: AgentStatus::Away }));
    crate::supervisor::live::agent_changed(state, agent_id).await;
    Ok(true)
}

/// An auto-accept queue: the chosen agent is assigned at once, through the one-owner rules.
async fn auto_assign(
    state: &AppState,
    conversation: &Conversation,
    agent_id: &str,
    agents: &mut [AgentRouting],
) -> ApiResult<()> {
    let by = Participant { role: Role::Agent, id: agent_id.to_owned(), display_name: None };
    match conversation::change_state(state, conversation, &by, ConversationState::Assigned).await {
        Ok(_) => {
            agents.iter_mut().filter(|a| a.agent_id == agent_id).for_each(|a| a.load += 1);
            state.store.clear_offer(&conversation.id).await?;
            Ok(())
        }
        // Another node or a take by hand was first; the next pass sees it.
        Err(e) if matches!(e.code, ErrorCode::ConversationTaken | ErrorCode::AgentAtCapacity) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The `offer` frames of the live offers `agent_id` holds, for a connection that starts.
pub async fn held_by(state: &AppState, agent_id: &str) -> ApiResult<Vec<ServerFrame>> {
    let mut frames = Vec::new();
    for offer in state.store.live_offers(now_ms()).await? {
        if offer.agent_id.as_deref() != Some(agent_id) {
            continue;
        }
        if let Some(conversation) = state.store.conversation(&offer.conversation_id).await? {
            frames.push(ServerFrame::Offer { conversation, expires_at_ms: offer.expires_at_ms });
        }
    }
    Ok(frames)
}

/// An agent accepts its offer: the offer is held for it while the assignment, checked by the
/// store like any other, is written; then it is cleared. A refused assignment (the agent at
/// its capacity) passes the offer on.
pub async fn accept(
    state: &AppState,
    agent: &AgentPrincipal,
    conversation_id: &str,
) -> ApiResult<Conversation> {
    let conversation = agents::visible(state, agent, conversation_id).await?;
    let until_ms = now_ms() + offer_timeout_ms(state);
    let change = OfferChange::Accept { agent_id: agent.agent_id.clone(), until_ms };
    change_own(state, &conversation, change).await?;
    let by = agents::participant(agent);
    match conversation::change_state(state, &conversation, &by, ConversationState::Assigned).await {
        Ok(assigned) => {
            state.store.clear_offer(&conversation.id).await?;
            ended(state, &agent.agent_id, &conversation.id, OfferEndReason::Accepted);
            Ok(assigned)
        }
        Err(e) => {
            let decline = OfferChange::Decline { agent_id: agent.agent_id.clone() };
            let _ = change_own(state, &conversation, decline).await;
            state.offers.wake();
            Err(e)
        }
    }
}

/// An agent declines its offer: the next agent gets it.
pub async fn decline(
    state: &AppState,
    agent: &AgentPrincipal,
    conversation_id: &str,
) -> ApiResult<()> {
    let conversation = agents::visible(state, agent, conversation_id).await?;
    let change = OfferChange::Decline { agent_id: agent.agent_id.clone() };
    change_own(state, &conversation, change).await?;
    ended(state, &agent.agent_id, &conversation.id, OfferEndReason::Declined);
    state.offers.wake();
    Ok(())
}

fn ended(state: &AppState, agent_id: &str, conversation_id: &str, reason: OfferEndReason) {
    let frame = ServerFrame::OfferEnded { conversation_id: conversation_id.to_owned(), reason };
    state.publish(LiveEvent::to_agent(agent_id, frame));
}

/// Applies an agent's change of its own offer; a refusal becomes its error code.
async fn change_own(
    state: &AppState,
    conversation: &Conversation,
    change: OfferChange,
) -> ApiResult<()> {
    let request =
        OfferRequest { conversation_id: conversation.id.clone(), change, now_ms: now_ms() };
    match state.store.change_offer(request).await? {
        Ok(_) => Ok(()),
        Err(refusal) => Err(refused(conversation, refusal)),
    }
}

fn refused(conversation: &Conversation, refusal: OfferRefusal) -> ApiError {
    match refusal {
        OfferRefusal::NotWaiting if conversation.state == ConversationState::Closed => {
            ApiError::new(
                ErrorCode::ConversationClosed,
                "the conversation is closed; nothing to accept",
            )
        }
        OfferRefusal::NotWaiting => ApiError::new(
            ErrorCode::ConversationTaken,
            "the conversation is no longer waiting: another agent took it; wait for your next offer",
        ),
        OfferRefusal::Expired => ApiError::new(
            ErrorCode::OfferExpired,
            "your offer of this conversation ended (it ran out, or you declined it) and went to the next agent; wait for your next offer",
        ),
        OfferRefusal::NotYours
        | OfferRefusal::Held { .. }
        | OfferRefusal::Passed(_)
        | OfferRefusal::StillLive => ApiError::new(
            ErrorCode::OfferNotYours,
            "this conversation is not offered to you; accept or decline only the offers you receive",
        ),
    }
}
