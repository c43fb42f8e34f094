//! `ApiError`: the one way a request fails, rendered the same everywhere.
//!
//! Every refusal carries an `ErrorCode` (which fixes the HTTP status and the close code) and a
//! message that names the cause and the fix. It is logged once, with a correlation id that
//! the client also receives (`error_ref` in the body, or at the end of a close reason), so a
//! support request can be matched to the server's log line.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use porch_core::limits::{REFUSAL_QUOTE_BYTES_MAX, UNAVAILABLE_RETRY_AFTER_MS};
use porch_core::store::StoreError;
use porch_core::token::TokenError;
use porch_wire::ErrorCode;
use porch_wire::code::CLOSE_REASON_BYTES_MAX;
use porch_wire::rest::ErrorBody;

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    /// Cause and fix, for people. Never holds a token or a secret.
    pub message: String,
    /// How long to wait before retrying, for `rate_limited` and the `*_unavailable` codes:
    /// `Retry-After` (whole seconds, rounded up) on REST, `retryAfterMs` in `error` frames.
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), retry_after_ms: None }
    }

    /// A `rate_limited` refusal from a limiter: the message names the limit, the wait is the
    /// limiter's.
    pub fn rate_limited(limited: crate::throttle::Limited, message: impl Into<String>) -> ApiError {
        let secs = limited.retry_after_secs();
        ApiError {
            code: ErrorCode::RateLimited,
            message: format!("{}; retry in {secs} s", message.into()),
            retry_after_ms: Some(limited.retry_after_ms.min(u64::from(u32::MAX))),
        }
    }

    /// `Retry-After` in whole seconds, never 0 (RFC 9110 §10.2.3).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_ms.map(|ms| ms.div_ceil(1000).max(1))
    }

    /// Logs the refusal once and returns its correlation id.
    pub fn log(&self) -> String {
        let error_ref =
            porch_core::ids::base32(&porch_core::ids::random_bytes::<4>())[..6].to_string();
        crate::metrics::METRICS.refused(self.code);
        if self.code == ErrorCode::Internal || self.code == ErrorCode::StoreUnavailable {
            tracing::error!(error_ref, code = %self.code, "{}", self.message);
        } else if self.code == ErrorCode::ServerShutdown {
            // Every session of a stopping node: the listener logs the shutdown once, with the
            // count, rather than a line per session at `info`.
            tracing::debug!(error_ref, code = %self.code, "refused: {}", self.message);
        } else {
            tracing::info!(error_ref, code = %self.code, "refused: {}", self.message);
        }
        error_ref
    }

    /// The close reason for the gateway: `code: message [ref xxxxxx]` within 123 bytes. The
    /// code and the ref always survive; a message too long for the rest is cut with `…`.
    pub fn close_reason(&self, error_ref: &str) -> String {
        let suffix = format!(" [ref {error_ref}]");
        let mut reason = format!("{}: {}", self.code, self.message);
        let budget = CLOSE_REASON_BYTES_MAX - suffix.len();
        if reason.len() > budget {
            let mut cut = budget - '…'.len_utf8();
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
            reason.push('…');
        }
        reason.push_str(&suffix);
        debug_assert!(reason.len() <= CLOSE_REASON_BYTES_MAX);
        reason
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> ApiError {
        ApiError::new(e.code, e.message)
    }
}

