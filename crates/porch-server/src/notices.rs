//! Deployment notices: one text every guest of a deployment sees, such as opening hours, an
//! outage or a wait time. The customer's backend sets it (client token, `notices` scope); every
//! connected guest of the deployment gets a `notice` frame at once, on every node, and every
//! guest that connects later finds it in `ready`.
//!
//! A notice is state, not a log entry: each one replaces the last, so live delivery may skip
//! one (a lagging session re-reads the current notice) and a client shows the latest it got.
//! It lives on the deployment's row, which every guest handshake reads anyway.

use axum::extract::{Path, State};
use porch_core::ids::{new_id, prefix};
use porch_wire::ErrorCode;
use porch_wire::event::LiveEvent;
use porch_wire::rest::{Notice, NoticeState, SetNoticeRequest, WidgetConfig};

use crate::auth::ClientAuth;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `GET …/deployments/{deploymentId}/notice`: the current notice, `null` when there is none.
pub async fn get(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path(deployment_id): Path<String>,
) -> ApiResult<axum::Json<NoticeState>> {
    crate::guests::require_scope(&client.claims, porch_wire::scope::NOTICES)?;
    let deployment =
        state.store.deployment(&deployment_id).await?.ok_or_else(|| unknown(&deployment_id))?;
    Ok(axum::Json(NoticeState { notice: deployment.notice }))
}

/// `GET …/deployments/{deploymentId}/widget`: what the standard widget shows before the visitor
/// has a session, so "we are closed" is read before anyone writes, and whether anyone can
/// answer now (else the offline form). No token: the notice is for every visitor anyway;
/// pages of other origins are refused.
pub async fn widget(
    State(state): State<AppState>,
    Path(deployment_id): Path<String>,
    crate::listener::ClientIp(ip): crate::listener::ClientIp,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::Json<WidgetConfig>> {
    if let Some(ip) = ip {
        state.throttles.widget_reads_per_ip.take(&ip).map_err(|l| {
            ApiError::rate_limited(
                l,
                "too many widget reads from this address (widget_reads_per_ip_per_min)",
            )
        })?;
    }
    let deployment =
        crate::guests::widget_deployment(&state, &deployment_id, &headers, false).await?;
    if !deployment.enabled {
        return Err(ApiError::new(
            ErrorCode::DeploymentDisabled,
            format!("deployment {} is disabled", deployment.id),
        ));
    }
    let agents_available = state.availability.of_queue(&state, &deployment.queue).await?;
    Ok(axum::Json(WidgetConfig {
        notice: deployment.notice,
        welcome: deployment.welcome,
        agents_available,
        attachments: crate::attachments::limits(&state),
    }))
}

/// `PUT …/deployments/{deploymentId}/notice`: sets the notice, replacing any other.
pub async fn put(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path(deployment_id): Path<String>,
    JsonBody(request): JsonBody<SetNoticeRequest>,
) -> ApiResult<axum::Json<NoticeState>> {
    crate::guests::require_scope(&client.claims, porch_wire::scope::NOTICES)?;
    validate_text(&state, &request.text)?;
    let notice = Notice {
        id: new_id(prefix::NOTICE),
        deployment_id: deployment_id.clone(),
        text: request.text,
        created_at_ms: porch_core::time::now_ms(),
    };
    change(&state, &deployment_id, Some(notice)).await
}

/// `DELETE …/deployments/{deploymentId}/notice`: clears it; guests get `notice: null`.
pub async fn delete(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path(deployment_id): Path<String>,
) -> ApiResult<axum::Json<NoticeState>> {
    crate::guests::require_scope(&client.claims, porch_wire::scope::NOTICES)?;
    change(&state, &deployment_id, None).await
}

/// Stores the change, then fans it out: the store first, so a guest that connects in between
/// finds the new notice in `ready` even if the live frame passes it by.
async fn change(
    state: &AppState,
    deployment_id: &str,
    notice: Option<Notice>,
) -> ApiResult<axum::Json<NoticeState>> {
    // Known deployments only reach the throttle, so made-up ids cannot crowd its keys.
    if state.store.deployment(deployment_id).await?.is_none() {
        return Err(unknown(deployment_id));
    }
    state.throttles.notices_per_deployment.take(&deployment_id.to_owned()).map_err(|l| {
        ApiError::rate_limited(l, "this deployment's notice changes too often (notices_per_deployment_per_min); nothing was changed")
    })?;
    // Guests on other nodes would miss the change until they reconnect: refuse, nothing stored.
    crate::conversation::check_broker(state)?;
    if !state.store.set_deployment_notice(deployment_id, notice.clone()).await? {
        return Err(unknown(deployment_id));
    }
    // To this node's guests of the deployment and, through the broker, the other nodes'.
    state.publish(LiveEvent::notice(deployment_id, notice.clone()));
    Ok(axum::Json(NoticeState { notice }))
}

/// A notice is read by people, like a message: not blank, at most `text_chars_max` characters.
fn validate_text(state: &AppState, text: &str) -> ApiResult<()> {
    if text.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "text is empty; to remove the notice, DELETE it",
        ));
    }
    crate::conversation::check_text_length(state, text)
}

fn unknown(deployment_id: &str) -> ApiError {
    let shown = crate::error::shown(deployment_id);
    ApiError::new(
        ErrorCode::DeploymentUnknown,
        format!("no deployment `{shown}`; list them with `porch deployments list`"),
    )
}
