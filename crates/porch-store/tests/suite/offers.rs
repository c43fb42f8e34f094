//! Offers (docs/routing.md): at most one live offer per conversation, an offer that ran out
//! frees it, only the holder declines or accepts, and racing offers through two stores (two
//! nodes on PostgreSQL) leave one live offer. The rules themselves are unit-tested in
//! `porch_core::offer`; this holds each backend's conditional write to them.

use std::sync::Arc;

use porch_core::offer::{Offer, OfferChange, OfferOutcome, OfferRefusal, OfferRequest};
use porch_core::store::{Store, StoreError};
use porch_wire::rest::{Conversation, ConversationState};

use super::*;

const NOW_MS: i64 = T0_MS + 10_000;
const OFFER_MS: i64 = 15_000;

fn request(conversation: &Conversation, change: OfferChange, now_ms: i64) -> OfferRequest {
    OfferRequest { conversation_id: conversation.id.clone(), change, now_ms }
}

fn make(agent_id: &str, now_ms: i64) -> OfferChange {
    OfferChange::Make {
        agent_id: agent_id.to_owned(),
        expires_at_ms: now_ms + OFFER_MS,
        new_round: false,
    }
}

async fn change(
    store: &dyn Store,
    conversation: &Conversation,
    change: OfferChange,
    now_ms: i64,
) -> OfferOutcome {
    store.change_offer(request(conversation, change, now_ms)).await.unwrap()
}

pub async fn suite_offer_is_exclusive(store: &dyn Store) {
    let queue = "offers-exclusive";
    let conversation = new_conversation(store, queue).await;
    let a = new_agent(store, &[queue]).await.id;
    let b = new_agent(store, &[queue]).await.id;
    assert_eq!(store.offer_of(&conversation.id).await.unwrap(), None, "never offered");

    let offered = change(store, &conversation, make(&a, NOW_MS), NOW_MS).await.unwrap();
    assert_eq!(offered.agent_id.as_deref(), Some(a.as_str()));
    assert_eq!(store.offer_of(&conversation.id).await.unwrap(), Some(offered.clone()));
    let refused = change(store, &conversation, make(&b, NOW_MS + 1), NOW_MS + 1).await;
    assert_eq!(
        refused,
        Err(OfferRefusal::Held { agent_id: a.clone(), expires_at_ms: NOW_MS + OFFER_MS })
    );
    assert_eq!(
        store.offer_of(&conversation.id).await.unwrap(),
        Some(offered.clone()),
        "a refused change writes nothing"
    );
    let live = store.live_offers(NOW_MS + 1).await.unwrap();
    assert!(live.contains(&offered), "{live:?}");
    let later = store.live_offers(NOW_MS + OFFER_MS).await.unwrap();
    assert!(!later.iter().any(|o| o.conversation_id == conversation.id), "ran out: {later:?}");

    // Someone else's offer cannot be declined or accepted; nothing changes.
    let accept_b = OfferChange::Accept { agent_id: b.clone(), until_ms: NOW_MS + 60_000 };
    assert_eq!(
        change(store, &conversation, accept_b, NOW_MS + 2).await,
        Err(OfferRefusal::NotYours)
    );
    let decline_b = OfferChange::Decline { agent_id: b.clone() };
    assert_eq!(
        change(store, &conversation, decline_b, NOW_MS + 2).await,
        Err(OfferRefusal::NotYours)
    );
    assert_eq!(store.offer_of(&conversation.id).await.unwrap(), Some(offered));

    // A conversation that does not wait cannot be offered; an unknown one is an error.
    let taken = new_conversation(store, queue).await;
    created(store.append(assign_to(&taken, &b, 3)).await.unwrap());
    let refused = change(store, &taken, make(&a, NOW_MS), NOW_MS).await;
    assert_eq!(refused, Err(OfferRefusal::NotWaiting));
    assert_eq!(store.offer_of(&taken.id).await.unwrap(), None);
    let mut ghost = conversation.clone();
    ghost.id = "cnv_nobody".to_owned();
    let unknown = store.change_offer(request(&ghost, make(&a, NOW_MS), NOW_MS)).await;
    assert_eq!(unknown, Err(StoreError::ConversationUnknown("cnv_nobody".to_owned())));

    // Read together (a routing pass): the offered one's record; none for the others.
    let ids = vec![taken.id.clone(), conversation.id.clone(), ghost.id.clone()];
    let together = store.offers_of(ids).await.unwrap();
    assert_eq!(together, [store.offer_of(&conversation.id).await.unwrap().unwrap()]);
    assert_eq!(together[0].agent_id.as_deref(), Some(a.as_str()));
    assert_eq!(store.offers_of(Vec::new()).await.unwrap(), []);
}

