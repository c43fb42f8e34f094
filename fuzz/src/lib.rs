//! What the fuzz targets share: the fixed key and clock the token target verifies against,
//! and the checks every refusal must pass whatever produced it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use porch_core::token::{Claims, Expectation, Keyring, SigningKey, TokenKind};
use porch_server::error::ApiError;
use porch_wire::code::CLOSE_REASON_BYTES_MAX;
use sha2::Sha256;

/// The one key the token target knows. Seed tokens in `corpus/token_verify` are signed with
/// it (`make_seeds`), so the fuzzer starts from tokens that verify and mutates them.
pub const KID: &str = "key_fuzz";
pub const SECRET: [u8; 32] = [7; 32];
pub const ISSUER: &str = "porch-fuzz";
/// "Now" for every verification: fixed, so a run is reproducible from its input alone.
/// 2026-11-26T12:00:03Z, a realistic instant (rendered dates have their real length).
pub const NOW_SECS: i64 = 1_795_694_403;
pub const LEEWAY_SECS: i64 = 30;
/// The gateway's kinds: the expectation the token target checks against.
pub const KINDS: &[TokenKind] = &[TokenKind::Guest, TokenKind::Agent];
/// A correlation id of the real length, for close reasons.
pub const REF: &str = "abcdef";

pub fn keyring() -> Keyring {
    Keyring::new(vec![SigningKey { kid: KID.into(), secret: SECRET.to_vec(), created_at_ms: 1 }])
}

pub fn gateway() -> Expectation<'static> {
    Expectation {
        kinds: KINDS,
        endpoint: "the gateway",
        issuer: ISSUER,
        now_secs: NOW_SECS,
        leeway_secs: LEEWAY_SECS,
    }
}

/// A compact JWS over arbitrary header and payload bytes, signed with the fixed key: lets the
/// fuzzer reach the checks behind the signature with JSON Porch would never write.
pub fn sign_raw(header: &[u8], payload: &[u8]) -> String {
    let mut token = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(&SECRET).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    token.push('.');
    token.push_str(&B64.encode(mac.finalize().into_bytes()));
    token
}

/// Claims as Porch issues them. Built from JSON, so claims added later (optional ones, with
/// serde defaults) do not break the fuzz crate.
pub fn claims(aud: &str, iat: i64, exp: i64) -> Claims {
    serde_json::from_value(serde_json::json!({
        "iss": ISSUER,
        "sub": "gst_0v8k5s1j3qk7m2n4p6r8t0w2y4",
        "aud": aud,
        "exp": exp,
        "iat": iat,
        "jti": "tok_7q1m2n4p6r8t0w2y4a6c8e0g2j",
        "dep": "dep_1",
        "cnv": "cnv_1",
    }))
    .expect("Porch's claims")
}

/// Every refusal a client can trigger becomes a close reason (after a `101`) or a JSON body.
/// The close reason must fit RFC 6455's 123 bytes, keep the code in front and the
/// correlation id at the end, whatever the message holds (multi-byte text included).
pub fn check_close_reason(error: &ApiError) {
    let reason = error.close_reason(REF);
    assert!(
        reason.len() <= CLOSE_REASON_BYTES_MAX,
        "close reason is {} bytes: {reason:?}",
        reason.len()
    );
    assert!(reason.starts_with(&format!("{}: ", error.code)), "code not in front: {reason:?}");
    assert!(reason.ends_with(&format!(" [ref {REF}]")), "ref not at the end: {reason:?}");
}

/// Base64url runs this long never occur in Porch's message templates, and every quoted
/// client value is cut to 24 characters first (`token::short`). So a run of 25 that also
/// occurs in the token is a piece of the token itself leaking into a message (and a log).
pub const LEAK_RUN_CHARS: usize = 25;

/// Asserts that no `LEAK_RUN_CHARS`-long base64url run of `message` occurs in `secret`.
pub fn assert_no_token_piece(message: &str, secret: &str) {
    let is_b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    for run in message.split(|c: char| !is_b64url(c)).filter(|run| run.len() >= LEAK_RUN_CHARS) {
        // `run` is ASCII, so byte windows are character windows.
        for start in 0..=run.len() - LEAK_RUN_CHARS {
            let piece = &run[start..start + LEAK_RUN_CHARS];
            assert!(
                !secret.contains(piece),
                "the message quotes the token ({piece:?}): {message:?}"
            );
        }
    }
}
