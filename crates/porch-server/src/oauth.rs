//! `POST /api/v2/oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4).
//!
//! Client authentication by HTTP Basic (§2.3.1, credentials form-urlencoded before base64)
//! or by `client_id`/`client_secret` in the body; never both. Errors follow §5.2: a JSON body
//! with `error` and `error_description`, 400, or 401 with `WWW-Authenticate` for
//! `invalid_client`. Every answer carries `Cache-Control: no-store` (§5.1). No refresh token
//! is issued (§4.4.3): a client simply asks again.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use porch_core::model::ClientRecord;
use porch_core::token::TokenKind;
use porch_wire::ErrorCode;
use porch_wire::rest::{ErrorBody, IntrospectionResponse, TokenResponse};

use std::net::IpAddr;

use crate::auth::Principal;
use crate::listener::ClientIp;
use crate::signin;

use crate::error::ApiError;
use crate::state::AppState;

/// Credentials and parameters of one token request, parsed and checked for shape.
struct TokenRequest {
    client_id: String,
    client_secret: String,
    scope: Option<String>,
}

pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = match form_body(body) {
        Ok(body) => issue(&state, ip, &headers, &body).await,
        Err(e) => Err(e),
    };
    // `Cache-Control: no-store` and `Pragma: no-cache` come from `no_store`, layered on the API.
    match result {
        Ok(response) => axum::Json(response).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn issue(
    state: &AppState,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, ApiError> {
    let request = parse(headers, body)?;
    let client = check_client(state, ip, &request.client_id, &request.client_secret).await?;
    let scope = granted_scope(&client, request.scope.as_deref())?;
    let ttl_secs = state.config.limits.client_token_ttl_secs;
    let (access_token, _) = state.mint(TokenKind::Client, &client.id, ttl_secs, |c| {
        c.scope = Some(scope.clone());
        c.client_id = Some(client.id.clone());
    });
    Ok(TokenResponse { access_token, token_type: "Bearer".into(), expires_in: ttl_secs, scope })
}

/// Layered on every API route (see `router`), so that every answer, including axum's own (a
/// 413 for a body over the limit) and `wrong_method`'s, carries RFC 6749 §5.1's
/// `Cache-Control: no-store` and `Pragma: no-cache`: a cache must keep no token and no error.
pub async fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Any method but `POST` on the OAuth endpoints: 405 with `Allow: POST` (RFC 9110 §15.5.6) and
/// the §5.2 error shape, instead of axum's empty 405 (RFC 6749 §3.2: the endpoint is POST only).
pub async fn wrong_method(method: axum::http::Method) -> Response {
    let shown = crate::error::shown(method.as_str());
    let mut response =
        invalid_request(format!("{shown} is not allowed here; POST a form (RFC 6749 §3.2)"))
            .into_response();
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// The body, or a refusal in the documented shape: axum's own rejection of a body over
/// `http_body_bytes_max` is a plain-text 413, which no client of these endpoints can parse.
fn form_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| match e.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            ErrorCode::BodyTooLarge,
            "the body is larger than http_body_bytes_max; a token request is a few hundred bytes",
        ),
        _ => invalid_request("the body could not be read"),
    })
}

fn invalid_request(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

/// The parameters of a form body. RFC 6749 §3.2: a repeated parameter is an error, an
/// unknown one is ignored.
fn read_form(
    headers: &HeaderMap,
    body: &[u8],
    known: &[&str],
) -> Result<Vec<(String, String)>, ApiError> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(invalid_request(
            "send the body as application/x-www-form-urlencoded (RFC 6749 §4.4.2)",
        ));
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(body) {
        if !known.contains(&key.as_ref()) {
            continue;
        }
        if params.iter().any(|(k, _)| *k == key) {
            return Err(invalid_request(format!("parameter `{key}` is repeated (RFC 6749 §3.2)")));
        }
        params.push((key.into_owned(), value.into_owned()));
    }
    Ok(params)
}

fn param(params: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let index = params.iter().position(|(k, _)| k == name)?;
    Some(params.swap_remove(index).1)
}

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, ApiError> {
    let mut params =
        read_form(headers, body, &["grant_type", "scope", "client_id", "client_secret"])?;
    match param(&mut params, "grant_type").as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            let shown = crate::error::shown(other);
            return Err(ApiError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type `{shown}` is not supported; use grant_type=client_credentials"),
            ));
        }
        None => {
            return Err(invalid_request(
                "grant_type is missing; use grant_type=client_credentials",
            ));
        }
    }
    let scope = param(&mut params, "scope");
    let (client_id, client_secret) = client_credentials(headers, &mut params)?;
    Ok(TokenRequest { client_id, client_secret, scope })
}

