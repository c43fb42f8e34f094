//! Checking a secret: the one path for client credentials (token endpoint, introspection)
//! and agent sign-in, with brute-force throttling and a bound on concurrent Argon2 work.
//!
//! Order matters:
//! 1. Refuse at once if the address or the account has spent its failures for the minute
//!    (`auth_failures_per_*_per_min`), before any hashing: a locked-out guesser costs nothing.
//! 2. Wait for one of `password_checks_concurrent_max` permits, at most
//!    `PASSWORD_CHECK_WAIT_MS`: Argon2id takes 19 MiB and tens of milliseconds, so unbounded
//!    parallel checks would let a sign-in flood take the memory and starve the gateway.
//! 3. Verify (off the async workers), and charge a failure to both the address and account.
//!
//! An unknown account is checked against a throwaway hash (`verify_maybe`) and charged like a
//! wrong secret, so neither timing nor throttling tells which accounts exist.

use std::net::IpAddr;
use std::time::Duration;

use porch_core::limits::{PASSWORD_CHECK_WAIT_MS, UNAVAILABLE_RETRY_AFTER_MS};
use porch_wire::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// Who is signing in: the address (when known) and the account name they claim.
pub struct Attempt<'a> {
    pub ip: Option<IpAddr>,
    pub account: &'a str,
}

/// True when `secret` matches `hash` (`None`: no such account). Errors are refusals to check
/// at all: `rate_limited` with the wait.
pub async fn check_secret(
    state: &AppState,
    attempt: &Attempt<'_>,
    secret: &str,
    hash: Option<String>,
) -> Result<bool, ApiError> {
    let throttles = &state.throttles;
    if let Some(ip) = attempt.ip {
        throttles.auth_failures_per_ip.check(&ip).map_err(|l| {
            ApiError::rate_limited(
                l,
                "too many failed sign-ins from this address (auth_failures_per_ip_per_min)",
            )
        })?;
    }
    // The account name is the caller's claim: bound its length so the table stays small.
    let account: String = attempt.account.chars().take(128).collect();
    throttles.auth_failures_per_account.check(&account).map_err(|l| {
        ApiError::rate_limited(
            l,
            "too many failed sign-ins for this account (auth_failures_per_account_per_min)",
        )
    })?;
    let wait = Duration::from_millis(PASSWORD_CHECK_WAIT_MS);
    let permit = tokio::time::timeout(wait, state.password_checks.clone().acquire_owned())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| ApiError {
            code: ErrorCode::RateLimited,
            message: "too many sign-ins at once (password_checks_concurrent_max); retry in 1 s"
                .into(),
            retry_after_ms: Some(UNAVAILABLE_RETRY_AFTER_MS),
        })?;
    let secret = secret.to_string();
    let matches = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        porch_core::secret::verify_maybe(&secret, hash.as_deref())
    })
    .await
    .unwrap_or(false);
    if !matches {
        if let Some(ip) = attempt.ip {
            let _ = throttles.auth_failures_per_ip.take(&ip);
        }
        let _ = throttles.auth_failures_per_account.take(&account);
    }
    Ok(matches)
}
