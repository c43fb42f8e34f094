//! Pages Porch serves itself, embedded in the binary (no build step, no Node at run time).

use axum::http::header;
use axum::response::IntoResponse;

const INDEX_HTML: &str = include_str!("index.html");
const DEMO_GUEST_HTML: &str = include_str!("demo-guest.html");

/// Security headers for pages: no framing by others, no sniffing, scripts only from here.
fn page(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; frame-ancestors 'none'",
            ),
        ],
        body,
    )
}

pub async fn index() -> impl IntoResponse {
    page(INDEX_HTML)
}

pub async fn demo_guest() -> impl IntoResponse {
    page(DEMO_GUEST_HTML)
}
