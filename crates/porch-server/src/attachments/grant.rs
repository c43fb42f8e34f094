//! The two grants: what an upload URL and a download URL allow, signed with the server's keys.

use porch_wire::ErrorCode;
use porch_wire::rest::Participant;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const UPLOAD: &str = "porch-attachment-upload";
const DOWNLOAD: &str = "porch-attachment-download";
const PREVIEW: &str = "porch-attachment-preview";

/// An upload URL: who may send which file into which conversation, until when.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UploadGrant {
    /// The attachment's id (the blob's).
    pub a: String,
    /// The conversation.
    pub c: String,
    /// The sender, as the message will name it.
    pub s: Participant,
    /// The clientMessageId.
    pub m: String,
    /// Name, size and declared type.
    pub n: String,
    pub z: u64,
    pub t: String,
    /// Expiry, ms since the epoch.
    pub e: i64,
}

/// A download URL: which file, how to serve it, until when.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct DownloadGrant {
    pub a: String,
    pub n: String,
    pub t: String,
    pub e: i64,
}

pub(crate) fn sign_upload(state: &AppState, grant: &UploadGrant) -> String {
    state.keys.get().grant(UPLOAD, grant)
}

pub(crate) fn sign_download(state: &AppState, grant: &DownloadGrant) -> String {
    state.keys.get().grant(DOWNLOAD, grant)
}

/// A preview URL: the same claim as the file's download URL, for another purpose, so neither
/// URL can stand in for the other.
pub(crate) fn sign_preview(state: &AppState, grant: &DownloadGrant) -> String {
    state.keys.get().grant(PREVIEW, grant)
}

pub(crate) fn open_preview(state: &AppState, text: &str) -> ApiResult<DownloadGrant> {
    let grant: DownloadGrant = open(state, PREVIEW, text)?;
    check_time(grant.e)?;
    Ok(grant)
}

pub(crate) fn open_upload(state: &AppState, text: &str) -> ApiResult<UploadGrant> {
    let grant: UploadGrant = open(state, UPLOAD, text)?;
    check_time(grant.e)?;
    Ok(grant)
}

pub(crate) fn open_download(state: &AppState, text: &str) -> ApiResult<DownloadGrant> {
    let grant: DownloadGrant = open(state, DOWNLOAD, text)?;
    check_time(grant.e)?;
    Ok(grant)
}

fn open<T: serde::de::DeserializeOwned>(
    state: &AppState,
    purpose: &str,
    text: &str,
) -> ApiResult<T> {
    state.keys.get().open_grant(purpose, text).map_err(|_| {
        ApiError::new(
            ErrorCode::AttachmentUrlInvalid,
            "this attachment URL was altered, made for another use, or signed by a key this server no longer has; ask Porch for a new one",
        )
    })
}

fn check_time(expires_at_ms: i64) -> ApiResult<()> {
    if porch_core::time::now_ms() > expires_at_ms {
        return Err(ApiError::new(
            ErrorCode::AttachmentUrlExpired,
            "this attachment URL's lifetime (attachment_url_ttl_secs) is over; ask Porch for a new one",
        ));
    }
    Ok(())
}

/// When a URL made now expires.
pub(crate) fn expiry(state: &AppState) -> i64 {
    let ttl_ms = state.config.limits.attachment_url_ttl_secs.saturating_mul(1000);
    porch_core::time::now_ms().saturating_add(i64::try_from(ttl_ms).unwrap_or(i64::MAX / 2))
}

/// An absolute URL on this server for `path` (one of porch_wire's, with `{grant}`).
pub(crate) fn url(state: &AppState, path: &str, grant: &str) -> String {
    let base = state.config.public_url.trim_end_matches('/');
    format!("{base}{}", path.replace("{grant}", grant))
}