pub async fn suite_offer_expiry_frees_it(store: &dyn Store) {
    let queue = "offers-expiry";
    let conversation = new_conversation(store, queue).await;
    let a = new_agent(store, &[queue]).await.id;
    let b = new_agent(store, &[queue]).await.id;
    let c = new_agent(store, &[queue]).await.id;
    change(store, &conversation, make(&a, NOW_MS), NOW_MS).await.unwrap();
    let ran_out = NOW_MS + OFFER_MS;

    // Before it ran out, an expiry is refused; after, the holder's node writes it once.
    let expire = OfferChange::Expire { agent_id: a.clone() };
    let early = change(store, &conversation, expire.clone(), ran_out - 1).await;
    assert_eq!(early, Err(OfferRefusal::StillLive));
    let expired = change(store, &conversation, expire.clone(), ran_out).await.unwrap();
    assert_eq!((expired.agent_id.clone(), expired.passed.clone()), (None, vec![a.clone()]));
    assert_eq!(change(store, &conversation, expire, ran_out).await, Err(OfferRefusal::Expired));

    // The one who let it run out cannot accept it any more, and is not offered it again this
    // round; the next agent is.
    let late = OfferChange::Accept { agent_id: a.clone(), until_ms: ran_out + 60_000 };
    assert_eq!(change(store, &conversation, late, ran_out + 1).await, Err(OfferRefusal::Expired));
    let again = change(store, &conversation, make(&a, ran_out + 1), ran_out + 1).await;
    assert_eq!(again, Err(OfferRefusal::Passed(a.clone())));
    let to_b = change(store, &conversation, make(&b, ran_out + 1), ran_out + 1).await.unwrap();
    assert_eq!(to_b.agent_id.as_deref(), Some(b.as_str()));

    // An offer that ran out without its expiry written frees the conversation too.
    let after_b = ran_out + 1 + OFFER_MS;
    let to_c = change(store, &conversation, make(&c, after_b), after_b).await.unwrap();
    assert_eq!(to_c.passed, vec![a.clone(), b.clone()]);

    // A decline passes it on at once; a new round offers it to the first again.
    let declined =
        change(store, &conversation, OfferChange::Decline { agent_id: c.clone() }, after_b + 1);
    let declined = declined.await.unwrap();
    assert_eq!(declined.agent_id, None);
    assert_eq!(declined.passed, vec![a.clone(), b.clone(), c.clone()]);
    let round = OfferChange::Make {
        agent_id: a.clone(),
        expires_at_ms: after_b + 2 + OFFER_MS,
        new_round: true,
    };
    let fresh = change(store, &conversation, round, after_b + 2).await.unwrap();
    assert_eq!((fresh.agent_id.as_deref(), fresh.passed.len()), (Some(a.as_str()), 0));

    // Accepting holds the offer while the assignment is written, then the record is cleared.
    let accept = OfferChange::Accept { agent_id: a.clone(), until_ms: after_b + 60_000 };
    let accepted = change(store, &conversation, accept, after_b + 3).await.unwrap();
    assert_eq!(accepted.expires_at_ms, after_b + 60_000);
    created(store.append(assign_to(&conversation, &a, 3)).await.unwrap());
    let accept_again = OfferChange::Accept { agent_id: a.clone(), until_ms: after_b + 60_000 };
    let refused = change(store, &conversation, accept_again, after_b + 4).await;
    assert_eq!(refused, Err(OfferRefusal::NotWaiting), "assigned now");
    store.clear_offer(&conversation.id).await.unwrap();
    assert_eq!(store.offer_of(&conversation.id).await.unwrap(), None);
}

/// Eight agents, half through each store, are offered one conversation at once, then an
/// expired one again: each time exactly one offer stands, and it is the one stored.
pub async fn suite_racing_offers(nodes: [Arc<dyn Store>; 2]) {
    const AGENTS: usize = 8;
    let queue = "offers-race";
    let conversation = new_conversation(&*nodes[0], queue).await;
    let mut agents = Vec::new();
    for _ in 0..AGENTS {
        agents.push(new_agent(&*nodes[0], &[queue]).await.id);
    }
    for now_ms in [NOW_MS, NOW_MS + OFFER_MS] {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, agent) in agents.iter().enumerate() {
            let node = Arc::clone(&nodes[i % 2]);
            let request = request(&conversation, make(agent, now_ms), now_ms);
            tasks.spawn(async move { node.change_offer(request).await.unwrap() });
        }
        let results = tasks.join_all().await;
        let won: Vec<&Offer> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "exactly one live offer: {results:?}");
        let stored = nodes[1].offer_of(&conversation.id).await.unwrap();
        assert_eq!(stored.as_ref(), Some(won[0]));
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(refused, OfferRefusal::Held { .. } | OfferRefusal::Passed(_)),
                "{refused:?}"
            );
        }
    }
    let state = nodes[0].conversation(&conversation.id).await.unwrap().unwrap().state;
    assert_eq!(state, ConversationState::Waiting, "offers change no conversation");
}
