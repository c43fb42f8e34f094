//! Asking: a guest or an agent asks for an upload URL (`POST …/attachments`) or for a URL that
//! reads one attachment of its conversation (`GET …/attachments/{attachmentId}`). Everything
//! that can be checked before a byte is sent is checked here: the declared size and type,
//! the conversation's quota and state.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use porch_core::ids::new_id;
use porch_core::limits::ATTACHMENT_NAME_CHARS_MAX;
use porch_wire::ErrorCode;
use porch_wire::attachment::{AttachmentUrl, UploadGrant, UploadRequest};
use porch_wire::rest::{Conversation, ConversationState, Participant};
use porch_wire::{ATTACHMENT_CONTENT_PATH, ATTACHMENT_PREVIEW_PATH, ATTACHMENT_UPLOAD_PATH};

use super::grant::{self, DownloadGrant};
use crate::auth::{AgentAuth, GuestAuth};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The prefix of attachment ids.
pub const ATTACHMENT_PREFIX: &str = "att";

/// `POST /api/v2/webmessaging/guests/attachments`.
pub async fn guest_upload(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
    JsonBody(request): JsonBody<UploadRequest>,
) -> ApiResult<Response> {
    let conversation = guest_conversation(&state, &guest).await?;
    let sender = crate::guests::participant(&guest);
    grant_upload(&state, sender, &conversation, request).await
}

/// `POST /api/v2/agent/conversations/{id}/attachments`.
pub async fn agent_upload(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UploadRequest>,
) -> ApiResult<Response> {
    let conversation = crate::agents::visible(&state, &agent, &id).await?;
    let sender = crate::agents::participant(&agent);
    grant_upload(&state, sender, &conversation, request).await
}

/// `GET /api/v2/webmessaging/guests/attachments/{attachment_id}`.
pub async fn guest_download(
    State(state): State<AppState>,
    GuestAuth(guest): GuestAuth,
    Path(attachment_id): Path<String>,
) -> ApiResult<axum::Json<AttachmentUrl>> {
    download_url(&state, &guest.guest.conversation_id, &attachment_id).await
}

/// `GET /api/v2/agent/conversations/{id}/attachments/{attachment_id}`.
pub async fn agent_download(
    State(state): State<AppState>,
    AgentAuth(agent): AgentAuth,
    Path((id, attachment_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<AttachmentUrl>> {
    let conversation = crate::agents::visible(&state, &agent, &id).await?;
    download_url(&state, &conversation.id, &attachment_id).await
}

async fn guest_conversation(
    state: &AppState,
    guest: &crate::auth::GuestPrincipal,
) -> ApiResult<Conversation> {
    state.store.conversation(&guest.guest.conversation_id).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::ConversationUnknown, "the guest's conversation is gone")
    })
}

async fn grant_upload(
    state: &AppState,
    sender: Participant,
    conversation: &Conversation,
    request: UploadRequest,
) -> ApiResult<Response> {
    check_request(state, &request)?;
    if conversation.state == ConversationState::Closed {
        return Err(ApiError::new(
            ErrorCode::ConversationClosed,
            "the conversation is closed: it takes no more files; start a new one",
        ));
    }
    check_quota(state, &conversation.id, request.size).await?;
    crate::conversation::check_broker(state)?;
    let claim = grant::UploadGrant {
        a: new_id(ATTACHMENT_PREFIX),
        c: conversation.id.clone(),
        s: sender,
        m: request.client_message_id,
        n: request.name,
        z: request.size,
        t: request.content_type,
        e: grant::expiry(state),
    };
    let signed = grant::sign_upload(state, &claim);
    let body = UploadGrant {
        attachment_id: claim.a,
        upload_url: grant::url(state, ATTACHMENT_UPLOAD_PATH, &signed),
        expires_at_ms: claim.e,
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// The declared file against the limits: each refusal names the limit and the fix.
fn check_request(state: &AppState, request: &UploadRequest) -> ApiResult<()> {
    let chars = request.name.chars().count();
    let bad_name =
        chars == 0 || request.name.trim().is_empty() || chars > ATTACHMENT_NAME_CHARS_MAX;
    if bad_name || request.name.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "name must be 1 to {ATTACHMENT_NAME_CHARS_MAX} characters, not all blank, without control characters; it has {chars}"
            ),
        ));
    }
    crate::conversation::validate_send(state, &request.client_message_id, &request.name)?;
    let max = state.config.limits.attachment_bytes_max;
    if request.size == 0 || request.size > max {
        return Err(ApiError::new(
            ErrorCode::AttachmentTooLarge,
            format!(
                "size is {} bytes; a file must be 1 to {max} bytes (attachment_bytes_max): send a smaller file",
                request.size
            ),
        ));
    }
    if !state.config.attachment_types.contains(&request.content_type) {
        let shown = crate::error::shown(&request.content_type);
        return Err(ApiError::new(
            ErrorCode::AttachmentTypeRefused,
            format!(
                "type `{shown}` is not allowed; allowed: {} (attachment_types)",
                state.config.attachment_types.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The conversation's files plus this one against `attachment_conversation_bytes_max`.
pub(crate) async fn check_quota(
    state: &AppState,
    conversation_id: &str,
    size: u64,
) -> ApiResult<()> {
    let held = state.store.attachment_bytes(conversation_id).await?;
    let quota = state.config.limits.attachment_conversation_bytes_max;
    if held.saturating_add(size) > quota {
        return Err(ApiError::new(
            ErrorCode::AttachmentQuotaFull,
            format!(
                "the conversation holds {held} bytes of files; {size} more would pass its {quota} (attachment_conversation_bytes_max)"
            ),
        ));
    }
    Ok(())
}

/// A download URL for an attachment of `conversation_id`. Another conversation's attachment
/// is unknown here, exactly as a missing one.
async fn download_url(
    state: &AppState,
    conversation_id: &str,
    attachment_id: &str,
) -> ApiResult<axum::Json<AttachmentUrl>> {
    let message = state.store.attachment_message(attachment_id).await?;
    let file = message
        .filter(|m| m.conversation_id == conversation_id)
        .and_then(|m| m.attachment)
        .ok_or_else(|| {
            let shown = crate::error::shown(attachment_id);
            ApiError::new(
                ErrorCode::AttachmentUnknown,
                format!("no attachment `{shown}` in this conversation; take ids from attachment messages"),
            )
        })?;
    if file.deleted {
        return Err(super::download::deleted());
    }
    let claim =
        DownloadGrant { a: file.id, n: file.name, t: file.content_type, e: grant::expiry(state) };
    let signed = grant::sign_download(state, &claim);
    let preview_url = super::thumbnail::previewable(&claim.t)
        .then(|| grant::url(state, ATTACHMENT_PREVIEW_PATH, &grant::sign_preview(state, &claim)));
    Ok(axum::Json(AttachmentUrl {
        url: grant::url(state, ATTACHMENT_CONTENT_PATH, &signed),
        preview_url,
        expires_at_ms: claim.e,
    }))
}
