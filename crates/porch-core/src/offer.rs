//! Offers (docs/routing.md): a waiting conversation offered to one agent at a time, until a
//! deadline. The store keeps one offer record per conversation and changes it only through
//! `decide_offer`, so every backend applies the same rules; a backend reads the record, calls
//! it and writes the result only if the record is still the one it read (its `version`), so two
//! nodes can never hold two live offers of one conversation. Who gets the next offer is
//! `choose_offeree`. Nothing here does IO.

use porch_wire::rest::{AgentStatus, ConversationState};

use crate::model::AgentRouting;

/// A conversation's offer record. `agent_id` is the agent it is offered to now (`None`: to
/// nobody), until `expires_at_ms`; `passed` are the agents that declined it or let it expire
/// in this round, who are not offered it again until everyone else eligible has passed too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub conversation_id: String,
    pub agent_id: Option<String>,
    pub expires_at_ms: i64,
    pub passed: Vec<String>,
    /// Raised by every change: what a conditional write compares with.
    pub version: i64,
}

impl Offer {
    /// The agent holding the offer at `now_ms`, if it is still live.
    pub fn live_for(&self, now_ms: i64) -> Option<&str> {
        self.agent_id.as_deref().filter(|_| now_ms < self.expires_at_ms)
    }
}

/// A change of a conversation's offer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferChange {
    /// Offer the conversation to `agent_id` until `expires_at_ms`. `new_round` forgets who
    /// passed (everyone eligible had: `choose_offeree`).
    Make { agent_id: String, expires_at_ms: i64, new_round: bool },
    /// The agent turns its live offer down; the next agent gets it.
    Decline { agent_id: String },
    /// The agent's offer ran out (its node's timer); the agent is set `away` by the caller.
    Expire { agent_id: String },
    /// The agent accepts its live offer: the offer is kept for it until `until_ms`, so nobody
    /// else is offered the conversation while its assignment is written (a bounded hold: a node
    /// that stops after accepting strands nothing for longer).
    Accept { agent_id: String, until_ms: i64 },
}

impl OfferChange {
    pub fn agent_id(&self) -> &str {
        match self {
            OfferChange::Make { agent_id, .. }
            | OfferChange::Decline { agent_id }
            | OfferChange::Expire { agent_id }
            | OfferChange::Accept { agent_id, .. } => agent_id,
        }
    }

