//! When a signing key may leave the store: once no token it signed can still be accepted.
//!
//! The newest key signs; a key stops signing when a newer one is added, at the latest once
//! every node has re-read the keys (`KEY_REFRESH_MS`). A token it signed then lives at most the
//! longest token lifetime, and is accepted `leeway` past its `exp`. Retiring a key earlier
//! would refuse tokens that are still valid (`token_key_unknown`); never retiring keeps every
//! old key able to verify forever.

use super::SigningKey;
use crate::limits::KEY_REFRESH_MS;

/// A key other than the newest, and the first instant it may be removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retirement {
    pub kid: String,
    pub retirable_at_ms: i64,
}

/// Every key but the newest, oldest first, with when it may be retired, given the longest
/// lifetime any token has had (`longest_token_ttl_secs`) and the clock skew tolerated
/// (`leeway_secs`).
pub fn retirements(
    keys: &[SigningKey],
    longest_token_ttl_secs: u64,
    leeway_secs: u64,
) -> Vec<Retirement> {
    let mut keys: Vec<&SigningKey> = keys.iter().collect();
    keys.sort_by(|a, b| (a.created_at_ms, &a.kid).cmp(&(b.created_at_ms, &b.kid)));
    let lifetime_ms = i64::try_from(longest_token_ttl_secs.saturating_add(leeway_secs))
        .unwrap_or(i64::MAX / 2)
        .saturating_mul(1000);
    keys.windows(2)
        .map(|pair| {
            let last_signed_ms = pair[1].created_at_ms.saturating_add(KEY_REFRESH_MS as i64);
            Retirement {
                kid: pair[0].kid.clone(),
                retirable_at_ms: last_signed_ms.saturating_add(lifetime_ms),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created_at_ms: i64) -> SigningKey {
        SigningKey { kid: kid.into(), secret: vec![0; 32], created_at_ms }
    }

    #[test]
    fn a_key_retires_after_its_successor_plus_refresh_lifetime_and_leeway() {
        // Out of order on purpose: the order is by creation.
        let keys = [key("key_c", 50_000), key("key_a", 0), key("key_b", 10_000)];
        let plan = retirements(&keys, 3_600, 30);
        let after = |successor_ms: i64| successor_ms + KEY_REFRESH_MS as i64 + 3_630_000;
        assert_eq!(
            plan,
            vec![
                Retirement { kid: "key_a".into(), retirable_at_ms: after(10_000) },
                Retirement { kid: "key_b".into(), retirable_at_ms: after(50_000) },
            ],
            "the newest key (key_c) is never retired"
        );
        assert_eq!(retirements(&[key("key_only", 0)], 3_600, 30), vec![]);
        assert_eq!(retirements(&[], 3_600, 30), vec![]);
    }
}
