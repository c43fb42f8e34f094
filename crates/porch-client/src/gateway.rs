//! The gateway, as a browser would use it: the `NICE-WebSocket-Auth` subprotocol pair, JSON
//! text frames, and close codes with reasons.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use porch_wire::PROTOCOL_MARKER;
use porch_wire::frame::{ClientFrame, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::tls::{Tls, TlsProblem};

/// Something the gateway did.
// Events are handled one at a time and dropped; boxing the frame buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Frame(ServerFrame),
    /// The server closed with this code and reason.
    Closed {
        code: u16,
        reason: String,
    },
    /// The connection ended without a close frame.
    Dropped(String),
}

/// Why a connection attempt failed before the upgrade.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server answered with HTTP instead of `101`.
    #[error("HTTP {status}: {body}")]
    Refused { status: u16, body: String, headers: Vec<(String, String)> },
    /// The TLS handshake of a `wss://` URL failed.
    #[error("{0}")]
    Tls(TlsProblem),
    #[error("{0}")]
    Other(String),
}

/// One gateway connection.
pub struct Gateway {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server echoed.
    pub protocol: Option<String>,
}

/// A handshake request for `url` with the subprotocol pair, as
/// `new WebSocket(url, ['NICE-WebSocket-Auth', token])` sends it.
pub fn request(url: &str, token: &str) -> Request {
    let mut request = url.into_client_request().expect("a valid ws:// or wss:// URL");
    let offer = format!("{PROTOCOL_MARKER}, {token}");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_str(&offer).expect("token characters"));
    request
}

impl Gateway {
    /// Connects like a browser: subprotocol pair, optional `afterSeq` resume position.
    pub async fn connect(
        gateway_url: &str,
        token: &str,
        after_seq: Option<u64>,
    ) -> Result<Gateway, ConnectError> {
        Gateway::connect_with(gateway_url, token, after_seq, &Tls::system()).await
    }

    /// `connect`, trusting what `tls` trusts for a `wss://` URL (e.g. a `--ca-file`).
    pub async fn connect_with(
        gateway_url: &str,
        token: &str,
        after_seq: Option<u64>,
        tls: &Tls,
    ) -> Result<Gateway, ConnectError> {
        let url = match after_seq {
            Some(seq) => format!("{gateway_url}?afterSeq={seq}"),
            None => gateway_url.to_string(),
        };
        Gateway::connect_request_with(request(&url, token), tls).await
    }

    /// Connects with a handshake request built by the caller (odd offers, headers, origins).
    pub async fn connect_request(request: Request) -> Result<Gateway, ConnectError> {
        Gateway::connect_request_with(request, &Tls::system()).await
    }

    /// `connect_request`, trusting what `tls` trusts for a `wss://` URL.
    pub async fn connect_request_with(
        request: Request,
        tls: &Tls,
    ) -> Result<Gateway, ConnectError> {
        use tokio_tungstenite::tungstenite::Error as WsError;
        // A `ws://` URL ignores the connector; `wss://` uses the REST client's configuration.
        let connector = Some(Connector::Rustls(tls.config()));
        match tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector)
            .await
        {
            Ok((ws, response)) => {
                let protocol = response
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                Ok(Gateway { ws, protocol })
            }
            Err(WsError::Http(response)) => {
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).to_string())
                    .unwrap_or_default();
                Err(ConnectError::Refused { status, body, headers })
            }
            Err(e) => Err(TlsProblem::find(&e)
                .map_or_else(|| ConnectError::Other(e.to_string()), ConnectError::Tls)),
        }
    }

    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), String> {
        self.send_text(&serde_json::to_string(frame).expect("client frames serialize")).await
    }

    /// Sends `frames` back to back in one write, as a client that pipelines them does.
    pub async fn send_all(&mut self, frames: &[ClientFrame]) -> Result<(), String> {
        for frame in frames {
            let text = serde_json::to_string(frame).expect("client frames serialize");
            self.ws.feed(Message::text(text)).await.map_err(|e| e.to_string())?;
        }
        self.ws.flush().await.map_err(|e| e.to_string())
    }

    pub async fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.ws.send(Message::text(text)).await.map_err(|e| e.to_string())
    }

    pub async fn send_raw(&mut self, message: Message) -> Result<(), String> {
        self.ws.send(message).await.map_err(|e| e.to_string())
    }

    /// The next event, or `None` when nothing arrives within `timeout`. Protocol pings are
    /// answered by the library and skipped here.
    pub async fn next(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let item = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()?;
            let event = match item {
                None => Event::Dropped("stream ended".into()),
                Some(Err(e)) => Event::Dropped(e.to_string()),
                Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
                    Ok(frame) => Event::Frame(frame),
                    Err(e) => Event::Dropped(format!("undecodable frame {text}: {e}")),
                },
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                    Event::Closed { code, reason }
                }
                Some(Ok(_)) => continue,
            };
            return Some(event);
        }
    }

    /// Waits for the first frame matching `want`, skipping others; returns what was skipped
    /// too, so a failing test can show it.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        want: impl Fn(&ServerFrame) -> bool,
    ) -> Result<ServerFrame, Vec<Event>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(Event::Frame(f)) if want(&f) => return Ok(f),
                Some(e @ (Event::Closed { .. } | Event::Dropped(_))) => {
                    seen.push(e);
                    return Err(seen);
                }
                Some(e) => seen.push(e),
                None => return Err(seen),
            }
        }
    }

    /// Waits for the server's close.
    pub async fn wait_close(&mut self, timeout: Duration) -> Result<(u16, String), Vec<Event>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(Event::Closed { code, reason }) => return Ok((code, reason)),
                Some(e @ Event::Dropped(_)) => {
                    seen.push(e);
                    return Err(seen);
                }
                Some(e) => seen.push(e),
                None => return Err(seen),
            }
        }
    }

    /// Closes normally.
    pub async fn close(mut self) {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: WsCloseCode::Normal,
            reason: "".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }
}
