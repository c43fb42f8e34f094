//! One delivery attempt: sign, POST, and say what happened in words an operator can act on.
//! Deliveries and `porch webhooks test` both go through `post`.

use std::time::Instant;

use porch_client::tls::TlsProblem;
use porch_core::limits::WEBHOOK_RESPONSE_BYTES_MAX;
use porch_core::webhook::{WebhookEndpoint, signature_header};

use super::target::Sender;

/// What the receiver answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The start of its body (`WEBHOOK_RESPONSE_BYTES_MAX`), lossily decoded.
    pub body_start: String,
    pub elapsed_ms: u64,
}

/// Why an attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The target is not allowed (scheme, address): nothing was sent.
    Refused(String),
    /// No connection: the name does not resolve, nothing listens, a refused address.
    Connect(String),
    /// The TLS handshake failed (certificate, name, protocol).
    Tls { cause: String, fix: &'static str },
    /// No complete answer within `webhook_timeout_ms`.
    Timeout { after_ms: u64 },
    /// The receiver answered, but not with 2xx.
    Status(Answer),
    /// The endpoint's secret cannot sign (not base64 after `whsec_`).
    Secret(String),
}

impl Failure {
    /// One line: what happened and what to do about it.
    pub fn cause(&self) -> String {
        match self {
            Failure::Refused(why) => format!("refused target: {why}"),
            Failure::Connect(why) => format!("cannot connect: {why}"),
            Failure::Tls { cause, fix } => format!("TLS failed: {cause}; {fix}"),
            Failure::Timeout { after_ms } => format!(
                "no answer within {after_ms} ms (webhook_timeout_ms): answer 2xx at once and work afterwards"
            ),
            Failure::Status(answer) => {
                let hint = match answer.status {
                    401 | 403 => {
                        "; the receiver rejected the request: check it verifies with this endpoint's current secret"
                    }
                    404 | 405 => "; nothing takes POST at this URL",
                    _ => "",
                };
                format!("HTTP {}{hint}; body: {}", answer.status, answer.body_start)
            }
            Failure::Secret(why) => format!("cannot sign: {why}"),
        }
    }
}

/// Posts `body` to `endpoint` as event `webhook_id`, signed with every secret that signs at
/// `now_ms` (two during a rotation).
pub async fn post(
    sender: &Sender,
    endpoint: &WebhookEndpoint,
    webhook_id: &str,
    body: Vec<u8>,
    now_ms: i64,
) -> Result<Answer, Failure> {
    let url = sender.check(&endpoint.url).map_err(Failure::Refused)?;
    let timestamp_secs = now_ms.div_euclid(1000);
    let signature =
        signature_header(&endpoint.signing_secrets(now_ms), webhook_id, timestamp_secs, &body)
            .map_err(Failure::Secret)?;
    let started = Instant::now();
    let request = sender
        .client()
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", timestamp_secs.to_string())
        .header("webhook-signature", signature)
        .body(body);
    let elapsed_ms =
        |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut response = request.send().await.map_err(|e| failure(&e, elapsed_ms(started)))?;
    let status = response.status().as_u16();
    let mut start = Vec::new();
    // Only the start of the body is read, to quote; a receiver streaming forever is cut by the
    // client's timeout like any other.
    while start.len() < WEBHOOK_RESPONSE_BYTES_MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => start.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    start.truncate(WEBHOOK_RESPONSE_BYTES_MAX);
    let answer = Answer {
        status,
        body_start: String::from_utf8_lossy(&start).into_owned(),
        elapsed_ms: elapsed_ms(started),
    };
    if (200..300).contains(&status) { Ok(answer) } else { Err(Failure::Status(answer)) }
}

fn failure(error: &reqwest::Error, after_ms: u64) -> Failure {
    if error.is_timeout() {
        return Failure::Timeout { after_ms };
    }
    if let Some(problem) = TlsProblem::find(error) {
        return Failure::Tls { cause: problem.cause(), fix: problem.fix() };
    }
    let text = chain(error);
    // A receiver that hangs up mid-handshake leaves no rustls error, only hyper-rustls' words.
    if text.contains("tls handshake") {
        return Failure::Tls {
            cause: format!("the TLS handshake did not complete ({text})"),
            fix: "check that the URL's port serves https (not plain http) and the receiver's TLS set-up",
        };
    }
    Failure::Connect(text)
}

/// An error with its causes, which is where reqwest keeps the useful part.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
