//! Where deliveries may go, and the HTTP client that goes there.
//!
//! A target must be `https://` unless the operator allows `http://`, and must not be on the
//! operator's own network (loopback, private, link-local) unless the operator allows that:
//! otherwise anyone who may register a webhook could make Porch call an internal service
//! (server-side request forgery). The address is checked where the connection is made: the
//! client resolves names through `Guard`, which drops refused addresses, so a name that
//! resolved to a public address at registration and to a private one later is still refused,
//! and redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use porch_core::webhook::{check_url, forbidden_address};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::WebhookTargets;
use crate::error::shown;

/// The HTTP client of deliveries, with its target policy.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    targets: WebhookTargets,
}

impl Sender {
    /// A client whose every request ends after `timeout_ms` (connection included).
    pub fn new(targets: WebhookTargets, timeout_ms: u64) -> Result<Sender, String> {
        let builder = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("porch-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(Guard { allow_private: targets.allow_private }));
        let client = porch_client::tls::Tls::system()
            .http_client(builder)
            .map_err(|e| format!("building the webhook HTTP client: {e}"))?;
        Ok(Sender { client, targets })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Why `url` is refused before any connection: scheme, credentials, or an address literal
    /// on the operator's network (names are checked when resolved, by `Guard`).
    pub fn check(&self, url: &str) -> Result<reqwest::Url, String> {
        check_url(url, self.targets.allow_http)?;
        let parsed =
            reqwest::Url::parse(url).map_err(|e| format!("the URL does not parse: {e}"))?;
        let Some(host) = parsed.host_str() else {
            return Err("the URL names no host".to_owned());
        };
        if let Some(ip) = address_literal(host)
            && !self.targets.allow_private
            && let Some(why) = forbidden_address(ip)
        {
            return Err(refusal(&ip.to_string(), why));
        }
        Ok(parsed)
    }

    /// Resolves `url`'s host now and refuses it if every address is refused: what registration
    /// checks, so an endpoint that could never be delivered to is not stored.
    pub async fn check_resolving(&self, url: &str) -> Result<(), String> {
        let parsed = self.check(url)?;
        let host = parsed.host_str().unwrap_or_default();
        if address_literal(host).is_some() {
            return Ok(());
        }
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("`{}` does not resolve: {e}", shown(host)))?
            .collect();
        allowed(host, addrs, self.targets.allow_private).map(|_| ())
    }
}

/// The address a URL's host is written as, if it is one (IPv6 in brackets).
fn address_literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// `subject` is the address, or the name and what it resolves to.
fn refusal(subject: &str, why: &str) -> String {
    format!(
        "{subject} is a {why} address; webhooks go to public addresses unless the operator sets webhook_allow_private_targets"
    )
}

/// The addresses of `host` a delivery may connect to; an error naming the first refused one
/// when none is left.
fn allowed(
    host: &str,
    addrs: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    if allow_private {
        return Ok(addrs);
    }
    let mut refused = None;
    let kept: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match forbidden_address(a.ip()) {
            Some(why) => {
                refused.get_or_insert((a.ip(), why));
                false
            }
            None => true,
        })
        .collect();
    match (kept.is_empty(), refused) {
        (true, Some((ip, why))) => {
            Err(refusal(&format!("`{}` resolves to {ip}, which", shown(host)), why))
        }
        (true, None) => Err(format!("`{}` resolves to no address", shown(host))),
        (false, _) => Ok(kept),
    }
}

/// The resolver of the delivery client: the system's, minus refused addresses.
struct Guard {
    allow_private: bool,
}

impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept = allowed(&host, addrs, allow_private)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}
