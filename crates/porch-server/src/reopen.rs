//! Reopening (docs/routing.md): a guest who writes into its closed conversation within
//! `reopen_window_secs` of the close takes it back to its last agent, if that agent still
//! serves its queue, is enabled, `available` and below its capacity, else to its queue, where
//! offers run as for any waiting conversation. The reopen is one system entry marked
//! `reopened`, before the guest's message. The store decides it, in a write conditional on the
//! conversation still being closed and closed within the window
//! (`AppendRequest::reopen_closed_since_ms`): of sends racing to reopen, on any nodes, one
//! writes it, and the others find the conversation open and only append their message.

use porch_core::store::{AppendOutcome, AppendRequest, Assignee, StoreError};
use porch_wire::ErrorCode;
use porch_wire::event::LiveEvent;
use porch_wire::rest::{AgentStatus, Conversation, ConversationPage, ConversationState};

use crate::conversation::append;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What a guest's reopen entry says (the widget shows its own words for it). It names nobody:
/// an erasure leaves entries with an event as they are.
pub const REOPENED_TEXT: &str = "The guest wrote again: the conversation is open again";

/// Until when a guest's message reopens `conversation` (`reopenUntilMs`, epoch ms): its close
/// (its last change: nothing is appended to a closed conversation) plus the window. `None` when
/// it is not closed or reopening is off; past once the window has gone by.
pub fn until_ms(window_secs: u64, conversation: &Conversation) -> Option<i64> {
    if window_secs == 0 || conversation.state != ConversationState::Closed {
        return None;
    }
    let window_ms = i64::try_from(window_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
    Some(conversation.updated_at_ms.saturating_add(window_ms))
}

/// The conversation as clients are told it: with `reopenUntilMs` when it is closed. Every body
/// and frame that carries a conversation to a client goes through this (or `shown_page`).
pub fn shown(state: &AppState, mut conversation: Conversation) -> Conversation {
    conversation.reopen_until_ms = until_ms(state.config.limits.reopen_window_secs, &conversation);
    conversation
}

/// `shown` for each conversation of a page.
pub fn shown_page(state: &AppState, mut page: ConversationPage) -> ConversationPage {
    page.conversations = page.conversations.into_iter().map(|c| shown(state, c)).collect();
    page
}

/// Reopens `conversation_id`, closed, for its guest's send; `Ok` too when another send reopened
/// it first. After the window (or with reopening off) the send is refused with
/// `conversation_closed`, whose message tells the guest to start a new conversation.
pub async fn reopen(state: &AppState, conversation_id: &str) -> ApiResult<()> {
    let window_secs = state.config.limits.reopen_window_secs;
    if window_secs == 0 {
        return Err(closed(
            conversation_id,
            "reopening is off on this server (reopen_window_secs is 0)",
        ));
    }
    let Some(conversation) = state.store.conversation(conversation_id).await? else {
        return Err(StoreError::ConversationUnknown(conversation_id.to_owned()).into());
    };
    if conversation.state != ConversationState::Closed {
        return Ok(());
    }
    let now_ms = porch_core::time::now_ms();
    let window_ms = i64::try_from(window_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
    let since_ms = now_ms.saturating_sub(window_ms);
    let request = |event, assign| {
        // Keyed like every system entry: a commit whose answer was lost is found, not doubled.
        let mut request = AppendRequest::system(conversation_id, REOPENED_TEXT.to_owned(), now_ms);
        request.event = Some(event);
        request.assign = assign;
        request.reopen_closed_since_ms = Some(since_ms);
        request
    };
    if let Some(assignee) = last_agent(state, &conversation).await? {
        match commit(state, request(ConversationState::Assigned, Some(assignee))).await {
            // The agent filled up, or went, since it was read: the queue, as if it were away.
            Err(StoreError::AgentAtCapacity { .. } | StoreError::AgentUnknown(_)) => {}
            done => return done.map_err(|e| refusal(conversation_id, window_secs, e)),
        }
    }
    commit(state, request(ConversationState::Waiting, None))
        .await
        .map_err(|e| refusal(conversation_id, window_secs, e))
}

/// The agent that held the conversation, if it can take it back now: it still serves the
/// conversation's queue, is enabled and `available`, and is below its capacity (the store
/// checks the capacity again in the commit).
async fn last_agent(state: &AppState, conversation: &Conversation) -> ApiResult<Option<Assignee>> {
    let Some(agent_id) = conversation.assigned_agent_id.as_deref() else { return Ok(None) };
    let Some(record) = state.store.agents().await?.into_iter().find(|a| a.id == agent_id) else {
        // A bot, or an agent deleted since.
        return Ok(None);
    };
    let (routing, capacity) = crate::routing::routing_of(state, agent_id).await?;
    let can_take = record.standing.enabled
        && routing.status == AgentStatus::Available
        && routing.queues.contains(&conversation.queue)
        && routing.load < capacity;
    Ok(can_take.then(|| Assignee { agent_id: agent_id.to_owned(), capacity }))
}

/// Appends the reopen and tells everyone: the entry, then the conversation as it is now, to its
/// guest and its queue's agents. Another send's reopen that came first is not an error.
async fn commit(state: &AppState, request: AppendRequest) -> Result<(), StoreError> {
    match append(state, request).await {
        Ok(AppendOutcome::Created { message, conversation, .. }) => {
            state.publish(LiveEvent::message(&conversation, message, None));
            state.publish(LiveEvent::conversation(
                &crate::guest_view::with_agent(state, &conversation).await,
            ));
            // A conversation came back to its queue, or an agent's load moved.
            state.offers.wake();
            Ok(())
        }
        Ok(AppendOutcome::Duplicate { .. }) => {
            unreachable!("system entries carry no clientMessageId")
        }
        Err(StoreError::NotClosed(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A reopen the store refused: closed too long ago is the guest's cue to start over.
fn refusal(conversation_id: &str, window_secs: u64, error: StoreError) -> ApiError {
    match error {
        StoreError::ConversationClosed(_) => closed(
            conversation_id,
            &format!("it closed more than {window_secs} s ago (reopen_window_secs)"),
        ),
        other => other.into(),
    }
}

fn closed(conversation_id: &str, why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ConversationClosed,
        format!(
            "conversation {conversation_id} is closed and {why}; nothing was stored: start a new conversation (a new guest session)"
        ),
    )
}
