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

/// Ready when the store answers and, in a cluster, the broker is connected, and the store's
/// disk is not full. 503 otherwise, so a load balancer sends clients to another node. A disk
/// low on space is a warning only: the node still commits.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let broker = state.broker.as_ref().map(|b| (b.describe(), b.is_connected()));
    let broker_ok = broker.as_ref().is_none_or(|(_, connected)| *connected);
    let broker_json = broker.map_or_else(|| json!("none (single node)"), |(d, _)| json!(d));
    let node = &state.config.node_id;
    let space = state.space.report();
    let disk_ok = space.is_none_or(|s| !s.full);
    let data_dir = space.map_or(json!(null), |s| {
        json!({ "freeBytes": s.free_bytes, "warnBelowBytes": state.space.warn_below_bytes(), "full": s.full })
    });
    let warnings = warnings(&state, space);
    match state.store.durability().await {
        Ok(d) => {
            let ready = broker_ok && disk_ok;
            let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            let body = json!({
                "status": if ready { "ready" } else { "unavailable" },
                "node": node,
                "store": { "engine": d.engine, "settings": d.settings, "survivesPowerLoss": d.survives_power_loss },
                "broker": broker_json,
                "dataDir": data_dir,
                "warnings": warnings,
                "connectionsAvailable": state.connections.available_permits(),
            });
            (status, axum::Json(body)).into_response()
        }
        Err(e) => {
            let body = json!({ "status": "unavailable", "node": node, "store": e.to_string(), "broker": broker_json, "dataDir": data_dir, "warnings": warnings });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

/// What an operator should act on before it stops the node, in words.
fn warnings(state: &AppState, space: Option<crate::space::SpaceReport>) -> Vec<String> {
    let Some(space) = space else { return Vec::new() };
    let free = crate::space::mebibytes(space.free_bytes);
    if space.full {
        vec![format!(
            "the data directory's disk is full ({free} free): sends are refused with store_full until space is freed"
        )]
    } else if space.low {
        let warn = crate::space::mebibytes(state.space.warn_below_bytes());
        vec![format!(
            "the data directory's disk has {free} free, below data_dir_free_warn_bytes ({warn}): free space before it fills, or sends will be refused with store_full"
        )]
    } else {
        Vec::new()
    }
}
