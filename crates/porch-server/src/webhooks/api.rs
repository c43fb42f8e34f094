//! The webhook endpoints API, for the customer's backend (client token, scope `webhooks`):
//! list, add and remove a deployment's endpoints (`manage`: rotate, dead letters, replay). The same rules as `porch webhooks add`
//! (`super::register`): https:// and public targets unless the operator allows more, known
//! event types, at most `WEBHOOK_ENDPOINTS_PER_DEPLOYMENT_MAX` endpoints.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use porch_core::webhook::WebhookEndpoint;
use porch_wire::ErrorCode;
use porch_wire::webhook::{self as wire, CreateWebhookEndpointRequest, WebhookEndpointList};

use super::Refusal;
use crate::auth::ClientAuth;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::guests::require_scope;
use crate::state::AppState;

/// `GET …/deployments/{deploymentId}/webhooks`.
pub async fn list(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path(deployment_id): Path<String>,
) -> ApiResult<axum::Json<WebhookEndpointList>> {
    require_scope(&client.claims, porch_wire::scope::WEBHOOKS)?;
    known_deployment(&state, &deployment_id).await?;
    let endpoints = state.store.webhook_endpoints().await?;
    let endpoints = endpoints
        .into_iter()
        .filter(|e| e.deployment_id == deployment_id)
        .map(|e| view(e, false))
        .collect();
    Ok(axum::Json(WebhookEndpointList { endpoints }))
}

/// `POST …/deployments/{deploymentId}/webhooks`: `201` with the endpoint and its secret, the
/// only time the secret is shown.
pub async fn create(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path(deployment_id): Path<String>,
    JsonBody(request): JsonBody<CreateWebhookEndpointRequest>,
) -> ApiResult<Response> {
    require_scope(&client.claims, porch_wire::scope::WEBHOOKS)?;
    let store = state.store.as_ref();
    let registered =
        super::register(store, &state.webhooks, &deployment_id, &request.url, &request.event_types)
            .await;
    let endpoint = registered.map_err(refusal)?;
    Ok((StatusCode::CREATED, axum::Json(view(endpoint, true))).into_response())
}

/// `DELETE …/deployments/{deploymentId}/webhooks/{endpointId}`: `204`; its pending and dead
/// deliveries go with it.
pub async fn delete(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path((deployment_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require_scope(&client.claims, porch_wire::scope::WEBHOOKS)?;
    let endpoint = super::manage::theirs(&state, &deployment_id, &endpoint_id).await?;
    if !state.store.delete_webhook_endpoint(&endpoint.id).await? {
        return Err(super::manage::unknown(&deployment_id, &endpoint_id));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn known_deployment(state: &AppState, deployment_id: &str) -> ApiResult<()> {
    match state.store.deployment(deployment_id).await? {
        Some(_) => Ok(()),
        None => Err(unknown_deployment(deployment_id)),
    }
}

fn unknown_deployment(deployment_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::DeploymentUnknown,
        format!(
            "no deployment {}; use an id of `porch deployments list`",
            crate::error::shown(deployment_id)
        ),
    )
}

fn refusal(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::DeploymentUnknown(id) => unknown_deployment(&id),
        Refusal::Target(why) => ApiError::new(ErrorCode::WebhookTargetRefused, why),
        Refusal::EventTypes(why) => ApiError::new(ErrorCode::WebhookEventTypeUnknown, why),
        full @ Refusal::Full => ApiError::new(ErrorCode::WebhookEndpointsFull, full.describe()),
        Refusal::Store(e) => e.into(),
    }
}

fn view(endpoint: WebhookEndpoint, with_secret: bool) -> wire::WebhookEndpoint {
    wire::WebhookEndpoint {
        secret: with_secret.then_some(endpoint.secret),
        id: endpoint.id,
        deployment_id: endpoint.deployment_id,
        url: endpoint.url,
        event_types: endpoint.event_types,
        created_at_ms: endpoint.created_at_ms,
    }
}
