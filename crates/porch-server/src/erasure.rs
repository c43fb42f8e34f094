//! Erasing a customer (issue 20, item 6; docs/identity.md "Erasure"): the builder's backend
//! (client token, scope `erasure`) or the operator (`porch customers erase`) removes what a
//! customer wrote and what describes them, and ends their sessions. The logs keep their
//! sequence: the customer's entries become tombstones.

use std::time::Duration;

use axum::extract::{Path, State};
use porch_core::store::Store;
use porch_wire::ErrorCode;
use porch_wire::event::LiveEvent;
use porch_wire::rest::{CustomerErasure, EraseCustomerRequest};

use crate::auth::ClientAuth;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, shown};
use crate::guests::require_scope;
use crate::state::AppState;

/// `POST /api/v2/webmessaging/deployments/{deploymentId}/customers/erasure`. Live sessions of
/// the customer close with `guest_erased` at their next heartbeat, on every node; agents'
/// lists hear the conversations' guests change now.
pub async fn erase(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path(deployment_id): Path<String>,
    JsonBody(request): JsonBody<EraseCustomerRequest>,
) -> ApiResult<axum::Json<CustomerErasure>> {
    require_scope(&client.claims, porch_wire::scope::ERASURE)?;
    let erasure =
        erase_customer(state.store.as_ref(), &deployment_id, &request.external_id).await?;
    for id in &erasure.conversation_ids {
        if let Some(conversation) = state.store.conversation(id).await? {
            let conversation = crate::guest_view::with_agent(&state, &conversation).await;
            state.publish(LiveEvent::conversation(&conversation));
        }
    }
    again_later(&state, &deployment_id, &request.external_id);
    tracing::info!(
        deployment = %deployment_id,
        guests = erasure.guests,
        messages = erasure.messages,
        client = %client.client_id,
        "erased a customer"
    );
    Ok(axum::Json(erasure))
}

/// An entry sent, or a webhook attempt made, by a request already past its checks when the
/// erasure committed can land after it. A second pass, once such an attempt has timed out,
/// makes it a tombstone too (erasure is idempotent). Best effort: a node that stops before
/// loses it, and `porch customers erase` run again does the same.
fn again_later(state: &AppState, deployment_id: &str, external_id: &str) {
    let store = state.store.clone();
    let (deployment_id, external_id) = (deployment_id.to_owned(), external_id.to_owned());
    let delay = Duration::from_millis(state.config.limits.webhook_timeout_ms.saturating_add(1_000));
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        if let Err(e) = store.erase_customer(&deployment_id, &external_id).await {
            tracing::warn!(deployment = %deployment_id, "the second pass of an erasure failed: {e}; run `porch customers erase` again");
        }
    });
}

/// The erasure itself, shared with the CLI. Idempotent: a customer erased before is answered
/// with what this call erased (nothing, unless a session was opened or an entry landed since).
pub async fn erase_customer(
    store: &dyn Store,
    deployment_id: &str,
    external_id: &str,
) -> Result<CustomerErasure, ApiError> {
    if store.deployment(deployment_id).await?.is_none() {
        return Err(ApiError::new(
            ErrorCode::DeploymentUnknown,
            format!(
                "no deployment has the id {}; see `porch deployments list`",
                shown(deployment_id)
            ),
        ));
    }
    let Some(erasure) = store.erase_customer(deployment_id, external_id).await? else {
        return Err(ApiError::new(
            ErrorCode::CustomerUnknown,
            format!(
                "no guest session of deployment {} was ever created with externalId {}; pass the id your backend created the sessions with (or the identity token's sub)",
                shown(deployment_id),
                shown(external_id)
            ),
        ));
    };
    Ok(CustomerErasure {
        deployment_id: deployment_id.to_owned(),
        guests: erasure.guest_ids.len() as u64,
        messages: erasure.messages,
        conversation_ids: erasure.conversation_ids,
    })
}
