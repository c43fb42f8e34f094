//! What a guest sees of a conversation (docs/protocol.md, "Conversation"): never the preview
//! of its latest entry, which is for agents' lists, and the name and avatar of the agent who
//! holds it (`agent`). The card is read once where a conversation event is published, so
//! every session of every node gets it with the event; a guest session then only drops the
//! preview (`Conversation::for_guest`).

use porch_wire::rest::{AgentCard, Conversation, ConversationState};

use crate::state::AppState;

/// `conversation` with the card of the agent who holds it, for the live `conversation` event
/// its guests and agents hear.
pub(crate) async fn with_agent(state: &AppState, conversation: &Conversation) -> Conversation {
    let mut conversation = conversation.clone();
    conversation.agent = card(state, &conversation).await;
    conversation
}

/// The conversation as its guest reads it in `ready` and over REST (with until when it may
/// reopen it, `reopen::shown`).
pub(crate) async fn for_guest(state: &AppState, conversation: Conversation) -> Conversation {
    let agent = card(state, &conversation).await;
    crate::reopen::shown(state, conversation.for_guest(agent))
}

/// The holder's card; `None` while nobody holds the conversation. A card is a courtesy: when
/// the store cannot say, the guest reads the conversation without one.
async fn card(state: &AppState, conversation: &Conversation) -> Option<AgentCard> {
    if conversation.state != ConversationState::Assigned {
        return None;
    }
    let agent_id = conversation.assigned_agent_id.as_deref()?;
    match state.store.agent(agent_id).await {
        Ok(agent) => agent.map(|agent| agent.card()),
        Err(e) => {
            tracing::warn!(error = %e, agent = agent_id, "could not read the card of a conversation's agent");
            None
        }
    }
}
