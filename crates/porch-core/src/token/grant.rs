//! Grants: short signed strings that carry one permission in a URL (an attachment's upload or
//! download, docs/attachments.md), so a browser can use the URL without a token and any node
//! can check it without a store read.
//!
//! A grant is `PAYLOAD.KID.MAC`: the payload (base64url JSON, the caller's type), the signing
//! key's id, and HMAC-SHA256 over the purpose and the payload. The purpose is signed but not
//! written, so a grant made for one use (upload) is refused for another (download). Grants
//! are signed with the same keys as tokens: rotating keys retires them too.

use base64::Engine as _;
use hmac::Mac as _;
use serde::{Serialize, de::DeserializeOwned};

use super::{B64, Keyring, mac};

/// Why a grant was refused. Said without the grant, which is a secret like a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantError {
    /// Not three parts, or the payload does not decode.
    Malformed,
    /// The key is unknown or the MAC does not match: altered, or made for another purpose.
    Forged,
}

impl Keyring {
    /// Signs `payload` for `purpose` with the newest key.
    pub fn grant<T: Serialize>(&self, purpose: &str, payload: &T) -> String {
        let (key, keyed) = self.signer();
        let body = B64.encode(serde_json::to_vec(payload).expect("payload serializes"));
        let tag = mac(keyed, &signed_bytes(purpose, &body)).finalize().into_bytes();
        format!("{body}.{}.{}", key.kid, B64.encode(tag))
    }

    /// The payload of a grant made by `grant` for the same purpose with a key of this ring.
    pub fn open_grant<T: DeserializeOwned>(
        &self,
        purpose: &str,
        grant: &str,
    ) -> Result<T, GrantError> {
        let mut parts = grant.split('.');
        let (Some(body), Some(kid), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(GrantError::Malformed);
        };
        let (_, keyed) = self.key(kid).ok_or(GrantError::Forged)?;
        let tag = B64.decode(tag).map_err(|_| GrantError::Forged)?;
        // Constant time: a forger learns nothing from how long a wrong MAC takes.
        mac(keyed, &signed_bytes(purpose, body))
            .verify_slice(&tag)
            .map_err(|_| GrantError::Forged)?;
        let json = B64.decode(body).map_err(|_| GrantError::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| GrantError::Malformed)
    }
}

fn signed_bytes(purpose: &str, body: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(purpose.len() + 1 + body.len());
    bytes.extend_from_slice(purpose.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::SigningKey;

    #[test]
    fn a_grant_opens_for_its_purpose_only_and_not_when_altered() {
        let ring = Keyring::new(vec![SigningKey::generate()]);
        let grant = ring.grant("upload", &("att_1", 42));
        assert_eq!(ring.open_grant::<(String, u32)>("upload", &grant), Ok(("att_1".into(), 42)));
        assert_eq!(ring.open_grant::<(String, u32)>("download", &grant), Err(GrantError::Forged));
        let other = Keyring::new(vec![SigningKey::generate()]);
        assert_eq!(other.open_grant::<(String, u32)>("upload", &grant), Err(GrantError::Forged));
        let forged = ring.grant("upload", &("att_2", 42));
        let (body, _) = forged.split_once('.').unwrap();
        let (_, rest) = grant.split_once('.').unwrap();
        let spliced = format!("{body}.{rest}");
        assert_eq!(ring.open_grant::<(String, u32)>("upload", &spliced), Err(GrantError::Forged));
        assert_eq!(ring.open_grant::<(String, u32)>("upload", "a.b"), Err(GrantError::Malformed));
    }
}
