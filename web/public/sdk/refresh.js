// When to refresh an access token. `ready.tokenExpiresInMs` is measured on the server's
// clock, so scheduling from it needs no trust in the browser's clock (handshake.md, "Clock
// skew and refresh"), and how a live connection takes the new token (protocol.md, "Refresh").

import { PorchError } from './errors.js';

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

/** How long a `refresh` frame may wait for its answer before the SDK reconnects instead. */
export const REFRESH_ANSWER_TIMEOUT_MS = 10_000;

/**
 * @typedef {{inPlace: true, expiresInMs: number} | {inPlace: false, error: import('./errors.js').PorchError | null}} RefreshOutcome
 *   `inPlace`: the live connection took the token (`refreshed`); otherwise `error` says why
 *   not (null when there was no live connection, or no answer in time).
 */

/**
 * The `refresh` frame of one connection (protocol.md, "Refresh"): hands the live socket a fresh
 * token and waits for `refreshed`. Its refusal is an `error` frame without `clientMessageId`;
 * while a refresh waits, such a frame is taken as its answer (at worst one meant for a `read`
 * or `accept` sent at that moment, and then the fallback, a reconnect, is merely not needed).
 */
export class LiveRefresh {
  constructor() {
    /** @type {{settle: (outcome: RefreshOutcome) => void, timer: ReturnType<typeof setTimeout>} | null} */
    this._waiting = null;
  }

  /**
   * @param {(frame: object) => boolean} send the connection's `send` (false: no live socket)
   * @param {string} token
   * @param {number} [timeoutMs]
   * @returns {Promise<RefreshOutcome>}
   */
  request(send, token, timeoutMs = REFRESH_ANSWER_TIMEOUT_MS) {
    this.cancel();
    if (!send({ type: 'refresh', token })) return Promise.resolve({ inPlace: false, error: null });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.cancel(), timeoutMs);
      this._waiting = { settle: resolve, timer };
    });
  }

  /**
   * Offers a frame from the socket; true when it was the refresh's answer (and is consumed).
   * @param {any} frame
   */
  answer(frame) {
    if (!this._waiting) return false;
    if (frame?.type === 'refreshed') {
      this._settle({ inPlace: true, expiresInMs: Number(frame.tokenExpiresInMs) });
      return true;
    }
    if (frame?.type === 'error' && frame.clientMessageId == null) {
      const split = /^(.*?)(?: \[ref ([A-Za-z0-9]+)\])?$/.exec(String(frame.message ?? ''));
      const error = new PorchError({ code: String(frame.code), message: split?.[1] ?? '', ref: split?.[2] ?? null });
      this._settle({ inPlace: false, error });
      return true;
    }
    return false;
  }

  /** The socket went away, or no answer came in time: the caller reconnects instead. */
  cancel() {
    this._settle({ inPlace: false, error: null });
  }

  /** @param {RefreshOutcome} outcome */
  _settle(outcome) {
    const waiting = this._waiting;
    this._waiting = null;
    if (!waiting) return;
    clearTimeout(waiting.timer);
    waiting.settle(outcome);
  }
}

/**
 * Moves a live session onto a fresh token: in place when the gateway takes it (then the
 * timer is scheduled from the new lifetime), else by reconnecting with it, the fallback that
 * works with any server.
 * @param {{refreshInPlace: (token: string) => Promise<RefreshOutcome>, reconnectNow: () => void} | null} conn
 * @param {string} token
 * @param {RefreshTimer} timer
 * @returns {Promise<boolean>} whether it happened in place
 */
export async function applyFreshToken(conn, token, timer) {
  if (!conn) return false;
  const outcome = await conn.refreshInPlace(token);
  if (outcome.inPlace) {
    timer.schedule(outcome.expiresInMs);
    return true;
  }
  conn.reconnectNow();
  return false;
}
