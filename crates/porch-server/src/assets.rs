//! The files of `web/public/`, embedded at build time (see `build.rs`) and served at their
//! path: `web/public/sdk/porch.js` at `/sdk/porch.js`, a directory's `index.html` at the
//! directory's URL.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use porch_wire::ErrorCode;

use crate::error::ApiError;

mod files {
    include!(concat!(env!("OUT_DIR"), "/web_files.rs"));
}

/// Looks a URL path up: the file itself, or the `index.html` of a directory.
pub fn find(path: &str) -> Option<(&'static str, &'static [u8])> {
    let lookup = |p: &str| files::FILES.iter().find(|(name, _)| *name == p).map(|(n, b)| (*n, *b));
    if path.ends_with('/') {
        return lookup(&format!("{path}index.html"));
    }
    lookup(path)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "text/plain; charset=utf-8",
    }
}

/// The fallback route: a file of `web/public/`, or the JSON 404 of every unknown route.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let found =
        (method == Method::GET || method == Method::HEAD).then(|| find(uri.path())).flatten();
    let Some((name, body)) = found else {
        let shown: String = uri.path().chars().take(80).collect();
        return ApiError::new(ErrorCode::NotFound, format!("no route {shown}; see docs/api.md"))
            .into_response();
    };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Revalidate each time: the files change with the binary, and they are small.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if name.ends_with(".html") {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'",
            ),
        );
    } else {
        // Scripts are loaded by customers' pages, as modules too, which fetch with CORS.
        // They hold no secrets, so any origin may read them.
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    response
}
