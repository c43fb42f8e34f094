//! `JsonBody<T>`: a JSON request body whose every rejection is an `ApiError` naming the
//! problem (wrong content type, bad JSON at line:column, unknown or missing field, too large).

use axum::extract::{FromRequest, Request};
use axum::http::header;
use porch_wire::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::BadJson,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let limit = state.config.limits.http_body_bytes_max;
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| {
            ApiError::new(ErrorCode::BodyTooLarge, format!("the body is larger than {limit} bytes"))
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be left out: no body at all is `T::default()` (`POST …/close` with no
/// wrap-up); a body present is read as `JsonBody` reads one.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let empty_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().is_ok_and(|v| v.trim() == "0"));
        let no_body = empty_length
            || (!req.headers().contains_key(header::CONTENT_LENGTH)
                && !req.headers().contains_key(header::TRANSFER_ENCODING));
        if no_body {
            return Ok(OptionalJsonBody(T::default()));
        }
        JsonBody::from_request(req, state).await.map(|JsonBody(body)| OptionalJsonBody(body))
    }
}

/// A serde error, said without the values it quotes: `invalid type: string "…", expected u64
/// at line 1 column 20`. Refusals are logged, and a quoted value may be a message text or a
/// token sent in the wrong field; the position and the expectation are what a client needs.
pub fn describe_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let mut out = String::with_capacity(text.len());
    let mut in_quotes = false;
    // Backticks hold names: ours (`clientMessageId`) or the client's (an unknown field or
    // variant, which could be anything): those are shown short, like any client value.
    let mut name: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, in_quotes, name.as_mut()) {
            ('`', false, None) => name = Some(String::new()),
            ('`', false, Some(n)) => {
                let shown = crate::error::shown(n);
                out.push('`');
                out.push_str(&shown);
                out.push('`');
                name = None;
            }
            (c, false, Some(n)) => n.push(c),
            ('"', false, None) => {
                in_quotes = true;
                out.push_str("\"…");
            }
            ('"', true, _) => {
                in_quotes = false;
                out.push('"');
            }
            // serde quotes with Rust escapes: `\"` and `\\` do not end the value.
            ('\\', true, _) => {
                chars.next();
            }
            (_, true, _) => {}
            (c, false, None) => out.push(c),
        }
    }
    if let Some(n) = name {
        out.push('`');
        out.push_str(&crate::error::shown(&n));
    }
    out
}

/// Parses a JSON object body with an error that says where and what.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::new(ErrorCode::InvalidUtf8, "the body is not valid UTF-8"));
    }
    // serde also reads a struct from a JSON array (`["c-1","Hello"]` would be a message), a
    // shape no document gives: every body is an object, so anything else is refused here.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            ErrorCode::BadJson,
            "the body must be a JSON object (docs/api.md)",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde's message names the field and position, e.g. "unknown field `deploymentID`,
        // expected one of `deploymentId`, ... at line 1 column 15".
        let what = match e.classify() {
            serde_json::error::Category::Data => "the body has the wrong shape",
            _ => "the body is not valid JSON",
        };
        ApiError::new(ErrorCode::BadJson, format!("{what}: {}", describe_json_error(&e)))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_errors_keep_the_position_and_drop_the_values() {
        let err = serde_json::from_str::<u64>(r#""my secret message""#).unwrap_err();
        let said = super::describe_json_error(&err);
        assert!(!said.contains("secret"), "{said}");
        assert!(said.contains("expected u64") && said.contains("line 1"), "{said}");
        let missing =
            serde_json::from_str::<porch_wire::rest::SendMessageRequest>("{}").unwrap_err();
        assert!(super::describe_json_error(&missing).contains("missing field `clientMessageId`"));
        // A field name is the client's too: a token pasted as a key is not shown whole.
        let key = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let unknown = serde_json::from_str::<porch_wire::rest::SendMessageRequest>(&format!(
            r#"{{"{key}":1}}"#
        ))
        .unwrap_err();
        let said = super::describe_json_error(&unknown);
        assert!(said.contains("unknown field `eyJhbGciOiJIUzI1NiJ9.eyJ…`"), "{said}");
        assert!(said.contains("`clientMessageId`"), "our own names stay whole: {said}");
    }

    /// Found by fuzzing (fuzz/fuzz_targets/client_frame.rs): serde quotes a string with its
    /// inner quotes escaped (`"a\"b"`), and everything after an escaped quote was kept.
    #[test]
    fn escaped_quotes_do_not_end_the_hidden_value() {
        let frame = r#"{"type":"read","seq":"say \"hi\" my secret, \\ and \\\" more secret"}"#;
        let said = crate::gateway::parse_client_frame(frame).unwrap_err().message;
        assert!(!said.contains("secret") && !said.contains("hi"), "{said}");
        assert_eq!(said, "`read` frame: invalid type: string \"…\", expected u64");
    }
}
