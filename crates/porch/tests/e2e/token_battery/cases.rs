//! The attacks: one row per forged or misused token, with what REST and the gateway must
//! answer (docs/api.md "Tokens", docs/handshake.md "Every refusal").

use serde_json::json;

use super::forge::{Fixture, b64, hs256};

/// Which REST endpoint a case is tried on.
#[derive(Clone, Copy, Debug)]
pub enum Endpoint {
    /// `GET /api/v2/webmessaging/guests/messages` (guest tokens).
    Guest,
    /// `GET /api/v2/agent/conversations` (agent tokens).
    Agent,
    /// `POST /api/v2/webmessaging/guests` (OAuth client tokens, scope `guests`).
    Client,
}

pub struct Case {
    pub name: &'static str,
    pub token: String,
    /// Sent as `Origin` on both surfaces.
    pub origin: Option<&'static str>,
    /// Endpoint, HTTP status and `error`; status 200 for the controls that must pass.
    pub rest: Option<(Endpoint, u16, &'static str)>,
    /// Close code and the reason's code; `(0, "ready")` for the controls that must pass.
    pub gateway: Option<(u16, &'static str)>,
}

/// A public key an attacker could find, used as an HMAC secret (algorithm confusion): Porch
/// has no asymmetric key at all, so there is nothing public to confuse it with.
const PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpSeVOLh3tNhP2p2o5wYf8hJZxGJo\nbW0xU8uN2m8vyK4yJxw2mO5kz7aW0v4q8iZ1bJ3wqgX5E8tQhVw0r2Vd4g==\n-----END PUBLIC KEY-----\n";

const MALFORMED: (u16, &str) = (4003, "token_malformed");
const SIGNATURE: (u16, &str) = (4003, "token_signature_invalid");

#[rustfmt::skip]
pub fn cases(f: &Fixture) -> Vec<Case> {
    use Endpoint::*;
    let guest_rest = |status, error| Some((Guest, status, error));
    let c = |name, token: String, rest, gateway: Option<(u16, &'static str)>| Case { name, token, origin: None, rest, gateway };
    let claims = f.claims_with(|_| {});
    let payload = f.guest.access_token.split('.').nth(1).unwrap().to_string();
    let header = f.guest.access_token.split('.').next().unwrap().to_string();
    let signature = f.guest.access_token.rsplit('.').next().unwrap().to_string();
    let now = f.now_secs;
    let leeway = f.leeway_secs;
    let mut cases = vec![
        // Algorithm: HS256 only (RFC 8725 §3.1).
        c("alg_none", format!("{}.{payload}.", b64(f.header("none", "at+jwt", &f.kid))), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("alg_none_upper_case", format!("{}.{payload}.", b64(f.header("NONE", "at+jwt", &f.kid))), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("alg_hs512", hs256(&f.header("HS512", "at+jwt", &f.kid), &claims, &f.secret), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("alg_rs256", hs256(&f.header("RS256", "at+jwt", &f.kid), &claims, &f.secret), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        // Keys: a guessed or foreign secret never verifies.
        c("hs256_public_key", hs256(&f.good_header(), &claims, PUBLIC_KEY_PEM.as_bytes()), guest_rest(401, "token_signature_invalid"), Some(SIGNATURE)),
        c("hs256_kid_as_secret", hs256(&f.good_header(), &claims, f.kid.as_bytes()), guest_rest(401, "token_signature_invalid"), Some(SIGNATURE)),
        c("hs256_empty_secret", hs256(&f.good_header(), &claims, b""), guest_rest(401, "token_signature_invalid"), Some(SIGNATURE)),
        c("other_key", hs256(&f.good_header(), &claims, &[7; 32]), guest_rest(401, "token_signature_invalid"), Some(SIGNATURE)),
        c("tampered_payload", format!("{header}.{}.{signature}", b64(f.claims_with(|c| c["sub"] = json!(f.guest_b.guest_id)))), guest_rest(401, "token_signature_invalid"), Some(SIGNATURE)),
        c("signature_stripped", format!("{header}.{payload}."), guest_rest(401, "token_signature_invalid"), Some(SIGNATURE)),
        c("unknown_kid", hs256(&f.header("HS256", "at+jwt", "key_retired"), &claims, &f.secret), guest_rest(401, "token_key_unknown"), Some((4003, "token_key_unknown"))),
        c("kid_path_injection", hs256(&f.header("HS256", "at+jwt", "../../../../dev/null"), &claims, b""), guest_rest(401, "token_key_unknown"), Some((4003, "token_key_unknown"))),
        c("kid_missing", hs256(&json!({"alg": "HS256", "typ": "at+jwt"}).to_string(), &claims, &f.secret), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("typ_jwt", hs256(&f.header("HS256", "JWT", &f.kid), &claims, &f.secret), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        // Time, with the server's leeway.
        c("expired_beyond_leeway", f.signed_claims(|c| c["exp"] = json!(now - leeway - 60)), guest_rest(401, "token_expired"), Some((4002, "token_expired"))),
        c("expired_within_leeway", f.signed_claims(|c| c["exp"] = json!(now - leeway / 2)), guest_rest(200, ""), Some((0, "ready"))),
        c("nbf_future", f.signed_claims(|c| c["nbf"] = json!(now + 3600)), guest_rest(401, "token_not_yet_valid"), Some((4002, "token_not_yet_valid"))),
        c("iat_future", f.signed_claims(|c| c["iat"] = json!(now + 3600)), guest_rest(401, "token_not_yet_valid"), Some((4002, "token_not_yet_valid"))),
        // Issuer and kind (audience).
        c("wrong_iss", f.signed_claims(|c| c["iss"] = json!("https://other-porch.example")), guest_rest(401, "token_wrong_issuer"), Some((4003, "token_wrong_issuer"))),
        c("unknown_aud", f.signed_claims(|c| c["aud"] = json!("porch-admin")), guest_rest(401, "token_wrong_kind"), Some((4004, "token_wrong_kind"))),
        c("aud_array", f.signed_claims(|c| c["aud"] = json!(["porch-guest", "porch-agent"])), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("client_token_as_guest", f.client_token.clone(), guest_rest(401, "token_wrong_kind"), Some((4004, "token_wrong_kind"))),
        c("guest_token_at_agent_api", f.guest.access_token.clone(), Some((Agent, 401, "token_wrong_kind")), None),
        c("agent_token_at_guest_api", f.agent.access_token.clone(), guest_rest(401, "token_wrong_kind"), None),
        c("guest_token_at_client_api", f.guest.access_token.clone(), Some((Client, 401, "token_wrong_kind")), None),
        c("agent_token_at_client_api", f.agent.access_token.clone(), Some((Client, 401, "token_wrong_kind")), None),
        // The session behind a genuine token.
        c("revoked_guest", f.revoked.access_token.clone(), guest_rest(401, "guest_revoked"), Some((4006, "guest_revoked"))),
        c("unknown_sub", f.signed_claims(|c| c["sub"] = json!("gst_never_existed")), guest_rest(401, "guest_revoked"), Some((4006, "guest_revoked"))),
        // Shape.
        c("empty", String::new(), guest_rest(401, "token_missing"), Some((4001, "token_missing"))),
        c("one_part", "abc".into(), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("two_parts", format!("{header}.{payload}"), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("four_parts", format!("{}.x", f.guest.access_token), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("header_not_base64", format!("!!!!.{payload}.{signature}"), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("signature_not_base64", format!("{header}.{payload}.***"), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("payload_not_json", f.signed("not json at all"), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("payload_array", f.signed("[]"), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("payload_without_exp", f.signed_claims(|c| { c.as_object_mut().unwrap().remove("exp"); }), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("just_over_4096_bytes", format!("{header}.{}.{signature}", "a".repeat(4097)), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("absurdly_long", format!("{header}.{}.{signature}", "a".repeat(100_000)), guest_rest(401, "token_malformed"), Some(MALFORMED)),
        c("standard_base64", format!("{}=", f.guest.access_token.replacen('-', "+", 1)), guest_rest(401, "token_malformed"), Some((4007, "token_characters"))),
        c("space_inside", f.guest.access_token.replacen('.', " .", 1), guest_rest(401, "token_malformed"), Some((4007, "token_characters"))),
    ];
    // A genuine token of deployment A from a page of deployment B (RFC 6454 origins).
    cases.push(Case {
        name: "deployment_a_token_on_b_origin",
        token: f.guest.access_token.clone(),
        origin: Some(super::forge::ORIGIN_B),
        rest: guest_rest(403, "origin_not_allowed"),
        gateway: Some((4005, "origin_not_allowed")),
    });
    // T6: an `Origin` no deployment lists is refused before the token is looked at, so a
    // garbage token from such a page learns nothing about tokens.
    cases.push(Case {
        name: "bad_token_from_unknown_origin",
        token: "abc".into(),
        origin: Some("https://evil.example"),
        rest: guest_rest(403, "origin_not_allowed"),
        gateway: Some((4005, "origin_not_allowed")),
    });
    cases
}
