//! A visitor's context (issue 19): where the visitor was when its conversation started (the
//! page's address and title, the browser), sent by the widget or the SDK when the session is
//! created (or passed on by a builder's backend), checked and bounded here, kept with the
//! guest, and read by agents beside the chat.

use axum::extract::{Path, State};
use porch_core::limits::{
    VISITOR_PAGE_TITLE_CHARS_MAX, VISITOR_PAGE_URL_CHARS_MAX, VISITOR_USER_AGENT_CHARS_MAX,
};
use porch_wire::ErrorCode;
use porch_wire::rest::VisitorContext;

use crate::auth::AgentAuth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Refuses a context a browser could not have sent: a field over its bound, a control
/// character, a page address that is not `http:` or `https:`. Blank fields are dropped.
pub fn checked(context: Option<VisitorContext>) -> ApiResult<Option<VisitorContext>> {
    let Some(context) = context else { return Ok(None) };
    let page_url = field("context.pageUrl", context.page_url, VISITOR_PAGE_URL_CHARS_MAX)?;
    if let Some(url) = &page_url {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "context.pageUrl is not an http: or https: address; send the page's location.href",
            ));
        }
    }
    let checked = VisitorContext {
        page_url,
        page_title: field("context.pageTitle", context.page_title, VISITOR_PAGE_TITLE_CHARS_MAX)?,
        user_agent: field("context.userAgent", context.user_agent, VISITOR_USER_AGENT_CHARS_MAX)?,
    };
    Ok((checked != VisitorContext::default()).then_some(checked))
}

/// One field: trimmed, blank as none, at most `max` characters, no control character.
fn field(name: &str, value: Option<String>, max: usize) -> ApiResult<Option<String>> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let chars = value.chars().count();
    if chars > max {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("{name} has {chars} characters, more than {max}; send a shorter one"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("{name} holds a control character (a line break, a tab…); send it on one line"),
        ));
    }
    Ok(Some(value))
}

/// `GET /api/v2/agent/conversations/{id}/visitor`: the context its guest gave (all fields
/// absent when it gave none), for an agent of its queue.
pub async fn for_agent(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<VisitorContext>> {
    let conversation = crate::agents::visible(&state, &agent, &id).await?;
    let context = state.store.guest_context(&conversation.guest.id).await?;
    Ok(axum::Json(context.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(url: &str, title: &str, agent: &str) -> Option<VisitorContext> {
        let some = |s: &str| Some(s.to_owned());
        Some(VisitorContext {
            page_url: some(url),
            page_title: some(title),
            user_agent: some(agent),
        })
    }

    #[test]
    fn a_browsers_context_passes_trimmed_and_blank_is_none() {
        let got = checked(context(" https://shop.example/a?b=1 ", "Cart", "Mozilla/5.0")).unwrap();
        assert_eq!(got, context("https://shop.example/a?b=1", "Cart", "Mozilla/5.0"));
        assert_eq!(checked(context("", " ", "")).unwrap(), None);
        assert_eq!(checked(None).unwrap(), None);
    }

    #[test]
    fn what_no_browser_sends_is_refused_naming_the_field() {
        let long_title = "t".repeat(VISITOR_PAGE_TITLE_CHARS_MAX + 1);
        for (bad, names) in [
            (context("javascript:alert(1)", "x", "x"), "http: or https:"),
            (context("https://x", &long_title, "x"), "context.pageTitle has 301"),
            (context("https://x", "two\nlines", "x"), "control character"),
            (context(&format!("https://{}", "a".repeat(2048)), "x", "x"), "context.pageUrl"),
        ] {
            let refused = checked(bad).unwrap_err();
            assert_eq!(refused.code, ErrorCode::InvalidRequest);
            assert!(refused.message.contains(names), "{}", refused.message);
        }
    }
}
