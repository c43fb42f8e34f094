//! The agent API: log in, list conversations, read history, reply, take, transfer, unassign,
//! close.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use porch_core::limits::{CONVERSATION_LIST_DEFAULT, CONVERSATION_LIST_MAX};
use porch_core::store::ConversationFilter;
use porch_core::token::TokenKind;
use porch_wire::ErrorCode;
use porch_wire::rest::{
    AgentLoginRequest, AgentSession, CloseRequest, Conversation, ConversationList,
    ConversationState, MessagePage, Participant, Role, SendMessageRequest, TransferRequest,
};

use crate::auth::{AgentAuth, AgentPrincipal};
use crate::body::{JsonBody, OptionalJsonBody};
use crate::conversation::{self, HistoryQuery};
use crate::error::{ApiError, ApiResult};
use crate::handover;
use crate::listener::ClientIp;
use crate::state::AppState;

/// `POST /api/v2/agents/login`: name and secret → agent token.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(request): JsonBody<AgentLoginRequest>,
) -> ApiResult<axum::Json<AgentSession>> {
    let refused =
        || ApiError::new(ErrorCode::AgentCredentialsInvalid, "unknown agent name or wrong secret");
    let agent = state.store.agent_by_name(&request.name).await?;
    let hash = agent.as_ref().map(|a| a.secret_hash.clone());
    let attempt = crate::signin::Attempt { ip, account: &request.name };
    let matches = crate::signin::check_secret(&state, &attempt, &request.secret, hash).await?;
    let agent = agent.filter(|_| matches).ok_or_else(refused)?;
    // Told only to whoever knows the secret: a guesser learns nothing from it.
    if !agent.standing.enabled {
        return Err(crate::auth::agent_disabled());
    }
    Ok(axum::Json(session(&state, agent.id, agent.name, agent.queues, agent.supervisor)))
}

/// `POST /api/v2/agents/token`: a fresh agent token for a still-valid one, so a console open
/// through a long shift never asks for the secret again. The agent must still exist (as for
/// every agent request); its queues are read anew.
pub async fn refresh(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
) -> axum::Json<AgentSession> {
    axum::Json(session(&state, agent.agent_id, agent.name, agent.queues, agent.supervisor))
}

fn session(
    state: &AppState,
    agent_id: String,
    name: String,
    queues: Vec<String>,
    supervisor: bool,
) -> AgentSession {
    let ttl_secs = state.config.limits.agent_token_ttl_secs;
    let (access_token, claims) =
        state.mint(TokenKind::Agent, &agent_id, ttl_secs, |c| c.name = Some(name.clone()));
    AgentSession {
        agent_id,
        name,
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl_secs,
        expires_at_ms: claims.exp * 1000,
        gateway_url: state.config.gateway_url(),
        queues,
        supervisor,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated states; default `waiting,assigned`.
    pub state: Option<String>,
    pub limit: Option<u32>,
}

/// `GET /api/v2/agent/conversations?state=waiting,assigned`.
pub async fn list(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<ConversationList>> {
    let Query(q) = query.map_err(|e| conversation::bad_query(&e, &["state", "limit"]))?;
    let states = parse_states(q.state.as_deref().unwrap_or("waiting,assigned"))?;
    let filter = ConversationFilter {
        queues: crate::supervisor::seen_queues(&state, &agent).await?,
        states,
        limit: q.limit.unwrap_or(CONVERSATION_LIST_DEFAULT).clamp(1, CONVERSATION_LIST_MAX),
    };
    let conversations = state.store.conversations(filter).await?;
    let conversations =
        conversations.into_iter().map(|c| crate::reopen::shown(&state, c)).collect();
    Ok(axum::Json(ConversationList { conversations }))
}

pub(crate) fn parse_states(s: &str) -> ApiResult<Vec<ConversationState>> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| {
            ConversationState::parse(x).ok_or_else(|| {
                let shown = crate::error::shown(x);
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("state `{shown}` is not one of waiting, assigned, closed"),
                )
            })
        })
        .collect()
}

/// `GET /api/v2/agent/conversations/{id}/messages`.
pub async fn history(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<MessagePage>> {
    let Query(q) = query.map_err(|e| conversation::bad_query(&e, HistoryQuery::NAMES))?;
    let conversation = visible(&state, &agent, &id).await?;
    Ok(axum::Json(
        conversation::history(&state, &conversation.id, q.after, q.before, q.limit).await?,
    ))
}

/// `POST /api/v2/agent/conversations/{id}/messages`.
pub async fn post_message(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<SendMessageRequest>,
) -> ApiResult<Response> {
    if request.choice.is_some() {
        // A pick answers a bot's quick replies: the guest's to make, never an agent's.
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "`choice` is for guests picking a bot's quick reply; send an agent's reply without it",
        ));
    }
    let conversation = visible(&state, &agent, &id).await?;
    let response = conversation::send(
        &state,
        &participant(&agent),
        &conversation,
        &request.client_message_id,
        &request.text,
        None,
        None,
    )
    .await?;
    let status = if response.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(response)).into_response())
}

