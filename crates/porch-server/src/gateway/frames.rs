//! The frame layer of a connection: reading a client's frames, writing with a deadline, and
//! ending the connection the way RFC 6455 and browsers expect. Shared by sessions and the
//! conformance echo (`echo.rs`), so what Autobahn measures is what clients get.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use porch_core::limits::CLOSE_LINGER_MS;
use porch_wire::frame::ClientFrame;
use porch_wire::{CloseCode, ErrorCode};

use crate::body::describe_json_error;
use crate::error::ApiError;

/// Why a session ended, and so what is left to send.
pub enum End {
    /// Send this close frame, then linger for the client's.
    Close(CloseCode, String),
    /// The client closed. The frame layer queued the answering close frame when it read the
    /// client's (RFC 6455 §5.5.1), but sends it only on the next read or flush: dropping the
    /// socket here would leave the close unanswered, which browsers report as 1006.
    Answer,
    /// Nothing to send: the peer is gone, or stopped reading.
    Drop,
}

impl End {
    pub(super) fn with(error: ApiError) -> End {
        let error_ref = error.log();
        let code = error.code.spec().close_code;
        End::Close(code, error.close_reason(&error_ref))
    }
    /// Logs and counts the cause but sends no close frame: for a client that stopped reading,
    /// whose socket would only hold the frame behind the ones it is not reading.
    pub(super) fn cut(error: ApiError) -> End {
        error.log();
        End::Drop
    }
    pub(super) fn silent() -> End {
        End::Drop
    }
}

/// Ends a connection as `end` says: our close frame and a linger for the client's, the answer
/// to the client's close, or nothing. The caller then drops the socket.
pub(super) async fn close(socket: &mut WebSocket, end: End) {
    let linger = Duration::from_millis(CLOSE_LINGER_MS);
    match end {
        End::Close(code, reason) => {
            let frame = CloseFrame { code: code.0, reason: reason.into() };
            let _ = tokio::time::timeout(linger, socket.send(WsMessage::Close(Some(frame)))).await;
            // Read until the client answers the close, so browsers report a clean close.
            let answered = async {
                while let Some(Ok(m)) = socket.recv().await {
                    if matches!(m, WsMessage::Close(_)) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(linger, answered).await;
        }
        // This read sends the queued answer, then reports the end; the caller then drops the
        // socket, so the server closes TCP first, as RFC 6455 §7.1.1 asks.
        End::Answer => {
            let _ = tokio::time::timeout(linger, socket.recv()).await;
        }
        End::Drop => {}
    }
}

/// Sends one message, giving the client `write_timeout_ms` to read it.
pub(super) async fn send_within(
    socket: &mut WebSocket,
    message: WsMessage,
    write_timeout_ms: u64,
) -> Result<(), End> {
    within(write_timeout_ms, socket.send(message)).await
}

/// Buffers one message for the next flush. It goes out then, or sooner once `WRITE_BATCH_BYTES_MAX`
/// are buffered; waiting here means an earlier batch still has not drained, which is bounded
/// by `write_timeout_ms` as any write is.
pub(super) async fn feed_within(
    socket: &mut WebSocket,
    message: WsMessage,
    write_timeout_ms: u64,
) -> Result<(), End> {
    use futures_util::SinkExt;
    within(write_timeout_ms, socket.feed(message)).await
}

/// Writes out whatever is buffered, giving the client `write_timeout_ms` to read it.
pub(super) async fn flush_within(socket: &mut WebSocket, write_timeout_ms: u64) -> Result<(), End> {
    use futures_util::SinkExt;
    within(write_timeout_ms, socket.flush()).await
}

async fn within(
    write_timeout_ms: u64,
    write: impl Future<Output = Result<(), axum::Error>>,
) -> Result<(), End> {
    match tokio::time::timeout(Duration::from_millis(write_timeout_ms), write).await {
        Ok(Ok(())) => Ok(()),
        // The peer is gone: no close frame can reach it.
        Ok(Err(e)) => Err(write_error(e)),
        // The client stopped reading. A close frame would only queue behind the frames it
        // is not reading, so the connection is cut; the client resumes with `afterSeq`.
        Err(_) => Err(End::cut(ApiError::new(
            ErrorCode::SlowConsumer,
            "the client stopped reading; reconnect and resume",
        ))),
    }
}

/// What one read from the frame layer means: a data message (text or binary), nothing to do
/// (pings are answered by the frame layer itself), or the end of the connection. The session
/// and the conformance echo both read through here, so Autobahn sees the session's rules.
pub(super) fn inbound(
    frame: Option<Result<WsMessage, axum::Error>>,
) -> Result<Option<WsMessage>, End> {
    match frame {
        None => Err(End::silent()),
        Some(Err(e)) => Err(transport_error(e)),
        Some(Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => Ok(Some(message)),
        Some(Ok(WsMessage::Close(_))) => Err(End::Answer),
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Ok(None),
    }
}

/// Parses a client frame, telling bad JSON, unknown types and bad fields apart.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            ErrorCode::BadJson,
            format!("the frame is not JSON: {}", describe_json_error(&e)),
        )
    })?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err(ApiError::new(
            ErrorCode::BadFrame,
            "a frame is a JSON object with a string `type`",
        ));
    };
    const KNOWN: [&str; 12] = [
        "send", "choose", "typing", "read", "status", "accept", "decline", "transfer", "unassign",
        "close", "refresh", "ping",
    ];
    if !KNOWN.contains(&kind) {
        let shown = crate::error::shown(kind);
        return Err(ApiError::new(
            ErrorCode::UnknownFrameType,
            format!(
                "unknown frame type `{shown}`; known: send, choose, typing, read, status, accept, decline, transfer, unassign, close, refresh, ping"
            ),
        ));
    }
    let kind = kind.to_string();
    serde_json::from_value(value).map_err(|e| {
        ApiError::new(ErrorCode::BadFrame, format!("`{kind}` frame: {}", describe_json_error(&e)))
    })
}

