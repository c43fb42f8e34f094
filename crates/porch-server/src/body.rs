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
    let error = match serde_json::from_slice(bytes) {
        Ok(body) => return Ok(body),
        Err(e) => e,
    };
    if error.classify() != serde_json::error::Category::Data {
        let said = describe_json_error(&error);
        return Err(ApiError::new(
            ErrorCode::BadJson,
            format!("the body is not valid JSON: {said}"),
        ));
    }
    // The wrong shape, or a whole number written as a float: read it again as a value (as
    // large as the body at most, already bounded by `http_body_bytes_max`), whole floats made
    // integers, and this time with the path of the field a refusal is about.
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| shape_error(&e, None))?;
    let rewrote = whole_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if inner.to_string().starts_with("invalid type: floating point") {
            return ApiError::new(
                ErrorCode::BadJson,
                format!(
                    "the body has the wrong shape: `{}` takes a whole number within its range; send an integer (`5`, not `5.5`)",
                    crate::error::shown(&field)
                ),
            );
        }
        // serde's first message has the position; once floats were rewritten it may be about
        // one of them, so the second is the one that holds.
        shape_error(if rewrote { &inner } else { &error }, Some(field))
    })
}

/// A body of the wrong shape: serde's message names what it expected and where, e.g. "unknown
/// field `deploymentID`, expected one of `deploymentId`, ... at line 1 column 15"; `field`, the
/// path of the field when it is known.
fn shape_error(error: &serde_json::Error, field: Option<String>) -> ApiError {
    let said = describe_json_error(error);
    let at = field.filter(|p| p != ".").map(|p| format!(" (field `{}`)", crate::error::shown(&p)));
    let at = at.unwrap_or_default();
    ApiError::new(ErrorCode::BadJson, format!("the body has the wrong shape: {said}{at}"))
}

/// Rewrites each float of `value` that is a whole number within `i64` or `u64`'s range (`5.0`,
/// `1e3`) as that integer: JSON has one number type, and JSON Schema's `integer` (docs/openapi.json)
/// counts `5.0` as one, so a client's encoder writing it so is within the contract. Fields that
/// take a float read an integer just as well. Whether it rewrote any.
fn whole_floats_as_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64().and_then(whole) {
            Some(whole) => {
                *n = whole;
                true
            }
            None => false,
        },
        Value::Array(items) => {
            items.iter_mut().fold(false, |any, v| whole_floats_as_integers(v) | any)
        }
        Value::Object(map) => {
            map.values_mut().fold(false, |any, v| whole_floats_as_integers(v) | any)
        }
        _ => false,
    }
}

/// `f` as an integer when it is one that `u64` or `i64` holds.
fn whole(f: f64) -> Option<serde_json::Number> {
    // 2^64 and -2^63, exactly representable: the bounds of `u64` and `i64`.
    const U64_END: f64 = 18_446_744_073_709_551_616.0;
    const I64_START: f64 = -9_223_372_036_854_775_808.0;
    if !f.is_finite() || f.fract() != 0.0 {
        return None;
    }
    if (0.0..U64_END).contains(&f) {
        return Some((f as u64).into());
    }
    (I64_START..0.0).contains(&f).then(|| (f as i64).into())
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Body {
        overlap_ms: u64,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Item {
        at: i64,
        share: f64,
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_name_their_field() {
        let read = super::parse::<Body>(br#"{"overlapMs":5.0,"items":[{"at":-2e3,"share":0.5}]}"#);
        let read = read.unwrap();
        assert_eq!((read.overlap_ms, read.items[0].at, read.items[0].share), (5, -2000, 0.5));
        for (body, field) in [
            (r#"{"overlapMs":5.5}"#, "`overlapMs` takes a whole number"),
            (r#"{"overlapMs":1e30}"#, "`overlapMs` takes a whole number"),
            (r#"{"overlapMs":-1.0}"#, "(field `overlapMs`)"),
            (r#"{"overlapMs":1,"items":[{"at":1.5,"share":1}]}"#, "`items[0].at` takes a whole"),
            (r#"{"overlapMs":1.0,"items":[{"at":1}]}"#, "missing field `share`"),
        ] {
            let said = super::parse::<Body>(body.as_bytes()).unwrap_err().message;
            assert!(said.contains(field), "{body}: {said}");
        }
    }

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
