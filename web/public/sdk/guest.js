// A guest's whole chat lifecycle: get or restore a session, connect, receive in order, send
// through an outbox, type, read, page history, refresh the token, reconnect and resume.
// History over REST is guest-history.js; a closed conversation and its reopen window,
// guest-close.js; getting the session, guest-session.js.

import { attach, attachmentUrl, guestTarget } from './attach.js';
import { Connection } from './connection.js';
import { CloseWindow } from './guest-close.js';
import { HISTORY_PAGE, fill, loadOlder } from './guest-history.js';
import { watchViolations } from './csp.js';
import { Emitter } from './emitter.js';
import { PorchError } from './errors.js';
import { QueuePlace } from './queue.js';
import { Pause, adoptSession, checkPage, widgetEndpoint, closedError, createSession, ended, normalize, pickSession, readWidgetConfig, usable } from './guest-session.js';
import { baseUrlFromGateway, request, trimBase } from './http.js';
import { RefreshTimer } from './refresh.js';
import { Sends } from './sends.js';
import { SeqLog } from './seq-log.js';
import { SavedState, defaultStorage } from './storage.js';
import { TypingThrottle, TypingTracker } from './typing.js';
import { choiceBody, noticeChange, withAfterSeq, splitRef } from './util.js';
import { sendFrame } from './pick.js';
import { PATHS } from './wire.gen.js';

const { guestToken: TOKEN } = PATHS;
export { HISTORY_PAGE };

/** @typedef {import('./porch.js').Message} Message @typedef {import('./porch.js').Notice} Notice @typedef {ReturnType<typeof normalize>} Session */

/** @extends {Emitter<import('./porch.js').GuestEvents>} */
export class PorchGuest extends Emitter {
  /** @param {import('./porch.js').GuestOptions} [options] */
  constructor(options = {}) {
    super();
    this._opt = options;
    this._fetch = options.fetch ?? ((...a) => globalThis.fetch(...a));
    const storage = options.storage === null ? null : (options.storage ?? defaultStorage());
    const key = options.storageKey ?? `porch:guest:${options.deploymentId ?? options.session?.deploymentId ?? 'default'}`;
    this._saved = new SavedState(storage, key);
    /** @type {Session | null} */ this._session = null;
    /** @type {SeqLog<Message>} */ this._log = new SeqLog(null);
    this._sends = new Sends(() => {
      this._persist();
      this.emit('outbox', { pending: this.pending });
    });
    this._typingOut = new TypingThrottle(options.typingIntervalMs);
    this._typingIn = new TypingTracker((_key, participant, active) => this.emit('typing', { participant, active }));
    /** @type {Connection | null} */ this._conn = null;
    /** @type {Promise<PorchGuest> | null} */ this._starting = null;
    /** @type {{resolve: (guest: PorchGuest) => void, reject: (error: PorchError) => void} | null} */ this._startWaiter = null;
    this._baseUrl = '';
    this._ended = false;
    this._historyLoaded = false;
    /** @type {Promise<void> | null} */ this._filling = null;
    /** @type {Promise<Message[]> | null} */ this._older = null;
    this._refresh = new RefreshTimer({
      refresh: () => this.refreshToken({ reconnect: true }),
      onFatal: (e) => this._onConnectionError(Object.assign(e, { fatal: true }), true),
      onError: (e) => this.emit('error', e),
    });
    this._readSent = 0;
    this._readWanted = 0;
    /** The wait between two tries to create the session; `end()` cuts it short. */
    this._pause = new Pause();
    /** Where the conversation stands in its queue while it waits (`queue` events). */ this._place = new QueuePlace(this);
    /** @type {import('./porch.js').ConnectionState} */ this.state = 'idle';
    /** True while the conversation is closed (by an agent); see guest-close.js. */
    this.closed = false;
    /** @type {number | null} While closed: until when (epoch ms) a send reopens it; null once final. */ this.reopenUntilMs = null;
    this._close = new CloseWindow(this);
    /** @type {import('./porch.js').Conversation | null} */ this.conversation = null;
    /** @type {import('./porch.js').ConnectionLimits | null} from `ready` */ this.limits = null;
    /** @type {Notice | null} The deployment's notice (api.md, "Deployment notices"), or null. */ this.notice = null;
    /** @type {import('./porch.js').Welcome | null} The deployment's greeting and usual reply time, once `peekNotice()` read them. */ this.welcome = null;
    watchViolations();
  }

