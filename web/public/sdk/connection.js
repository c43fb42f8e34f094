// One logical gateway connection over many sockets: opens the socket with the subprotocol
// pair, waits for `ready`, keeps it alive, and when it closes decides from the close code
// whether to stop, refresh the token, or reconnect (now or after a jittered backoff).
// Guests and agents share it; what a frame means is theirs to decide.

import { reconnectDelay } from './backoff.js';
import { classifyClose, describeBareClose, parseReason } from './close-codes.js';
import { cspError, wasBlocked, watchViolations } from './csp.js';
import { PorchError } from './errors.js';
import { LiveRefresh } from './refresh.js';
import { LIMITS, PROTOCOL_MARKER } from './wire.gen.js';

export const MARKER = PROTOCOL_MARKER;
/** A socket with no `ready` after this long is given up on (a silently dropped SYN can
 * otherwise hang for minutes). */
export const CONNECT_TIMEOUT_MS = 15_000;
/** The server's default; `ready.heartbeatIntervalMs` replaces it. */
const DEFAULT_HEARTBEAT_MS = LIMITS.heartbeatIntervalMs;

/** @typedef {'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'} ConnectionState */

export class Connection {
  /**
   * @param {object} o
   * @param {any} o.WebSocket the constructor (the browser's, or e.g. the `ws` package's)
   * @param {() => string} o.url the gateway URL to open now (with `afterSeq` for guests)
   * @param {() => string} o.token the access token to offer now
   * @param {(frame: any) => void} o.onReady
   * @param {(frame: any) => void} o.onFrame every other frame
   * @param {(state: ConnectionState, info: {retryInMs?: number, cause?: PorchError}) => void} o.onState
   * @param {(error: PorchError) => void} o.onError non-fatal ones say when the next try is
   * @param {(cause: PorchError) => Promise<void>} o.onExpired called on close 4002: get a new
   *   token or throw the PorchError that explains why not
   * @param {import('./porch.js').BackoffOptions} [o.backoff]
   * @param {number} [o.connectTimeoutMs]
   */
  constructor(o) {
    this._o = o;
    /** @type {ConnectionState} */
    this.state = 'idle';
    this._socket = null;
    this._attempt = 0;
    this._everOpen = false;
    this._readyAt = 0;
    this._lastHeardAt = 0;
    this._stopped = false;
    /** @type {Set<{name: string, timer: ReturnType<typeof setTimeout>}>} */
    this._timers = new Set();
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this._heartbeat = undefined;
    this._pingId = 0;
    this._refreshing = false;
    this._liveRefresh = new LiveRefresh();
    // Back online: no point waiting out the backoff.
    this._onOnline = () => { if (this.state === 'reconnecting' && !this._socket) this.reconnectNow(); };
  }

  start() {
    if (this._stopped || this.state !== 'idle') return;
    watchViolations();
    globalThis.addEventListener?.('online', this._onOnline);
    this._open();
  }

  /**
   * Sends a frame if a session is live; false otherwise (the caller keeps it for later).
   * @param {object} frame a client frame of protocol.md
   */
  send(frame) {
    if (this.state !== 'open' || this._socket?.readyState !== 1) return false;
    this._socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Hands the live socket a fresh token (a `refresh` frame); resolves with whether it took it.
   * @param {string} token
   */
  refreshInPlace(token) {
    return this._liveRefresh.request((frame) => this.send(frame), token);
  }

  /** Replaces the socket at once, e.g. after a token refresh: the next one uses the new token. */
  reconnectNow() {
    // While a 4002 refresh is under way, its end opens the next socket.
    if (this._stopped || this._refreshing) return;
    this._clearTimers();
    this._drop(1000, 'reconnecting');
    this._open();
  }

  /** Ends for good, closing with 1000. */
  stop(reason = 'client ended the session') {
    if (this._stopped) return;
    this._stopped = true;
    globalThis.removeEventListener?.('online', this._onOnline);
    this._clearTimers();
    this._drop(1000, reason);
    this._setState('closed');
  }

  get host() {
    try { return new URL(this._o.url()).host; } catch { return 'the gateway'; }
  }

  _open() {
    this._setState(this._everOpen || this._attempt > 0 ? 'reconnecting' : 'connecting');
    let socket;
    try {
      socket = new this._o.WebSocket(this._o.url(), [MARKER, this._o.token()]);
    } catch (e) {
      // The browser's message would quote the token: name the cause without it.
      this._fail(new PorchError({
        code: 'token_characters',
        message: `the WebSocket could not be created (${/** @type {{name?: string} | undefined} */ (e)?.name ?? 'Error'}): the gateway URL or the access token holds characters a subprotocol cannot; send accessToken exactly as Porch issued it`,
      }));
      return;
    }
    this._socket = socket;
    this._lastHeardAt = Date.now();
    socket.onmessage = (/** @type {MessageEvent} */ ev) => this._onMessage(socket, ev.data);
    socket.onclose = (/** @type {CloseEvent} */ ev) => this._onClose(socket, ev.code, ev.reason);
    // A close event follows with the code, except for a socket the page's CSP blocked
    // (Chromium fires no close then): retrying cannot help until the page changes.
    socket.onerror = () => {
      if (this._socket === socket && wasBlocked(socket.url ?? '')) {
        this._socket = null;
        this._fail(cspError([socket.url]));
      }
    };
    const timeoutMs = this._o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this._later(() => {
      if (this._socket !== socket || this._readyAt) return;
      this._drop(1000, 'no ready in time');
      this._lost(1006, new PorchError({ code: 'network', message: `no answer from ${this.host} within ${timeoutMs} ms`, closeCode: 1006 }), 0);
    }, timeoutMs, 'connect');
  }

  /** @param {WebSocket} socket @param {unknown} data */
  _onMessage(socket, data) {
    if (socket !== this._socket || typeof data !== 'string') return;
    this._lastHeardAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      this._o.onError(new PorchError({ code: 'bad_frame', message: `the gateway sent a frame that is not JSON: ${data.slice(0, 80)}` }));
      return;
    }
    if (frame?.type === 'ready') {
      this._readyAt = Date.now();
      this._attempt = 0;
      this._everOpen = true;
      this._clearTimer('connect');
      this._startHeartbeat(frame.heartbeatIntervalMs || DEFAULT_HEARTBEAT_MS);
      this._setState('open');
      this._o.onReady(frame);
    } else if (!this._liveRefresh.answer(frame)) {
      this._o.onFrame(frame);
    }
  }

