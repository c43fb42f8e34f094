//! Attachments on the wire (docs/attachments.md): the file an attachment message carries, the
//! limits `ready` and the widget endpoint announce, and the bodies of the upload and download
//! endpoints.

use serde::{Deserialize, Serialize};

/// The file of an attachment message. Its bytes are read through a short-lived URL
/// (`AttachmentUrl`), never inline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// `att_…`: names the file in download requests.
    pub id: String,
    /// The name the sender gave (shown, never used as a path).
    pub name: String,
    /// Bytes, exactly.
    pub size: u64,
    /// The type detected from the content (magic bytes), one of the allowed types.
    pub content_type: String,
    /// True once the file's bytes are deleted (retention after its conversation closed, or
    /// erasure): the message stays so clients show "file removed", and a download URL is
    /// refused (`attachment_deleted`). Absent while the file is kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// What may be attached, announced before any upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentLimits {
    /// Largest file, in bytes (`attachment_bytes_max`).
    pub bytes_max: u64,
    /// Most bytes of files one conversation holds (`attachment_conversation_bytes_max`).
    pub conversation_bytes_max: u64,
    /// The content types allowed, detected from the file's first bytes.
    pub types: Vec<String>,
}

/// `POST …/attachments`: ask for an upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    /// Makes the attachment message idempotent, like a send's.
    pub client_message_id: String,
    /// The file's name, shown to the other side.
    pub name: String,
    /// The exact byte count the upload will send.
    pub size: u64,
    /// The type the client believes the file has; the content must agree.
    pub content_type: String,
}

/// The answer to an upload request: where to `PUT` the bytes, until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadGrant {
    pub attachment_id: String,
    /// An absolute URL on Porch; `PUT` the file's bytes to it (no token: the URL is the grant).
    pub upload_url: String,
    /// After this, the URL is refused (`attachment_url_expired`); ask again.
    pub expires_at_ms: i64,
}

/// A short-lived URL that reads one attachment (no token: the URL is the grant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentUrl {
    pub url: String,
    /// For a PNG or JPEG: a short-lived URL of its preview, a PNG at most
    /// `ATTACHMENT_PREVIEW_EDGE_PX` on its longer edge, made by Porch. Absent for other types.
    /// An image Porch cannot preview (too many pixels, not decodable) answers
    /// `preview_unavailable` there; the file itself still downloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<String>,
    pub expires_at_ms: i64,
}
