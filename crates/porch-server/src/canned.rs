//! Canned replies (`porch_core::canned`): operators set them per deployment with the CLI
//! (`porch canned-replies`, through `set` here), agents read those of a conversation's
//! deployment beside it, and the console offers them after `/` in the composer.

use axum::extract::{Path, State};
use porch_core::canned::{self, CannedReply};
use porch_core::limits::CANNED_REPLIES_PER_DEPLOYMENT_MAX;
use porch_core::store::Store;
use porch_wire::rest::{self, CannedReplyList};

use crate::auth::AgentAuth;
use crate::error::ApiResult;
use crate::state::AppState;

/// Stores a deployment's canned reply (a new shortcut, or a new text for one it has). Refused,
/// with the rule and the fix, when the deployment does not exist, the shortcut or the text
/// break `porch_core::canned`'s rules, or a new shortcut would pass
/// `CANNED_REPLIES_PER_DEPLOYMENT_MAX`; nothing changes then.
pub async fn set(
    store: &dyn Store,
    deployment_id: &str,
    shortcut: &str,
    text: &str,
) -> Result<CannedReply, String> {
    let text = text.trim();
    canned::check_shortcut(shortcut)?;
    canned::check_text(text)?;
    if store.deployment(deployment_id).await.map_err(|e| e.to_string())?.is_none() {
        return Err(format!("no deployment `{deployment_id}`; see `porch deployments list`"));
    }
    let existing = store.canned_replies(deployment_id).await.map_err(|e| e.to_string())?;
    let replaces = existing.iter().any(|r| r.shortcut == shortcut);
    if !replaces && existing.len() >= CANNED_REPLIES_PER_DEPLOYMENT_MAX {
        return Err(format!(
            "deployment `{deployment_id}` has {CANNED_REPLIES_PER_DEPLOYMENT_MAX} canned replies, the most it may hold; remove one first (`porch canned-replies remove`)"
        ));
    }
    let reply = CannedReply {
        deployment_id: deployment_id.to_owned(),
        shortcut: shortcut.to_owned(),
        text: text.to_owned(),
        updated_at_ms: porch_core::time::now_ms(),
    };
    store.set_canned_reply(reply.clone()).await.map_err(|e| e.to_string())?;
    Ok(reply)
}

/// `GET /api/v2/agent/conversations/{id}/canned-replies`: those of the conversation's
/// deployment, for an agent of its queue (others: 404 `conversation_unknown`).
pub async fn for_agent(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CannedReplyList>> {
    let conversation = crate::agents::visible(&state, &agent, &id).await?;
    let stored = state.store.canned_replies(&conversation.deployment_id).await?;
    let replies = stored
        .into_iter()
        .map(|r| rest::CannedReply { shortcut: r.shortcut, text: r.text })
        .collect();
    Ok(axum::Json(CannedReplyList { replies }))
}
