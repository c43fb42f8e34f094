//! Attachments (docs/attachments.md): a participant asks for an upload and gets a short-lived
//! URL bound to it and its conversation (`request`); the bytes are streamed to blob storage
//! and checked, and only then become an attachment message (`upload`); participants read a
//! file through a short-lived URL (`download`), and an image's small PNG preview through
//! another (`preview`, made by `thumbnail`); abandoned uploads and files no message names are
//! swept (`sweep`), files past retention deleted (`retention`), and storage use read for
//! `/metrics` (`usage`).
//!
//! The URLs carry signed grants (`porch_core::token::grant`), not tokens: a browser can use
//! them in a plain `PUT` or `<img src>`, and any node checks them without a store read.

pub mod download;
mod grant;
mod orientation;
pub mod preview;
pub mod request;
pub mod retention;
pub mod sweep;
mod thumbnail;
pub mod upload;
pub mod usage;

use porch_wire::attachment::AttachmentLimits;

use crate::state::AppState;

/// What `ready` and the widget endpoint announce.
pub fn limits(state: &AppState) -> AttachmentLimits {
    let l = &state.config.limits;
    AttachmentLimits {
        bytes_max: l.attachment_bytes_max,
        conversation_bytes_max: l.attachment_conversation_bytes_max,
        types: state.config.attachment_types.clone(),
    }
}