/// Client authentication (RFC 6749 §2.3.1): HTTP Basic or the body, never both.
fn client_credentials(
    headers: &HeaderMap,
    params: &mut Vec<(String, String)>,
) -> Result<(String, String), ApiError> {
    let body_id = param(params, "client_id");
    let body_secret = param(params, "client_secret");
    match (basic_credentials(headers)?, body_id) {
        (Some(_), Some(_)) => {
            Err(invalid_request("send client credentials once: HTTP Basic or the body, not both"))
        }
        (Some(pair), None) => Ok(pair),
        (None, Some(id)) => Ok((id, body_secret.unwrap_or_default())),
        (None, None) => Err(ApiError::new(
            ErrorCode::InvalidClient,
            "no client credentials; send HTTP Basic client_id:client_secret",
        )),
    }
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`, RFC 6749 Appendix B.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))
    else {
        return Err(ApiError::new(
            ErrorCode::InvalidClient,
            "Authorization must be HTTP Basic here",
        ));
    };
    let bad = || {
        ApiError::new(
            ErrorCode::InvalidClient,
            "HTTP Basic credentials are not base64 of id:secret",
        )
    };
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some((percent_decode(id), percent_decode(secret))))
}

fn percent_decode(s: &str) -> String {
    // `form_urlencoded` decodes `%XX` and `+`, which is exactly Appendix B's encoding.
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn check_client(
    state: &AppState,
    ip: Option<IpAddr>,
    client_id: &str,
    client_secret: &str,
) -> Result<ClientRecord, ApiError> {
    let refused =
        || ApiError::new(ErrorCode::InvalidClient, "unknown client_id or wrong client_secret");
    let client = state.store.client(client_id).await?;
    let hash = client.as_ref().map(|c| c.secret_hash.clone());
    let matches = signin::check_secret(
        state,
        &signin::Attempt { ip, account: client_id },
        client_secret,
        hash,
    )
    .await?;
    let client = client.filter(|_| matches).ok_or_else(refused)?;
    // Told only to whoever knows the secret: a guesser learns nothing from it.
    if !client.standing.enabled {
        return Err(crate::auth::client_disabled());
    }
    Ok(client)
}

fn granted_scope(client: &ClientRecord, requested: Option<&str>) -> Result<String, ApiError> {
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(client.scopes.join(" "));
    };
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !client.scopes.iter().any(|s| s == scope) {
            let shown = crate::error::shown(scope);
            return Err(ApiError::new(
                ErrorCode::InvalidScope,
                format!(
                    "scope `{shown}` is not granted to this client; it has: {}",
                    client.scopes.join(" ")
                ),
            ));
        }
    }
    Ok(requested.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "))
}

/// `POST /api/v2/oauth/introspect` (RFC 7662): is this token active, and if not, why.
pub async fn introspect(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let body = form_body(body)?;
        let mut params = read_form(
            &headers,
            &body,
            &["token", "token_type_hint", "client_id", "client_secret"],
        )?;
        let token = param(&mut params, "token")
            .ok_or_else(|| invalid_request("the `token` parameter is missing"))?;
        let (id, secret) = client_credentials(&headers, &mut params)?;
        let caller = check_client(&state, ip, &id, &secret).await?;
        Ok::<_, ApiError>(describe(&state, &caller, &token).await)
    }
    .await;
    match result {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn describe(state: &AppState, caller: &ClientRecord, token: &str) -> IntrospectionResponse {
    let inactive = |reason: Option<ApiError>| IntrospectionResponse {
        active: false,
        token_kind: None,
        sub: None,
        aud: None,
        iss: None,
        exp: None,
        iat: None,
        scope: None,
        client_id: None,
        inactive_reason: reason.map(|e| ErrorBody {
            error: e.code,
            error_description: e.message,
            error_ref: None,
        }),
    };
    // Ownership first, from the unverified claims: another client's tokens get no details.
    if !owned_by(state, caller, token).await {
        return inactive(None);
    }
    let kinds = [TokenKind::Client, TokenKind::Guest, TokenKind::Agent];
    match crate::auth::authenticate(state, token, &kinds, "introspection", None).await {
        Err(e) => inactive(Some(e)),
        Ok(principal) => {
            let (kind, claims) = match principal {
                Principal::Client(c) => ("client", c.claims),
                Principal::Guest(g) => ("guest", g.claims),
                Principal::Agent(a) => ("agent", a.claims),
                Principal::Bot(b) => ("bot", b.claims),
            };
            IntrospectionResponse {
                active: true,
                token_kind: Some(kind.into()),
                sub: Some(claims.sub),
                aud: Some(claims.aud),
                iss: Some(claims.iss),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                scope: claims.scope,
                client_id: Some(caller.id.clone()),
                inactive_reason: None,
            }
        }
    }
}

/// A client may introspect its own client tokens and the guest tokens of guests it created.
/// Unparseable tokens are "owned" so the caller learns why they fail to parse.
async fn owned_by(state: &AppState, caller: &ClientRecord, token: &str) -> bool {
    let Ok((_, claims)) = porch_core::token::decode_unverified(token) else { return true };
    let sub = claims.get("sub").and_then(|s| s.as_str()).unwrap_or("");
    match claims.get("aud").and_then(|a| a.as_str()).and_then(TokenKind::from_audience) {
        Some(TokenKind::Client) => sub == caller.id,
        Some(TokenKind::Guest) => match state.store.guest(sub).await {
            Ok(Some(guest)) => guest.client_id == caller.id,
            _ => true,
        },
        Some(TokenKind::Agent | TokenKind::Bot) => false,
        None => true,
    }
}
