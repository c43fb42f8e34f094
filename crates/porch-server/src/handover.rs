//! Handing a conversation on (docs/routing.md): transfer to an agent or a queue, unassign back
//! to its queue, close with a wrap-up code. Each is one entry of the conversation's log, and
//! each is conditional in the store: the acting agent must still hold the conversation in the
//! commit (`AppendRequest::holder`), so of a transfer and a reply or a take racing it, the
//! loser changes nothing.
//!
//! `transfer` takes any participant and an optional holder, so a non-agent (a bot's hand-off
//! to a queue) uses the same path with no holder to check.

use porch_core::store::AppendRequest;
use porch_wire::ErrorCode;
use porch_wire::event::{LiveEvent, Route};
use porch_wire::frame::ServerFrame;
use porch_wire::rest::{AgentStatus, Conversation, ConversationState, Message, Participant};

use crate::conversation::{append, check_broker, created, system_entry};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Where a transfer sends a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Agent(String),
    Queue(String),
}

impl Target {
    /// Exactly one of `agentId` and `queue`, as a transfer's body or frame names them.
    pub fn of(agent_id: Option<String>, queue: Option<String>) -> ApiResult<Target> {
        match (agent_id, queue) {
            (Some(agent_id), None) => Ok(Target::Agent(agent_id)),
            (None, Some(queue)) => Ok(Target::Queue(queue)),
            _ => Err(ApiError::new(
                ErrorCode::TransferTargetInvalid,
                "a transfer names exactly one of agentId (an agent of the conversation's queue) and queue; nothing changed",
            )),
        }
    }
}

/// Who acts: the participant named in the entry, and the agent that must hold the
/// conversation for it to commit (`None`: no holder is checked, for a non-agent's hand-off).
/// A supervisor acting on another agent's conversation names that agent (the store refuses
/// the entry if the conversation changed hands since it was read; `agents::acting`).
#[derive(Clone, Copy, Debug)]
pub struct Acting<'a> {
    pub by: &'a Participant,
    pub holder: Option<&'a str>,
    /// With `holder`: a transfer of a conversation nobody holds commits too (a supervisor
    /// moving a waiting one); unassign ignores it.
    pub or_unheld: bool,
}

impl Acting<'_> {
    fn who(&self) -> String {
        self.by.display_name.clone().unwrap_or_else(|| self.by.id.clone())
    }

    fn request(&self, conversation: &Conversation, text: String) -> AppendRequest {
        let mut request = system_entry(&conversation.id, text);
        request.holder = self.holder.map(str::to_owned);
        request.or_unheld = self.or_unheld && self.holder.is_some();
        request
    }
}

/// Transfers a conversation to another agent (who serves its queue, is `available` and below
/// its capacity) or to another queue (where offers run as for any waiting conversation), with
/// an internal note only agents read.
pub async fn transfer(
    state: &AppState,
    conversation: &Conversation,
    acting: Acting<'_>,
    target: Target,
    note: Option<String>,
) -> ApiResult<Conversation> {
    let note = checked_note(state, note)?;
    check_broker(state)?;
    let mut request = match &target {
        Target::Agent(agent_id) => {
            let name = check_agent(state, conversation, acting, agent_id).await?;
            let text = format!("{} transferred the conversation to {name}", acting.who());
            let mut request = acting.request(conversation, text);
            request.event = Some(ConversationState::Assigned);
            request.assign = Some(crate::routing::assignee(state, agent_id).await?);
            request
        }
        Target::Queue(queue) => {
            check_queue(state, conversation, queue).await?;
            let text = format!("{} transferred the conversation to another team", acting.who());
            let mut request = acting.request(conversation, text);
            request.event = Some(ConversationState::Waiting);
            request.queue = Some(queue.clone());
            request
        }
    };
    request.note = note;
    // A transfer is its own webhook event, whichever state it leaves the conversation in.
    request.webhook_event = Some(porch_core::webhook::EventType::ConversationTransferred);
    commit(state, conversation, request).await
}

/// Puts a conversation the agent holds back in its queue.
pub async fn unassign(
    state: &AppState,
    conversation: &Conversation,
    acting: Acting<'_>,
) -> ApiResult<Conversation> {
    check_broker(state)?;
    let text = format!("{} returned the conversation to its queue", acting.who());
    let mut request = acting.request(conversation, text);
    // Only a held conversation goes back: one already waiting is nobody's to return.
    request.or_unheld = false;
    request.event = Some(ConversationState::Waiting);
    commit(state, conversation, request).await
}

/// Closes a conversation the agent holds (or one waiting in its queues), with a wrap-up code
/// from the deployment's list: required when the deployment has one, refused when unknown.
pub async fn close(
    state: &AppState,
    conversation: &Conversation,
    acting: Acting<'_>,
    wrap_up: Option<String>,
) -> ApiResult<Conversation> {
    let wrap_up = checked_wrap_up(state, conversation, wrap_up).await?;
    check_broker(state)?;
    let text = format!("{} closed the conversation", acting.who());
    let mut request = acting.request(conversation, text);
    request.event = Some(ConversationState::Closed);
    request.or_unheld = true;
    request.wrap_up = wrap_up;
    commit(state, conversation, request).await
}

/// Appends the entry and tells everyone who showed the conversation before and after it.
pub(crate) async fn commit(
    state: &AppState,
    before: &Conversation,
    request: AppendRequest,
) -> ApiResult<Conversation> {
    let (message, after) = created(state, append(state, request).await?).await?;
    publish(state, before, &after, message).await;
    // A conversation came back to a queue, or an agent's load moved.
    state.offers.wake();
    Ok(after)
}

