//! The gateway handshake, replayed exactly as the integrator's client sends it, and what came
//! back: an HTTP refusal, or a `101` followed by `ready` or by a close code and reason.

use std::time::Duration;

use anyhow::{Result, bail};
use porch_client::Tls;
use porch_client::gateway::{ConnectError, Event, Gateway};
use porch_wire::code::{CloseCode, ReconnectClass};
use porch_wire::frame::{Ready, ServerFrame};
use porch_wire::{ErrorCode, PROTOCOL_MARKER};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::Failure;
use super::http::{Answer, refusal, show, tls_failed};
use super::report::Report;
use super::verdict::{Advice, CONNECT_JS, Context, advise};

const STEP_TIMEOUT: Duration = Duration::from_millis(porch_core::limits::DOCTOR_STEP_TIMEOUT_MS);

/// One handshake to replay.
pub struct Handshake<'a> {
    pub url: &'a str,
    /// The exact `Sec-WebSocket-Protocol` value, or none at all.
    pub offer: Option<&'a str>,
    /// The `Origin` a browser would send from the page.
    pub origin: Option<&'a str>,
    /// What a `wss://` URL's certificate is checked against.
    pub tls: &'a Tls,
}

impl Handshake<'_> {
    /// True when the marker itself (not a misspelling) was offered: the echo must then be it.
    fn offers_marker(&self) -> bool {
        self.offer.is_some_and(|o| o.split(',').any(|v| v.trim() == PROTOCOL_MARKER))
    }
}

/// Replays the handshake. `Err` only when the server cannot be reached at all.
pub async fn connect(
    report: &mut Report,
    handshake: &Handshake<'_>,
) -> Result<Result<(), Failure>> {
    report.line("request", &format!("GET {}", handshake.url));
    report.line("Sec-WebSocket-Protocol", handshake.offer.unwrap_or("(none sent)"));
    report.line(
        "Origin",
        handshake.origin.unwrap_or("(none sent: the origin allowlist is not checked)"),
    );
    let request = match build(handshake) {
        Ok(request) => request,
        Err(failure) => return Ok(Err(failure)),
    };
    let connecting = Gateway::connect_request_with(request, handshake.tls);
    let gateway = match tokio::time::timeout(STEP_TIMEOUT, connecting).await {
        Err(_) => return Ok(Err(silent_upgrade())),
        Ok(Err(ConnectError::Refused { status, body, headers })) => {
            return Ok(Err(refused(report, status, &body, &headers)));
        }
        Ok(Err(ConnectError::Tls(problem))) => return Err(tls_failed(handshake.url, &problem)),
        Ok(Err(ConnectError::Other(message))) => return not_upgraded(handshake, &message).map(Err),
        Ok(Ok(gateway)) => gateway,
    };
    report.line("status", "101 Switching Protocols");
    report.line("Sec-WebSocket-Protocol", gateway.protocol.as_deref().unwrap_or("(none echoed)"));
    let echo = check_echo(report, handshake, gateway.protocol.as_deref());
    let first = first_event(report, gateway).await;
    Ok(first.and(echo))
}

/// The upgrade request; a failure when the flags cannot make one (nothing is sent then).
fn build(handshake: &Handshake<'_>) -> Result<Request, Failure> {
    let mut request = handshake.url.into_client_request().map_err(|e| {
        Failure::Other(Advice::new(
            format!("the gateway URL is not a valid URL ({e})"),
            "use the gatewayUrl of a guest session as is, e.g. ws://127.0.0.1:8080/api/v2/gateway or wss://chat.example.com/api/v2/gateway",
        ))
    })?;
    let header = |value: &str| {
        // A browser refuses such a value before sending anything, as this does.
        HeaderValue::from_str(value)
            .map_err(|_| Failure::Other(advise(ErrorCode::TokenCharacters, &Context::default())))
    };
    if let Some(offer) = handshake.offer {
        request.headers_mut().insert("sec-websocket-protocol", header(offer)?);
    }
    if let Some(origin) = handshake.origin {
        request.headers_mut().insert("origin", header(origin)?);
    }
    Ok(request)
}

/// A browser fails the connection (close 1006, no reason) unless the `101` echoes exactly one
/// value it offered; Porch echoes the marker, never the token.
fn check_echo(
    report: &Report,
    handshake: &Handshake<'_>,
    echo: Option<&str>,
) -> Result<(), Failure> {
    if !handshake.offers_marker() {
        return Ok(());
    }
    if echo == Some(PROTOCOL_MARKER) {
        report.line("echo check", "ok: exactly NICE-WebSocket-Auth, as a browser requires");
        return Ok(());
    }
    report.line(
        "PROBLEM",
        "the echo is not exactly NICE-WebSocket-Auth: a browser drops this connection (close 1006)",
    );
    Err(Failure::Other(bad_echo()))
}

fn bad_echo() -> Advice {
    Advice::new(
        "the 101 did not echo exactly NICE-WebSocket-Auth, so a browser fails the connection with close 1006 and no reason",
        "a proxy in front of Porch rewrote Sec-WebSocket-Protocol: make it pass the header through unchanged, both ways",
    )
}

