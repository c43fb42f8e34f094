// When to refresh an access token. `ready.tokenExpiresInMs` is measured on the server's
// clock, so scheduling from it needs no trust in the browser's clock (handshake.md, "Clock
// skew and refresh").

/** Refresh no earlier than this after we learnt the lifetime: a server handing out very short
 * tokens must not make the client refresh in a tight loop. */
export const REFRESH_MIN_DELAY_MS = 1_000;
/** The safety margin before expiry: a fifth of the lifetime, between these bounds. A margin
 * leaves time to retry a failed refresh before the server closes with 4002. */
export const REFRESH_MARGIN_MIN_MS = 5_000;
export const REFRESH_MARGIN_MAX_MS = 5 * 60_000;

/**
 * @param {number} expiresInMs the token's remaining lifetime
 * @returns {number} milliseconds from now until the refresh
 */
export function refreshDelay(expiresInMs) {
  const margin = Math.min(REFRESH_MARGIN_MAX_MS, Math.max(REFRESH_MARGIN_MIN_MS, expiresInMs / 5));
  return Math.max(REFRESH_MIN_DELAY_MS, Math.floor(expiresInMs - margin));
}

/** How long to wait before retrying a refresh that failed for a reason that may pass
 * (network, 5xx): a tenth of what is left, at least 1 s, so several tries fit before expiry. */
export function refreshRetryDelay(expiresInMs) {
  return Math.max(REFRESH_MIN_DELAY_MS, Math.floor(expiresInMs / 10));
}
