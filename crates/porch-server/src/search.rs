//! An agent's search of its queues' conversations (issue 19: the console's closed
//! conversations, by the guest's name or email, or a message's text). Plain agents see their
//! queues' conversations only, as everywhere in the agent API.

use axum::extract::{Query, State};
use porch_core::limits::{CONVERSATION_SEARCH_PAGE_DEFAULT, SEARCH_TEXT_CHARS_MAX};
use porch_core::store::ConversationSearch;
use porch_wire::ErrorCode;
use porch_wire::rest::ConversationPage;

use crate::auth::AgentAuth;
use crate::conversation;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `?q=TEXT&state=closed&before=CONVERSATION_ID&limit=N`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    pub q: Option<String>,
    /// Comma-separated states; default `closed`.
    pub state: Option<String>,
    pub before: Option<String>,
    pub limit: Option<u32>,
}

impl SearchQuery {
    /// The parameter names, for error messages.
    pub const NAMES: &[&str] = &["q", "state", "before", "limit"];
}

/// `GET /api/v2/agent/conversations/search`: a page of the agent's queues' conversations (closed
/// ones unless `state` says otherwise) whose guest's name or email, or a message, contains `q`;
/// most recently active first.
pub async fn search(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<ConversationPage>> {
    let Query(q) = query.map_err(|e| conversation::bad_query(&e, SearchQuery::NAMES))?;
    let states = crate::agents::parse_states(q.state.as_deref().unwrap_or("closed"))?;
    let max = state.config.limits.conversation_search_page_max;
    let search = ConversationSearch {
        queues: crate::supervisor::seen_queues(&state, &agent).await?,
        states,
        text: search_text(q.q.as_deref())?,
        before_conversation_id: q.before.filter(|b| !b.is_empty()),
        limit: q.limit.unwrap_or(CONVERSATION_SEARCH_PAGE_DEFAULT).clamp(1, max),
    };
    Ok(axum::Json(crate::reopen::shown_page(
        &state,
        state.store.search_conversations(search).await?,
    )))
}

/// The text to look for, trimmed; none when blank. Longer than `SEARCH_TEXT_CHARS_MAX` is
/// refused: nobody types that much to find a conversation, and each character is scanned for.
fn search_text(q: Option<&str>) -> ApiResult<Option<String>> {
    let Some(text) = q.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let chars = text.chars().count();
    if chars > SEARCH_TEXT_CHARS_MAX as usize {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "`q` has {chars} characters, more than the {SEARCH_TEXT_CHARS_MAX} a search looks for; search for a name, an address or a few words"
            ),
        ));
    }
    Ok(Some(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_searches_everything_and_long_text_is_refused() {
        assert_eq!(search_text(None).unwrap(), None);
        assert_eq!(search_text(Some("  ")).unwrap(), None);
        assert_eq!(search_text(Some(" Ann ")).unwrap().as_deref(), Some("Ann"));
        let long = "é".repeat(SEARCH_TEXT_CHARS_MAX as usize + 1);
        let refused = search_text(Some(&long)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidRequest);
        assert!(refused.message.contains("201 characters"), "{}", refused.message);
    }
}
