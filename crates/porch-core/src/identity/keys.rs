//! Identity keys: registered on a deployment, each with the one algorithm it verifies.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::Mac as _;
use serde::Deserialize;

use crate::limits::IDENTITY_KID_CHARS_MAX;

/// The algorithms an identity key may have. The key fixes it; a token cannot choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityAlgorithm {
    /// HMAC-SHA256 with a 32-byte secret Porch generated (and showed once).
    Hs256,
    /// ECDSA on P-256 with SHA-256; the builder registers the public JWK.
    Es256,
    /// Ed25519; the builder registers the public JWK.
    EdDsa,
}

impl IdentityAlgorithm {
    /// The JOSE name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityAlgorithm::Hs256 => "HS256",
            IdentityAlgorithm::Es256 => "ES256",
            IdentityAlgorithm::EdDsa => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<IdentityAlgorithm> {
        [IdentityAlgorithm::Hs256, IdentityAlgorithm::Es256, IdentityAlgorithm::EdDsa]
            .into_iter()
            .find(|a| a.as_str() == name)
    }
}

/// A key registered on a deployment.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityKey {
    /// The `kid` tokens name it by; unique across deployments.
    pub kid: String,
    pub deployment_id: String,
    pub algorithm: IdentityAlgorithm,
    /// HS256: the 32-byte secret. ES256: the public point, uncompressed (65 bytes, `04‖x‖y`).
    /// EdDSA: the 32-byte public key.
    pub material: Vec<u8>,
    pub created_at_ms: i64,
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // An HS256 secret is never printed, not even in debug output.
        f.debug_struct("IdentityKey")
            .field("kid", &self.kid)
            .field("deployment_id", &self.deployment_id)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The members of a public JWK Porch reads (RFC 7517, RFC 7518 §6.2, RFC 8037 §2).
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    /// A private key's secret part: refused, Porch wants only the public half.
    #[serde(default)]
    d: Option<serde_json::Value>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

impl IdentityKey {
    /// A new HS256 key for `deployment_id`: a fresh `kid` and 32 random bytes.
    pub fn generate_hs256(deployment_id: &str) -> IdentityKey {
        IdentityKey {
            kid: crate::ids::new_id(crate::ids::prefix::IDENTITY_KEY),
            deployment_id: deployment_id.to_owned(),
            algorithm: IdentityAlgorithm::Hs256,
            material: crate::ids::random_bytes::<32>().to_vec(),
            created_at_ms: crate::time::now_ms(),
        }
    }

    /// The secret of an HS256 key as the builder's backend uses it (base64url), to show once.
    pub fn shown_secret(&self) -> Option<String> {
        (self.algorithm == IdentityAlgorithm::Hs256).then(|| B64.encode(&self.material))
    }

    /// A key from a public JWK: EC P-256 (ES256) or OKP Ed25519 (EdDSA). Its `kid` is the
    /// JWK's own when it has one, else a new one. The error names the fix.
    pub fn from_jwk(deployment_id: &str, jwk: &str) -> Result<IdentityKey, String> {
        let jwk: Jwk = serde_json::from_str(jwk)
            .map_err(|e| format!("the key is not a JWK (a JSON object with kty): {e}"))?;
        if jwk.d.is_some() {
            return Err("this JWK holds a private key (`d`); register the public key only, \
                        and keep the private one on your backend"
                .into());
        }
        let (algorithm, material) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("EC", Some("P-256")) => (IdentityAlgorithm::Es256, p256_point(&jwk)?),
            ("OKP", Some("Ed25519")) => (IdentityAlgorithm::EdDsa, coordinate(&jwk.x, "x", 32)?),
            (kty, crv) => {
                return Err(format!(
                    "kty {kty} with crv {} is not accepted; use EC P-256 (ES256) or OKP Ed25519 (EdDSA)",
                    crv.unwrap_or("(none)")
                ));
            }
        };
        if let Some(alg) = jwk.alg.as_deref().filter(|a| *a != algorithm.as_str()) {
            return Err(format!(
                "the JWK says alg {alg} but its curve is for {}; fix or drop alg",
                algorithm.as_str()
            ));
        }
        let kid = match jwk.kid {
            Some(kid) => checked_kid(kid)?,
            None => crate::ids::new_id(crate::ids::prefix::IDENTITY_KEY),
        };
        let created_at_ms = crate::time::now_ms();
        Ok(IdentityKey {
            kid,
            deployment_id: deployment_id.to_owned(),
            algorithm,
            material,
            created_at_ms,
        })
    }

    /// The public JWK of an ES256 or EdDSA key (for `porch identity-keys list`); none for HS256.
    pub fn public_jwk(&self) -> Option<serde_json::Value> {
        match self.algorithm {
            IdentityAlgorithm::Hs256 => None,
            IdentityAlgorithm::Es256 => Some(serde_json::json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "kid": self.kid,
                "x": B64.encode(self.material.get(1..33)?),
                "y": B64.encode(self.material.get(33..65)?),
            })),
            IdentityAlgorithm::EdDsa => Some(serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": self.kid,
                "x": B64.encode(&self.material),
            })),
        }
    }

    /// Whether `signature` is this key's over `signed`, by this key's algorithm only.
    pub(crate) fn verifies(&self, signed: &[u8], signature: &[u8]) -> bool {
        use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
        match self.algorithm {
            // `verify_slice` compares in constant time.
            IdentityAlgorithm::Hs256 => {
                super::hmac_sha256(&self.material, signed).verify_slice(signature).is_ok()
            }
            IdentityAlgorithm::Es256 => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.material)
                    .verify(signed, signature)
                    .is_ok()
            }
            IdentityAlgorithm::EdDsa => {
                UnparsedPublicKey::new(&ED25519, &self.material).verify(signed, signature).is_ok()
            }
        }
    }
}

/// `04‖x‖y`, the form `ring` reads. `ring` exposes no check that the point is on the curve
/// apart from a verification, so a point that is not is refused at every use
/// (`identity_signature_invalid`), never accepted.
fn p256_point(jwk: &Jwk) -> Result<Vec<u8>, String> {
    let mut point = vec![4];
    point.extend(coordinate(&jwk.x, "x", 32)?);
    point.extend(coordinate(&jwk.y, "y", 32)?);
    Ok(point)
}

fn coordinate(value: &Option<String>, name: &str, bytes: usize) -> Result<Vec<u8>, String> {
    let value = value.as_deref().ok_or_else(|| format!("the JWK lacks `{name}`"))?;
    let decoded = B64
        .decode(value)
        .map_err(|_| format!("the JWK's `{name}` is not base64url (no padding)"))?;
    if decoded.len() != bytes {
        return Err(format!("the JWK's `{name}` is {} bytes, {bytes} expected", decoded.len()));
    }
    Ok(decoded)
}

fn checked_kid(kid: String) -> Result<String, String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    if kid.is_empty() || kid.chars().count() > IDENTITY_KID_CHARS_MAX || !kid.chars().all(fine) {
        return Err(format!(
            "the JWK's kid must be 1 to {IDENTITY_KID_CHARS_MAX} letters, digits, `-`, `_` or `.`; change or drop it"
        ));
    }
    Ok(kid)
}
