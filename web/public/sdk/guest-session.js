// Getting a guest session without a backend (the widget endpoint), checking that a page can
// use Porch at all, and the session's shape. Kept apart from guest.js, which runs the session.

import { sessionRetryDelay } from './backoff.js';
import { withContext } from './context.js';
import { cspError, wasBlocked } from './csp.js';
import { PorchError } from './errors.js';
import { fillPath, request, trimBase } from './http.js';
import { gatewayUrlOf, probeGateway } from './probe.js';
import { applyFreshToken } from './refresh.js';
import { LIMITS, PATHS } from './wire.gen.js';

/** Porch accepts a token up to `token_leeway_secs` (30 s) past `exp`; a saved one older than that is dead. */
const TOKEN_LEEWAY_MS = LIMITS.tokenLeewaySecs * 1000;

/** @param {string} id */
export const widgetGuestsPath = (id) => fillPath(PATHS.widgetGuests, { deployment_id: id });
/** @param {string} id */
export const widgetConfigPath = (id) => fillPath(PATHS.widgetConfig, { deployment_id: id });

/**
 * Creates a session at the widget endpoint. While Porch cannot be reached (or answers a 5xx
 * or `rate_limited`) it tries again after a backoff, as a dropped socket does, so a message
 * written meanwhile is sent once Porch is back: one try per `capMs` (30 s) at most, until
 * `isEnded()`; `pause` is cut short when the browser comes back online. A refusal (wrong
 * origin, unknown or disabled deployment, a policy that blocks Porch) is final: it rejects.
 * @param {object} o
 * @param {typeof fetch} o.fetch
 * @param {string} o.baseUrl
 * @param {string} o.deploymentId
 * @param {object | (() => object)} [o.guest] the body (displayName, email, attributes), or
 *   what returns it when the session is created
 * @param {import('./porch.js').BackoffOptions} [o.backoff]
 * @param {Pause} o.pause
 * @param {() => boolean} o.isEnded
 * @param {(attempt: number, error: PorchError | null) => void} o.onTry before each try; with
 *   the error (its `retryInMs` set) before each wait
 * @returns {Promise<object>} the session as Porch returned it
 */
export async function createSession(o) {
  const path = widgetGuestsPath(o.deploymentId);
  const url = `${trimBase(o.baseUrl)}${path}`;
  for (let attempt = 0; ; attempt += 1) {
    if (o.isEnded()) throw ended();
    if (attempt === 0) o.onTry(0, null);
    try {
      const body = typeof o.guest === 'function' ? o.guest() : o.guest;
      return await request(o.fetch, o.baseUrl, 'POST', path, { json: withContext(body) });
    } catch (caught) {
      const e = /** @type {PorchError} */ (caught);
      if (o.isEnded()) throw ended();
      if (wasBlocked(url)) throw cspError([url]);
      const delay = sessionRetryDelay(e, attempt, o.backoff);
      if (delay === null) throw e;
      e.retryInMs = delay;
      o.onTry(attempt + 1, e);
      await o.pause.for(delay);
    }
  }
}

/**
 * Checks, before there is a session, that this page can use Porch: reads the widget endpoint
 * (the deployment exists, is enabled and lists this page's origin) and probes the gateway (a
 * Content-Security-Policy may block WebSockets to Porch and allow its HTTP, or the reverse).
 * Resolves with `{ notice }`; rejects with the server's refusal, `csp_blocked`, or `network`.
 * @param {{baseUrl: string, deploymentId: string, WebSocket: any, peekNotice: () => Promise<any>}} o
 */
export async function checkPage(o) {
  const gatewayUrl = gatewayUrlOf(o.baseUrl);
  const widgetUrl = `${trimBase(o.baseUrl)}${widgetConfigPath(o.deploymentId)}`;
  let notice;
  try {
    notice = await o.peekNotice();
  } catch (caught) {
    const e = /** @type {PorchError} */ (caught);
    if (e.code !== 'network') throw e;
    // A policy block and an unreachable Porch look alike to fetch; the probe tells them
    // apart, and gives the fetch's violation event the time to arrive.
    await probeGateway(o.WebSocket, gatewayUrl).catch(() => {});
    throw wasBlocked(widgetUrl) ? cspError([widgetUrl, gatewayUrl]) : e;
  }
  await probeGateway(o.WebSocket, gatewayUrl);
  return { notice };
}

/**
 * The widget endpoint's options, which the calls made before any session need.
 * @param {{baseUrl?: string, deploymentId?: string}} options the PorchGuest's
 * @param {string} what the call, for the message
 */
export function widgetEndpoint({ baseUrl, deploymentId }, what) {
  if (!baseUrl || !deploymentId) {
    throw new PorchError({ code: 'session_missing', message: `${what} reads the widget endpoint: pass \`baseUrl\` and \`deploymentId\` to new PorchGuest()` });
  }
  return { baseUrl, deploymentId };
}

