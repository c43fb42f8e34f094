//! Identifiers and secrets.
//!
//! Ids are a short type prefix and 128 random bits in lowercase Crockford base32, e.g.
//! `gst_0v8k5s1j3qk7m2n4p6r8t0w2y4`. The prefix lets a person (and `porch doctor`) tell a
//! guest id from a conversation id at a glance; the random part makes ids unguessable, so an
//! id never doubles as a credential by accident but also never leaks one's neighbours.

/// Crockford's base32 alphabet: no I, L, O, U, so ids survive being read aloud.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Fills `buf` from the operating system's CSPRNG.
///
/// Panics if the OS has no entropy source: nothing in Porch can be safe without one, so this
/// is a crash, not an error to handle.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system must provide random bytes");
    buf
}

/// Encodes bytes as lowercase Crockford base32 (no padding).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A new id with the given prefix, e.g. `new_id("gst")`.
pub fn new_id(prefix: &str) -> String {
    debug_assert!(prefix.len() == 3 && prefix.bytes().all(|b| b.is_ascii_lowercase()));
    format!("{prefix}_{}", base32(&random_bytes::<16>()))
}

/// A new secret: 256 random bits, base32. Shown once, stored only as a hash.
pub fn new_secret(prefix: &str) -> String {
    format!("{prefix}_{}", base32(&random_bytes::<32>()))
}

/// Id prefixes, one per kind of thing.
pub mod prefix {
    pub const CLIENT: &str = "cli";
    pub const DEPLOYMENT: &str = "dep";
    pub const AGENT: &str = "agt";
    /// A bot of a deployment (docs/bots.md). Its entries are stored with this prefix.
    pub const BOT: &str = "bot";
    pub const GUEST: &str = "gst";
    pub const CONVERSATION: &str = "cnv";
    pub const MESSAGE: &str = "msg";
    /// The idempotency key of a system entry (`clientMessageId` in the store, never shown).
    pub const SYSTEM_ENTRY: &str = "sys";
    pub const NOTICE: &str = "ntc";
    pub const SESSION: &str = "ses";
    pub const KEY: &str = "key";
    /// An identity key registered on a deployment (issue 20).
    pub const IDENTITY_KEY: &str = "idk";
    pub const TOKEN: &str = "tok";
    pub const SECRET: &str = "sec";
    pub const WEBHOOK_ENDPOINT: &str = "whe";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_prefix_and_26_base32_chars() {
        let id = new_id(prefix::GUEST);
        let (p, rest) = id.split_once('_').unwrap();
        assert_eq!(p, "gst");
        assert_eq!(rest.len(), 26);
        assert!(rest.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(new_id(prefix::GUEST), id);
    }

    #[test]
    fn base32_matches_known_vectors() {
        assert_eq!(base32(&[]), "");
        assert_eq!(base32(&[0xff]), "zw");
        assert_eq!(base32(&[0, 0, 0, 0, 0]), "00000000");
    }
}
