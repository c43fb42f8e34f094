//! The WebSocket gateway: `GET /api/v2/gateway`, for guests and agents.
//!
//! - `handshake`: reads the subprotocol offer (pure).
//! - `cursor`: ordered, exactly-once delivery per conversation (pure).
//! - `session`: one connection's loop.
//! - `frames`: the frame layer: reading client frames, writing with a deadline, closing.
//! - `echo`: the conformance echo (off by default), on the same frame layer (`configure`).
//!
//! The upgrade handler decides everything before the `101`: whether the request is an
//! upgrade at all, which subprotocol to echo, and whether the credentials hold. Refusals that
//! a browser must be able to read are sent after the `101` as a close frame with a code and
//! reason (see `handshake` for why); the rest get an HTTP status and a JSON body.

mod cursor;
pub mod echo;
mod frames;
mod handshake;
mod ready;
mod session;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Extension, OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use porch_core::limits::{Limits, WS_FRAME_HEADER_BYTES_MAX};
use porch_core::limits::{READ_BUFFER_BYTES, WRITE_BATCH_BYTES_MAX};
use porch_core::token::TokenKind;
use porch_wire::{CloseCode, ErrorCode};

pub use frames::parse_client_frame;
pub use handshake::{Offer, read_offer};

use std::borrow::Cow;
use std::sync::Arc;

use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::listener::{ConnectionHold, Peer, client_ip};
use crate::state::AppState;