  /** Ids of this session (never the token). */
  get guestId() { return this._session?.guestId ?? null; }
  get conversationId() { return this._session?.conversationId ?? null; }
  /** The messages known, ascending by seq, each once. */
  get messages() { return this._log.messages; }
  /** The highest seq up to which nothing is missing (null before the first `ready`). */
  get lastSeq() { return this._log.lastSeq; }
  /** Sent, not yet acknowledged, oldest first. */
  get pending() { return this._sends.list(); }
  get hasOlder() { return this._log.hasOlder; }
  /** Where the waiting conversation stands in its queue; null once an agent holds it. */ get queue() { return this._place.current; }

  /** Whether `start()` would restore a saved session, or messages written before a session existed (e.g. to reopen a widget after a reload). */
  hasSavedSession() { const saved = this._saved.load(); return Boolean(saved?.session ? usable(saved.session) : saved?.outbox?.length); }

  /** Gets a session (saved, given or created) and connects; resolves on the first `ready`. @returns {Promise<this>} */
  start() {
    // A failure before any socket (network, refused origin) may be retried by calling again.
    this._starting ??= this._start().catch((e) => {
      if (!this._conn) {
        this._starting = null;
        if (!this._ended) this._setState('idle', {});
      }
      throw e;
    });
    return /** @type {Promise<this>} */ (this._starting);
  }

  /** @returns {Promise<PorchGuest>} */
  async _start() {
    const given = this._opt.session ? normalize(this._opt.session) : null;
    const { restored, ...picked } = pickSession(given, this._saved.load());
    let session = picked.session;
    if (!session && this._opt.baseUrl && this._opt.deploymentId) {
      session = await this._create(this._opt.baseUrl, this._opt.deploymentId);
    } else if (!session) {
      this._saved.clear();
      throw new PorchError({ code: 'session_missing', message: 'no usable session: pass `session` (from your backend\'s POST /api/v2/webmessaging/guests) or `baseUrl` and `deploymentId` (the widget endpoint)' });
    }
    if (this._ended) throw ended();
    this._session = session;
    this._baseUrl = trimBase(this._opt.baseUrl ?? baseUrlFromGateway(session.gatewayUrl));
    if (restored) {
      if (Number.isSafeInteger(restored.lastSeq)) this._log = new SeqLog(restored.lastSeq);
      // Sends made before start() come after the restored ones: send order is kept.
      this._sends.restore(restored.outbox);
    }
    this._persist();
    return new Promise((resolve, reject) => {
      this._startWaiter = { resolve, reject };
      this._conn = new Connection({
        WebSocket: this._opt.WebSocket ?? globalThis.WebSocket,
        url: () => withAfterSeq(/** @type {Session} */ (this._session).gatewayUrl, this._log.lastSeq),
        token: () => /** @type {Session} */ (this._session).accessToken,
        onReady: (f) => this._onReady(f),
        onFrame: (f) => this._onFrame(f),
        onState: (state, info) => this._setState(state, info),
        onError: (e) => this._onConnectionError(e),
        onExpired: () => this.refreshToken({ reconnect: false }),
        backoff: this._opt.backoff,
        connectTimeoutMs: this._opt.connectTimeoutMs,
      });
      this._conn.start();
    });
  }

  /** Creates the session at the widget endpoint, trying again while Porch cannot be reached
   * (see `createSession`). @param {string} baseUrl @param {string} deploymentId */
  _create(baseUrl, deploymentId) {
    const onTry = (/** @type {number} */ _attempt, /** @type {PorchError | null} */ error) => {
      if (error) this.emit('error', error);
      this._setState(error ? 'reconnecting' : 'connecting', error ? { retryInMs: error.retryInMs ?? undefined, cause: error } : {});
    };
    return createSession({ fetch: this._fetch, baseUrl, deploymentId, guest: this._opt.guest, backoff: this._opt.backoff, pause: this._pause, isEnded: () => this._ended, onTry }).then(normalize);
  }

  /**
   * Checks, before there is a session, that this page can use Porch (see `checkPage`):
   * resolves with `{ notice }`, or rejects with why it cannot (`origin_not_allowed`,
   * `deployment_unknown`, `deployment_disabled`, `csp_blocked`, or `network`, which may pass).
   */
  async check() {
    const { baseUrl, deploymentId } = widgetEndpoint(this._opt, 'check()');
    return checkPage({ baseUrl, deploymentId, WebSocket: this._opt.WebSocket ?? globalThis.WebSocket, peekNotice: () => this.peekNotice() });
  }

  /** Before there is a session (the widget endpoint: no token), reads the deployment's notice
   * and welcome, so a visitor reads "we are closed" or the greeting before writing. */
  async peekNotice() {
    const config = await readWidgetConfig(this._fetch, this._opt);
    this._setNotice(config.notice);
    this.welcome = config.welcome;
    this.emit('welcome', this.welcome);
    return this.notice;
  }

  /**
   * Queues a message; resolves with the stored message once acknowledged. Survives
   * reconnects (and reloads, when storage persists): the same clientMessageId is resent.
   * @param {string} text
   * @returns {Promise<Message>}
   */
  send(text) { return this._queue({ text: String(text ?? '') }); }