  /** Browsers answer the server's pings without telling page script, so a dead link (no
   * RST, e.g. a laptop lid closed) is only seen by pinging ourselves and hearing nothing.
   * @param {number} intervalMs
   */
  _startHeartbeat(intervalMs) {
    clearInterval(this._heartbeat);
    this._heartbeat = setInterval(() => {
      const silentMs = Date.now() - this._lastHeardAt;
      if (silentMs > 2 * intervalMs + 5_000) {
        this._drop(1000, 'no answer to pings');
        const cause = new PorchError({ code: 'network', message: `nothing heard from ${this.host} for ${Math.round(silentMs / 1000)} s`, closeCode: 1006 });
        this._lost(1006, cause, Date.now() - this._readyAt);
        return;
      }
      this.send({ type: 'ping', id: `p-${(this._pingId += 1)}` });
    }, intervalMs);
  }

  /** @param {WebSocket} socket @param {number} code @param {string} reason */
  async _onClose(socket, code, reason) {
    if (socket !== this._socket) return; // one we dropped on purpose
    this._liveRefresh.cancel();
    const uptimeMs = this._readyAt ? Date.now() - this._readyAt : 0;
    this._socket = null;
    this._readyAt = 0;
    this._clearTimers();
    if (this._stopped) return;
    const parsed = parseReason(reason);
    const cause = new PorchError({
      code: parsed.code ?? (code === 1006 ? 'network' : `close_${code}`),
      message: parsed.code ? parsed.message : (reason || describeBareClose(code, this.host)),
      ref: parsed.ref,
      closeCode: code,
    });
    const kind = classifyClose(code);
    if (kind === 'terminal') {
      this._fail(cause);
      return;
    }
    if (kind === 'refresh') {
      this._setState('reconnecting', { cause });
      this._refreshing = true;
      try {
        await this._o.onExpired(cause);
      } catch (e) {
        if (!this._stopped) this._fail(e instanceof PorchError ? e : cause);
        return;
      } finally {
        this._refreshing = false;
      }
      if (this._stopped || this._socket) return;
    }
    this._lost(code, cause, uptimeMs, kind);
  }

  /**
   * The socket is gone for a reason that may pass: schedule the next try.
   * @param {number} code
   * @param {PorchError} cause
   * @param {number} uptimeMs
   * @param {import('./close-codes.js').CloseClass} [kind]
   */
  _lost(code, cause, uptimeMs, kind = classifyClose(code)) {
    this._socket = null;
    this._readyAt = 0;
    clearInterval(this._heartbeat);
    const delay = reconnectDelay({ kind, attempt: this._attempt, closeCode: code, uptimeMs }, this._o.backoff) ?? 0;
    this._attempt += 1;
    cause.retryInMs = delay;
    this._o.onError(cause);
    this._setState('reconnecting', { retryInMs: delay, cause });
    this._later(() => this._open(), delay, 'retry');
  }

  /** @param {PorchError} error */
  _fail(error) {
    error.fatal = true;
    this._stopped = true;
    globalThis.removeEventListener?.('online', this._onOnline);
    this._clearTimers();
    this._drop(1000, 'giving up');
    this._setState('closed', { cause: error });
    this._o.onError(error);
  }

  /**
   * Forgets the current socket and closes it without hearing its close event.
   * @param {number} code
   * @param {string} reason
   */
  _drop(code, reason) {
    const socket = this._socket;
    this._socket = null;
    this._readyAt = 0;
    clearInterval(this._heartbeat);
    this._liveRefresh.cancel();
    if (!socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    try { socket.close(code, reason); } catch { /* already closing */ }
  }

  /**
   * @param {ConnectionState} state
   * @param {{retryInMs?: number, cause?: PorchError}} [info]
   */
  _setState(state, info = {}) {
    // A repeated 'reconnecting' is news only when it says when or why.
    if (state === this.state && !info.cause) return;
    this.state = state;
    this._o.onState(state, info);
  }

  /** @param {() => void} fn @param {number} ms @param {string} name */
  _later(fn, ms, name) {
    this._clearTimer(name);
    const timer = setTimeout(() => { this._timers.delete(entry); fn(); }, ms);
    const entry = { name, timer };
    this._timers.add(entry);
  }

  /** @param {string} name */
  _clearTimer(name) {
    for (const entry of [...this._timers]) {
      if (entry.name === name) { clearTimeout(entry.timer); this._timers.delete(entry); }
    }
  }

  _clearTimers() {
    for (const entry of this._timers) clearTimeout(entry.timer);
    this._timers.clear();
    clearInterval(this._heartbeat);
  }
}
