//! The accept loop: TCP connections in, HTTP/1.1 (with upgrades) out, until shutdown.
//!
//! Porch runs its own loop rather than `axum::serve` for three things the latter does not
//! expose:
//! - the header timeout (`http_header_timeout_ms`): a slowloris client that trickles its
//!   headers, or connects and sends nothing, is cut when it passes;
//! - the per-address connection ceiling (`connections_per_ip_max`), enforced before any
//!   parsing with a fixed `429` answer;
//! - the peer address, attached to every request (`Peer`) for per-address rate limits.
//!
//! A connection's slot in the per-address count lives in an `Arc` shared by the HTTP
//! connection task and, after an upgrade, the WebSocket session: the address is charged for
//! exactly as long as it holds a socket.
//!
//! # Shutdown
//! On the signal, the loop stops accepting and closes the listener, flips the shutdown
//! `watch` (sessions close with 4200, HTTP connections finish their request and close), then
//! waits up to `SHUTDOWN_GRACE_MS` for connections to end.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::metrics::METRICS;
use crate::state::AppState;
use crate::throttle::Slot;
use porch_core::limits::{ACCEPT_ERROR_PAUSE_MS, REFUSAL_WRITE_TIMEOUT_MS, SHUTDOWN_GRACE_MS};

/// Who is on the other end of a request's connection. An extension on every request.
#[derive(Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// What the connection counts against. A WebSocket session keeps a clone: hyper's
    /// connection task ends at the upgrade, the TCP connection does not.
    pub hold: Arc<ConnectionHold>,
}

/// What one TCP connection holds while it is open, as HTTP or upgraded to a WebSocket: its
/// place in `connections_per_ip_max` (none for trusted proxies) and in the
/// `porch_tcp_connections` gauge. Released when the last holder (the HTTP task, the session)
/// is gone.
pub struct ConnectionHold {
    _address: Option<Slot<IpAddr>>,
}

impl ConnectionHold {
    fn new(address: Option<Slot<IpAddr>>) -> ConnectionHold {
        METRICS.connection_open(1);
        ConnectionHold { _address: address }
    }
}

impl Drop for ConnectionHold {
    fn drop(&mut self) {
        METRICS.connection_open(-1);
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the nearest address
/// in `X-Forwarded-For` that is not itself a trusted proxy (entries further left can be forged
/// by the client).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    let hops: Vec<IpAddr> = hops.filter_map(|hop| hop.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|ip| !trusted_proxies.contains(ip)).unwrap_or(peer)
}

/// The client address of a request (see `client_ip`), for per-address limits. `None` when
/// the request did not come through `run` (a router driven directly), which no limit keys on.
pub struct ClientIp(pub Option<IpAddr>);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<ClientIp, Self::Rejection> {
        let peer = parts.extensions.get::<Peer>().map(|p| p.addr.ip());
        Ok(ClientIp(peer.map(|ip| client_ip(ip, &parts.headers, &state.config.trusted_proxies))))
    }
}

/// Accepts and serves connections until `signal` resolves, then shuts down (see the module).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    app: Router,
    shutdown_tx: watch::Sender<bool>,
    signal: impl Future<Output = ()>,
) {
    let refusal = Arc::<[u8]>::from(refusal_bytes(state.config.limits.connections_per_ip_max));
    // Each connection task holds a receiver; shutdown waits for them all to be dropped.
    let (tasks_tx, tasks_rx) = watch::channel(());
    tokio::pin!(signal);
    loop {
        let accepted = tokio::select! {
            _ = &mut signal => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, addr)) => {
                let tasks = tasks_rx.clone();
                match admit(&state, addr) {
                    Ok(slot) => {
                        let peer = Peer { addr, hold: Arc::new(ConnectionHold::new(slot)) };
                        tokio::spawn(serve_connection(
                            stream,
                            peer,
                            state.clone(),
                            app.clone(),
                            tasks,
                        ));
                    }
                    Err(()) => {
                        tokio::spawn(refuse(stream, refusal.clone()));
                    }
                }
            }
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                tracing::error!("accept failed: {e}; pausing {ACCEPT_ERROR_PAUSE_MS} ms");
                tokio::time::sleep(Duration::from_millis(ACCEPT_ERROR_PAUSE_MS)).await;
            }
        }
    }
    drop(listener);
    let sessions = state.config.limits.connections_max - state.connections.available_permits();
    tracing::info!("shutting down: closing {sessions} sessions with 4200");
    let began = std::time::Instant::now();
    let _ = shutdown_tx.send(true);
    drop(tasks_rx);
    match tokio::time::timeout(Duration::from_millis(SHUTDOWN_GRACE_MS), tasks_tx.closed()).await {
        Ok(()) => tracing::info!(
            "shutdown: every connection ended {} ms after the 4200s began",
            began.elapsed().as_millis()
        ),
        Err(_) => tracing::warn!(
            "shutdown: connections still open after {SHUTDOWN_GRACE_MS} ms; leaving them"
        ),
    }
}

/// Charges a new connection to its address, or refuses it.
fn admit(state: &AppState, addr: SocketAddr) -> Result<Option<Slot<IpAddr>>, ()> {
    if state.config.trusted_proxies.contains(&addr.ip()) {
        return Ok(None);
    }
    match state.throttles.connections_per_ip.acquire(addr.ip()) {
        Some(slot) => Ok(Some(slot)),
        None => {
            METRICS.connection_refused();
            METRICS.refused(porch_wire::ErrorCode::TooManyConnections);
            tracing::debug!(peer = %addr.ip(), "refused a connection: connections_per_ip_max reached");
            Err(())
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: Peer,
    state: AppState,
    app: Router,
    _task: watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let mut shutdown = state.shutdown.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(peer.clone());
        let mut app = app.clone();
        async move { tower_service::Service::call(&mut app, request.map(Body::new)).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(state.config.limits.http_header_timeout_ms));
    let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = async { shutdown.wait_for(|down| *down).await.map(|_| ()) } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // Timeouts, resets and malformed requests: the client's problem, worth a debug line.
        tracing::debug!("connection ended: {e}");
    }
}

/// Answers an over-limit connection with a fixed `429` and closes it, without reading.
async fn refuse(mut stream: TcpStream, refusal: Arc<[u8]>) {
    let write = async {
        stream.write_all(&refusal).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_millis(REFUSAL_WRITE_TIMEOUT_MS), write).await;
}

fn refusal_bytes(connections_per_ip_max: usize) -> Vec<u8> {
    let body = serde_json::json!({
        "error": "too_many_connections",
        "error_description": format!(
            "this address already has {connections_per_ip_max} open connections (connections_per_ip_max); close some, or retry later"
        ),
    })
    .to_string();
    format!(
        "HTTP/1.1 429 Too Many Requests\r\nretry-after: 5\r\ncontent-type: application/json\r\ncache-control: no-store\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Accept errors that concern one connection (it was reset before we took it): carry on.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2".parse().unwrap());
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // From the proxy: the nearest untrusted hop, not the client-written leftmost one.
        assert_eq!(client_ip(ip("10.0.0.1"), &headers, &trusted), ip("203.0.113.7"));
        // From anyone else, the header is the client's own claim: ignored.
        assert_eq!(client_ip(ip("198.51.100.1"), &headers, &trusted), ip("198.51.100.1"));
        // A proxy that sent no header is the client.
        assert_eq!(client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn the_refusal_is_a_complete_http_response() {
        let bytes = refusal_bytes(7);
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 429 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"], "too_many_connections");
        assert!(json["error_description"].as_str().unwrap().contains("7 open connections"));
    }
}
