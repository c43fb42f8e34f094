//! `GET /api/v2/attachments/content/{grant}`: an attachment's bytes, streamed from blob
//! storage a chunk at a time, with one byte range if asked (RFC 9110 §14), and the headers
//! that keep a browser from running it: `nosniff`, the detected type (one of the allowed
//! ones), `Content-Disposition: attachment` for anything but a raster image, and a sandboxing
//! Content-Security-Policy should it be opened anyway.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use porch_core::blob::BlobStore;
use porch_core::limits::ATTACHMENT_CHUNK_BYTES;
use porch_wire::ErrorCode;

use super::grant;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn get(
    State(state): State<AppState>,
    Path(signed): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let claim = grant::open_download(&state, &signed)?;
    let blobs = state.store.blobs();
    let size = blobs.size(&claim.a).await?.ok_or_else(deleted)?;
    let wanted = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (start, end, partial) = match wanted.map(|r| range(r, size)) {
        None | Some(Range::Ignored) => (0, size, false),
        Some(Range::Bytes(start, end)) => (start, end, true),
        Some(Range::Unsatisfiable) => {
            let mut refused = ApiError::new(
                ErrorCode::RangeNotSatisfiable,
                format!(
                    "the range is outside the file's {size} bytes; ask for bytes 0 to {}",
                    size.saturating_sub(1)
                ),
            )
            .into_response();
            refused.headers_mut().insert(header::CONTENT_RANGE, value(&format!("bytes */{size}")));
            return Ok(refused);
        }
    };
    let mut response = Response::new(stream(blobs, claim.a.clone(), start, end));
    *response.status_mut() = if partial { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let h = response.headers_mut();
    if partial {
        h.insert(header::CONTENT_RANGE, value(&format!("bytes {start}-{}/{size}", end - 1)));
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    safe_headers(h, &claim.t, &disposition(&claim.n, &claim.t));
    Ok(response)
}

/// The headers every file and preview goes out with: its detected type and `nosniff`, so no
/// browser second-guesses it; how to open it; a sandboxing policy, should it be opened anyway.
pub(crate) fn safe_headers(h: &mut HeaderMap, content_type: &str, disposition: &str) {
    h.insert(header::CONTENT_TYPE, value(content_type));
    h.insert(header::CONTENT_DISPOSITION, value(disposition));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    // A widget on the customer's page shows pictures from Porch's origin.
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
}

/// The refusal of a file whose bytes are gone (retention, erasure): its message stays.
pub(crate) fn deleted() -> ApiError {
    ApiError::new(
        ErrorCode::AttachmentDeleted,
        "this file was deleted: its conversation closed longer ago than attachment_retention_secs, or its customer was erased; show it as removed, and ask the sender to send it again if it is still needed",
    )
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// The body: `[start, end)` of the blob, read `ATTACHMENT_CHUNK_BYTES` at a time as the
/// client takes it.
fn stream(blobs: Arc<dyn BlobStore>, id: String, start: u64, end: u64) -> Body {
    let chunks = futures_util::stream::unfold(start, move |at| {
        let (blobs, id) = (blobs.clone(), id.clone());
        async move {
            if at >= end {
                return None;
            }
            let len = usize::try_from(end - at).unwrap_or(usize::MAX).min(ATTACHMENT_CHUNK_BYTES);
            match blobs.read(&id, at, len).await {
                Ok(bytes) if !bytes.is_empty() => {
                    let next = at + bytes.len() as u64;
                    Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(bytes)), next))
                }
                // Deleted or unreadable mid-way: the connection ends short, which the client
                // sees against Content-Length.
                Ok(_) => Some((Err(std::io::Error::other("attachment ended early")), end)),
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), end)),
            }
        }
    });
    Body::from_stream(chunks)
}

/// `inline` only for raster images; anything else is a download, whatever the browser could
/// do with it. The name is given twice: ASCII with anything else replaced, and exact in
/// RFC 8187's encoding.
pub fn disposition(name: &str, content_type: &str) -> String {
    let kind = if porch_core::attachment::inline(content_type) { "inline" } else { "attachment" };
    let ascii: String = name
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// One `Range` header against a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Range {
    /// `[start, end)`.
    Bytes(u64, u64),
    /// Not one satisfiable range of bytes (416).
    Unsatisfiable,
    /// Not a single `bytes` range: served whole, as RFC 9110 allows.
    Ignored,
}

pub fn range(header: &str, size: u64) -> Range {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Range::Ignored };
    if spec.contains(',') {
        return Range::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Range::Ignored };
    let parsed = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), parsed(first), parsed(last)) {
        // `bytes=-N`: the last N bytes.
        (true, _, Some(n)) if n > 0 && size > 0 => Range::Bytes(size.saturating_sub(n), size),
        (true, _, _) => Range::Unsatisfiable,
        (false, Some(start), _) if start >= size => Range::Unsatisfiable,
        (false, Some(start), None) if last.trim().is_empty() => Range::Bytes(start, size),
        (false, Some(start), Some(end)) if end >= start => {
            Range::Bytes(start, end.min(size - 1) + 1)
        }
        _ => Range::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(range("bytes=0-9", 100), Range::Bytes(0, 10));
        assert_eq!(range("bytes=90-", 100), Range::Bytes(90, 100));
        assert_eq!(range("bytes=-10", 100), Range::Bytes(90, 100));
        assert_eq!(range("bytes=50-500", 100), Range::Bytes(50, 100));
        assert_eq!(range("bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), Range::Unsatisfiable);
        assert_eq!(range("bytes=0-1,5-6", 100), Range::Ignored);
        assert_eq!(range("items=0-1", 100), Range::Ignored);
        assert_eq!(range("bytes=9-3", 100), Range::Ignored);
    }

    #[test]
    fn only_raster_images_open_inline_and_names_cannot_break_the_header() {
        assert!(disposition("a.png", "image/png").starts_with("inline;"));
        let pdf = disposition("inv\"oice\r\n.pdf", "application/pdf");
        assert!(pdf.starts_with("attachment; filename=\"inv_oice__.pdf\""), "{pdf}");
        assert!(pdf.ends_with("filename*=UTF-8''inv%22oice%0D%0A.pdf"), "{pdf}");
        assert!(disposition("é.pdf", "application/pdf").contains("UTF-8''%C3%A9.pdf"));
    }
}
