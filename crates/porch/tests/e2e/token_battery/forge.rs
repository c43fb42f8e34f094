//! Forged tokens: any JOSE header, any claims, signed with any key (the server's included,
//! read from its store, for the checks that come after the signature).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use porch_wire::rest::{AgentSession, GuestSession};
use serde_json::{Value, json};

use crate::support::*;

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

/// A compact JWS: base64url(header).base64url(payload).base64url(HMAC-SHA256(secret)).
pub fn hs256(header: &str, payload: &str, secret: &[u8]) -> String {
    let signed = format!("{}.{}", b64(header), b64(payload));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(signed.as_bytes());
    format!("{signed}.{}", b64(mac.finalize().into_bytes()))
}

/// Everything the battery attacks with and against.
pub struct Fixture {
    pub server: TestServer,
    /// The victim: a live guest of the test deployment.
    pub guest: GuestSession,
    /// A guest of deployment B (another site, origin `ORIGIN_B`).
    pub guest_b: GuestSession,
    /// A guest revoked by the operator.
    pub revoked: GuestSession,
    pub agent: AgentSession,
    pub client_token: String,
    /// The server's signing key.
    pub kid: String,
    pub secret: Vec<u8>,
    /// The victim's claims, as the server signed them.
    pub claims: Value,
    pub now_secs: i64,
    pub leeway_secs: i64,
}

pub const ORIGIN_B: &str = "https://other-shop.example";

impl Fixture {
    pub async fn new() -> Fixture {
        let server = TestServer::start_with(|c| {
            // ~80 handshakes and as many REST calls from one address in a second: past the
            // flood limits, which are tested on their own.
            c.limits.handshakes_per_ip_per_sec = 100_000;
            c.limits.handshakes_per_ip_burst = 100_000;
        })
        .await;
        let store = server.state.store.clone();
        let spec = porch_server::admin::DeploymentSpec {
            name: "other-shop".into(),
            origins: vec![ORIGIN_B.into()],
            queue: "default".into(),
            guest_token_ttl_secs: 600,
        };
        let deployment_b =
            porch_server::admin::create_deployment(store.as_ref(), spec).await.unwrap();
        let client_token = server.client_token().await;
        let request = porch_wire::rest::CreateGuestRequest {
            deployment_id: deployment_b.id,
            ..Default::default()
        };
        let guest_b = server.api.create_guest(&client_token, &request).await.unwrap();
        let revoked = server.guest().await;
        assert!(store.revoke_guest(&revoked.guest_id).await.unwrap());
        let guest = server.guest().await;
        let agent = server.agent().await;
        let key = store
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .max_by_key(|k| k.created_at_ms)
            .unwrap();
        let payload = guest.access_token.split('.').nth(1).unwrap();
        let claims = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
        Fixture {
            leeway_secs: server.state.config.limits.token_leeway_secs as i64,
            server,
            guest,
            guest_b,
            revoked,
            agent,
            client_token,
            kid: key.kid,
            secret: key.secret,
            claims,
            now_secs: porch_core::time::now_ms() / 1000,
        }
    }

    /// The header Porch writes, with `alg`, `typ` and `kid` as given.
    pub fn header(&self, alg: &str, typ: &str, kid: &str) -> String {
        json!({"alg": alg, "typ": typ, "kid": kid}).to_string()
    }

    pub fn good_header(&self) -> String {
        self.header("HS256", "at+jwt", &self.kid)
    }

    /// The victim's claims with `edit` applied, as JSON text.
    pub fn claims_with(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.claims.clone();
        edit(&mut claims);
        claims.to_string()
    }

    /// Signed with the server's own key: only the checks after the signature can refuse it.
    pub fn signed(&self, payload: &str) -> String {
        hs256(&self.good_header(), payload, &self.secret)
    }

    pub fn signed_claims(&self, edit: impl FnOnce(&mut Value)) -> String {
        self.signed(&self.claims_with(edit))
    }
}
