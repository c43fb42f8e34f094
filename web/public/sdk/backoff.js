// Reconnect timing. Pure functions: the connection passes in what happened, these say how
// long to wait. Kept apart so Node tests can check the numbers without a socket.

/** @typedef {'terminal' | 'refresh' | 'backoff' | 'immediate'} CloseClass */

/** Defaults: the first retry within 0.5 s, never more than 30 s between tries. */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;
/** protocol.md: after a 41xx close, wait at least 1 s. */
export const BACKOFF_41XX_MIN_MS = 1_000;
/** A connection that lived less than this before an "immediate" close is flapping: back off
 * instead, or a server that closes each session at once would be hammered in a tight loop. */
export const IMMEDIATE_MIN_UPTIME_MS = 2_000;
/** protocol.md: after a 42xx close (this node is going away: reconnect, to any node), the
 * first try waits a uniform draw in [0, this). A node draining 10,000 guests would otherwise
 * land them all on the other nodes in the same millisecond; over 3 s they arrive at about
 * 3,300 a second, within what one node resumes (BENCHMARKS.md, S2 and S5). */
export const RECONNECT_SPREAD_MS = 3_000;

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): a uniform draw in [0, min(cap, base * 2^attempt)). Full jitter spreads a crowd of
 * clients that lost the same server, so they do not all come back in the same millisecond.
 * @param {number} attempt 0 for the first retry
 * @param {{baseMs?: number, capMs?: number, random?: () => number}} [options]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS, random = Math.random } = {}) {
  // 2^attempt overflows to Infinity for huge attempts; min() keeps the ceiling finite.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

/**
 * How long to wait before the next connection attempt.
 * @param {object} input
 * @param {CloseClass} input.kind how the last connection ended (see close-codes.js)
 * @param {number} input.attempt retries since the last good session (0 = first)
 * @param {number} [input.closeCode]
 * @param {number} [input.uptimeMs] how long the last connection was open (0 if it never opened)
 * @param {{baseMs?: number, capMs?: number, spreadMs?: number, random?: () => number}} [options]
 * @returns {number | null} milliseconds, or null for "do not reconnect"
 */
export function reconnectDelay({ kind, attempt, closeCode = 0, uptimeMs = 0 }, options = {}) {
  if (kind === 'terminal') return null;
  const settled = attempt === 0 && uptimeMs >= IMMEDIATE_MIN_UPTIME_MS;
  // A 4002 is this session's own token running out: nobody else reconnects with it.
  if (kind === 'refresh' && settled) return 0;
  if (kind === 'immediate' && settled) {
    const { spreadMs = RECONNECT_SPREAD_MS, random = Math.random } = options;
    return Math.floor(random() * spreadMs);
  }
  const delay = backoffDelay(attempt, options);
  if (closeCode >= 4100 && closeCode <= 4199) return Math.max(BACKOFF_41XX_MIN_MS, delay);
  return delay;
}

/**
 * How long to wait before asking for a session again after `error` (the widget endpoint's
 * `POST …/guests` failed), or null when asking again cannot help: a refusal such as a wrong
 * origin, an unknown or disabled deployment, or a bad request. Porch unreachable (`network`),
 * a server or proxy error (5xx) and `rate_limited` pass; the server's `Retry-After`, when it
 * gave one, is the least wait.
 * @param {{code: string, status?: number, retryInMs?: number | null, fatal?: boolean}} error
 * @param {number} attempt 0 for the first retry
 * @param {{baseMs?: number, capMs?: number, random?: () => number}} [options]
 * @returns {number | null}
 */
export function sessionRetryDelay(error, attempt, options = {}) {
  const passing = error.code === 'network' || error.code === 'rate_limited' || (error.status ?? 0) >= 500;
  if (!passing || error.fatal) return null;
  return Math.max(backoffDelay(attempt, options), error.retryInMs ?? 0);
}