/// The entry and the conversation go to its topic and its queue's; after a move to another
/// queue, to the old queue's too, so its agents (the one who transferred it among them) see
/// it leave in log order. A session that hears the entry twice delivers it once (its cursor).
pub(crate) async fn publish(
    state: &AppState,
    before: &Conversation,
    after: &Conversation,
    message: Message,
) {
    let after = &crate::guest_view::with_agent(state, after).await;
    if before.queue != after.queue {
        let old = |frame| LiveEvent {
            route: Route::Conversation {
                conversation_id: after.id.clone(),
                queue: before.queue.clone(),
            },
            origin_session: None,
            frame,
        };
        state.publish(old(ServerFrame::Message { message: message.clone() }));
        state.publish(old(ServerFrame::Conversation { conversation: after.clone() }));
    }
    state.publish(LiveEvent::message(after, message, None));
    state.publish(LiveEvent::conversation(after));
}

/// A note is optional, at most `text_chars_max` characters; a blank one is none.
fn checked_note(state: &AppState, note: Option<String>) -> ApiResult<Option<String>> {
    let Some(note) = note.filter(|n| !n.trim().is_empty()) else { return Ok(None) };
    let (chars, max) = (note.chars().count(), state.config.limits.text_chars_max);
    if chars > max {
        return Err(ApiError::new(
            ErrorCode::TextTooLong,
            format!(
                "the note has {chars} characters, the limit is {max} (text_chars_max); nothing changed: shorten it"
            ),
        ));
    }
    Ok(Some(note))
}

/// The agent a transfer names: it exists, is another agent, serves the conversation's queue,
/// is enabled and `available`. Returns its name, for the entry's text.
async fn check_agent(
    state: &AppState,
    conversation: &Conversation,
    acting: Acting<'_>,
    agent_id: &str,
) -> ApiResult<String> {
    let shown = crate::error::shown(agent_id);
    let agents = state.store.agents().await?;
    let Some(agent) = agents.into_iter().find(|a| a.id == agent_id) else {
        return Err(ApiError::new(
            ErrorCode::TransferAgentUnknown,
            format!(
                "no agent has id `{shown}`; nothing changed: transfer to an agent of the conversation's queue, or to a queue"
            ),
        ));
    };
    let invalid = |why: String| {
        ApiError::new(ErrorCode::TransferTargetInvalid, format!("{why}; nothing changed"))
    };
    // Whoever holds it (as read; the store checks again) is not a target.
    let held_by = conversation
        .assigned_agent_id
        .as_deref()
        .filter(|_| conversation.state == ConversationState::Assigned);
    if held_by == Some(agent_id) {
        return Err(invalid(if acting.by.id == agent_id {
            "the conversation is yours already: transfer it to someone else".into()
        } else {
            format!("agent `{shown}` holds the conversation already: transfer it to someone else")
        }));
    }
    if !agent.queues.contains(&conversation.queue) {
        return Err(invalid(format!(
            "agent `{shown}` does not serve queue `{}`: transfer to that agent's queue instead",
            crate::error::shown(&conversation.queue)
        )));
    }
    let routing = state.store.agent_routing(agent_id).await?;
    let available = routing.is_some_and(|r| r.status == AgentStatus::Available);
    if !agent.standing.enabled || !available {
        return Err(ApiError::new(
            ErrorCode::TransferAgentUnavailable,
            format!(
                "agent `{shown}` is not available; nothing changed: pick an available agent, or transfer to the queue"
            ),
        ));
    }
    Ok(agent.name)
}

/// A queue is known when an agent serves it or an operator configured it.
async fn check_queue(state: &AppState, conversation: &Conversation, queue: &str) -> ApiResult<()> {
    let shown = crate::error::shown(queue);
    if queue == conversation.queue {
        return Err(ApiError::new(
            ErrorCode::TransferTargetInvalid,
            format!(
                "the conversation is in queue `{shown}` already; nothing changed: unassign it to put it back there"
            ),
        ));
    }
    let served = !state.store.queue_agents(queue).await?.is_empty();
    if served || !state.store.queue_settings(vec![queue.to_owned()]).await?.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::TransferQueueUnknown,
        format!(
            "no agent serves queue `{shown}` and no operator configured it; nothing changed: check its name"
        ),
    ))
}

/// The deployment's wrap-up list decides: none set, the code is optional; set, it is required
/// and must be one of them.
async fn checked_wrap_up(
    state: &AppState,
    conversation: &Conversation,
    wrap_up: Option<String>,
) -> ApiResult<Option<String>> {
    let codes = state.store.wrap_up_codes(&conversation.deployment_id).await?;
    match wrap_up {
        None if codes.is_empty() => Ok(None),
        None => Err(ApiError::new(
            ErrorCode::WrapUpRequired,
            format!(
                "this deployment asks for a wrap-up code on close; nothing changed: send wrapUp, one of {}",
                codes.join(", ")
            ),
        )),
        Some(code) if codes.contains(&code) => Ok(Some(code)),
        Some(code) => {
            let known = if codes.is_empty() {
                "this deployment has no wrap-up codes: close without one, or have an operator run `porch wrapups set`".to_owned()
            } else {
                format!("use one of {}", codes.join(", "))
            };
            Err(ApiError::new(
                ErrorCode::WrapUpUnknown,
                format!(
                    "wrap-up code `{}` is not in the deployment's list; nothing changed: {known}",
                    crate::error::shown(&code)
                ),
            ))
        }
    }
}