/// The HTTP answer that replaced the upgrade.
fn refused(report: &mut Report, status: u16, body: &str, headers: &[(String, String)]) -> Failure {
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (name.parse::<reqwest::header::HeaderName>(), value.parse())
        {
            map.append(name, value);
        }
    }
    let answer = Answer { status, headers: map, body: body.to_string() };
    show(report, &answer);
    refusal(status, body)
}

/// The connection failed without an HTTP answer: unreachable (exit 2) or a bad `101`.
fn not_upgraded(handshake: &Handshake<'_>, message: &str) -> Result<Failure> {
    let lower = message.to_lowercase();
    if lower.contains("connection refused") {
        bail!("cannot reach {}: connection refused", handshake.url);
    }
    if lower.contains("subprotocol") {
        return Ok(Failure::Other(bad_echo()));
    }
    Ok(Failure::Other(Advice::new(
        format!("the upgrade failed: {message}"),
        "check that the gateway URL is the gatewayUrl of a guest session and that any proxy passes WebSocket upgrades",
    )))
}

fn silent_upgrade() -> Failure {
    Failure::Other(Advice::new(
        format!("no answer to the upgrade within {}s", STEP_TIMEOUT.as_secs()),
        "check the gateway URL and that any proxy in front of Porch passes Upgrade and Connection headers",
    ))
}

/// Reads the first frame: `ready`, or the close that explains the refusal.
async fn first_event(report: &Report, mut gateway: Gateway) -> Result<(), Failure> {
    match gateway.next(STEP_TIMEOUT).await {
        Some(Event::Frame(ServerFrame::Ready(ready))) => {
            show_ready(report, &ready);
            gateway.close().await;
            Ok(())
        }
        Some(Event::Frame(other)) => {
            let kind = serde_json::to_value(&other)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_string));
            report.line("first frame", kind.as_deref().unwrap_or("?"));
            Err(Failure::Other(Advice::new(
                "the first frame was not `ready`",
                "report this to the Porch operator: it is a server bug",
            )))
        }
        Some(Event::Closed { code, reason }) => Err(closed(report, code, &reason)),
        Some(Event::Dropped(why)) => {
            report.line("connection", &format!("dropped without a close frame: {why}"));
            Err(Failure::Other(Advice::new(
                "the connection dropped without a close code: something between you and Porch cut it",
                "check the proxy's WebSocket support and timeouts",
            )))
        }
        None => {
            report.line("first frame", &format!("nothing within {}s", STEP_TIMEOUT.as_secs()));
            Err(Failure::Other(Advice::new(
                "the gateway sent nothing after the 101",
                "check the proxy buffers no WebSocket frames",
            )))
        }
    }
}

fn show_ready(report: &Report, ready: &Ready) {
    report.line("first frame", "ready");
    report.line("session", &ready.session_id);
    report.line(
        "participant",
        &format!("{} {}", ready.participant.role.as_str(), ready.participant.id),
    );
    if let Some(c) = &ready.conversation {
        report.line("conversation", &format!("{} ({}, queue {})", c.id, c.state.as_str(), c.queue));
    }
    if !ready.conversations.is_empty() {
        report.line(
            "conversations",
            &format!("{} open in the agent's queues", ready.conversations.len()),
        );
    }
    if let Some(seq) = ready.last_seq {
        report.line("lastSeq", &seq.to_string());
    }
    if let Some(resume) = &ready.resume {
        let outcome = if resume.recovered {
            format!("{} replayed", resume.replayed)
        } else {
            resume.reason.clone().unwrap_or_default()
        };
        report.line("resume", &format!("after {}: {outcome}", resume.after_seq));
    }
    report.line(
        "token expires in",
        &format!("{}s (tokenExpiresInMs)", ready.token_expires_in_ms / 1000),
    );
}

/// A close after the `101`: the reason starts with the error code.
fn closed(report: &Report, code: u16, reason: &str) -> Failure {
    let class = match CloseCode(code).reconnect_class() {
        ReconnectClass::Terminal => "terminal: fix the cause before reconnecting",
        ReconnectClass::Backoff => "back off at least 1 s, then reconnect",
        ReconnectClass::Immediate => "reconnect now and resume with afterSeq",
    };
    report.line("close code", &format!("{code} ({class})"));
    report.line("close reason", if reason.is_empty() { "(none)" } else { reason });
    let (name, message) = reason.split_once(':').unwrap_or((reason, ""));
    match ErrorCode::from_name(name.trim()) {
        Some(code) => {
            // The `[ref …]` is for the operator's log, not for the verdict.
            let message = message.split(" [ref ").next().unwrap_or(message);
            Failure::Refused { code, message: message.trim().to_string() }
        }
        None => Failure::Other(Advice::new(
            format!("the gateway closed with {code} and no Porch error code in the reason"),
            format!("compare your call with {CONNECT_JS}"),
        )),
    }
}
