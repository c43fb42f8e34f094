//! `porch keys retire`: removes the signing keys no valid token can still use
//! (`porch_core::token::retire` decides which), and says when the others can go.

use anyhow::Result;
use porch_core::limits::{AGENT_TOKEN_TTL_SECS, CLIENT_TOKEN_TTL_SECS, GUEST_TOKEN_TTL_SECS};
use porch_core::token::retire::retirements;
use serde_json::json;

use crate::settings::{StoreArgs, load_file, open_store};

/// The longest lifetime a token may have had: the largest of the defaults, the config file's
/// limits, the `PORCH_*_TOKEN_TTL_SECS` variables, every deployment's guest token lifetime and
/// `given` (servers started with larger flags). Larger is safe: a key only waits longer.
fn longest_token_ttl_secs(
    limits: &porch_core::limits::Limits,
    guest_ttls: &[u64],
    given: Option<u64>,
) -> u64 {
    let from_env = ["PORCH_CLIENT_TOKEN_TTL_SECS", "PORCH_AGENT_TOKEN_TTL_SECS"]
        .iter()
        .filter_map(|name| std::env::var(name).ok()?.trim().parse::<u64>().ok());
    [
        CLIENT_TOKEN_TTL_SECS,
        AGENT_TOKEN_TTL_SECS,
        GUEST_TOKEN_TTL_SECS,
        limits.client_token_ttl_secs,
        limits.agent_token_ttl_secs,
        given.unwrap_or(0),
    ]
    .into_iter()
    .chain(from_env)
    .chain(guest_ttls.iter().copied())
    .max()
    .unwrap_or(AGENT_TOKEN_TTL_SECS)
}

/// The largest clock skew a server may tolerate, found the same way.
fn leeway_secs(limits: &porch_core::limits::Limits) -> u64 {
    let from_env =
        std::env::var("PORCH_TOKEN_LEEWAY_SECS").ok().and_then(|v| v.trim().parse().ok());
    [porch_core::limits::TOKEN_LEEWAY_SECS, limits.token_leeway_secs, from_env.unwrap_or(0)]
        .into_iter()
        .max()
        .unwrap_or(porch_core::limits::TOKEN_LEEWAY_SECS)
}

pub async fn run(args: &StoreArgs, token_ttl_secs: Option<u64>, as_json: bool) -> Result<()> {
    let store = open_store(args).await?;
    let limits = load_file(args.config.as_deref())?.limits;
    let guest_ttls: Vec<u64> =
        store.deployments().await?.iter().map(|d| d.guest_token_ttl_secs).collect();
    let longest = longest_token_ttl_secs(&limits, &guest_ttls, token_ttl_secs);
    let keys = store.signing_keys().await?;
    let now_ms = porch_core::time::now_ms();
    let (mut retired, mut waiting) = (Vec::new(), Vec::new());
    for plan in retirements(&keys, longest, leeway_secs(&limits)) {
        if plan.retirable_at_ms > now_ms {
            waiting.push(plan);
        } else if store.remove_signing_key(&plan.kid).await? {
            retired.push(plan.kid);
        }
    }
    if as_json {
        let waiting: Vec<_> = waiting
            .iter()
            .map(|w| json!({ "kid": w.kid, "retirableAtMs": w.retirable_at_ms }))
            .collect();
        println!(
            "{}",
            json!({ "retired": retired, "waiting": waiting, "longestTokenTtlSecs": longest })
        );
        return Ok(());
    }
    for kid in &retired {
        println!("retired {kid}: no token it signed can still be valid");
    }
    for w in &waiting {
        let secs = (w.retirable_at_ms - now_ms) / 1000 + 1;
        println!(
            "kept {}: tokens it signed may be valid for {secs} s more; run this again then",
            w.kid
        );
    }
    if retired.is_empty() && waiting.is_empty() {
        println!(
            "nothing to retire: only the signing key is left (`porch keys rotate` adds a new one)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_lifetime_is_the_largest_known() {
        let limits = porch_core::limits::Limits::default();
        assert_eq!(longest_token_ttl_secs(&limits, &[], None), AGENT_TOKEN_TTL_SECS);
        assert_eq!(longest_token_ttl_secs(&limits, &[86_400], None), 86_400);
        assert_eq!(longest_token_ttl_secs(&limits, &[], Some(100_000)), 100_000);
        let long = porch_core::limits::Limits { client_token_ttl_secs: 50_000, ..limits };
        assert_eq!(longest_token_ttl_secs(&long, &[60], Some(10)), 50_000);
    }
}