pub async fn upgrade(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    version: Version,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let started = std::time::Instant::now();
    if method == Method::GET
        && let Err(refusal) = handshake::check_head(version, &headers)
    {
        return refusal.into_response();
    }
    // Lossy, not `to_str().ok()`: a value with non-ASCII bytes must reach `read_offer` (and be
    // refused as `token_characters`), not vanish and turn the offer into "nothing offered".
    // Borrowed when it is visible ASCII, as every valid offer is.
    let protocols: Vec<Cow<'_, str>> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .map(|v| v.to_str().map_or_else(|_| String::from_utf8_lossy(v.as_bytes()), Cow::Borrowed))
        .collect();
    let protocols: Vec<&str> = protocols.iter().map(AsRef::as_ref).collect();
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let query = Query::parse(uri.query().unwrap_or(""));
    let offer = read_offer(
        &protocols,
        authorization,
        query.token.as_deref(),
        state.config.allow_query_token,
    );
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return not_an_upgrade(rejection),
    };
    let peer = peer.map(|Extension(p)| p);
    if let Err(refusal) = check_handshake_rate(&state, peer.as_ref(), &headers) {
        // Close the flooder's connection too: keep-alive would only hold its socket open.
        let mut response = refusal.into_response();
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    if !offer.can_upgrade {
        return offer
            .credential
            .err()
            .map(IntoResponse::into_response)
            .unwrap_or_else(|| StatusCode::BAD_REQUEST.into_response());
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let connection = peer.map(|p| p.hold);
    if query.probe && protocols.is_empty() && authorization.is_none() {
        let outcome = probe(&state, origin).await;
        return configure(ws, &state.config.limits)
            .on_upgrade(move |socket| answer_probe(socket, outcome, connection));
    }
    let outcome = admit(&state, offer.credential, origin, query, connection.clone()).await;
    crate::metrics::METRICS.handshake_latency.since(started);
    let mut ws = configure(ws, &state.config.limits);
    if let Some(protocol) = offer.echo {
        ws = ws.protocols([protocol]);
    }
    crate::metrics::METRICS.handshake();
    // The closure returns the session's future itself rather than an `async` block around
    // it: a block would keep its own copy of the socket and state for the session's whole
    // life (see `session::live` on why the size of an idle session's task matters). For the
    // same reason the state travels in the boxed `Start`, not in the closure: axum's upgrade
    // task keeps the closure's slot as long as the session runs.
    ws.on_upgrade(move |socket| match outcome {
        Ok(start) => Either::Left(session::run(socket, start)),
        // The refused connection still counts against its address while it lingers.
        Err(error) => Either::Right(session::refuse(socket, error, connection)),
    })
}

/// `?probe` with no credentials (docs/handshake.md, H10): a page asks whether it can open a
/// socket to Porch at all, before it has a session. A Content-Security-Policy whose
/// `connect-src` leaves Porch out blocks the socket inside the browser, and only an attempt
/// shows it. The answer is the `Origin` check every handshake starts with: a page no
/// deployment lists learns so; any other gets a normal close, neither logged nor counted as a
/// refusal (every new visitor's page sends one).
async fn probe(state: &AppState, origin: Option<&str>) -> Result<(), ApiError> {
    match origin {
        Some(origin) => state.origins.check_known(origin).await,
        None => Ok(()),
    }
}

async fn answer_probe(
    mut socket: axum::extract::ws::WebSocket,
    outcome: Result<(), ApiError>,
    connection: Option<Arc<ConnectionHold>>,
) {
    let end = match outcome {
        Ok(()) => frames::End::Close(CloseCode::NORMAL, PROBE_REASON.into()),
        Err(error) => frames::End::with(error),
    };
    frames::close(&mut socket, end).await;
    drop(connection);
}

/// The close reason of a probe that found nothing wrong.
pub const PROBE_REASON: &str = "probe: the gateway is reachable from this page";

/// Authenticates and takes a connection slot: everything that may refuse a session.
async fn admit(
    state: &AppState,
    credential: Result<String, ApiError>,
    origin: Option<&str>,
    query: Query,
    connection: Option<Arc<ConnectionHold>>,
) -> Result<Box<session::Start>, ApiError> {
    // Before any token work (and before the offer's own refusals): an `Origin` no deployment
    // allows is refused at the cost of a set lookup (docs/handshake.md, H8).
    if let Some(origin) = origin {
        state.origins.check_known(origin).await?;
    }
    let token = credential?;
    let claims =
        auth::verify(state, &token, &[TokenKind::Guest, TokenKind::Agent], "the gateway", origin)
            .await?;
    // Subscribed before the records are read (see `session::Start::feed`).
    let guest_feed = session::guest_topics(&claims).map(|topics| state.hub.feed(topics));
    let principal = auth::principal(state, claims, origin).await?;
    if query.bad_after_seq {
        // Not quoted: query strings are never logged (SECURITY.md).
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "afterSeq is not a whole number; send the last seq you saw, e.g. ?afterSeq=41",
        ));
    }
    if matches!(principal, Principal::Agent(_)) && query.after_seq.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "afterSeq is for guests; agents resync from `ready`",
        ));
    }
    let guest_slot = match &principal {
        Principal::Guest(g) => Some(state.throttles.connections_per_guest.acquire(g.guest.guest.id.clone()).ok_or_else(|| {
            let max = state.config.limits.connections_per_guest_max;
            ApiError::new(ErrorCode::TooManyConnections, format!("this guest already has {max} open sessions (connections_per_guest_max); close a tab"))
        })?),
        _ => None,
    };
    let permit = state.connections.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            ErrorCode::TooManyConnections,
            "this node is at its connection limit; retry later or elsewhere",
        )
    })?;
    let slots = session::Slots { permit, connection, guest: guest_slot };
    let feed = match (guest_feed, &principal) {
        (Some(feed), Principal::Guest(_)) => feed,
        (None, Principal::Agent(agent)) => state.hub.feed(session::agent_topics(agent)),
        _ => unreachable!(
            "`auth::principal` admits a guest only if its token names its topics, and no client"
        ),
    };
    // Boxed: axum's upgrade task keeps a slot for the closure that holds this `Start` for the
    // session's whole life, even after `session::run` has taken it (see `session::live`).
    let state = state.clone();
    Ok(Box::new(session::Start { state, principal, feed, after_seq: query.after_seq, slots }))
}

