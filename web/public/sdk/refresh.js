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
/** @param {number} expiresInMs */
export function refreshRetryDelay(expiresInMs) {
  return Math.max(REFRESH_MIN_DELAY_MS, Math.floor(expiresInMs / 10));
}

/**
 * Refreshes an access token before it expires, for guests and agents alike: once at
 * `refreshDelay`, then, after a failure that may pass (network, 429, 5xx), again at
 * `refreshRetryDelay` while time is left. Past the deadline, the server's 4002 close starts
 * the refresh instead (Porch still takes the token for its leeway).
 */
export class RefreshTimer {
  /**
   * @param {{ refresh: () => Promise<void>, onFatal: (e: import('./errors.js').PorchError) => void, onError: (e: import('./errors.js').PorchError) => void }} hooks
   *   `refresh` gets and stores a fresh token; `onFatal` gets a refusal that will not pass
   *   (the credentials are dead); `onError` one that may.
   */
  constructor(hooks) {
    this._hooks = hooks;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._timer = undefined;
  }

  /** @param {number} expiresInMs the token's remaining lifetime, from the server's `ready` */
  schedule(expiresInMs) {
    this.clear();
    if (!Number.isFinite(expiresInMs)) return;
    const deadline = Date.now() + expiresInMs;
    /** @param {number} delay */
    const attempt = (delay) => {
      this._timer = setTimeout(async () => {
        try {
          await this._hooks.refresh();
        } catch (caught) {
          const e = /** @type {import('./errors.js').PorchError} */ (caught);
          if (!mayPass(e)) return this._hooks.onFatal(e);
          this._hooks.onError(e);
          const left = deadline - Date.now();
          if (left > 0) attempt(refreshRetryDelay(left));
        }
      }, delay);
    };
    attempt(refreshDelay(expiresInMs));
  }

  clear() {
    clearTimeout(this._timer);
    this._timer = undefined;
  }
}

/** @param {import('./errors.js').PorchError} e */
function mayPass(e) {
  return e.code === 'network' || e.code === 'bad_response' || (e.status ?? 0) >= 429;
}