/// A guest session another customer's identity token upgraded first (docs/identity.md).
pub fn guest_already_known() -> ApiError {
    ApiError::new(
        ErrorCode::GuestAlreadyKnown,
        "this guest session belongs to another customer already; open a new session for this one (the widget endpoint, with a new identity token)",
    )
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::error!("store unavailable: {detail}");
                ApiError {
                    code: ErrorCode::StoreUnavailable,
                    message: "the store cannot commit right now; nothing was stored, retry".into(),
                    retry_after_ms: Some(UNAVAILABLE_RETRY_AFTER_MS),
                }
            }
            // The write may be stored: saying "nothing was stored" would be a lie. A resend
            // with the same clientMessageId is answered with the stored entry, if there is one.
            StoreError::Unconfirmed(detail) => {
                tracing::error!("store outcome unknown: {detail}");
                ApiError {
                    code: ErrorCode::StoreUnavailable,
                    message: "the store lost the answer to this commit; it may be stored: resend with the same clientMessageId (never stored twice), or read the conversation before repeating a change".into(),
                    retry_after_ms: Some(UNAVAILABLE_RETRY_AFTER_MS),
                }
            }
            StoreError::Full(detail) => {
                tracing::error!("store full: {detail}");
                ApiError {
                    code: ErrorCode::StoreFull,
                    message: "the server's disk is full; nothing was stored, retry later".into(),
                    retry_after_ms: Some(UNAVAILABLE_RETRY_AFTER_MS),
                }
            }
            StoreError::IdempotencyConflict => ApiError::new(
                ErrorCode::IdempotencyConflict,
                "this clientMessageId was used before with another text; use a new id for a new message",
            ),
            StoreError::ConversationUnknown(id) => {
                ApiError::new(ErrorCode::ConversationUnknown, format!("no conversation {id}"))
            }
            StoreError::ConversationClosed(id) => ApiError::new(
                ErrorCode::ConversationClosed,
                format!("conversation {id} is closed; create a new guest session to talk again"),
            ),
            StoreError::NameTaken(what) => ApiError::new(ErrorCode::InvalidRequest, what),
            StoreError::ConversationTaken { conversation_id, agent_id } => ApiError::new(
                ErrorCode::ConversationTaken,
                format!(
                    "conversation {conversation_id} is held by agent {agent_id}; nothing changed: pick another waiting conversation"
                ),
            ),
            StoreError::AgentAtCapacity { agent_id, capacity } => ApiError::new(
                ErrorCode::AgentAtCapacity,
                format!(
                    "agent {agent_id} holds {capacity} conversations, its capacity; nothing changed: close one first, or have an operator raise it (porch agents set --capacity)"
                ),
            ),
            // An authenticated agent that is gone: its token outlived it.
            StoreError::AgentUnknown(agent_id) => ApiError::new(
                ErrorCode::AgentCredentialsInvalid,
                format!(
                    "agent {agent_id} no longer exists; nothing changed: sign in as an existing agent"
                ),
            ),
            StoreError::NotHolder { conversation_id, holder } => {
                let held = match holder {
                    Some(agent_id) => format!("is held by agent {agent_id}"),
                    None => "is held by nobody".to_string(),
                };
                ApiError::new(
                    ErrorCode::ConversationNotYours,
                    format!(
                        "conversation {conversation_id} {held}; nothing changed: only its holder may do this (take it first if it waits)"
                    ),
                )
            }
            // `reopen` takes it as another send's reopen; anywhere else it is a bug.
            // `reopen` and the fallback loop take these as another node's write; anywhere else
            // they are a bug.
            StoreError::NotClosed(conversation_id) | StoreError::Changed(conversation_id) => {
                ApiError::new(
                    ErrorCode::Internal,
                    format!(
                        "conversation {conversation_id} changed meanwhile; nothing was stored, retry"
                    ),
                )
            }
            StoreError::GuestOfAnotherCustomer(_) => guest_already_known(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error_ref = self.log();
        let status = StatusCode::from_u16(self.code.spec().http_status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let challenge = www_authenticate(self.code, &self.message);
        let retry_after_secs = self.retry_after_secs();
        let body = ErrorBody {
            error: self.code,
            error_description: self.message,
            error_ref: Some(error_ref),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The `WWW-Authenticate` challenge of RFC 6750 §3 (Bearer) and RFC 6749 §5.2 (Basic).
fn www_authenticate(code: ErrorCode, message: &str) -> Option<String> {
    // RFC 6750 §3: error_description is printable ASCII without `"` and `\\` (a header value
    // with other bytes is unreadable as a string to most clients).
    let description: String = message
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .map(|c| {
            if c == '…' {
                "...".to_string()
            } else if c.is_ascii() {
                c.to_string()
            } else {
                "?".to_string()
            }
        })
        .collect();
    match code {
        ErrorCode::InvalidClient => Some(r#"Basic realm="porch""#.to_string()),
        // RFC 6750 §3.1: no error code when the request had no credentials at all.
        ErrorCode::TokenMissing | ErrorCode::SubprotocolMissing => {
            Some(r#"Bearer realm="porch""#.to_string())
        }
        ErrorCode::InsufficientScope => Some(format!(
            r#"Bearer realm="porch", error="insufficient_scope", error_description="{description}""#
        )),
        c if c.spec().http_status == 401 => Some(format!(
            r#"Bearer realm="porch", error="invalid_token", error_description="{description}""#
        )),
        _ => None,
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A client's value, as a refusal may quote it: control characters removed (no forged log
/// lines), at most `REFUSAL_QUOTE_BYTES_MAX` bytes (a refusal fits a close reason, and a token pasted
/// into the wrong field is never logged whole), `…` when cut.
pub fn shown(value: &str) -> String {
    shown_within(value, REFUSAL_QUOTE_BYTES_MAX)
}

/// An `Origin` as a refusal quotes it: the whole origin is the useful part of the message, and
/// it is no secret, so it gets more room than other values.
pub fn shown_origin(origin: &str) -> String {
    shown_within(origin, 48)
}

fn shown_within(value: &str, max_bytes: usize) -> String {
    let mut out = String::new();
    for c in value.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max_bytes {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_the_frame_and_keep_the_code() {
        let long = ApiError::new(ErrorCode::TokenExpired, "é".repeat(200));
        let reason = long.close_reason("abcdef");
        assert!(reason.len() <= CLOSE_REASON_BYTES_MAX);
        assert!(reason.starts_with("token_expired: "));
        assert!(reason.ends_with("é… [ref abcdef]"), "{reason}");
        let short = ApiError::new(ErrorCode::TokenMissing, "no token");
        assert_eq!(short.close_reason("r1"), "token_missing: no token [ref r1]");
    }

    #[test]
    fn client_values_are_shown_short_and_clean() {
        assert_eq!(shown("shop.example"), "shop.example");
        assert_eq!(shown("a\nb\u{7}c"), "abc", "no forged log lines");
        let long = shown(&"é".repeat(40));
        assert_eq!(long, format!("{}…", "é".repeat(12)));
        assert!(shown(&"x".repeat(1000)).len() <= REFUSAL_QUOTE_BYTES_MAX + '…'.len_utf8());
    }

    #[test]
    fn invalid_tokens_get_a_bearer_challenge() {
        let c = www_authenticate(ErrorCode::TokenExpired, "expired \"x\"").unwrap();
        assert_eq!(
            c,
            r#"Bearer realm="porch", error="invalid_token", error_description="expired x""#
        );
        assert!(www_authenticate(ErrorCode::BadJson, "x").is_none());
        let cut =
            www_authenticate(ErrorCode::TokenWrongIssuer, "issuer is `https://other…`, é").unwrap();
        assert!(cut.ends_with(r#"error_description="issuer is `https://other...`, ?""#), "{cut}");
    }
}