/// `POST /api/v2/agent/conversations/{id}/assign`: take a waiting conversation.
pub async fn assign(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Conversation>> {
    let conversation = visible(&state, &agent, &id).await?;
    if conversation.state == ConversationState::Assigned
        && conversation.assigned_agent_id.as_deref() == Some(&agent.agent_id)
    {
        return Ok(axum::Json(crate::reopen::shown(&state, conversation)));
    }
    crate::routing::check_manual_take(&state, &conversation).await?;
    let changed = conversation::change_state(
        &state,
        &conversation,
        &participant(&agent),
        ConversationState::Assigned,
    )
    .await?;
    Ok(axum::Json(crate::reopen::shown(&state, changed)))
}

/// `POST /api/v2/agent/conversations/{id}/close`, with an optional `wrapUp` (docs/routing.md).
/// Closing a closed conversation answers it as it is.
pub async fn close(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<CloseRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    let conversation = visible(&state, &agent, &id).await?;
    if conversation.state == ConversationState::Closed {
        return Ok(axum::Json(crate::reopen::shown(&state, conversation)));
    }
    let by = participant(&agent);
    let acting = acting(&agent, &by, &conversation);
    let closed = handover::close(&state, &conversation, acting, request.wrap_up).await?;
    Ok(axum::Json(crate::reopen::shown(&state, closed)))
}

/// `POST /api/v2/agent/conversations/{id}/transfer`: to another agent or queue, with a note.
pub async fn transfer(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<TransferRequest>,
) -> ApiResult<axum::Json<Conversation>> {
    let target = handover::Target::of(request.agent_id, request.queue)?;
    let conversation = visible(&state, &agent, &id).await?;
    let by = participant(&agent);
    let acting = acting(&agent, &by, &conversation);
    let changed = handover::transfer(&state, &conversation, acting, target, request.note).await?;
    Ok(axum::Json(crate::reopen::shown(&state, changed)))
}

/// `GET /api/v2/agent/conversations/{id}/handoff`: the summary a bot left when it handed the
/// conversation to this queue (docs/bots.md); `handoff` is null when no bot did. For agents
/// only: guests read the hand-off's plain entry in the log, never the summary.
pub async fn handoff(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<porch_wire::bot::AgentHandoff>> {
    let conversation = visible(&state, &agent, &id).await?;
    let handoff = state.store.handoff(&conversation.id).await?;
    Ok(axum::Json(porch_wire::bot::AgentHandoff { handoff }))
}

/// `POST /api/v2/agent/conversations/{id}/unassign`: back to its queue.
pub async fn unassign(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Conversation>> {
    let conversation = visible(&state, &agent, &id).await?;
    let by = participant(&agent);
    let acting = acting(&agent, &by, &conversation);
    let changed = handover::unassign(&state, &conversation, acting).await?;
    Ok(axum::Json(crate::reopen::shown(&state, changed)))
}

/// Who acts on a conversation, and whose hold the store checks in the commit: a plain agent
/// its own. A supervisor acts for the agent it read holding the conversation (one owner
/// still: the entry commits only if that agent holds it then), or, when nobody held it, on
/// a conversation nobody holds (or that it holds itself).
pub fn acting<'a>(
    agent: &'a AgentPrincipal,
    by: &'a Participant,
    conversation: &'a Conversation,
) -> handover::Acting<'a> {
    let own = handover::Acting { by, holder: Some(&agent.agent_id), or_unheld: false };
    if !agent.supervisor {
        return own;
    }
    let held_by = (conversation.state == ConversationState::Assigned)
        .then_some(conversation.assigned_agent_id.as_deref())
        .flatten();
    match held_by {
        Some(holder) => handover::Acting { by, holder: Some(holder), or_unheld: false },
        None => handover::Acting { or_unheld: true, ..own },
    }
}

/// The conversation, if it sits in one of the agent's queues (a supervisor: any queue).
pub async fn visible(
    state: &AppState,
    agent: &AgentPrincipal,
    id: &str,
) -> ApiResult<Conversation> {
    let unknown = || {
        let shown = crate::error::shown(id);
        ApiError::new(
            ErrorCode::ConversationUnknown,
            format!("no conversation `{shown}` in your queues"),
        )
    };
    let conversation = state.store.conversation(id).await?.ok_or_else(unknown)?;
    if !agent.sees(&conversation.queue) {
        return Err(unknown());
    }
    Ok(conversation)
}

/// How an agent appears to others.
pub fn participant(agent: &AgentPrincipal) -> Participant {
    Participant {
        role: Role::Agent,
        id: agent.agent_id.clone(),
        display_name: Some(agent.name.clone()),
    }
}
