//! What the customer's backend does with one of its endpoints beyond adding and removing it
//! (client token, scope `webhooks`; `porch webhooks` does the same for operators): rotate its
//! secret with an overlap, list its dead deliveries, replay them.

use axum::extract::{Path, State};
use porch_core::limits::WEBHOOK_DEAD_LIST_MAX;
use porch_core::webhook::{Delivery, DeliveryState, WebhookEndpoint};
use porch_wire::ErrorCode;
use porch_wire::webhook::{
    DeadDelivery, DeadDeliveryList, RotateWebhookSecretRequest, WebhookReplay, WebhookSecret,
};

use crate::auth::ClientAuth;
use crate::body::OptionalJsonBody;
use crate::error::{ApiError, ApiResult};
use crate::guests::require_scope;
use crate::state::AppState;

/// `POST …/webhooks/{endpointId}/secret`: a new secret, shown once; the previous one keeps
/// signing for `overlapMs` (the operator's `webhook_secret_overlap_ms` by default, and at most).
pub async fn rotate(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path((deployment_id, endpoint_id)): Path<(String, String)>,
    OptionalJsonBody(request): OptionalJsonBody<RotateWebhookSecretRequest>,
) -> ApiResult<axum::Json<WebhookSecret>> {
    require_scope(&client.claims, porch_wire::scope::WEBHOOKS)?;
    let overlap_ms = overlap_ms(&state, request.overlap_ms)?;
    let endpoint = theirs(&state, &deployment_id, &endpoint_id).await?;
    let rotated = super::rotate_secret(state.store.as_ref(), &endpoint.id, overlap_ms).await?;
    // Removed between the read and the rotation: as unknown as if it never was.
    let secret = rotated.ok_or_else(|| unknown(&deployment_id, &endpoint_id))?;
    let until_ms = super::endpoint(state.store.as_ref(), &endpoint.id)
        .await?
        .map_or(0, |e| e.previous_secret_until_ms);
    Ok(axum::Json(WebhookSecret {
        endpoint_id: endpoint.id,
        secret,
        previous_secret_until_ms: until_ms,
    }))
}

/// `GET …/webhooks/{endpointId}/dead`: its dead deliveries, oldest first.
pub async fn dead(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path((deployment_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<DeadDeliveryList>> {
    require_scope(&client.claims, porch_wire::scope::WEBHOOKS)?;
    let endpoint = theirs(&state, &deployment_id, &endpoint_id).await?;
    let dead = state
        .store
        .webhook_deliveries(&endpoint.id, DeliveryState::Dead, WEBHOOK_DEAD_LIST_MAX)
        .await?;
    Ok(axum::Json(DeadDeliveryList { deliveries: dead.iter().map(view).collect() }))
}

/// `POST …/webhooks/{endpointId}/dead/replay`: every dead delivery is pending again, due now,
/// with a new retry horizon; each keeps its `webhook-id`.
pub async fn replay(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path((deployment_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<WebhookReplay>> {
    require_scope(&client.claims, porch_wire::scope::WEBHOOKS)?;
    let endpoint = theirs(&state, &deployment_id, &endpoint_id).await?;
    let now_ms = porch_core::time::now_ms();
    let replayed = state.store.replay_webhook_deliveries(&endpoint.id, now_ms).await?;
    Ok(axum::Json(WebhookReplay { replayed }))
}

/// An overlap the operator allows: at most `webhook_secret_overlap_ms`, which it defaults to.
fn overlap_ms(state: &AppState, asked: Option<u64>) -> ApiResult<u64> {
    let max_ms = state.config.limits.webhook_secret_overlap_ms;
    match asked {
        None => Ok(max_ms),
        Some(ms) if ms <= max_ms => Ok(ms),
        Some(ms) => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "overlapMs is {ms}, above the {max_ms} ms this server allows (webhook_secret_overlap_ms); nothing changed: send at most {max_ms}, or leave it out for that"
            ),
        )),
    }
}

/// The endpoint, if it is one of this deployment's (another deployment's is as unknown).
pub(super) async fn theirs(
    state: &AppState,
    deployment_id: &str,
    endpoint_id: &str,
) -> ApiResult<WebhookEndpoint> {
    super::api::known_deployment(state, deployment_id).await?;
    let found = super::endpoint(state.store.as_ref(), endpoint_id).await?;
    found
        .filter(|e| e.deployment_id == deployment_id)
        .ok_or_else(|| unknown(deployment_id, endpoint_id))
}

pub(super) fn unknown(deployment_id: &str, endpoint_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::WebhookEndpointUnknown,
        format!(
            "deployment {} has no webhook endpoint {}; list them with GET …/webhooks",
            crate::error::shown(deployment_id),
            crate::error::shown(endpoint_id)
        ),
    )
}

fn view(d: &Delivery) -> DeadDelivery {
    DeadDelivery {
        webhook_id: d.webhook_id(),
        conversation_id: d.conversation_id.clone(),
        seq: d.seq,
        event_type: d.event_type.clone(),
        attempts: d.attempts,
        last_error: d.last_error.clone(),
        created_at_ms: d.created_at_ms,
    }
}
