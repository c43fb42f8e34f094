//! What the server needs to know about its place in the world, resolved by the binary from
//! file, environment and flags.

use porch_core::limits::Limits;

/// Server settings. Built explicitly by the caller (no `Default`): every deployment of Porch
/// has to say where it is reachable.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where clients reach this server, e.g. `https://chat.example.com` behind a proxy.
    /// `gatewayUrl` and the demo pages are derived from it.
    pub public_url: String,
    /// The `iss` claim of tokens this server issues and accepts.
    pub issuer: String,
    pub limits: Limits,
    /// Accept `?access_token=` on the gateway URL. Off by default: URLs end up in proxy and
    /// server logs (RFC 6750 §2.3, RFC 9700 §4.3.2).
    pub allow_query_token: bool,
    /// Which webhook targets deliveries may reach (`webhooks`).
    pub webhook_targets: WebhookTargets,
    /// Mount the unauthenticated conformance echo (`gateway::echo`) for the Autobahn
    /// TestSuite. Off by default; `porch serve` allows it on a loopback address only.
    pub conformance_echo: bool,
    /// This node's name in a cluster (in broker events and logs).
    pub node_id: String,
    /// `nats://host:port` for a cluster; `None` for a single node (in-process fan-out only).
    pub broker_url: Option<String>,
    /// The NATS subject of this cluster (`porch.events` by default).
    pub broker_subject: String,
    /// TLS and credentials for the broker (`broker_ca_file`, `broker_user`, ...).
    pub broker_access: crate::broker::access::NatsAccess,
    /// Load balancers and proxies in front of Porch. A request from one of these addresses is
    /// attributed to the address it names in `X-Forwarded-For`, and its TCP connections are
    /// not counted against `connections_per_ip_max`. Empty: the peer address is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The directory of the SQLite store, whose disk's free space `/readyz` and `/metrics`
    /// report (`space`). `None` on PostgreSQL.
    pub data_dir: Option<std::path::PathBuf>,
    /// `/metrics` is served on an internal listener of its own (`serve_internal`), not on the
    /// public one: `metrics_listen`.
    pub metrics_internal: bool,
    /// The content types attachments may have, each one `porch_core::attachment` recognises.
    pub attachment_types: Vec<String>,
}

/// Which webhook targets are allowed beyond public `https://` ones. Both off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookTargets {
    /// `http://` targets too (`--webhook-allow-http`).
    pub allow_http: bool,
    /// Targets resolving to loopback, private or link-local addresses too
    /// (`--webhook-allow-private-targets`).
    pub allow_private: bool,
}

impl ServerConfig {
    /// `gatewayUrl` as handed to clients: the public URL with `ws`/`wss` and the gateway path.
    pub fn gateway_url(&self) -> String {
        let base = self.public_url.trim_end_matches('/');
        let ws = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_string()
        };
        format!("{ws}{}", porch_wire::GATEWAY_PATH)
    }

    /// The origin (`scheme://host[:port]`) of the public URL: pages Porch serves itself (the
    /// agent console, demos) come from here.
    pub fn public_origin(&self) -> &str {
        let base = self.public_url.trim_end_matches('/');
        match base.find("://") {
            Some(i) => match base[i + 3..].find('/') {
                Some(j) => &base[..i + 3 + j],
                None => base,
            },
            None => base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> ServerConfig {
        ServerConfig {
            public_url: url.into(),
            issuer: "x".into(),
            limits: Limits::default(),
            allow_query_token: false,
            webhook_targets: WebhookTargets::default(),
            conformance_echo: false,
            node_id: "nod_test".into(),
            broker_url: None,
            broker_subject: porch_wire::event::SUBJECT.into(),
            broker_access: Default::default(),
            trusted_proxies: Vec::new(),
            data_dir: None,
            metrics_internal: false,
            attachment_types: porch_core::attachment::DEFAULT_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
        }
    }

    #[test]
    fn gateway_url_follows_the_public_url_scheme() {
        assert_eq!(
            config("http://127.0.0.1:8080").gateway_url(),
            "ws://127.0.0.1:8080/api/v2/gateway"
        );
        assert_eq!(
            config("https://chat.example/porch/").gateway_url(),
            "wss://chat.example/porch/api/v2/gateway"
        );
        assert_eq!(config("https://chat.example/porch/").public_origin(), "https://chat.example");
    }
}
