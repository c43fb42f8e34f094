//! The REST side: the server's clock from `GET /livez`, and, in the full-flow mode, the OAuth
//! token and the guest session, each printed as sent and as received.
//!
//! The doctor uses reqwest directly rather than `porch_client::Api`: it must show the status
//! and headers of every answer, and `Api` rightly hides them.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use porch_client::{Tls, TlsProblem};
use porch_wire::rest::{CreateGuestRequest, ErrorBody, GuestSession, TokenResponse};
use porch_wire::{GUESTS_PATH, OAUTH_TOKEN_PATH};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use super::Failure;
use super::clock::{Clocks, SKEW_SECS_MAX};
use super::report::Report;
use super::verdict::Advice;

const REQUEST_TIMEOUT: Duration =
    Duration::from_millis(porch_core::limits::DOCTOR_REQUEST_TIMEOUT_MS);

/// Response headers that tell something about a refusal; the rest is noise here.
pub const SHOWN_HEADERS: [&str; 4] =
    ["Sec-WebSocket-Protocol", "WWW-Authenticate", "Date", "Content-Type"];

/// An HTTP client for one diagnosis.
pub struct Http {
    client: reqwest::Client,
}

/// A response, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Http {
    pub fn new(tls: &Tls) -> Result<Http> {
        let client = tls
            .http_client(reqwest::Client::builder().timeout(REQUEST_TIMEOUT))
            .context("building an HTTP client")?;
        Ok(Http { client })
    }

    /// `GET /livez`: is the server there, and what time is it there?
    pub async fn server_clock(&self, report: &mut Report, base: &str) -> Result<Clocks> {
        let url = format!("{base}/livez");
        report.line("request", &format!("GET {url}"));
        let answer = self.send(self.client.get(&url), &url).await?;
        show(report, &answer);
        let clocks =
            Clocks::from_date_header(answer.headers.get("date").and_then(|v| v.to_str().ok()));
        match clocks.skew_secs {
            None => report.line("clock", "no Date header: token times are judged by this machine's clock only"),
            Some(skew) if clocks.skewed() => report.line(
                "PROBLEM",
                &format!("the server's clock is {skew:+}s off this machine's (over {SKEW_SECS_MAX}s): token times will disagree"),
            ),
            Some(skew) => report.line("clock", &format!("server and this machine agree ({skew:+}s)")),
        }
        Ok(clocks)
    }

    /// `POST /api/v2/oauth/token`, client credentials with HTTP Basic.
    pub async fn oauth_token(
        &self,
        report: &mut Report,
        base: &str,
        id: &str,
        secret: &str,
    ) -> Result<Result<String, Failure>> {
        let url = format!("{base}{OAUTH_TOKEN_PATH}");
        report.line("request", &format!("POST {url}"));
        report.line("Authorization", &format!("Basic base64({id}:{secret})"));
        report.line("Content-Type", "application/x-www-form-urlencoded");
        report.line("body", "grant_type=client_credentials");
        let request = self
            .client
            .post(&url)
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")]);
        let answer = self.send(request, &url).await?;
        let token = parse::<TokenResponse>(report, &answer).map(|t| t.access_token);
        Ok(token)
    }

    /// `POST /api/v2/webmessaging/guests` with the client token.
    pub async fn create_guest(
        &self,
        report: &mut Report,
        base: &str,
        client_token: &str,
        deployment: &str,
    ) -> Result<Result<GuestSession, Failure>> {
        let url = format!("{base}{GUESTS_PATH}");
        let body = CreateGuestRequest {
            deployment_id: deployment.to_string(),
            display_name: Some("porch doctor".into()),
            ..Default::default()
        };
        report.line("request", &format!("POST {url}"));
        report.line("Authorization", &format!("Bearer {client_token}"));
        report.line("Content-Type", "application/json");
        report.line("body", &serde_json::to_string(&body)?);
        let request = self.client.post(&url).bearer_auth(client_token).json(&body);
        let answer = self.send(request, &url).await?;
        Ok(parse::<GuestSession>(report, &answer))
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Result<Answer> {
        let response = request.send().await.map_err(|e| unreachable(url, &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| unreachable(url, &e))?;
        Ok(Answer { status, headers, body })
    }
}

/// Prints an answer, then reads it as `T` or as Porch's error body.
fn parse<T: DeserializeOwned>(report: &mut Report, answer: &Answer) -> Result<T, Failure> {
    show(report, answer);
    if (200..300).contains(&answer.status) {
        return serde_json::from_str(&answer.body).map_err(|e| {
            Failure::Other(Advice::new(
                format!("the answer is not the documented JSON ({e})"),
                "check that --base-url is Porch's own URL and not a proxy page",
            ))
        });
    }
    Err(refusal(answer.status, &answer.body))
}

/// The failure an HTTP refusal stands for: Porch's code when the body is Porch's.
pub fn refusal(status: u16, body: &str) -> Failure {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(e) => Failure::Refused { code: e.error, message: e.error_description },
        Err(_) => Failure::Other(Advice::new(
            format!(
                "HTTP {status} without Porch's JSON error body: something other than Porch answered (a proxy, a wrong path?)"
            ),
            "use the gatewayUrl and base URL Porch hands out (`porch serve --public-url`); a proxy must pass Upgrade and Connection through",
        )),
    }
}

