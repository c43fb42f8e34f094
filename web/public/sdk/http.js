// REST calls to Porch. Tokens travel only in the Authorization header, never in a URL
// (URLs end up in logs), and never in an error message.

import { PorchError, errorFromResponse } from './errors.js';
import { PATHS } from './wire.gen.js';

export const REQUEST_TIMEOUT_MS = 15_000;
export const GATEWAY_PATH = PATHS.gateway;

/**
 * A path of porch-wire's (`PATHS`) with its `{name}` parts filled in, each URL-encoded.
 * @param {string} template e.g. `PATHS.widgetGuests`
 * @param {Record<string, string>} params e.g. `{ deployment_id: 'dep_1' }`
 */
export function fillPath(template, params) {
  return template.replace(/\{([a-z_]+)\}/g, (_, name) => encodeURIComponent(params[name] ?? ''));
}

/**
 * The REST base URL behind a gateway URL: `wss://chat.example/porch/api/v2/gateway` →
 * `https://chat.example/porch`. Both follow the server's public URL (api.md), so one can be
 * derived from the other.
 * @param {string} gatewayUrl
 */
export function baseUrlFromGateway(gatewayUrl) {
  const url = new URL(gatewayUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  const path = url.pathname.endsWith(GATEWAY_PATH) ? url.pathname.slice(0, -GATEWAY_PATH.length) : '';
  return `${url.origin}${path}`;
}

/**
 * `https://chat.example/porch/` and `https://chat.example/porch` are the same base.
 * @param {string} baseUrl
 */
export function trimBase(baseUrl) {
  return String(baseUrl).replace(/\/+$/, '');
}

/**
 * One JSON request. Resolves with the parsed body; rejects with a PorchError that carries the
 * server's code and message, or `network` when Porch could not be reached at all.
 * @param {typeof fetch} fetchFn
 * @param {string} baseUrl
 * @param {string} method
 * @param {string} path
 * @param {{token?: string, json?: unknown, timeoutMs?: number}} [options]
 */
export async function request(fetchFn, baseUrl, method, path, { token, json, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const url = `${trimBase(baseUrl)}${path}`;
  const what = `${method} ${path.split('?')[0]}`;
  let res;
  try {
    res = await fetchFn(url, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      // Cookies are not how Porch authenticates; sending none keeps CORS simple.
      credentials: 'omit',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (caught) {
    const e = /** @type {Error | undefined} */ (caught);
    const why = e?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e?.message || String(e));
    throw new PorchError({
      code: 'network',
      message: `${what} could not reach Porch at ${new URL(url).host} (${why}); check the network, that the page's origin is allowed, and that its Content-Security-Policy connect-src includes ${new URL(url).origin} (a CORS or CSP refusal looks the same to page script)`,
    });
  }
  if (!res.ok) throw await errorFromResponse(res, what);
  try {
    return await res.json();
  } catch {
    throw new PorchError({ code: 'bad_response', message: `${what} answered ${res.status} with a body that is not JSON`, status: res.status });
  }
}
