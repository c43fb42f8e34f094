//! Identity tokens (issue 20): the builder's backend vouches for a logged-in customer.
//!
//! The backend signs a short JWT (`sub` = the customer's external id, optional `name` and
//! `email`, `aud` = the deployment id, `exp`, `iat`, `jti`) with a key registered on the
//! deployment; the widget or SDK hands it to Porch when it opens or upgrades a guest session.
//!
//! The rules, and why:
//! - The key decides the algorithm, never the token: a key is registered with its algorithm
//!   (an HS256 secret Porch generated, or an ES256 / EdDSA public JWK), the header's `kid`
//!   picks the key and its `alg` must name the key's algorithm. So there is no `none`, no
//!   HS/ES confusion with a public key used as an HMAC secret (RFC 8725 §2.1, §3.1).
//! - Sizes are bounded before any decoding (`IDENTITY_TOKEN_BYTES_MAX`).
//! - HMAC tags are compared in constant time (`hmac`'s `verify_slice`); ES256 and EdDSA are
//!   verified by `ring`, ES256 in the JOSE form (`r‖s`, 64 bytes, RFC 7518 §3.4).
//! - `exp` may be at most `identity_token_lifetime_secs_max` ahead: a token is a one-time
//!   hand-over, not a credential to keep. `jti` is used once on any node: `verify` only checks
//!   it is there; the store records it until the token expires (`Store::use_identity_jti`).
//!
//! Checks run in this order: size, shape, key (`kid`), algorithm, signature, then the claims
//! (`sub`, `aud`, time, `jti`), so a forged token learns nothing about claims checks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use porch_wire::ErrorCode;
use serde::Deserialize;
use sha2::Sha256;

use crate::limits::{ATTRIBUTE_CHARS_MAX, IDENTITY_JTI_CHARS_MAX, IDENTITY_TOKEN_BYTES_MAX};
use crate::time::rfc3339;
use crate::token::{TokenError, short};

mod keys;
pub use keys::{IdentityAlgorithm, IdentityKey};

/// What a valid identity token says about the customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityClaims {
    /// The customer's external id.
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Used once: the store records it until `exp`.
    pub jti: String,
    pub exp: i64,
    pub iat: i64,
    /// The key that signed it.
    pub kid: String,
}

/// What `verify` holds a token to.
#[derive(Clone, Copy, Debug)]
pub struct IdentityExpectation<'a> {
    /// The deployment the session is for: the token's `aud`.
    pub deployment_id: &'a str,
    pub now_secs: i64,
    pub leeway_secs: i64,
    /// How far ahead of now `exp` may be.
    pub lifetime_max_secs: i64,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn names(&self, wanted: &str) -> bool {
        match self {
            Audience::One(aud) => aud == wanted,
            Audience::Many(auds) => auds.iter().any(|a| a == wanted),
        }
    }
}

/// Every claim optional, so a missing one is named rather than "does not parse".
#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    jti: Option<String>,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> TokenError {
    TokenError { code, message: message.into() }
}

fn malformed(message: impl Into<String>) -> TokenError {
    refuse(ErrorCode::IdentityTokenMalformed, message)
}

/// Verifies an identity token against the keys registered on `expect.deployment_id`.
pub fn verify(
    token: &str,
    keys: &[IdentityKey],
    expect: &IdentityExpectation<'_>,
) -> Result<IdentityClaims, TokenError> {
    if token.len() > IDENTITY_TOKEN_BYTES_MAX {
        return Err(malformed(format!(
            "identity token is {} bytes, the limit is {IDENTITY_TOKEN_BYTES_MAX}; sign fewer claims",
            token.len()
        )));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("an identity token is a compact JWS: three base64url parts"));
    };
    let signed = &token[..header.len() + 1 + payload.len()];
    let header: Header = json_part(header, "header")?;
    let key = find_key(keys, header.kid.as_deref(), expect.deployment_id)?;
    if header.alg != key.algorithm.as_str() {
        return Err(refuse(
            ErrorCode::IdentityAlgorithmWrong,
            format!(
                "key {} is {}, the token says {}; sign with the key's algorithm",
                short(&key.kid),
                key.algorithm.as_str(),
                short(&header.alg)
            ),
        ));
    }
    let signature = B64
        .decode(signature)
        .map_err(|_| malformed("the identity token's signature is not base64url"))?;
    if !key.verifies(signed.as_bytes(), &signature) {
        return Err(refuse(
            ErrorCode::IdentitySignatureInvalid,
            format!(
                "signature does not match key {}; sign with the key registered under this kid",
                short(&key.kid)
            ),
        ));
    }
    let raw: RawClaims = json_part(payload, "payload")?;
    claims(raw, &key.kid, expect)
}

