//! `GET /api/v2/attachments/previews/{grant}`: an image attachment's preview, a PNG at most
//! `ATTACHMENT_PREVIEW_EDGE_PX` on its longer edge (`thumbnail`), served with the file's safe
//! headers. Made once, when the upload completes or on the first request, and stored beside
//! the file in blob storage (`{id}_preview`), so every node serves what any node made.
//!
//! A preview outlives no file: it is stored unsettled, and settled only once its file is seen
//! still there (else deleted), while retention deletes the file before its preview. So a
//! deletion racing the making of a preview leaves none behind, whichever runs first; a crash
//! between the two leaves an unsettled preview the sweep settles or deletes (`sweep`).
//!
//! An image that cannot have one (too many pixels, undecodable) gets a stored marker instead
//! (the reason, as text, never a PNG): it is decoded at most once, answers
//! `preview_unavailable` with the reason, and the file itself still downloads.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use porch_core::blob::BlobStore;
use porch_core::limits::{
    ATTACHMENT_CHUNK_BYTES, ATTACHMENT_PREVIEW_EDGE_PX, ATTACHMENT_PREVIEWS_CONCURRENT_MAX,
};
use porch_core::store::StoreError;
use porch_wire::ErrorCode;
use tokio::sync::Semaphore;

use super::grant;
use super::thumbnail::{self, NoPreview};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Decodes at once on this node, so memory stays within a few sources' pixels.
static DECODING: Semaphore = Semaphore::const_new(ATTACHMENT_PREVIEWS_CONCURRENT_MAX);

const SUFFIX: &str = "_preview";

/// The blob holding attachment `attachment_id`'s preview (or the reason it has none).
pub fn blob_id(attachment_id: &str) -> String {
    format!("{attachment_id}{SUFFIX}")
}

/// The attachment whose preview blob `id` is, when it is one.
pub fn attachment_of(id: &str) -> Option<&str> {
    id.strip_suffix(SUFFIX)
}

pub async fn get(State(state): State<AppState>, Path(signed): Path<String>) -> ApiResult<Response> {
    let claim = grant::open_preview(&state, &signed)?;
    let stored = ensure(&state, &claim.a, &claim.t).await?;
    if !stored.starts_with(PNG_SIGNATURE) {
        let why = String::from_utf8_lossy(&stored).into_owned();
        return Err(ApiError::new(
            ErrorCode::PreviewUnavailable,
            format!(
                "this image has no preview: {why}; show its name and a download link (its download URL still serves the file)"
            ),
        ));
    }
    let mut response = Response::new(axum::body::Body::from(stored));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    super::download::safe_headers(headers, "image/png", "inline; filename=\"preview.png\"");
    // The preview of a file never changes; the URL's grant bounds who reads it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    Ok(response)
}

/// Attachment `id`'s stored preview: a PNG, or the reason it has none. Made and stored on the
/// first call; later calls (on any node) read it.
pub async fn ensure(state: &AppState, id: &str, content_type: &str) -> ApiResult<Vec<u8>> {
    let blobs = state.store.blobs();
    let preview_id = blob_id(id);
    if let Some(stored) = read_whole(blobs.as_ref(), &preview_id).await? {
        return Ok(stored);
    }
    let _permit =
        DECODING.acquire().await.map_err(|_| StoreError::Unavailable("shutting down".into()))?;
    // Made by another request while this one waited.
    if let Some(stored) = read_whole(blobs.as_ref(), &preview_id).await? {
        return Ok(stored);
    }
    let size = blobs.size(id).await?.ok_or_else(super::download::deleted)?;
    let source = BlobReader::new(blobs.clone(), id, size);
    let (kind, pixels_max) =
        (content_type.to_owned(), state.config.limits.attachment_preview_source_pixels_max);
    let made = tokio::task::spawn_blocking(move || {
        let source = BufReader::with_capacity(ATTACHMENT_CHUNK_BYTES, source);
        thumbnail::make(source, &kind, pixels_max, ATTACHMENT_PREVIEW_EDGE_PX)
    })
    .await
    .unwrap_or_else(|e| Err(NoPreview::Undecodable(format!("the decoder failed: {e}"))));
    let stored = match made {
        Ok(png) => png,
        Err(why) => {
            tracing::info!(attachment = %id, "attachments: no preview: {why}");
            why.to_string().into_bytes()
        }
    };
    keep(blobs.as_ref(), id, &stored).await;
    Ok(stored)
}

/// A stored file as the synchronous decoders read it, on a blocking thread: each read past
/// what it holds asks blob storage for the next chunk, so decoding holds a chunk of the file
/// (and its pixels), never the whole file, however large `attachment_bytes_max` is.
struct BlobReader {
    blobs: Arc<dyn BlobStore>,
    id: String,
    size: u64,
    at: u64,
    runtime: tokio::runtime::Handle,
}

impl BlobReader {
    fn new(blobs: Arc<dyn BlobStore>, id: &str, size: u64) -> BlobReader {
        let runtime = tokio::runtime::Handle::current();
        BlobReader { blobs, id: id.to_owned(), size, at: 0, runtime }
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let read = self.blobs.read(&self.id, self.at, buf.len().min(ATTACHMENT_CHUNK_BYTES));
        let bytes = self.runtime.block_on(read).map_err(std::io::Error::other)?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        self.at += bytes.len() as u64;
        Ok(bytes.len())
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let at = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.at.checked_add_signed(d),
        };
        self.at = at.ok_or_else(|| std::io::Error::other("seek before the start"))?;
        Ok(self.at)
    }
}

/// The whole of complete blob `id` (here, a preview: a small PNG or a reason), or `None` when
/// there is none.
async fn read_whole(blobs: &dyn BlobStore, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(size) = blobs.size(id).await? else { return Ok(None) };
    let len = usize::try_from(size).map_err(|_| StoreError::Unavailable("too large".into()))?;
    Ok(Some(blobs.read(id, 0, len).await?))
}

/// Stores the preview made of attachment `id` (`bytes`), and keeps it only while the file is
/// there: retention may have deleted the file while the preview was being made, and deletes
/// the file before its preview, so either this check sees the file gone, or retention's delete
/// of the preview comes after this commit. Another node (or request) storing the same preview
/// first is no error: both made the same bytes from the same file.
pub async fn keep(blobs: &dyn BlobStore, id: &str, bytes: &[u8]) {
    let preview_id = blob_id(id);
    let written = async {
        let mut writer = blobs.create(&preview_id).await?;
        writer.write(bytes).await?;
        writer.commit().await?;
        settle_or_delete(blobs, id).await.map(drop)
    };
    match written.await {
        Ok(()) | Err(StoreError::NameTaken(_)) => {}
        Err(e) => {
            tracing::warn!(preview = %preview_id, "attachments: could not store a preview: {e}")
        }
    }
}

/// Settles attachment `id`'s complete preview if the file is still there, else deletes it:
/// after a preview is written, and by the sweep for one a crash left unsettled. True when it
/// deleted the preview.
pub async fn settle_or_delete(blobs: &dyn BlobStore, id: &str) -> Result<bool, StoreError> {
    let preview_id = blob_id(id);
    if blobs.size(id).await?.is_some() {
        blobs.settle(&preview_id).await?;
        return Ok(false);
    }
    tracing::info!(attachment = %id, "attachments: the file went while its preview was made");
    blobs.delete(&preview_id).await?;
    Ok(true)
}
