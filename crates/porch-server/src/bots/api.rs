//! The bot API (docs/bots.md): a bot token for the bot's id and secret, then the history of the
//! conversations it owns, its replies (text, quick replies, cards) and its hand-off to a queue.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use porch_core::limits::BOT_SUMMARY_CHARS_MAX;
use porch_core::store::AppendRequest;
use porch_core::token::TokenKind;
use porch_wire::ErrorCode;
use porch_wire::bot::{
    BotMessageRequest, BotSession, BotTokenRequest, Content, Handoff, HandoffRequest,
};
use porch_wire::rest::{Conversation, ConversationState, MessagePage};

use crate::auth::{BotAuth, BotPrincipal};
use crate::body::JsonBody;
use crate::conversation::{self, HistoryQuery};
use crate::error::{ApiError, ApiResult};
use crate::listener::ClientIp;
use crate::state::AppState;

/// `POST /api/v2/bots/token`: a bot's id and secret → bot token (client credentials, as the
/// customer's backend gets its own; the same throttles and constant-time check as any sign-in).
pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(request): JsonBody<BotTokenRequest>,
) -> ApiResult<axum::Json<BotSession>> {
    let bot = state.store.bot(&request.bot_id).await?;
    let hash = bot.as_ref().map(|b| b.secret_hash.clone());
    let attempt = crate::signin::Attempt { ip, account: &request.bot_id };
    let matches = crate::signin::check_secret(&state, &attempt, &request.secret, hash).await?;
    let bot = bot.filter(|_| matches).ok_or_else(|| {
        ApiError::new(
            ErrorCode::BotCredentialsInvalid,
            "unknown bot id or wrong secret; use the ones `porch bots add` printed",
        )
    })?;
    // Told only to whoever has the secret: a wrong one learns nothing of the bot's standing.
    if !bot.enabled {
        return Err(super::disabled(&bot.id));
    }
    // Bots sign in as the customer's backend does: the client tokens' lifetime.
    let ttl_secs = state.config.limits.client_token_ttl_secs;
    let (access_token, claims) = state.mint(TokenKind::Bot, &bot.id, ttl_secs, |c| {
        c.dep = Some(bot.deployment_id.clone());
    });
    Ok(axum::Json(BotSession {
        bot_id: bot.id,
        name: bot.name,
        deployment_id: bot.deployment_id,
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl_secs,
        expires_at_ms: claims.exp * 1000,
    }))
}

/// `GET /api/v2/bot/conversations/{id}/messages`: the history of a conversation the bot owns.
pub async fn history(
    State(state): State<AppState>,
    BotAuth(bot): BotAuth,
    Path(id): Path<String>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<MessagePage>> {
    let Query(q) = query.map_err(|e| conversation::bad_query(&e, HistoryQuery::NAMES))?;
    let conversation = owned(&state, &bot, &id).await?;
    let page = conversation::history(&state, &conversation.id, q.after, q.before, q.limit).await?;
    Ok(axum::Json(page))
}

/// `POST /api/v2/bot/conversations/{id}/messages`: a reply with optional quick replies and
/// cards, through the one send path (same dedupe of `clientMessageId`).
pub async fn post_message(
    State(state): State<AppState>,
    BotAuth(bot): BotAuth,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<BotMessageRequest>,
) -> ApiResult<Response> {
    porch_core::bot::validate_bot_content(&request.quick_replies, &request.cards)
        .map_err(|why| ApiError::new(ErrorCode::ContentInvalid, why))?;
    let conversation = owned(&state, &bot, &id).await?;
    let content =
        Content { quick_replies: request.quick_replies, cards: request.cards, choice: None };
    let response = conversation::send(
        &state,
        &super::participant(&bot.bot),
        &conversation,
        &request.client_message_id,
        &request.text,
        (!content.is_empty()).then_some(content),
        None,
    )
    .await?;
    let status = if response.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(response)).into_response())
}

/// `POST /api/v2/bot/conversations/{id}/handoff`: the conversation leaves the bot for a queue,
/// where it is offered as usual. The summary is stored first, for the queue's agents only; then
/// one log entry, in plain words for the guest, moves the conversation in its commit.
pub async fn handoff(
    State(state): State<AppState>,
    BotAuth(bot): BotAuth,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<HandoffRequest>,
) -> ApiResult<axum::Json<Handoff>> {
    check_summary(&request.summary)?;
    let conversation = owned(&state, &bot, &id).await?;
    let queue = target_queue(&state, &conversation, request.queue).await?;
    let handoff = Handoff {
        conversation_id: conversation.id.clone(),
        bot_id: bot.bot.id.clone(),
        queue: queue.clone(),
        summary: request.summary,
        at_ms: porch_core::time::now_ms(),
    };
    state.store.set_handoff(handoff.clone()).await?;
    conversation::check_broker(&state)?;
    let text =
        format!("{} passed the conversation to a person, who will answer here", bot.bot.name);
    let mut request = AppendRequest::system(&conversation.id, text, handoff.at_ms);
    // The same move as an agent's transfer to a queue: one entry, then offers run there; and
    // the same webhook event, `conversation.transferred`, not `message.created`.
    request.queue = Some(queue);
    request.webhook_event = Some(porch_core::webhook::EventType::ConversationTransferred);
    crate::handover::commit(&state, &conversation, request).await?;
    Ok(axum::Json(handoff))
}

fn check_summary(summary: &str) -> ApiResult<()> {
    let chars = summary.chars().count();
    if summary.trim().is_empty() || chars > BOT_SUMMARY_CHARS_MAX {
        return Err(ApiError::new(
            ErrorCode::ContentInvalid,
            format!("summary has {chars} characters; give agents 1 to {BOT_SUMMARY_CHARS_MAX}"),
        ));
    }
    Ok(())
}

/// The queue named, or the deployment's; never a bot's holding queue (no agent serves one).
async fn target_queue(
    state: &AppState,
    conversation: &Conversation,
    asked: Option<String>,
) -> ApiResult<String> {
    let queue = match asked {
        Some(queue) => queue,
        None => {
            let deployment = state.store.deployment(&conversation.deployment_id).await?;
            deployment.map(|d| d.queue).unwrap_or_default()
        }
    };
    if queue.is_empty() || porch_core::bot::holder(&queue).is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "queue must name a queue agents serve (not empty, not starting with bot:)",
        ));
    }
    Ok(queue)
}

/// The conversation, if this bot owns it now: open, and in its holding queue.
async fn owned(state: &AppState, bot: &BotPrincipal, id: &str) -> ApiResult<Conversation> {
    let conversation = state.store.conversation(id).await?;
    let owned = conversation.filter(|c| {
        porch_core::bot::holder(&c.queue) == Some(bot.bot.id.as_str())
            && c.deployment_id == bot.bot.deployment_id
    });
    let shown = crate::error::shown(id);
    let conversation = owned.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ConversationUnknown,
            format!("this bot holds no conversation `{shown}` (never its, or handed off)"),
        )
    })?;
    if conversation.state == ConversationState::Closed {
        return Err(ApiError::new(
            ErrorCode::ConversationClosed,
            "the conversation is closed; it takes no more messages",
        ));
    }
    Ok(conversation)
}
