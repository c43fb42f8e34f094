//! `POST /api/v2/oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4).
//!
//! Client authentication by HTTP Basic (§2.3.1, credentials form-urlencoded before base64)
//! or by `client_id`/`client_secret` in the body; never both. Errors follow §5.2: a JSON body
//! with `error` and `error_description`, 400, or 401 with `WWW-Authenticate` for
//! `invalid_client`. Every answer carries `Cache-Control: no-store` (§5.1). No refresh token
//! is issued (§4.4.3): a client simply asks again.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use porch_core::model::ClientRecord;
use porch_core::token::TokenKind;
use porch_wire::ErrorCode;
use porch_wire::rest::TokenResponse;

use crate::error::ApiError;
use crate::state::AppState;

/// Credentials and parameters of one token request, parsed and checked for shape.
struct TokenRequest {
    client_id: String,
    client_secret: String,
    scope: Option<String>,
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&state, &headers, &body).await {
        Ok(response) => {
            let mut response = axum::Json(response).into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(e) => {
            let mut response = e.into_response();
            response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
    }
}

async fn issue(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<TokenResponse, ApiError> {
    let request = parse(headers, body)?;
    let client = authenticate_client(state, &request).await?;
    let scope = granted_scope(&client, request.scope.as_deref())?;
    let ttl_secs = state.config.limits.client_token_ttl_secs;
    let (access_token, _) = state.mint(TokenKind::Client, &client.id, ttl_secs, |c| {
        c.scope = Some(scope.clone());
        c.client_id = Some(client.id.clone());
    });
    Ok(TokenResponse { access_token, token_type: "Bearer".into(), expires_in: ttl_secs, scope })
}

fn invalid_request(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(invalid_request("send the body as application/x-www-form-urlencoded (RFC 6749 §4.4.2)"));
    }
    let mut grant_type = None;
    let mut scope = None;
    let mut body_id = None;
    let mut body_secret = None;
    for (key, value) in form_urlencoded::parse(body) {
        let slot = match key.as_ref() {
            "grant_type" => &mut grant_type,
            "scope" => &mut scope,
            "client_id" => &mut body_id,
            "client_secret" => &mut body_secret,
            _ => continue, // §3.2: unknown parameters are ignored.
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(invalid_request(format!("parameter `{key}` is repeated (RFC 6749 §3.2)")));
        }
    }
    match grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            let shown: String = other.chars().take(40).collect();
            return Err(ApiError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type `{shown}` is not supported; use grant_type=client_credentials"),
            ));
        }
        None => return Err(invalid_request("grant_type is missing; use grant_type=client_credentials")),
    }
    let basic = basic_credentials(headers)?;
    let (client_id, client_secret) = match (basic, body_id) {
        (Some(_), Some(_)) => {
            return Err(invalid_request("send client credentials once: HTTP Basic or the body, not both"));
        }
        (Some(pair), None) => pair,
        (None, Some(id)) => (id, body_secret.unwrap_or_default()),
        (None, None) => {
            return Err(ApiError::new(
                ErrorCode::InvalidClient,
                "no client credentials; send HTTP Basic client_id:client_secret",
            ));
        }
    };
    Ok(TokenRequest { client_id, client_secret, scope })
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`, RFC 6749 Appendix B.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
        return Err(ApiError::new(ErrorCode::InvalidClient, "Authorization must be HTTP Basic here"));
    };
    let bad = || ApiError::new(ErrorCode::InvalidClient, "HTTP Basic credentials are not base64 of id:secret");
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some((percent_decode(id), percent_decode(secret))))
}

fn percent_decode(s: &str) -> String {
    // `form_urlencoded` decodes `%XX` and `+`, which is exactly Appendix B's encoding.
    form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

async fn authenticate_client(state: &AppState, request: &TokenRequest) -> Result<ClientRecord, ApiError> {
    let refused = || ApiError::new(ErrorCode::InvalidClient, "unknown client_id or wrong client_secret");
    let client = state.store.client(&request.client_id).await?;
    let hash = client.as_ref().map(|c| c.secret_hash.clone());
    let secret = request.client_secret.clone();
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let matches = tokio::task::spawn_blocking(move || porch_core::secret::verify_maybe(&secret, hash.as_deref()))
        .await
        .unwrap_or(false);
    client.filter(|_| matches).ok_or_else(refused)
}

fn granted_scope(client: &ClientRecord, requested: Option<&str>) -> Result<String, ApiError> {
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(client.scopes.join(" "));
    };
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !client.scopes.iter().any(|s| s == scope) {
            let shown: String = scope.chars().take(40).collect();
            return Err(ApiError::new(
                ErrorCode::InvalidScope,
                format!("scope `{shown}` is not granted to this client; it has: {}", client.scopes.join(" ")),
            ));
        }
    }
    Ok(requested.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "))
}
