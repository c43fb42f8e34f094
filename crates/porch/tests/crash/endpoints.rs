//! Where clients reach Porch: one node for the crash test, every node of a cluster for the
//! nemesis. A client picks one at random for each connection, so when its node dies, freezes
//! or refuses, its next attempt goes (most likely) elsewhere, as behind a load balancer.

use std::time::Duration;

use porch_client::{Api, Gateway};
use porch_wire::ErrorCode;

#[derive(Clone)]
pub struct Endpoint {
    pub gateway_url: String,
    pub api: Api,
}

impl Endpoint {
    pub fn new(base_url: &str) -> Endpoint {
        let gateway_url =
            format!("{}{}", base_url.replacen("http", "ws", 1), porch_wire::GATEWAY_PATH);
        Endpoint { gateway_url, api: Api::new(base_url) }
    }
}

/// How long a connection attempt may take: a frozen node accepts TCP but never answers.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to `endpoint`'s gateway, `None` on any failure or after `CONNECT_TIMEOUT`.
pub async fn connect(endpoint: &Endpoint, token: &str, after_seq: Option<u64>) -> Option<Gateway> {
    let attempt = Gateway::connect(&endpoint.gateway_url, token, after_seq);
    tokio::time::timeout(CONNECT_TIMEOUT, attempt).await.ok()?.ok()
}

/// Refusals of a send that mean "this node cannot take it now": nothing was stored, so the
/// client reconnects (to any node) and resends from its outbox.
pub fn retry_elsewhere(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::StoreUnavailable
            | ErrorCode::StoreFull
            | ErrorCode::BrokerUnavailable
            | ErrorCode::RateLimited
    )
}
