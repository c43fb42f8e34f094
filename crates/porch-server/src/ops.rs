//! Health endpoints: `/livez` (the process answers) and `/readyz` (the store answers and is
//! as durable as documented).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub async fn livez() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.durability().await {
        Ok(d) => axum::Json(json!({
            "status": "ready",
            "store": { "engine": d.engine, "settings": d.settings, "survivesPowerLoss": d.survives_power_loss },
            "connectionsAvailable": state.connections.available_permits(),
        }))
        .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "unavailable", "store": e.to_string() })))
            .into_response(),
    }
}