  /** Sends (or queues, while offline) a message or a pick: the outbox, then a `send` or `choose` frame. @param {{text: string, clientMessageId?: string, choice?: {seq: number, id: string}}} body @returns {Promise<Message>} */
  _queue(body) {
    if (this._ended) return Promise.reject(ended());
    // Within the reopen window a send goes out: the server reopens the conversation.
    if (this._close.final) return Promise.reject(closedError());
    if (!body.text.trim()) return Promise.reject(new PorchError({ code: 'invalid_request', message: 'a message needs some text' }));
    const chars = [...body.text].length, max = this.limits?.textCharsMax;
    if (max && chars > max) return Promise.reject(new PorchError({ code: 'text_too_long', message: `${chars} characters; the limit is ${max}` }));
    const { entry, acked, repeat } = this._sends.add(body.text, undefined, body);
    if (!repeat) this._conn?.send(sendFrame(entry));
    this._typingOut.reset();
    return acked;
  }

  /** Sends a file (docs/attachments.md). @param {Blob & {name?: string}} file @param {import('./porch.js').AttachOptions} [options] @returns {Promise<Message>} */
  attach(file, options) { return attach(guestTarget(this), file, options); }
  /** A short-lived URL reading an attachment of this conversation. @param {string} attachmentId */ attachmentUrl(attachmentId) { return attachmentUrl(guestTarget(this), attachmentId); }

  /** Call on every keystroke; frames go out at most every few seconds. */
  typing() { if (this.state === 'open' && this._typingOut.take()) this._conn?.send({ type: 'typing' }); }

  /** Picks a quick reply of a bot's `message` (docs/bots.md): its label is sent as a message naming the choice (a `choose` frame, queued like `send`). @param {Message} message @param {import('./porch.js').QuickReply} reply @returns {Promise<Message>} */
  choose(message, reply) { return this._queue(choiceBody(message, reply)); }

  /** Tells the conversation this guest has read up to `seq` (default: everything received). @param {number} [seq] */
  markRead(seq = this._log.lastSeq ?? 0) {
    this._readWanted = Math.max(this._readWanted, seq);
    if (this._readWanted > this._readSent && this._conn?.send({ type: 'read', seq: this._readWanted })) {
      this._readSent = this._readWanted;
    }
  }

  /** Loads the page before the oldest message known; resolves with it (ascending). @param {number} [limit] @returns {Promise<Message[]>} */
  loadOlder(limit = HISTORY_PAGE) { return loadOlder(this, limit); }

  /** Exchanges the token; with `reconnect`, moves the connection onto it (in place, else by reconnecting). @param {{reconnect?: boolean}} [options] */
  async refreshToken({ reconnect = true } = {}) { await adoptSession(this, await this._api('POST', TOKEN), reconnect); }
  /** The visitor logged in: this session becomes the customer's an identity token names, keeping its conversation and `seq` (docs/identity.md). @param {string} identityToken */
  async identify(identityToken) { await adoptSession(this, await this._api('POST', PATHS.guestIdentity, { identityToken }), true); }

  /** Closes the socket and stops. `forget` also drops the saved session (the guest is done). @param {{forget?: boolean}} [options] */
  end({ forget = false } = {}) {
    if (this._ended) return;
    this._ended = true;
    this._pause.wake();
    this._refresh.clear(); this._typingIn.clear(); this._close.clear();
    this._conn ? this._conn.stop('the guest ended the chat') : this._setState('closed', {});
    this._sends.rejectAll(ended());
    this._startWaiter?.reject(ended());
    if (forget) this._saved.clear();
  }

  /** @param {any} frame the `ready` frame (protocol.md) */
  _onReady(frame) {
    this.limits = frame.limits ?? null;
    if (frame.conversation) this.conversation = frame.conversation;
    // `ready` carries the notice and the queue place current now (changed while offline or not).
    this._setNotice(frame.notice); this._place.set(frame.queue);
    const head = frame.lastSeq ?? 0;
    // A fresh session starts at the head; older entries are history, paged over REST.
    this._release(this._log.anchor(head));
    this.emit('ready', { lastSeq: head, resume: frame.resume ?? null, conversation: this.conversation });
    // Into a closed conversation only within its window: written then, a message reopens it
    // (routing.md); after it, the close is final (below) and the outbox is dropped.
    const final = this._close.final || (this.conversation?.state === 'closed' && !(Number(this.conversation.reopenUntilMs) > Date.now()));
    if (!final) for (const e of this._sends.list()) this._conn?.send(sendFrame(e));
    this._readSent = 0; this.markRead(this._readWanted);
    if (!final) this._refresh.schedule(frame.tokenExpiresInMs);
    // Not replayed (too far behind, or resume refused): page forward over REST.
    if (head > (this._log.lastSeq ?? 0) && !frame.resume?.recovered) this._fill();
    if (!this._historyLoaded) {
      this._historyLoaded = true;
      this.loadOlder().catch((e) => this.emit('error', /** @type {PorchError} */ (e)));
    }
    this._startWaiter?.resolve(this); this._startWaiter = null;
    this._close.follow(this.conversation);
  }

