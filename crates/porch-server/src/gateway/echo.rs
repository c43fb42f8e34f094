//! The conformance echo: `/api/v2/conformance/echo`, for the Autobahn TestSuite only.
//!
//! Autobahn's fuzzing client needs a server that echoes every text and binary message; the
//! gateway answers JSON frames instead, so the suite cannot drive it directly. This endpoint
//! runs the gateway's frame layer with nothing on top: the upgrade goes through the same
//! `configure` (read buffer, unbuffered writes, write ceiling, message and frame limits from
//! `Limits`), reads go through the session's `inbound` (how a read error, a close or a limit
//! becomes a close code), writes through `send_within` and ends through `close`. So what
//! Autobahn measures here is what every guest and agent connection gets.
//!
//! It takes no token and does no admission (no connection slot, no per-address handshake
//! rate): it exists only when `conformance_echo` is on, which `porch serve` refuses unless it
//! listens on a loopback address, and it logs a warning at start. See docs/conformance.md.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::any;

use super::frames::{self, End};
use crate::state::AppState;

/// Where the echo is mounted when `conformance_echo` is on.
pub const CONFORMANCE_ECHO_PATH: &str = "/api/v2/conformance/echo";

/// The echo's route when the server's configuration turns it on; no route otherwise (the path
/// then falls through to the 404 of any unknown URL).
pub fn routes(state: &AppState) -> Router<AppState> {
    if state.config.conformance_echo {
        Router::new().route(CONFORMANCE_ECHO_PATH, any(upgrade))
    } else {
        Router::new()
    }
}

async fn upgrade(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return super::not_an_upgrade(rejection),
    };
    super::configure(ws, &state.config.limits).on_upgrade(move |socket| run(socket, state))
}

/// Echoes every data message until the connection ends, then ends it the session's way.
async fn run(mut socket: WebSocket, state: AppState) {
    let limits = &state.config.limits;
    // The session's idle rule without its pings: a client that says nothing is dropped.
    let idle = Duration::from_millis(limits.idle_timeout_ms);
    let end = loop {
        let frame = match tokio::time::timeout(idle, socket.recv()).await {
            Ok(frame) => frame,
            Err(_) => break End::silent(),
        };
        let step = match frames::inbound(frame) {
            Ok(Some(message)) => {
                frames::send_within(&mut socket, message, limits.write_timeout_ms).await
            }
            Ok(None) => Ok(()),
            Err(end) => Err(end),
        };
        if let Err(end) = step {
            break end;
        }
    };
    frames::close(&mut socket, end).await;
}
