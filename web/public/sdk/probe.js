// Whether this page can reach Porch at all, before there is a session: the gateway's `?probe`
// (docs/handshake.md, H10). A socket is the only way to learn that the page's
// Content-Security-Policy blocks WebSockets to Porch while it allows its HTTP.

import { parseReason } from './close-codes.js';
import { cspError, wasBlocked } from './csp.js';
import { PorchError } from './errors.js';
import { GATEWAY_PATH } from './http.js';

/** A probe with no answer by then is left alone: the chat itself will try, and say why. */
export const PROBE_TIMEOUT_MS = 10_000;

/**
 * `https://chat.example/porch` → `wss://chat.example/porch/api/v2/gateway`.
 * @param {string} baseUrl
 */
export function gatewayUrlOf(baseUrl) {
  const url = new URL(`${String(baseUrl).replace(/\/+$/, '')}${GATEWAY_PATH}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * Opens `gatewayUrl?probe=1` with no credentials. Resolves when Porch answered (or did not
 * within `timeoutMs`: nothing is known then); rejects with `csp_blocked`, the server's
 * refusal (`origin_not_allowed`), or `network` when the socket failed without a policy block.
 * @param {any} WebSocketImpl
 * @param {string} gatewayUrl
 * @returns {Promise<void>}
 */
export function probeGateway(WebSocketImpl, gatewayUrl, timeoutMs = PROBE_TIMEOUT_MS) {
  const url = new URL(gatewayUrl);
  url.searchParams.set('probe', '1');
  return new Promise(/** @param {(value?: void) => void} resolve @param {(e: PorchError) => void} reject */ (resolve, reject) => {
    /** @type {any} */
    let socket;
    /** @param {PorchError | null} error */
    const finish = (error) => {
      clearTimeout(timer);
      if (socket) socket.onopen = socket.onerror = socket.onclose = null;
      try { socket?.close(); } catch { /* already closed */ }
      if (error) reject(error); else resolve();
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    try {
      socket = new WebSocketImpl(url.toString());
    } catch (e) {
      finish(new PorchError({ code: 'network', message: `a WebSocket to ${url.host} could not be created (${/** @type {Error | undefined} */ (e)?.name ?? 'Error'})` }));
      return;
    }
    // Chromium reports a policy block with an error event and no close event.
    socket.onerror = () => { if (wasBlocked(url.toString())) finish(cspError([url.toString()])); };
    socket.onclose = (/** @type {CloseEvent} */ e) => {
      if (e.code === 1000) return finish(null);
      if (wasBlocked(url.toString())) return finish(cspError([url.toString()]));
      const parsed = parseReason(e.reason);
      if (parsed.code) return finish(new PorchError({ code: parsed.code, message: parsed.message, ref: parsed.ref, closeCode: e.code }));
      finish(new PorchError({ code: 'network', message: `could not open a WebSocket to ${url.host} (close ${e.code})`, closeCode: e.code }));
    };
  });
}