  /** @param {any} frame a frame of protocol.md */
  _onFrame(frame) {
    switch (frame.type) {
      case 'message': this._onMessage(frame.message); break;
      case 'ack':
        this._sends.settle(frame.clientMessageId, frame.message);
        this.emit('ack', { clientMessageId: frame.clientMessageId, message: frame.message, duplicate: frame.duplicate });
        break;
      case 'typing': this._typingIn.typing(frame.participant?.id ?? '?', frame.participant); break;
      case 'read': this.emit('read', { participant: frame.participant, seq: frame.seq }); break;
      case 'conversation':
        this.conversation = frame.conversation;
        this.emit('conversation', frame.conversation);
        this._close.follow(frame.conversation);
        break;
      case 'notice': this._setNotice(frame.notice); break;
      case 'queue': this._place.set(frame); break;
      case 'error': this._onErrorFrame(frame); break;
      default: break; // pong, and frame types newer than this SDK
    }
  }

  /** @param {Notice | null | undefined} next */
  _setNotice(next) {
    const notice = noticeChange(this.notice, next);
    if (notice === undefined) return;
    this.notice = notice;
    this.emit('notice', notice);
  }

  /** @param {Message | undefined} message */
  _onMessage(message) {
    if (!message) return;
    this._release(this._log.insert(message));
    if (this._log.hasGap) this._fill();
  }

  /** Emits entries the log released, in order, and settles our own sends among them. @param {Message[]} messages */
  _release(messages) {
    if (!messages.length) return;
    for (const m of messages) {
      if (m.sender?.id === this.guestId && m.clientMessageId) this._sends.settle(m.clientMessageId, m);
      if (m.sender?.id) this._typingIn.stop(m.sender.id);
      this.emit('message', m);
    }
    this._persist();
    this._close.entries(messages);
  }

  _onErrorFrame(/** @type {any} an `error` frame */ frame) {
    const { message, ref } = splitRef(frame.message);
    const error = new PorchError({ code: frame.code, message, ref, clientMessageId: frame.clientMessageId });
    error.retryInMs = this._sends.refuseFrame(frame, error, (/** @type {import('./porch.js').OutboxEntry} */ e) => this._conn?.send(sendFrame(e)));
    this.emit('error', error);
    // Refused: closed, and past its window (or reopening is off). It can come before the news
    // of the close.
    if (frame.code === 'conversation_closed') this._close.toFinal();
  }

  /** Pages forward from lastSeq until nothing is missing (guest-history.js). */
  _fill() { return fill(this); }

  /** @param {PorchError} error @param {boolean} [stop] */
  _onConnectionError(error, stop = false) {
    if (stop && !this._ended) this._conn?.stop('the token could not be refreshed');
    if (error.fatal) {
      this._refresh.clear();
      // Terminal means these credentials will not work again: do not restore them. A page
      // whose policy blocks Porch is the page's problem: the session stays for its fix.
      if (error.code !== 'csp_blocked') this._saved.clear();
      this._startWaiter?.reject(error);
      this._startWaiter = null;
    }
    this.emit('error', error);
  }

  /** @param {import('./porch.js').ConnectionState} state @param {{retryInMs?: number, cause?: PorchError}} info */
  _setState(state, info) {
    // The session's creation and then its socket both say `connecting`: news once.
    if (state === this.state && !info.cause) return;
    const previous = this.state;
    this.state = state;
    if (state !== 'open') this._typingIn.clear();
    this.emit('state', { state, previous, ...info });
  }

  _persist() {
    if (this._ended || this._close.final) return;
    if (this._session) {
      this._saved.save({ session: this._session, lastSeq: this._log.lastSeq, outbox: this._sends.list() });
    } else if (this.pending.length && !this._saved.load()?.session) {
      // No session yet (being created, Porch unreachable): what the visitor wrote is kept, so a
      // reload meanwhile creates the session and sends it. Never over a saved session, which
      // start() has not restored yet.
      this._saved.save({ session: null, outbox: this._sends.list() });
    }
  }

  /** @param {string} method @param {string} path @param {unknown} [json] @returns {Promise<any>} */
  _api(method, path, json) {
    return request(this._fetch, this._baseUrl, method, path, { token: this._session?.accessToken, json });
  }
}
