//! Customers (issue 20): a guest created with an `externalId` belongs to the customer that id
//! names on its deployment, with every other session created with it, on any device. A guest
//! lists its customer's conversations and reads any of them; an anonymous guest (no
//! `externalId`) has only its own. An agent lists them too, beside the chat.

use axum::extract::{Path, Query, State};
use porch_core::store::CustomerPageRequest;
use porch_wire::ErrorCode;
use porch_wire::rest::{Conversation, ConversationPage, MessagePage};

use crate::auth::{AgentAuth, GuestAuth, GuestPrincipal};
use crate::conversation::{self, HistoryQuery};
use crate::error::{ApiError, ApiResult};
use crate::reopen::shown_page;
use crate::state::AppState;

/// `GET /api/v2/webmessaging/guests/conversations?before=&limit=`.
pub async fn list(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<ConversationPage>> {
    let Query(q) = query.map_err(|e| conversation::bad_query(&e, ListQuery::NAMES))?;
    let max = state.config.limits.history_page_max;
    let limit = q.limit.unwrap_or(porch_core::limits::HISTORY_PAGE_DEFAULT).clamp(1, max);
    let Some(external_id) = guest.guest.guest.external_id.clone() else {
        let own = crate::guest_view::for_guest(&state, guest.conversation).await;
        return Ok(axum::Json(own_only(own, q.before.as_deref())));
    };
    let request = CustomerPageRequest {
        deployment_id: guest.guest.deployment_id.clone(),
        external_id,
        before_conversation_id: q.before,
        limit,
    };
    let mut page = state.store.customer_conversations(request).await?;
    // A page is short (`history_page_max`), and most of a customer's conversations are
    // closed: an agent's card is read only for those an agent holds now.
    let mut conversations = Vec::with_capacity(page.conversations.len());
    for conversation in page.conversations {
        conversations.push(crate::guest_view::for_guest(&state, conversation).await);
    }
    page.conversations = conversations;
    Ok(axum::Json(page))
}

/// `GET /api/v2/agent/conversations/{id}/customer?before=&limit=`: the conversations of the
/// customer this conversation's guest is, for the agent to read beside the chat. Only those in
/// the agent's queues, so a page may hold fewer than `limit`; an anonymous guest's is its own.
pub async fn for_agent(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<ConversationPage>> {
    let Query(q) = query.map_err(|e| conversation::bad_query(&e, ListQuery::NAMES))?;
    let conversation = crate::agents::visible(&state, &agent, &id).await?;
    let max = state.config.limits.history_page_max;
    let limit = q.limit.unwrap_or(porch_core::limits::HISTORY_PAGE_DEFAULT).clamp(1, max);
    let Some(external_id) = conversation.guest.external_id.clone() else {
        return Ok(axum::Json(shown_page(&state, own_only(conversation, q.before.as_deref()))));
    };
    let request = CustomerPageRequest {
        deployment_id: conversation.deployment_id.clone(),
        external_id,
        before_conversation_id: q.before,
        limit,
    };
    let mut page = state.store.customer_conversations(request).await?;
    page.conversations.retain(|c| agent.sees(&c.queue));
    Ok(axum::Json(shown_page(&state, page)))
}

/// An anonymous guest's list: its one conversation, which is also the end of the list.
fn own_only(conversation: Conversation, before: Option<&str>) -> ConversationPage {
    let conversations = if before.is_none() { vec![conversation] } else { Vec::new() };
    ConversationPage { conversations, has_more: false }
}

/// `GET /api/v2/webmessaging/guests/conversations/{conversationId}/messages?after=&before=&limit=`:
/// the same paging as the guest's own history.
pub async fn history(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
    Path(conversation_id): Path<String>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<MessagePage>> {
    let Query(q) = query.map_err(|e| conversation::bad_query(&e, HistoryQuery::NAMES))?;
    readable(&state, &guest, &conversation_id).await?;
    let page =
        conversation::guest_history(&state, &conversation_id, q.after, q.before, q.limit).await?;
    Ok(axum::Json(page))
}

/// Refuses a conversation that is not the guest's customer's, as if it did not exist: a guest
/// learns nothing of other customers' ids.
async fn readable(
    state: &AppState,
    guest: &GuestPrincipal,
    conversation_id: &str,
) -> ApiResult<()> {
    if conversation_id == guest.guest.conversation_id {
        return Ok(());
    }
    let unknown = || {
        ApiError::new(
            ErrorCode::ConversationUnknown,
            "no conversation with this id belongs to this guest's customer; list them at GET /api/v2/webmessaging/guests/conversations",
        )
    };
    let Some(external_id) = guest.guest.guest.external_id.as_deref() else {
        return Err(unknown());
    };
    let conversation = state.store.conversation(conversation_id).await?.ok_or_else(unknown)?;
    let same_customer = conversation.deployment_id == guest.guest.deployment_id
        && conversation.guest.external_id.as_deref() == Some(external_id);
    if same_customer { Ok(()) } else { Err(unknown()) }
}

/// List query parameters: `?before=CONVERSATION_ID` (the next page: older ones) and `limit`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub before: Option<String>,
    pub limit: Option<u32>,
}

impl ListQuery {
    /// The parameter names, for error messages.
    pub const NAMES: &[&str] = &["before", "limit"];
}