/// A failed write: the peer went away (nothing to say), or a frame did not fit the
/// per-connection write ceiling, which is a server-side limit problem and is logged as such.
fn write_error(error: axum::Error) -> End {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match error.into_inner().downcast::<WsError>().map(|e| *e) {
        Ok(WsError::WriteBufferFull(_)) => End::cut(ApiError::new(
            ErrorCode::Internal,
            "a frame did not fit connection_write_buffer_bytes_max; raise it",
        )),
        _ => End::silent(),
    }
}

/// Maps a failed read to the close the client should see.
fn transport_error(error: axum::Error) -> End {
    use tokio_tungstenite::tungstenite::Error as WsError;
    use tokio_tungstenite::tungstenite::error::CapacityError;
    match error.into_inner().downcast::<WsError>().map(|e| *e) {
        Ok(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
            End::with(ApiError::new(
                ErrorCode::MessageTooBig,
                format!("a message of {size} bytes exceeds the limit of {max_size}"),
            ))
        }
        Ok(WsError::Utf8(_)) => {
            End::with(ApiError::new(ErrorCode::InvalidUtf8, "a text frame was not valid UTF-8"))
        }
        // The frame layer fails the read but stays writable (its state is still active), so
        // the close frame RFC 6455 §7.1.7 asks for can go out before TCP closes.
        Ok(WsError::Protocol(violation)) => match framing_violation(&violation) {
            Some(what) => End::with(ApiError::new(
                ErrorCode::ProtocolError,
                format!("{what}; send RFC 6455 frames"),
            )),
            None => End::silent(),
        },
        _ => End::silent(),
    }
}

/// Names a client's framing violation, from tungstenite's read errors; `None` for the ones
/// that mean the peer is already gone. The names are fixed text: no client bytes are echoed.
fn framing_violation(
    error: &tokio_tungstenite::tungstenite::error::ProtocolError,
) -> Option<&'static str> {
    use tokio_tungstenite::tungstenite::error::ProtocolError as P;
    Some(match error {
        P::NonZeroReservedBits => "a frame had reserved bits set without an extension",
        P::UnmaskedFrameFromClient => "a client frame was not masked",
        P::FragmentedControlFrame => "a control frame was fragmented",
        P::ControlFrameTooBig => "a control frame carried more than 125 bytes",
        P::UnknownControlFrameType(_) | P::UnknownDataFrameType(_) | P::InvalidOpcode(_) => {
            "a frame had a reserved opcode"
        }
        P::UnexpectedContinueFrame => "a continuation frame had no message to continue",
        P::ExpectedFragment(_) => "a new message started before the previous one was finished",
        P::InvalidCloseSequence => "a close frame had a 1-byte payload",
        _ => return None,
    })
}
