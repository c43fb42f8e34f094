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

/// Ready when the store answers and, in a cluster, the broker is connected. 503 otherwise, so
/// a load balancer sends clients to another node.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let broker = state.broker.as_ref().map(|b| (b.describe(), b.is_connected()));
    let broker_ok = broker.as_ref().is_none_or(|(_, connected)| *connected);
    let broker_json = broker.map_or_else(|| json!("none (single node)"), |(d, _)| json!(d));
    let node = &state.config.node_id;
    match state.store.durability().await {
        Ok(d) => {
            let status = if broker_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            let body = json!({
                "status": if broker_ok { "ready" } else { "unavailable" },
                "node": node,
                "store": { "engine": d.engine, "settings": d.settings, "survivesPowerLoss": d.survives_power_loss },
                "broker": broker_json,
                "connectionsAvailable": state.connections.available_permits(),
            });
            (status, axum::Json(body)).into_response()
        }
        Err(e) => {
            let body = json!({ "status": "unavailable", "node": node, "store": e.to_string(), "broker": broker_json });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