    /// Whether the change needs the conversation `waiting` (a backend re-checks it in the
    /// conditional write).
    pub fn needs_waiting(&self) -> bool {
        matches!(self, OfferChange::Make { .. } | OfferChange::Accept { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferRequest {
    pub conversation_id: String,
    pub change: OfferChange,
    pub now_ms: i64,
}

/// Why an offer change was refused; nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OfferRefusal {
    /// The conversation is not waiting (someone holds it, or it is closed).
    #[error("the conversation is not waiting")]
    NotWaiting,
    /// Another live offer holds the conversation.
    #[error("the conversation is offered to agent {agent_id} until {expires_at_ms}")]
    Held { agent_id: String, expires_at_ms: i64 },
    /// The agent passed on the conversation in this round.
    #[error("agent {0} passed on this conversation")]
    Passed(String),
    /// The agent's offer ended: it ran out, or the agent declined it.
    #[error("the offer ended")]
    Expired,
    /// The conversation was never offered to this agent.
    #[error("the conversation is not offered to this agent")]
    NotYours,
    /// An expiry of an offer that is still live.
    #[error("the offer is still live")]
    StillLive,
}

/// What a change of an offer record did: the record as written, or why nothing was.
pub type OfferOutcome = Result<Offer, OfferRefusal>;

/// The rules of every offer change. `state` is the conversation's, `stored` its offer record
/// (`None`: never offered). Returns the record to write in `stored`'s place.
pub fn decide_offer(
    request: &OfferRequest,
    state: ConversationState,
    stored: Option<&Offer>,
) -> OfferOutcome {
    if request.change.needs_waiting() && state != ConversationState::Waiting {
        return Err(OfferRefusal::NotWaiting);
    }
    let now_ms = request.now_ms;
    let mut next = stored.cloned().unwrap_or_else(|| Offer {
        conversation_id: request.conversation_id.clone(),
        agent_id: None,
        expires_at_ms: now_ms,
        passed: Vec::new(),
        version: 0,
    });
    next.version += 1;
    match &request.change {
        OfferChange::Make { agent_id, expires_at_ms, new_round } => {
            if let Some(holder) = stored.and_then(|o| o.live_for(now_ms)) {
                return Err(OfferRefusal::Held {
                    agent_id: holder.to_owned(),
                    expires_at_ms: next.expires_at_ms,
                });
            }
            // An offer that ran out without its expiry being written counts as passed.
            if let Some(lapsed) = next.agent_id.take() {
                pass(&mut next, lapsed);
            }
            if *new_round {
                next.passed.clear();
            } else if next.passed.contains(agent_id) {
                return Err(OfferRefusal::Passed(agent_id.clone()));
            }
            next.agent_id = Some(agent_id.clone());
            next.expires_at_ms = *expires_at_ms;
        }
        OfferChange::Decline { agent_id } => {
            held_by(stored, agent_id, now_ms)?;
            end(&mut next, agent_id, now_ms);
        }
        OfferChange::Expire { agent_id } => {
            match held_by(stored, agent_id, now_ms) {
                Ok(()) => return Err(OfferRefusal::StillLive),
                Err(OfferRefusal::Expired) if next.agent_id.as_deref() == Some(agent_id) => {}
                Err(refusal) => return Err(refusal),
            }
            end(&mut next, agent_id, now_ms);
        }
        OfferChange::Accept { agent_id, until_ms } => {
            held_by(stored, agent_id, now_ms)?;
            next.expires_at_ms = (*until_ms).max(next.expires_at_ms);
        }
    }
    Ok(next)
}

/// Ok when `agent_id` holds the live offer; else whether its offer ended or never was.
fn held_by(stored: Option<&Offer>, agent_id: &str, now_ms: i64) -> Result<(), OfferRefusal> {
    let Some(offer) = stored else { return Err(OfferRefusal::NotYours) };
    if offer.live_for(now_ms) == Some(agent_id) {
        return Ok(());
    }
    let was_theirs =
        offer.agent_id.as_deref() == Some(agent_id) || offer.passed.iter().any(|p| p == agent_id);
    Err(if was_theirs { OfferRefusal::Expired } else { OfferRefusal::NotYours })
}

fn end(offer: &mut Offer, agent_id: &str, now_ms: i64) {
    offer.agent_id = None;
    offer.expires_at_ms = now_ms;
    pass(offer, agent_id.to_owned());
}

fn pass(offer: &mut Offer, agent_id: String) {
    if !offer.passed.contains(&agent_id) {
        offer.passed.push(agent_id);
    }
}

/// The agent to offer a conversation to, from its queue's agents in offer order
/// (`Store::queue_agents`: longest since its last assignment first): the first `available`
/// one with spare capacity (`capacity` resolves it, `model::capacity_of`) that has not passed
/// in this round. When every such agent has passed, a new round starts with the first of them
/// (the `bool`): a conversation nobody wanted is offered again rather than left unseen.
pub fn choose_offeree<'a>(
    agents: &'a [AgentRouting],
    capacity: impl Fn(&AgentRouting) -> u32,
    passed: &[String],
) -> Option<(&'a AgentRouting, bool)> {
    let mut eligible = agents
        .iter()
        .filter(|a| a.status == AgentStatus::Available && a.load < capacity(a))
        .peekable();
    let first = *eligible.peek()?;
    match eligible.find(|a| !passed.contains(&a.agent_id)) {
        Some(agent) => Some((agent, false)),
        None => Some((first, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn request(change: OfferChange) -> OfferRequest {
        OfferRequest { conversation_id: "cnv_1".into(), change, now_ms: NOW }
    }

    fn make(agent: &str, new_round: bool) -> OfferChange {
        OfferChange::Make { agent_id: agent.into(), expires_at_ms: NOW + 100, new_round }
    }

    fn decline(agent: &str) -> OfferChange {
        OfferChange::Decline { agent_id: agent.into() }
    }

    fn waiting(change: OfferChange, stored: Option<&Offer>) -> OfferOutcome {
        decide_offer(&request(change), ConversationState::Waiting, stored)
    }

    fn offer(agent: Option<&str>, expires_at_ms: i64, passed: &[&str]) -> Offer {
        Offer {
            conversation_id: "cnv_1".into(),
            agent_id: agent.map(str::to_owned),
            expires_at_ms,
            passed: passed.iter().map(|p| (*p).to_owned()).collect(),
            version: 7,
        }
    }

    #[test]
    fn one_live_offer_at_a_time_and_only_of_a_waiting_conversation() {
        let first = waiting(make("agt_a", false), None).unwrap();
        assert_eq!(first, Offer { version: 1, ..offer(Some("agt_a"), NOW + 100, &[]) });
        assert_eq!(
            waiting(make("agt_b", false), Some(&first)),
            Err(OfferRefusal::Held { agent_id: "agt_a".into(), expires_at_ms: NOW + 100 })
        );
        for state in [ConversationState::Assigned, ConversationState::Closed] {
            let refused = decide_offer(&request(make("agt_a", false)), state, None);
            assert_eq!(refused, Err(OfferRefusal::NotWaiting));
        }
        // Once it ran out, the next agent may have it, and the lapsed one counts as passed.
        let lapsed = offer(Some("agt_a"), NOW, &[]);
        let next = waiting(make("agt_b", false), Some(&lapsed)).unwrap();
        assert_eq!(next, Offer { version: 8, ..offer(Some("agt_b"), NOW + 100, &["agt_a"]) });
    }

    #[test]
    fn agents_that_passed_are_not_offered_again_until_a_new_round() {
        let declined = waiting(decline("agt_a"), Some(&offer(Some("agt_a"), NOW + 5, &[])));
        let declined = declined.unwrap();
        assert_eq!(declined, Offer { version: 8, ..offer(None, NOW, &["agt_a"]) });
        assert_eq!(
            waiting(make("agt_a", false), Some(&declined)),
            Err(OfferRefusal::Passed("agt_a".into()))
        );
        let again = waiting(make("agt_a", true), Some(&declined)).unwrap();
        assert_eq!(again.passed, Vec::<String>::new(), "a new round forgets who passed");
        assert_eq!(again.agent_id.as_deref(), Some("agt_a"));
    }

    #[test]
    fn only_the_holder_declines_or_accepts_and_only_while_live() {
        let live = offer(Some("agt_a"), NOW + 5, &["agt_z"]);
        let accept =
            |agent: &str| OfferChange::Accept { agent_id: agent.into(), until_ms: NOW + 50 };
        let accepted = waiting(accept("agt_a"), Some(&live)).unwrap();
        assert_eq!(accepted.expires_at_ms, NOW + 50, "held while the assignment is written");
        assert_eq!(accepted.agent_id.as_deref(), Some("agt_a"));
        assert_eq!(waiting(accept("agt_b"), Some(&live)), Err(OfferRefusal::NotYours));
        assert_eq!(waiting(decline("agt_b"), Some(&live)), Err(OfferRefusal::NotYours));
        assert_eq!(waiting(accept("agt_b"), None), Err(OfferRefusal::NotYours));
        assert_eq!(waiting(accept("agt_z"), Some(&live)), Err(OfferRefusal::Expired), "passed");
        let ran_out = offer(Some("agt_a"), NOW, &[]);
        assert_eq!(waiting(accept("agt_a"), Some(&ran_out)), Err(OfferRefusal::Expired));
        assert_eq!(waiting(decline("agt_a"), Some(&ran_out)), Err(OfferRefusal::Expired));
        let taken =
            decide_offer(&request(accept("agt_a")), ConversationState::Assigned, Some(&live));
        assert_eq!(taken, Err(OfferRefusal::NotWaiting));
    }

    #[test]
    fn an_offer_expires_only_once_it_ran_out_and_only_for_its_holder() {
        let expire = |agent: &str| OfferChange::Expire { agent_id: agent.into() };
        let live = offer(Some("agt_a"), NOW + 5, &[]);
        assert_eq!(waiting(expire("agt_a"), Some(&live)), Err(OfferRefusal::StillLive));
        let ran_out = offer(Some("agt_a"), NOW, &[]);
        let expired = waiting(expire("agt_a"), Some(&ran_out)).unwrap();
        assert_eq!(expired, Offer { version: 8, ..offer(None, NOW, &["agt_a"]) });
        assert_eq!(waiting(expire("agt_a"), Some(&expired)), Err(OfferRefusal::Expired), "once");
        assert_eq!(waiting(expire("agt_b"), Some(&ran_out)), Err(OfferRefusal::NotYours));
    }

    fn agent(id: &str, status: AgentStatus, load: u32) -> AgentRouting {
        AgentRouting {
            agent_id: id.into(),
            queues: vec!["q".into()],
            status,
            capacity: None,
            load,
            last_assigned_at_ms: 0,
        }
    }

    #[test]
    fn the_offer_goes_to_the_first_available_agent_with_room_that_has_not_passed() {
        let agents = [
            agent("agt_away", AgentStatus::Away, 0),
            agent("agt_full", AgentStatus::Available, 2),
            agent("agt_a", AgentStatus::Available, 1),
            agent("agt_b", AgentStatus::Available, 0),
            agent("agt_off", AgentStatus::Offline, 0),
        ];
        let id = |choice: Option<(&AgentRouting, bool)>| {
            choice.map(|(a, round)| (a.agent_id.clone(), round))
        };
        let two = |_: &AgentRouting| 2;
        assert_eq!(id(choose_offeree(&agents, two, &[])), Some(("agt_a".into(), false)));
        let passed = vec!["agt_a".to_owned()];
        assert_eq!(id(choose_offeree(&agents, two, &passed)), Some(("agt_b".into(), false)));
        let all = vec!["agt_b".to_owned(), "agt_a".to_owned()];
        assert_eq!(id(choose_offeree(&agents, two, &all)), Some(("agt_a".into(), true)));
        assert_eq!(id(choose_offeree(&agents, |_| 1, &[])), Some(("agt_b".into(), false)));
        assert_eq!(id(choose_offeree(&agents[..2], two, &[])), None, "nobody eligible");
    }
}
