//! Identity tokens at the edge (docs/identity.md): the deployment's keys from the store, the
//! verification (`porch_core::identity::verify`, the only function that decides whether an
//! identity token is genuine), then the token's one use, recorded in the store so that no
//! other node accepts it again.

use axum::extract::State;
use porch_core::identity::{IdentityClaims, IdentityExpectation};
use porch_core::model::DeploymentRecord;
use porch_core::store::GuestIdentity;
use porch_core::webhook::EventType;
use porch_wire::ErrorCode;
use porch_wire::rest::{GuestSession, IdentifyGuestRequest};

use crate::auth::{GuestAuth, GuestPrincipal};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `POST /api/v2/webmessaging/guests/identity`: an anonymous guest session becomes the
/// customer the identity token names. Its conversation, seq and tokens stay; a system entry
/// in the log tells the agents, live, and the conversation's new guest follows it. The guest's
/// new customer, that entry and its `guest.identified` webhook event are one commit.
pub async fn identify(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
    JsonBody(request): JsonBody<IdentifyGuestRequest>,
) -> ApiResult<axum::Json<GuestSession>> {
    crate::conversation::check_broker(&state)?;
    let id = &guest.guest.guest.id;
    let claims = redeem(&state, &guest.deployment, &request.identity_token, Some(id)).await?;
    let announced =
        guest.guest.guest.external_id.is_none() && announce(&state, &guest, &claims).await?;
    // Known already (the same customer again), or a closed conversation, which takes no entry:
    // the session is the customer's all the same.
    if !announced {
        let (name, email) = (claims.name.clone(), claims.email.clone());
        if !state.store.identify_guest(id, &claims.sub, name, email).await? {
            return Err(crate::error::guest_already_known());
        }
    }
    let record = state.store.guest(id).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::GuestUnknown, "the guest is gone; open a new session")
    })?;
    Ok(axum::Json(crate::guests::session(&state, &record, &guest.deployment)))
}

/// The log entry agents see, who the guest turned out to be, identifying the guest in its
/// commit. False when the conversation is closed: nothing was written.
async fn announce(
    state: &AppState,
    guest: &GuestPrincipal,
    claims: &IdentityClaims,
) -> ApiResult<bool> {
    let shown = claims.name.as_deref().unwrap_or(&claims.sub);
    let text = format!("The guest signed in: verified as {shown} ({})", claims.sub);
    let conversation_id = &guest.guest.conversation_id;
    // Keyed like every system entry: a commit whose answer was lost is found, not doubled.
    let mut request = crate::conversation::system_entry(conversation_id, text);
    request.webhook_event = Some(EventType::GuestIdentified);
    request.identify = Some(Box::new(GuestIdentity {
        guest_id: guest.guest.guest.id.clone(),
        external_id: claims.sub.clone(),
        display_name: claims.name.clone(),
        email: claims.email.clone(),
    }));
    crate::conversation::note(state, request).await
}

/// The customer an identity token names, once: a second presentation of it, on any node, is
/// `identity_replayed`, unless it comes from the guest session (`guest_id`, an anonymous one
/// being upgraded) that presented it first: that is a retry whose answer was lost, and it is
/// answered as the first was (the upgrade is idempotent: the guest is that customer already).
pub async fn redeem(
    state: &AppState,
    deployment: &DeploymentRecord,
    token: &str,
    guest_id: Option<&str>,
) -> ApiResult<IdentityClaims> {
    let keys = state.store.identity_keys(&deployment.id).await?;
    let now_ms = porch_core::time::now_ms();
    let limits = &state.config.limits;
    let leeway_secs = i64::try_from(limits.token_leeway_secs).unwrap_or(i64::MAX);
    let expect = IdentityExpectation {
        deployment_id: &deployment.id,
        now_secs: now_ms.div_euclid(1000),
        leeway_secs,
        lifetime_max_secs: i64::try_from(limits.identity_token_lifetime_secs_max)
            .unwrap_or(i64::MAX),
    };
    let claims = porch_core::identity::verify(token, &keys, &expect)?;
    // Kept as long as the token could pass the time checks, leeway included.
    let expires_at_ms = claims.exp.saturating_add(leeway_secs).saturating_mul(1000);
    let (jti, store) = (&claims.jti, &state.store);
    let first_use =
        store.use_identity_jti(&deployment.id, jti, guest_id, expires_at_ms, now_ms).await?;
    if !first_use {
        return Err(ApiError::new(
            ErrorCode::IdentityReplayed,
            "this identity token's jti was used before; have your backend sign a new token, with a new jti, for each session",
        ));
    }
    Ok(claims)
}
