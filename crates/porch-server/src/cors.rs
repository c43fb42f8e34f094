//! CORS for the endpoints a browser calls itself (guest messages, token refresh, attachments).
//!
//! Per deployment, never `*`: a preflight is allowed when its `Origin` is in some deployment's
//! allowlist (`origins`), and the request itself is then checked against the token's own
//! deployment by `auth`; a page of a disabled deployment can so read why it is refused.
//! A refusal (4xx, 5xx) is readable by any origin: a page no deployment lists must be able to
//! read that it is not listed (`origin_not_allowed`), or a widget can only report "failed to
//! fetch". A refusal carries no data beyond what the request itself said. The
//! server-to-server endpoints (OAuth, guest creation) answer no CORS at all: client secrets
//! never belong in a browser.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use porch_core::limits::PREFLIGHT_MAX_AGE_SECS;
use porch_wire::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return next.run(request).await;
    };
    let allowed = match origin.to_str() {
        Ok(o) => allowed_somewhere(&state, o).await,
        Err(_) => false,
    };
    if request.method() == Method::OPTIONS {
        if !allowed {
            let shown = crate::error::shown_origin(origin.to_str().unwrap_or("?"));
            return ApiError::new(
                ErrorCode::OriginNotAllowed,
                format!("origin {shown} is in no deployment's origins"),
            )
            .into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        allow(response.headers_mut(), origin);
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, PUT"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(PREFLIGHT_MAX_AGE_SECS));
        return response;
    }
    let mut response = next.run(request).await;
    let refusal = response.status().is_client_error() || response.status().is_server_error();
    if allowed || refusal {
        allow(response.headers_mut(), origin);
    }
    response
}

fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("origin"));
    // Without this a page cannot read why it was refused.
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("www-authenticate, retry-after"),
    );
}

/// From the set of known origins, not the store: a browser's every request passes here.
async fn allowed_somewhere(state: &AppState, origin: &str) -> bool {
    state.origins.is_known(origin).await.unwrap_or(false)
}
