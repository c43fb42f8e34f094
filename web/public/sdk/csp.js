// A Content-Security-Policy that leaves Porch out of `connect-src` blocks requests inside the
// browser. Page script sees a bare "Failed to fetch", or a WebSocket that errors and never
// closes (Chromium), indistinguishable from Porch being down; only the document's
// `securitypolicyviolation` events say it was the policy. This keeps the latest of them so a
// failure can be explained, and retrying (which cannot help until the page changes) stopped.

import { PorchError } from './errors.js';

/** Violations kept: enough for the few URLs a client uses, bounded against a noisy page. */
export const VIOLATIONS_KEPT_MAX = 20;

/** @type {{url: URL, directive: string}[]} */
const seen = [];
let watching = false;

/** Starts listening (once per page; nothing to do outside a browser document). */
export function watchViolations() {
  const doc = globalThis.document;
  if (watching || !doc?.addEventListener) return;
  watching = true;
  doc.addEventListener('securitypolicyviolation', (e) => {
    let url;
    try { url = new URL(e.blockedURI); } catch { return; } // 'inline', 'eval': not ours
    seen.push({ url, directive: e.effectiveDirective || e.violatedDirective });
    if (seen.length > VIOLATIONS_KEPT_MAX) seen.shift();
  });
}

/**
 * Whether the page's policy blocked a request to `target`'s scheme, host and port (browsers
 * may report only the origin of a cross-origin URL, so the path is not compared).
 * @param {string} target
 */
export function wasBlocked(target) {
  let url;
  try { url = new URL(target); } catch { return false; }
  return seen.some((v) => v.url.protocol === url.protocol && v.url.host === url.host);
}

/**
 * The error for requests the policy blocked, naming what `connect-src` must add.
 * @param {string[]} targets the URLs tried (only the blocked ones are named)
 */
export function cspError(targets) {
  const blocked = [...new Set(targets.filter(wasBlocked).map((t) => new URL(t).origin))];
  return new PorchError({
    code: 'csp_blocked',
    message: `this page's Content-Security-Policy blocks ${blocked.join(' and ')}: add ${blocked.join(' ')} to its connect-src (the browser console names the policy's directive)`,
    fatal: true,
  });
}
