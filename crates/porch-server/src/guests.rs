//! The Guest API: guest sessions (for the customer's backend) and guest messages (for the
//! browser).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use porch_core::ids::{new_id, prefix};
use porch_core::limits::{ATTRIBUTE_CHARS_MAX, ATTRIBUTES_COUNT_MAX};
use porch_core::model::{DeploymentRecord, GuestRecord};
use porch_core::token::TokenKind;
use porch_wire::ErrorCode;
use porch_wire::event::LiveEvent;
use porch_wire::rest::{
    CreateGuestRequest, Guest, GuestQueue, GuestSession, MessagePage, Participant, Role,
    SendMessageRequest, Verification, WidgetGuestRequest,
};

use crate::auth::{ClientAuth, GuestAuth, GuestPrincipal};
use crate::body::JsonBody;
use crate::conversation::{self, HistoryQuery};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `POST /api/v2/webmessaging/guests`: a new guest and its conversation.
pub async fn create(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    JsonBody(request): JsonBody<CreateGuestRequest>,
) -> ApiResult<Response> {
    require_scope(&client.claims, porch_wire::scope::GUESTS)?;
    validate_guest(&request)?;
    // The backend authenticated: an externalId it gives is vouched for by it.
    let verified_by = request.external_id.is_some().then_some(Verification::Backend);
    open_session(&state, request, &client.client_id, verified_by).await
}

/// `POST /api/v2/webmessaging/deployments/{deploymentId}/guests`: a guest session for the
/// standard widget, which has no backend of its own. No client token: the browser's
/// `Origin` must be one of the deployment's origins, exactly. Guests made here belong to the
/// widget pseudo-client, so no OAuth client can read them back.
pub async fn create_for_widget(
    State(state): State<AppState>,
    Path(deployment_id): Path<String>,
    crate::listener::ClientIp(ip): crate::listener::ClientIp,
    headers: axum::http::HeaderMap,
    JsonBody(request): JsonBody<WidgetGuestRequest>,
) -> ApiResult<Response> {
    // The one endpoint that creates state without credentials: bounded per address.
    if let Some(ip) = ip {
        state.throttles.widget_sessions_per_ip.take(&ip).map_err(|l| {
            ApiError::rate_limited(
                l,
                "too many new chat sessions from this address (widget_sessions_per_ip_per_min)",
            )
        })?;
    }
    let deployment = widget_deployment(&state, &deployment_id, &headers, true).await?;
    let mut full = CreateGuestRequest {
        deployment_id,
        display_name: request.display_name,
        email: request.email,
        external_id: None,
        attributes: request.attributes,
        context: request.context,
    };
    validate_guest(&full)?;
    // Last, so a token is spent only on a request that is otherwise good.
    let mut verified_by = None;
    if let Some(token) = &request.identity_token {
        let claims = crate::identity::redeem(&state, &deployment, token, None).await?;
        full.external_id = Some(claims.sub);
        full.display_name = claims.name.or(full.display_name);
        full.email = claims.email.or(full.email);
        verified_by = Some(Verification::IdentityToken);
    }
    open_session(&state, full, porch_core::model::WIDGET_CLIENT_ID, verified_by).await
}

/// The deployment a widget endpoint names, if the request comes from one of its origins.
/// `origin_required`: the endpoint creates state, so a request without `Origin` (no browser
/// page sent it) is refused too; a read answers one, as browsers send none for a same-origin
/// `GET`.
pub(crate) async fn widget_deployment(
    state: &AppState,
    deployment_id: &str,
    headers: &axum::http::HeaderMap,
    origin_required: bool,
) -> ApiResult<DeploymentRecord> {
    let unknown = || {
        ApiError::new(
            ErrorCode::DeploymentUnknown,
            "no such deployment; check the widget's data-deployment",
        )
    };
    let deployment = state.store.deployment(deployment_id).await?.ok_or_else(unknown)?;
    match headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => crate::auth::check_origin(&deployment, origin)?,
        None if origin_required => {
            return Err(ApiError::new(
                ErrorCode::OriginNotAllowed,
                "the widget endpoint is for browsers: an Origin header is required",
            ));
        }
        None => {}
    }
    Ok(deployment)
}

/// Creates the guest and its conversation and answers `201` with the session.
async fn open_session(
    state: &AppState,
    request: CreateGuestRequest,
    client_id: &str,
    verified_by: Option<Verification>,
) -> ApiResult<Response> {
    let deployment = state.store.deployment(&request.deployment_id).await?.ok_or_else(|| {
        let shown = crate::error::shown(&request.deployment_id);
        ApiError::new(
            ErrorCode::DeploymentUnknown,
            format!("no deployment `{shown}`; list them with `porch deployments list`"),
        )
    })?;
    if !deployment.enabled {
        return Err(ApiError::new(
            ErrorCode::DeploymentDisabled,
            format!("deployment {} is disabled", deployment.id),
        ));
    }
    let record = GuestRecord {
        guest: Guest {
            id: new_id(prefix::GUEST),
            display_name: request.display_name,
            email: request.email,
            external_id: request.external_id,
            attributes: request.attributes,
            created_at_ms: porch_core::time::now_ms(),
            verified_by,
        },
        deployment_id: deployment.id.clone(),
        conversation_id: new_id(prefix::CONVERSATION),
        client_id: client_id.to_string(),
        revoked: false,
        erased: false,
    };
    let context = crate::visitor::checked(request.context)?;
    let queue = crate::bots::starting_queue(state, &deployment.queue).await?;
    let conversation = state.store.create_guest(record.clone(), queue).await?;
    if let Some(context) = context {
        // Before the conversation is announced, so an agent who opens it sees where the
        // visitor was.
        state.store.set_guest_context(&record.guest.id, context).await?;
    }
    state.publish(LiveEvent::conversation(&conversation));
    state.offers.wake();
    Ok((StatusCode::CREATED, axum::Json(session(state, &record, &deployment))).into_response())
}

