//! The peers' HTTP publish APIs, as a customer's backend would call them (S3 on the peers):
//! Soketi's Pusher REST API (`POST /apps/app-id/events`, signed) and the ws relay's
//! `POST /publish`. One keep-alive client per run: requests reuse pooled connections.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

use crate::server::Kind;

/// The default app porch-bench starts Soketi and Sockudo with (`SOKETI_DEFAULT_APP_*`,
/// `SOCKUDO_DEFAULT_APP_*`).
const SOKETI_APP_ID: &str = "app-id";
const SOKETI_APP_KEY: &str = "app-key";
const SOKETI_APP_SECRET: &str = "app-secret";
/// The event name of every published message.
const EVENT: &str = "m";
/// A publish that takes longer than this is an error, not a latency.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The channel subscriber `c` listens on; the same name on both peers.
pub fn channel(c: usize) -> String {
    format!("conv-{c}")
}

/// Publishes text messages on one peer's channels over HTTP.
#[derive(Clone)]
pub struct Publisher {
    kind: Kind,
    addr: SocketAddr,
    client: reqwest::Client,
}

impl Publisher {
    pub fn new(kind: Kind, addr: SocketAddr) -> Result<Publisher> {
        if !(kind.is_pusher() || kind == Kind::WsRelay) {
            bail!("{} has no HTTP publish API", kind.name());
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Publisher { kind, addr, client })
    }

    /// Sends `data` to every subscriber of `channel`; an error unless the peer accepted it.
    pub async fn publish(&self, channel: &str, data: &str) -> Result<()> {
        let (url, body) = match self.kind {
            kind if kind.is_pusher() => self.pusher_request(channel, data),
            _ => (
                format!("http://{}/publish", self.addr),
                serde_json::json!({ "channel": channel, "data": data }).to_string(),
            ),
        };
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("{} answered {status}: {text}", self.kind.name());
        }
        Ok(())
    }

    /// The signed URL and body of a Pusher "trigger": the signature is HMAC-SHA256, with the
    /// app secret, of `POST\n<path>\n<query sorted by key, without auth_signature>`, the query
    /// carrying the MD5 of the body (the Pusher REST API's authentication).
    fn pusher_request(&self, channel: &str, data: &str) -> (String, String) {
        let body =
            serde_json::json!({ "name": EVENT, "channels": [channel], "data": data }).to_string();
        let path = format!("/apps/{SOKETI_APP_ID}/events");
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        // Already in key order: auth_key < auth_timestamp < auth_version < body_md5.
        let query = format!(
            "auth_key={SOKETI_APP_KEY}&auth_timestamp={timestamp}&auth_version=1.0&body_md5={}",
            hex(&Md5::digest(body.as_bytes()))
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(SOKETI_APP_SECRET.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(format!("POST\n{path}\n{query}").as_bytes());
        let signature = hex(&mac.finalize().into_bytes());
        let url = format!("http://{}{path}?{query}&auth_signature={signature}", self.addr);
        (url, body)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_and_hmac_match_known_vectors() {
        // RFC 1321 and RFC 4231 test case 2.
        assert_eq!(hex(&Md5::digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