/// `handshakes_per_ip_per_sec`: checked before any token work and answered before the `101`
/// with `429`, so a flood costs one bucket lookup per attempt. (The one refusal a browser
/// cannot read: it sees 1006 and, with the SDK, backs off.)
fn check_handshake_rate(
    state: &AppState,
    peer: Option<&Peer>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let Some(peer) = peer else { return Ok(()) };
    let ip = client_ip(peer.addr.ip(), headers, &state.config.trusted_proxies);
    state.throttles.handshakes_per_ip.take(&ip).map_err(|limited| {
        ApiError::rate_limited(
            limited,
            "too many WebSocket handshakes from this address (handshakes_per_ip_per_sec)",
        )
    })
}

/// The gateway's query parameters.
#[derive(Debug, Default)]
struct Query {
    /// `afterSeq`: resume after this sequence number.
    after_seq: Option<u64>,
    bad_after_seq: bool,
    /// `access_token` or `token`: refused unless the operator enabled it.
    token: Option<String>,
    /// `probe`: a reachability check, see `probe`.
    probe: bool,
}

impl Query {
    fn parse(query: &str) -> Query {
        let mut q = Query::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "afterSeq" => match value.parse() {
                    Ok(n) => q.after_seq = Some(n),
                    Err(_) => q.bad_after_seq = true,
                },
                "access_token" | "token" => q.token = Some(value.into_owned()),
                "probe" => q.probe = true,
                _ => {}
            }
        }
        q
    }
}

/// A request to the gateway URL that is not a WebSocket upgrade: say what is missing.
fn not_an_upgrade(rejection: WebSocketUpgradeRejection) -> Response {
    let status = rejection.status();
    let message = format!(
        "not a WebSocket upgrade ({}); open this URL with new WebSocket(gatewayUrl, ['NICE-WebSocket-Auth', accessToken])",
        rejection.body_text().to_lowercase().trim_end_matches('.')
    );
    let mut response = ApiError::new(ErrorCode::InvalidRequest, message).into_response();
    *response.status_mut() = status;
    if matches!(rejection, WebSocketUpgradeRejection::InvalidWebSocketVersionHeader(_)) {
        *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    }
    if matches!(rejection, WebSocketUpgradeRejection::MethodNotGet(_)) {
        // RFC 9110 §15.5.6: a 405 names the methods the resource has.
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
    }
    response
}

/// The frame layer's settings, for the gateway and the conformance echo alike: one function,
/// so what Autobahn measures (`echo`, docs/conformance.md) is what guests and agents get.
fn configure(ws: WebSocketUpgrade, limits: &Limits) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(write_batch_bytes(limits))
        .max_write_buffer_size(limits.connection_write_buffer_bytes_max)
        .max_message_size(limits.ws_message_bytes_max)
        .max_frame_size(limits.ws_message_bytes_max)
}

/// The batch threshold (`WRITE_BATCH_BYTES_MAX`), within what the write ceiling allows:
/// tungstenite refuses a frame when the buffered bytes plus the frame pass
/// `connection_write_buffer_bytes_max`, so a batch may use only the room a largest message
/// leaves (0, writing every frame at once, when there is none).
fn write_batch_bytes(limits: &Limits) -> usize {
    let room = limits
        .connection_write_buffer_bytes_max
        .saturating_sub(limits.ws_message_bytes_max + WS_FRAME_HEADER_BYTES_MAX);
    WRITE_BATCH_BYTES_MAX.min(room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_batch_fits_beside_a_largest_message() {
        assert_eq!(write_batch_bytes(&Limits::default()), WRITE_BATCH_BYTES_MAX);
        let largest = Limits::default().ws_message_bytes_max + WS_FRAME_HEADER_BYTES_MAX;
        let tight =
            Limits { connection_write_buffer_bytes_max: largest + 100, ..Limits::default() };
        assert_eq!(write_batch_bytes(&tight), 100);
        let none = Limits { connection_write_buffer_bytes_max: largest, ..Limits::default() };
        assert_eq!(write_batch_bytes(&none), 0, "no room: every frame is written at once");
    }
}
