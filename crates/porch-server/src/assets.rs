//! The files of `web/public/`, embedded at build time (see `build.rs`) and served at their
//! path: `web/public/sdk/porch.js` at `/sdk/porch.js`, a directory's `index.html` at the
//! directory's URL.
//!
//! Caching: every file has a strong `ETag`, so a browser revalidates with `If-None-Match` and
//! gets `304` with no body. The same files are also served under `/v/{VERSION}/` (the version
//! of the whole tree, which changes whenever any file does): those URLs never change content,
//! so they are cached for a year, and the relative imports of a module loaded from one stay
//! under the same prefix. The widget's one tag may point there
//! (`<script type="module" src="…/v/{VERSION}/widget/widget.js" …>`); an unversioned response
//! names its versioned URL in `Content-Location`. A prefix of another version (a page written
//! before an upgrade) still gets the current files, revalidated like unversioned ones.
//! Compression: a gzip copy made at build time goes to clients that accept it.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use porch_wire::ErrorCode;

use crate::error::ApiError;

mod files {
    /// One embedded file, as `build.rs` prepared it.
    pub struct Asset {
        pub path: &'static str,
        pub body: &'static [u8],
        /// Strong validator: a quoted prefix of the body's SHA-256.
        pub etag: &'static str,
        /// The body gzipped, when that saves at least a tenth.
        pub gzip: Option<&'static [u8]>,
    }
    include!(concat!(env!("OUT_DIR"), "/web_files.rs"));
}

pub use files::VERSION;

/// `Cache-Control` of a versioned URL: its content never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Looks a URL path up: the file itself, or the `index.html` of a directory.
fn find(path: &str) -> Option<&'static files::Asset> {
    let lookup = |p: &str| files::FILES.iter().find(|a| a.path == p);
    if path.ends_with('/') {
        return lookup(&format!("{path}index.html"));
    }
    lookup(path)
}

/// Every HTML page: its path and its body (for their Content-Security-Policy, `csp`).
pub(crate) fn html_files() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    files::FILES.iter().filter(|a| a.path.ends_with(".html")).map(|a| (a.path, a.body))
}

/// Splits `/v/{version}/rest` into (`Some(version)`, `/rest`).
fn split_version(path: &str) -> (Option<&str>, &str) {
    let Some(rest) = path.strip_prefix("/v/") else { return (None, path) };
    match rest.find('/') {
        Some(slash) => (Some(&rest[..slash]), &rest[slash..]),
        None => (None, path),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "text/plain; charset=utf-8",
    }
}

/// Whether the client accepts gzip (`Accept-Encoding: gzip`, `gzip;q=0.5` or `*`; not `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or("");
        let refused = parts.any(|p| {
            p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// `If-None-Match` names `etag` (weak comparison, as RFC 9110 §13.1.2 asks), or is `*`.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let Some(value) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// The fallback route: a file of `web/public/`, or the JSON 404 of every unknown route.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let (version, path) = split_version(uri.path());
    let found = (method == Method::GET || method == Method::HEAD).then(|| find(path)).flatten();
    let Some(asset) = found else {
        let shown: String = uri.path().chars().take(80).collect();
        return ApiError::new(ErrorCode::NotFound, format!("no route {shown}; see docs/api.md"))
            .into_response();
    };
    let gzip = asset.gzip.filter(|_| accepts_gzip(&headers));
    // A representation of its own: the gzip copy has its own validator (RFC 9110 §8.8.3).
    let etag = match gzip {
        Some(_) => format!("{}-gz\"", asset.etag.trim_end_matches('"')),
        None => asset.etag.to_string(),
    };
    let mut response = if not_modified(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, gzip.unwrap_or(asset.body)).into_response()
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    if asset.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if gzip.is_some() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    cache_headers(h, version, path);
    file_headers(h, asset.path);
    response
}

/// A year for the current version's URLs; revalidation for the rest, whose content changes
/// with the binary.
fn cache_headers(h: &mut HeaderMap, version: Option<&str>, path: &str) {
    if version == Some(VERSION) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
        return;
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&format!("/v/{VERSION}{path}")) {
        h.insert(header::CONTENT_LOCATION, value);
    }
}

fn file_headers(h: &mut HeaderMap, name: &str) {
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if name.ends_with(".html") {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        // Scripts from Porch itself or the page's own inline ones by hash (`csp`).
        h.insert(header::CONTENT_SECURITY_POLICY, crate::csp::for_page(name));
    } else {
        // Scripts are loaded by customers' pages, as modules too, which fetch with CORS.
        // They hold no secrets, so any origin may read them.
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap())).collect()
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let cases = [
            ("gzip", true),
            ("br, gzip;q=0.8", true),
            ("*", true),
            ("GZIP", true),
            ("gzip;q=0", false),
            ("gzip; q=0.0", false),
            ("br, deflate", false),
            ("identity", false),
        ];
        for (value, expected) in cases {
            let h = headers(&[(header::ACCEPT_ENCODING, value)]);
            assert_eq!(accepts_gzip(&h), expected, "Accept-Encoding: {value}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let etag = "\"abc\"";
        for (value, expected) in [
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abd\"", false),
        ] {
            assert_eq!(not_modified(&headers(&[(header::IF_NONE_MATCH, value)]), etag), expected);
        }
    }

    #[test]
    fn versioned_paths_split() {
        assert_eq!(split_version("/v/abc/sdk/porch.js"), (Some("abc"), "/sdk/porch.js"));
        assert_eq!(split_version("/v/abc/"), (Some("abc"), "/"));
        assert_eq!(split_version("/sdk/porch.js"), (None, "/sdk/porch.js"));
        assert_eq!(split_version("/v/abc"), (None, "/v/abc"));
    }
}