/// The registered key the header's `kid` names, on this deployment only.
fn find_key<'k>(
    keys: &'k [IdentityKey],
    kid: Option<&str>,
    deployment_id: &str,
) -> Result<&'k IdentityKey, TokenError> {
    let Some(kid) = kid else {
        return Err(refuse(
            ErrorCode::IdentityKeyUnknown,
            "the identity token's header has no kid; set it to the id `porch identity-keys add` printed",
        ));
    };
    keys.iter().find(|k| k.kid == kid && k.deployment_id == deployment_id).ok_or_else(|| {
        refuse(
            ErrorCode::IdentityKeyUnknown,
            format!(
                "no identity key {} on this deployment; list them with `porch identity-keys list`",
                short(kid)
            ),
        )
    })
}

fn json_part<T: serde::de::DeserializeOwned>(part: &str, what: &str) -> Result<T, TokenError> {
    let bytes = B64
        .decode(part)
        .map_err(|_| malformed(format!("the identity token's {what} is not base64url")))?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|json| serde_json::from_str(json).ok())
        .ok_or_else(|| malformed(format!("the identity token's {what} is not the JSON expected")))
}

/// The claims checks, once the signature holds.
fn claims(
    raw: RawClaims,
    kid: &str,
    expect: &IdentityExpectation<'_>,
) -> Result<IdentityClaims, TokenError> {
    let sub = raw.sub.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        refuse(
            ErrorCode::IdentitySubjectMissing,
            "the identity token has no sub; set sub to the customer's id in your system",
        )
    })?;
    for (claim, value) in
        [("sub", Some(&sub)), ("name", raw.name.as_ref()), ("email", raw.email.as_ref())]
    {
        if value.is_some_and(|v| v.chars().count() > ATTRIBUTE_CHARS_MAX) {
            return Err(malformed(format!(
                "{claim} is longer than {ATTRIBUTE_CHARS_MAX} characters"
            )));
        }
    }
    if !raw.aud.as_ref().is_some_and(|aud| aud.names(expect.deployment_id)) {
        return Err(refuse(
            ErrorCode::IdentityAudienceWrong,
            format!("aud must be this deployment's id, {}", short(expect.deployment_id)),
        ));
    }
    let (Some(exp), Some(iat)) = (raw.exp, raw.iat) else {
        return Err(malformed("the identity token needs exp and iat (seconds since the epoch)"));
    };
    check_time(exp, iat, raw.nbf, expect)?;
    let jti = raw.jti.filter(|j| !j.is_empty()).ok_or_else(|| {
        malformed("the identity token has no jti; give each token a unique id (a UUID)")
    })?;
    if jti.chars().count() > IDENTITY_JTI_CHARS_MAX {
        return Err(malformed(format!(
            "jti is longer than {IDENTITY_JTI_CHARS_MAX} characters; a UUID is enough"
        )));
    }
    Ok(IdentityClaims { sub, name: raw.name, email: raw.email, jti, exp, iat, kid: kid.to_owned() })
}

fn check_time(
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
    expect: &IdentityExpectation<'_>,
) -> Result<(), TokenError> {
    let now = expect.now_secs;
    let leeway = expect.leeway_secs;
    if now > exp.saturating_add(leeway) {
        return Err(refuse(
            ErrorCode::IdentityExpired,
            format!(
                "identity token expired {} ({}s ago); sign a fresh one for each session",
                rfc3339(exp),
                now.saturating_sub(exp)
            ),
        ));
    }
    let ahead = exp.saturating_sub(now);
    if ahead > expect.lifetime_max_secs.saturating_add(leeway) {
        return Err(refuse(
            ErrorCode::IdentityLifetimeTooLong,
            format!(
                "exp is {ahead}s ahead, at most {}s is accepted; sign shorter-lived tokens",
                expect.lifetime_max_secs
            ),
        ));
    }
    let early = [iat, nbf.unwrap_or(i64::MIN)].into_iter().max().unwrap_or(iat);
    if early > now.saturating_add(leeway) {
        return Err(refuse(
            ErrorCode::IdentityNotYetValid,
            format!(
                "iat/nbf {} is {}s ahead of server time {}; check your server's clock",
                rfc3339(early),
                early.saturating_sub(now),
                rfc3339(now)
            ),
        ));
    }
    Ok(())
}

/// HMAC-SHA256 of `data`, for HS256 keys (and tests that sign).
pub(crate) fn hmac_sha256(secret: &[u8], data: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(data);
    mac
}

#[cfg(test)]
mod tests;