/**
 * The widget endpoint's answer (api.md), before there is a session: the deployment's notice,
 * and its welcome (the operator's greeting, usual reply time and offline form, and whether
 * someone can answer now). A server that does not say counts as someone there: no form.
 * @param {typeof fetch} fetchFn
 * @param {{baseUrl?: string, deploymentId?: string}} opt
 * @returns {Promise<{notice: any, welcome: import('./porch.js').Welcome}>}
 */
export async function readWidgetConfig(fetchFn, opt) {
  const { baseUrl, deploymentId } = widgetEndpoint(opt, 'peekNotice()');
  const config = await request(fetchFn, baseUrl, 'GET', widgetConfigPath(deploymentId));
  const welcome = {
    greeting: config?.greeting ?? null,
    replyWithinMins: config?.replyWithinMins ?? null,
    offlineForm: config?.offlineForm === true,
    agentsAvailable: config?.agentsAvailable !== false,
  };
  return { notice: config?.notice ?? null, welcome };
}

/** A wait that can be cut short: by `wake()` (the client ended) or the browser going online. */
export class Pause {
  constructor() {
    /** @type {(() => void) | null} */
    this._done = null;
  }

  /** @param {number} ms */
  for(ms) {
    return new Promise(/** @param {(value?: void) => void} resolve */ (resolve) => {
      const done = () => {
        clearTimeout(timer);
        globalThis.removeEventListener?.('online', done);
        this._done = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      globalThis.addEventListener?.('online', done);
      this._done = done;
    });
  }

  wake() {
    this._done?.();
  }
}

/**
 * The fields of a guest session the SDK keeps (api.md, GuestSession).
 * @param {any} s what the customer's backend or the widget endpoint returned
 */
export function normalize(s) {
  for (const field of ['gatewayUrl', 'accessToken']) {
    if (typeof s?.[field] !== 'string' || !s[field]) {
      throw new PorchError({ code: 'session_missing', message: `the session has no ${field}: pass the object POST /api/v2/webmessaging/guests returned` });
    }
  }
  const expiresAtMs = Number.isFinite(s.expiresAtMs) ? s.expiresAtMs : Date.now() + (s.expiresIn ?? 3600) * 1000;
  return {
    gatewayUrl: s.gatewayUrl,
    accessToken: s.accessToken,
    expiresAtMs,
    guestId: s.guestId ?? s.guest?.id ?? null,
    conversationId: s.conversationId ?? null,
    deploymentId: s.deploymentId ?? null,
  };
}

/**
 * Which session to start with: the one given (or the saved one of the same guest, when it
 * lasts longer), else the saved one while usable, else none (create one, or give up).
 * `restored` is the saved record whose lastSeq and outbox carry over (an outbox saved before
 * any session carries over into the one created).
 * @param {ReturnType<typeof normalize> | null} given
 * @param {any} saved what SavedState holds
 * @returns {{session: ReturnType<typeof normalize> | null, restored: any}}
 */
export function pickSession(given, saved) {
  if (given && saved?.session?.guestId === given.guestId) {
    return { session: saved.session.expiresAtMs > given.expiresAtMs ? saved.session : given, restored: saved };
  }
  if (given) return { session: given, restored: null };
  if (saved?.session && usable(saved.session)) return { session: saved.session, restored: saved };
  // Written before any session existed (a reload while it was being created): the outbox goes
  // into the session created now.
  if (!saved?.session && saved?.outbox?.length) return { session: null, restored: saved };
  return { session: null, restored: null };
}

/** @param {{accessToken: unknown, expiresAtMs: number}} session */
export function usable(session) {
  return typeof session.accessToken === 'string' && session.expiresAtMs + TOKEN_LEEWAY_MS > Date.now();
}

export function closedError() {
  return new PorchError({ code: 'conversation_closed', message: 'the conversation is closed; start a new one (end({ forget: true }), then a new PorchGuest)' });
}

export function ended() {
  return new PorchError({ code: 'ended', message: 'the chat was ended on this page (end() was called)' });
}

/**
 * Moves a guest onto a session the server just returned for it (a fresh token, or the same
 * conversation made a customer's): kept, saved, and, with `reconnect`, handed to the live
 * connection (in place, else by reconnecting).
 * @param {import('./guest.js').PorchGuest} guest @param {unknown} session @param {boolean} reconnect
 */
export async function adoptSession(guest, session, reconnect) {
  const fresh = normalize(session);
  guest._session = { ...guest._session, ...fresh };
  guest._persist();
  const inPlace = reconnect && !guest._ended && await applyFreshToken(guest._conn, fresh.accessToken, guest._refresh);
  guest.emit('refresh', { expiresAtMs: fresh.expiresAtMs, inPlace });
}
