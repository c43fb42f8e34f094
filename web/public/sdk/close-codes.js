// What a close code means for the client (docs/protocol.md, "Close codes"), and how to read a
// close reason. The range decides, so a client needs no table of every code; the ranges are
// porch-wire's (wire.gen.js).

import { ERRORS, RECONNECT_RULES } from './wire.gen.js';

/** @typedef {import('./backoff.js').CloseClass} CloseClass */

/**
 * @param {number} code the CloseEvent's code
 * @returns {CloseClass}
 */
export function classifyClose(code) {
  // 4002: the token expired (or is not yet valid). A refreshed token fixes the first case;
  // if refreshing fails, the caller turns this into terminal.
  if (code === ERRORS.token_expired.close) return 'refresh';
  const rule = RECONNECT_RULES.find(([first, last]) => code >= first && code <= last);
  // Otherwise (1006: network, or refused before the upgrade; 1011: server bug; 1001, 1005,
  // 1000 from the server; 41xx; unknown codes) the server may be back soon.
  return rule ? rule[2] : 'backoff';
}

/**
 * Splits a Porch close reason `code: cause and fix [ref abc123]`.
 * @param {string} reason
 * @returns {{code: string | null, message: string, ref: string | null}}
 */
export function parseReason(reason) {
  const text = String(reason ?? '');
  const m = /^([a-z][a-z0-9_]*): ([\s\S]*?)(?: \[ref ([A-Za-z0-9]+)\])?$/.exec(text);
  if (!m) return { code: null, message: text, ref: null };
  return { code: m[1], message: m[2], ref: m[3] ?? null };
}

/**
 * A description of a close with no Porch reason, so the user never reads a bare
 * "connection failed": it says what the code means and what happens next.
 * @param {number} code
 * @param {string} host where we tried to connect (never the URL's query: no tokens there, but
 *   no reason to show it either)
 */
export function describeBareClose(code, host) {
  switch (code) {
    case 1006:
      return `lost the connection to ${host} (close 1006: network failure, server down or restarting, or the upgrade was refused before it began)`;
    case 1001:
      return `${host} is going away (close 1001)`;
    case 1011:
      return `${host} hit an internal error (close 1011); the reference is in the server log`;
    case 1000:
    case 1005:
      return `${host} closed the connection (close ${code}) without a reason`;
    default:
      return `the connection to ${host} closed with code ${code} and no reason`;
  }
}
