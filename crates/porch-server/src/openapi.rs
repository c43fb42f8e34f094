//! `GET /api/v2/openapi.json`: the published OpenAPI 3.1 document of the REST API.
//!
//! The document is `docs/openapi.json`, embedded at build time, so what a running server
//! serves is exactly the file of its own version. A test (`crates/porch/tests/e2e/openapi.rs`)
//! holds the file to the router, to the error-code table and to these bytes.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// `docs/openapi.json`, byte for byte.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

pub async fn handler() -> Response {
    let mut response = DOCUMENT.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Revalidate each time: the document changes with the binary.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
