//! `PUT /api/v2/attachments/uploads/{grant}`: the bytes of a granted upload, streamed to blob
//! storage one body frame at a time (never the whole file in memory), checked as they come
//! (count, first bytes, pace), committed, and only then appended to the log as an attachment
//! message. Every refusal removes what was written: nothing is left but the error.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use porch_core::attachment::{SNIFF_BYTES, detect};
use porch_core::blob::BlobWriter;
use porch_core::store::StoreError;
use porch_wire::ErrorCode;
use porch_wire::attachment::Attachment;
use porch_wire::rest::SendMessageResponse;

use super::grant::{self, UploadGrant};
use crate::conversation::Entry;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn put(
    State(state): State<AppState>,
    Path(signed): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let claim = grant::open_upload(&state, &signed)?;
    check_declared_length(&headers, claim.z)?;
    crate::conversation::check_broker(&state)?;
    let blobs = state.store.blobs();
    let writer = match blobs.create(&claim.a).await {
        Ok(writer) => writer,
        Err(StoreError::NameTaken(_)) => return Err(already(&state, &claim).await),
        Err(e) => return Err(e.into()),
    };
    let idle = Duration::from_millis(state.config.limits.attachment_upload_idle_ms);
    // A refused body removes its own bytes; whatever a failed removal leaves is the sweep's.
    let content_type = receive(writer, body, &claim, idle).await?;
    let file = Attachment {
        id: claim.a.clone(),
        name: claim.n.clone(),
        size: claim.z,
        content_type,
        deleted: false,
    };
    match record(&state, &claim, file).await {
        Ok(response) => {
            let status = if response.duplicate { StatusCode::OK } else { StatusCode::CREATED };
            Ok((status, axum::Json(response)).into_response())
        }
        Err(refused) => {
            let _ = blobs.delete(&claim.a).await;
            Err(refused)
        }
    }
}

/// A `Content-Length` that differs from the granted size is refused before any byte is read.
fn check_declared_length(headers: &HeaderMap, size: u64) -> ApiResult<()> {
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    match length.and_then(|v| v.parse::<u64>().ok()) {
        Some(n) if n > size => Err(too_long(size)),
        Some(n) if n < size => Err(too_short(n, size)),
        _ => Ok(()),
    }
}

/// Streams the body into `writer`: the count must reach the granted size exactly, the first
/// bytes must be the granted type, and no gap may last `idle`. Returns the detected type, the
/// blob committed; on any refusal the blob is aborted.
async fn receive(
    mut writer: Box<dyn BlobWriter>,
    body: Body,
    claim: &UploadGrant,
    idle: Duration,
) -> ApiResult<String> {
    let mut stream = body.into_data_stream();
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut received: u64 = 0;
    let outcome: ApiResult<()> = async {
        loop {
            let next =
                tokio::time::timeout(idle, stream.next()).await.map_err(|_| too_slow(idle))?;
            let Some(frame) = next else { break };
            let bytes = frame.map_err(|_| truncated(received, claim.z))?;
            received += bytes.len() as u64;
            if received > claim.z {
                return Err(too_long(claim.z));
            }
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(bytes.len());
                head.extend_from_slice(&bytes[..take]);
                if head.len() == SNIFF_BYTES {
                    check_type(&head, &claim.t)?;
                }
            }
            writer.write(&bytes).await?;
        }
        if received < claim.z {
            return Err(too_short(received, claim.z));
        }
        check_type(&head, &claim.t)
    }
    .await;
    match outcome {
        Ok(()) => {
            writer.commit().await?;
            Ok(claim.t.clone())
        }
        Err(refused) => {
            let _ = writer.abort().await;
            Err(refused)
        }
    }
}

/// The file's first bytes must be the type it was granted as (which is an allowed one).
fn check_type(head: &[u8], declared: &str) -> ApiResult<()> {
    match detect(head) {
        Some(found) if found == declared => Ok(()),
        found => Err(ApiError::new(
            ErrorCode::AttachmentTypeMismatch,
            format!(
                "the file was declared {declared} but its first bytes are {}; send the file as its real type, or a file of an allowed type",
                found.unwrap_or("no type Porch recognises")
            ),
        )),
    }
}

/// The checked, stored file becomes a message (idempotent on the clientMessageId).
async fn record(
    state: &AppState,
    claim: &UploadGrant,
    file: Attachment,
) -> ApiResult<SendMessageResponse> {
    let conversation = state.store.conversation(&claim.c).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::ConversationUnknown, "the upload's conversation is gone")
    })?;
    super::request::check_quota(state, &conversation.id, claim.z).await?;
    let entry = Entry {
        client_message_id: &claim.m,
        text: claim.n.clone(),
        attachment: Some(file),
        content: None,
    };
    let response =
        crate::conversation::deliver(state, &claim.s, &conversation, entry, None).await?;
    // A retry under a new upload URL with the same clientMessageId: the first file stands,
    // this one goes.
    let kept = response.message.attachment.as_ref().is_some_and(|a| a.id == claim.a);
    let blobs = state.store.blobs();
    let done = if kept { blobs.settle(&claim.a).await } else { blobs.delete(&claim.a).await };
    if let Err(e) = done {
        // The message stands either way; the sweep settles or removes the file later.
        tracing::warn!(attachment = %claim.a, "attachments: could not settle a file: {e}");
    }
    if kept && super::thumbnail::previewable(&claim.t) {
        // Made now, while the other side's client asks for the URLs; the first request would
        // make it anyway, so a failure here only costs that request the wait.
        let (state, id, kind) = (state.clone(), claim.a.clone(), claim.t.clone());
        tokio::spawn(async move {
            let _ = super::preview::ensure(&state, &id, &kind).await;
        });
    }
    Ok(response)
}

/// A second `PUT` to a URL whose upload completed (or is under way).
async fn already(state: &AppState, claim: &UploadGrant) -> ApiError {
    let message = state.store.attachment_message(&claim.a).await.ok().flatten();
    let said = match message {
        Some(m) => format!("this upload is complete already: it is message seq {}; ask for a new upload URL to send another file", m.seq),
        None => "this upload URL is in use by another upload; ask for a new upload URL to send another file".to_string(),
    };
    ApiError::new(ErrorCode::UploadAlreadyComplete, said)
}

fn too_long(size: u64) -> ApiError {
    ApiError::new(
        ErrorCode::AttachmentBodyTooLong,
        format!(
            "the body is longer than the {size} bytes asked for; ask again with the file's exact size"
        ),
    )
}

fn too_short(received: u64, size: u64) -> ApiError {
    ApiError::new(
        ErrorCode::AttachmentBodyTooShort,
        format!(
            "the body ended after {received} of the {size} bytes asked for; send the whole file, or ask again with its exact size"
        ),
    )
}

fn truncated(received: u64, size: u64) -> ApiError {
    ApiError::new(
        ErrorCode::AttachmentTruncated,
        format!(
            "the connection broke after {received} of {size} bytes; nothing was stored, ask for a new upload URL and retry"
        ),
    )
}

fn too_slow(idle: Duration) -> ApiError {
    ApiError::new(
        ErrorCode::UploadTooSlow,
        format!(
            "the upload sent nothing for {} ms (attachment_upload_idle_ms); nothing was stored, retry on a better connection",
            idle.as_millis()
        ),
    )
}