/// Prints status, the headers that matter and the body, registering tokens in it as secrets
/// before anything is printed.
pub fn show(report: &mut Report, answer: &Answer) {
    let reason = reqwest::StatusCode::from_u16(answer.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    report.line("status", &format!("{} {reason}", answer.status));
    for name in SHOWN_HEADERS {
        if let Some(value) = answer.headers.get(name).and_then(|v| v.to_str().ok()) {
            report.line(name, value);
        }
    }
    show_body(report, &answer.body);
}

pub fn show_body(report: &mut Report, body: &str) {
    const SHOWN_CHARS_MAX: usize = 400;
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => {
            for key in ["access_token", "accessToken"] {
                if let Some(token) = json.get(key).and_then(|t| t.as_str()) {
                    report.secret(token);
                }
            }
            show_json(report, &json);
        }
        Err(_) if body.trim().is_empty() => {}
        Err(_) => report.line(
            "body",
            &body.chars().filter(|c| !c.is_control()).take(SHOWN_CHARS_MAX).collect::<String>(),
        ),
    }
}

/// A short body on one line; a longer object one member per line, so people can read it.
fn show_json(report: &Report, json: &serde_json::Value) {
    const ONE_LINE_CHARS_MAX: usize = 100;
    let compact = json.to_string();
    let members = json.as_object().filter(|_| compact.len() > ONE_LINE_CHARS_MAX);
    let Some(members) = members else {
        report.line("body", &compact);
        return;
    };
    for (i, (key, value)) in members.iter().enumerate() {
        report.line(if i == 0 { "body" } else { "" }, &format!("{key}: {value}"));
    }
}

/// "cannot reach http://…: connection refused", in plain words; a failed TLS handshake with
/// its cause and fix.
pub fn unreachable(url: &str, error: &(dyn std::error::Error + 'static)) -> anyhow::Error {
    match TlsProblem::find(error) {
        Some(problem) => tls_failed(url, &problem),
        None => anyhow!("cannot reach {url}: {}", plain_cause(error)),
    }
}

pub fn tls_failed(url: &str, problem: &TlsProblem) -> anyhow::Error {
    anyhow!("no TLS connection to {url}: {problem}")
}

/// The innermost cause of a transport error, said plainly.
pub fn plain_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        return match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::TimedOut => "timed out".into(),
            _ => io.to_string(),
        };
    }
    let text = cause.to_string();
    if text.contains("timed out") { "timed out".into() } else { text }
}
