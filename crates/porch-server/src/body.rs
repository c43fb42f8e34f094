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
            .is_some_and(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(ErrorCode::BadJson, "send the body as JSON with `Content-Type: application/json`"));
        }
        let limit = state.config.limits.http_body_bytes_max;
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| {
            ApiError::new(ErrorCode::BodyTooLarge, format!("the body is larger than {limit} bytes"))
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON with an error that says where and what.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::new(ErrorCode::InvalidUtf8, "the body is not valid UTF-8"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde's message names the field and position, e.g. "unknown field `deploymentID`,
        // expected one of `deploymentId`, ... at line 1 column 15".
        let what = match e.classify() {
            serde_json::error::Category::Data => "the body has the wrong shape",
            _ => "the body is not valid JSON",
        };
        ApiError::new(ErrorCode::BadJson, format!("{what}: {e}"))
    })
}
