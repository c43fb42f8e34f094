// Every failure the SDK reports is a PorchError carrying the server's own code and its
// cause-and-fix message (docs/api.md "Errors", docs/protocol.md "Close codes"), so a UI can
// show why and what to do, never a bare "connection failed".

import { ERRORS } from './wire.gen.js';

export class PorchError extends Error {
  /**
   * @param {object} init
   * @param {string} init.code a code of the protocol.md table, or one of the SDK's:
   *   `network` (Porch unreachable), `session_missing`, `ended`, `bad_response`, `csp_blocked`
   *   (the page's Content-Security-Policy blocks Porch)
   * @param {string} init.message cause and fix, without the `[ref …]`
   * @param {string | null} [init.ref] the reference in the server's log
   * @param {number} [init.status] HTTP status, for REST failures
   * @param {number} [init.closeCode] WebSocket close code, for closes
   * @param {string} [init.clientMessageId] the send this error is about
   * @param {boolean} [init.fatal] true when the SDK stopped because of it
   * @param {number | null} [init.retryInMs] when the SDK tries again, if it does
   */
  constructor({ code, message, ref = null, status, closeCode, clientMessageId, fatal = false, retryInMs = null }) {
    super(`${code}: ${message}${ref ? ` [ref ${ref}]` : ''}`);
    this.name = 'PorchError';
    this.code = code;
    this.detail = message;
    this.ref = ref;
    this.status = status;
    this.closeCode = closeCode;
    this.clientMessageId = clientMessageId;
    this.fatal = fatal;
    this.retryInMs = retryInMs;
  }
}

/**
 * Whether a failed send should stay in the outbox to be retried: porch-wire's `retryable`
 * for Porch's codes (wire.gen.js); the SDK's own (`network`, `bad_response`) may pass.
 * @param {string} code
 */
export function isRetryableSendError(code) {
  return /** @type {Record<string, {retryable: boolean}>} */ (ERRORS)[code]?.retryable ?? true;
}

/**
 * Reads a refusal's JSON body `{error, error_description, error_ref}`.
 * @param {Response} res
 * @param {string} what e.g. `POST /api/v2/webmessaging/guests/token`, for bodies that are not Porch's
 */
export async function errorFromResponse(res, what) {
  const text = await res.text().catch(() => '');
  let body = null;
  try { body = JSON.parse(text); } catch { /* a proxy's HTML page, say */ }
  if (body && typeof body.error === 'string') {
    const split = /^(.*?)(?: \[ref ([A-Za-z0-9]+)\])?$/.exec(String(body.error_description ?? ''));
    // Rate limits and `*_unavailable` say when to come back, in whole seconds.
    const retryAfterSecs = Number(res.headers?.get?.('retry-after'));
    return new PorchError({
      code: body.error,
      message: split?.[1] || body.error,
      ref: body.error_ref ?? split?.[2] ?? null,
      status: res.status,
      retryInMs: retryAfterSecs > 0 ? retryAfterSecs * 1000 : null,
    });
  }
  const shown = text.replace(/\s+/g, ' ').slice(0, 120);
  return new PorchError({
    code: 'bad_response',
    message: `${what} answered HTTP ${res.status} without a Porch error body${shown ? ` (${shown})` : ''}; is a proxy in the way?`,
    status: res.status,
  });
}