/// `GET /api/v2/webmessaging/guests/{guestId}`: the same resource, with a fresh token, for the
/// client that created it.
pub async fn get(
    State(state): State<AppState>,
    ClientAuth(client): ClientAuth,
    Path(guest_id): Path<String>,
) -> ApiResult<axum::Json<GuestSession>> {
    require_scope(&client.claims, porch_wire::scope::GUESTS)?;
    let unknown = || {
        ApiError::new(ErrorCode::GuestUnknown, "no guest with this id was created by this client")
    };
    let record = state
        .store
        .guest(&guest_id)
        .await?
        .filter(|g| g.client_id == client.client_id)
        .ok_or_else(unknown)?;
    let deployment = state.store.deployment(&record.deployment_id).await?.ok_or_else(unknown)?;
    Ok(axum::Json(session(&state, &record, &deployment)))
}

/// `POST /api/v2/webmessaging/guests/token`: a fresh guest token for a still-valid one.
pub async fn refresh(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
) -> axum::Json<GuestSession> {
    axum::Json(session(&state, &guest.guest, &guest.deployment))
}

/// `POST /api/v2/webmessaging/guests/messages`.
pub async fn post_message(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
    JsonBody(request): JsonBody<SendMessageRequest>,
) -> ApiResult<Response> {
    let conversation =
        state.store.conversation(&guest.guest.conversation_id).await?.ok_or_else(|| {
            ApiError::new(ErrorCode::ConversationUnknown, "the guest's conversation is gone")
        })?;
    let sender = participant(&guest);
    let content = match request.choice {
        Some(choice) => Some(crate::bots::guest_choice(&state, &conversation.id, choice).await?),
        None => None,
    };
    let response = conversation::send(
        &state,
        &sender,
        &conversation,
        &request.client_message_id,
        &request.text,
        content,
        None,
    )
    .await?;
    let status = if response.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(response)).into_response())
}

/// `GET /api/v2/webmessaging/guests/messages?after=&before=&limit=`.
pub async fn history(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<MessagePage>> {
    let Query(q) = query.map_err(|e| conversation::bad_query(&e, HistoryQuery::NAMES))?;
    let page = conversation::guest_history(
        &state,
        &guest.guest.conversation_id,
        q.after,
        q.before,
        q.limit,
    )
    .await?;
    Ok(axum::Json(page))
}

/// `GET /api/v2/webmessaging/guests/queue`: where the guest's waiting conversation stands
/// in its queue (`queue_position`); `null` once an agent holds it or it closed.
pub async fn queue(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
) -> ApiResult<axum::Json<GuestQueue>> {
    let queue = crate::queue_position::position_of(&state, &guest.conversation).await?;
    Ok(axum::Json(GuestQueue { queue }))
}

/// How a guest appears to others.
pub fn participant(guest: &GuestPrincipal) -> Participant {
    Participant {
        role: Role::Guest,
        id: guest.guest.guest.id.clone(),
        display_name: guest.guest.guest.display_name.clone(),
    }
}

pub(crate) fn session(
    state: &AppState,
    record: &GuestRecord,
    deployment: &DeploymentRecord,
) -> GuestSession {
    let ttl_secs = deployment.guest_token_ttl_secs;
    let (access_token, claims) = state.mint(TokenKind::Guest, &record.guest.id, ttl_secs, |c| {
        c.dep = Some(record.deployment_id.clone());
        c.cnv = Some(record.conversation_id.clone());
    });
    GuestSession {
        guest_id: record.guest.id.clone(),
        conversation_id: record.conversation_id.clone(),
        deployment_id: record.deployment_id.clone(),
        gateway_url: state.config.gateway_url(),
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl_secs,
        expires_at_ms: claims.exp * 1000,
        guest: record.guest.clone(),
    }
}

pub(crate) fn require_scope(claims: &porch_core::token::Claims, scope: &str) -> ApiResult<()> {
    if claims.has_scope(scope) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InsufficientScope,
        format!("this client token lacks scope `{scope}`; create the client with --scope {scope}"),
    ))
}

fn validate_guest(request: &CreateGuestRequest) -> ApiResult<()> {
    // Counted in characters, as the OpenAPI document's `maxLength` counts them.
    let too_long = |field: &str| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("{field} is longer than {ATTRIBUTE_CHARS_MAX} characters"),
        )
    };
    let over = |s: &str| s.chars().count() > ATTRIBUTE_CHARS_MAX;
    for (field, value) in [
        ("displayName", &request.display_name),
        ("email", &request.email),
        ("externalId", &request.external_id),
    ] {
        if value.as_deref().is_some_and(over) {
            return Err(too_long(field));
        }
    }
    if request.attributes.len() > ATTRIBUTES_COUNT_MAX {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "{} attributes given, the limit is {ATTRIBUTES_COUNT_MAX}",
                request.attributes.len()
            ),
        ));
    }
    if let Some((key, _)) = request.attributes.iter().find(|(k, v)| over(k) || over(v)) {
        let shown = crate::error::shown(key);
        return Err(too_long(&format!("attribute `{shown}`")));
    }
    crate::visitor::checked(request.context.clone())?;
    Ok(())
}
