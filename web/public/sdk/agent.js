// An agent's client: the live feed of its queues over the gateway, and per conversation an
// ordered, duplicate-free log for those it opens. After a reconnect, `ready.conversations`
// replaces the list and every open log catches up over REST (`after=`): agents do not use
// `afterSeq` (protocol.md, "Resume").

import { attach, attachmentUrl } from './attach.js';
import * as extras from './agent-extras.js';
import { onFrame } from './agent-frames.js';
import { Offers } from './agent-offers.js';
import { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { PorchError } from './errors.js';
import { baseUrlFromGateway, request, trimBase } from './http.js';
import { RefreshTimer, applyFreshToken } from './refresh.js';
import { Sends } from './sends.js';
import { lastMessageOf } from './preview.js';
import { SeqLog } from './seq-log.js';
import { TypingThrottle, TypingTracker } from './typing.js';
import { LIMITS, PATHS } from './wire.gen.js';

const API = `${PATHS.agentApi}/conversations`;
const TOKEN = PATHS.agentToken;
const PAGE = LIMITS.historyPageDefault;

/** @typedef {import('./porch.js').Conversation} Conversation */
/** @typedef {import('./porch.js').Message} Message */
/** @typedef {import('./porch.js').PorchError} PorchErrorType */

/** @extends {Emitter<import('./porch.js').AgentEvents>} */
export class PorchAgent extends Emitter {
  /**
   * `POST /api/v2/agents/login`. Resolves with the AgentSession (api.md) to pass to the constructor.
   * @param {{baseUrl: string, name: string, secret: string, fetch?: typeof fetch}} o
   */
  static login({ baseUrl, name, secret, fetch: fetchFn }) {
    return request(fetchFn ?? ((...a) => globalThis.fetch(...a)), baseUrl, 'POST', PATHS.agentLogin, { json: { name, secret } });
  }

  /** @param {import('./porch.js').AgentOptions} options */
  constructor(options) {
    super();
    if (!options?.session?.accessToken) {
      throw new PorchError({ code: 'session_missing', message: 'pass the session PorchAgent.login (POST /api/v2/agents/login) returned' });
    }
    this._opt = options;
    this.session = options.session;
    this._fetch = options.fetch ?? ((...a) => globalThis.fetch(...a));
    this._baseUrl = trimBase(options.baseUrl ?? baseUrlFromGateway(options.session.gatewayUrl));
    /** @type {Map<string, Conversation>} conversation summaries, by id */
    this._summaries = new Map();
    /** @type {Map<string, SeqLog<Message>>} logs of the conversations opened */
    this._logs = new Map();
    /** @type {Map<string, Promise<void>>} */
    this._filling = new Map();
    this._sends = new Sends(() => this.emit('outbox', { pending: this._sends.list() }));
    /** @type {Map<string, TypingThrottle>} */
    this._typingOut = new Map();
    this._typingIn = new TypingTracker((key, participant, active) => {
      this.emit('typing', { conversationId: key.split(' ')[0], participant, active });
    });
    /** @type {import('./porch.js').ConnectionState} */
    this.state = 'idle';
    /** @type {Connection | null} */
    this._conn = null;
    /** @type {Promise<PorchAgent> | null} */
    this._starting = null;
    /** @type {{resolve: (agent: PorchAgent) => void, reject: (error: PorchErrorType) => void} | null} */
    this._startWaiter = null;
    this.moreConversations = false;
    this._ended = false;
    /** @type {import('./porch.js').AgentStatus | null} as the server last said (null: not yet) */
    this.status = null;
    this._offers = new Offers({
      send: (frame) => this._conn?.send(frame) ?? false,
      emit: (type, payload) => this.emit(type, payload),
    });
    this._refresh = new RefreshTimer({
      refresh: () => this.refreshToken({ reconnect: true }),
      onFatal: (e) => { this._conn?.stop('the agent token could not be refreshed'); this._onConnectionError(Object.assign(e, { fatal: true })); },
      onError: (e) => this.emit('error', e),
    });
  }

  /** A token past Porch's leeway cannot be exchanged: the agent logs in again. */
  async _refreshAfterExpiry() {
    try {
      await this.refreshToken({ reconnect: false });
    } catch (caught) {
      const e = /** @type {PorchError} */ (caught);
      if (e.status !== 401) throw e;
      throw new PorchError({ code: e.code, message: `${e.detail}; log in again (POST /api/v2/agents/login)`, ref: e.ref, status: e.status });
    }
  }

  /**
   * `POST /api/v2/agents/token`: exchanges the still-valid token for a fresh one (the SDK does
   * it by itself before expiry). `reconnect` moves the connection onto the new token at once:
   * in place (a `refresh` frame), or by reconnecting when the gateway does not take it.
   */
  /** @param {{reconnect?: boolean}} [options] */
  async refreshToken({ reconnect = true } = {}) {
    const fresh = await this._api('POST', TOKEN);
    this.session = { ...this.session, ...fresh };
    const inPlace = reconnect && !this._ended && await applyFreshToken(this._conn, fresh.accessToken, this._refresh);
    this.emit('refresh', { expiresAtMs: fresh.expiresAtMs, session: this.session, inPlace });
  }

  get agentId() { return this.session.agentId; }

  /** Open conversations of the agent's queues (waiting, assigned), most recently active first. */
  get conversations() {
    return [...this._summaries.values()]
      // One transferred to a queue the agent does not serve has left its list (not a supervisor's).
      .filter((c) => c.state !== 'closed' && (!c.queue || this.session.supervisor || this.session.queues.includes(c.queue)))
      .sort((a, b) => (b.updatedAtMs ?? 0) - (a.updatedAtMs ?? 0));
  }

  /** @param {string} id @returns {Conversation | null} */
  conversation(id) { return this._summaries.get(id) ?? null; }
  /** The messages known of an opened conversation, ascending, each once. */
  /** @param {string} id @returns {Message[]} */
  messages(id) { return this._logs.get(id)?.messages ?? []; }
  /** @param {string} id */
  hasOlder(id) { return this._logs.get(id)?.hasOlder ?? false; }
  /** @param {string} id */
  pending(id) { return this._sends.list().filter((e) => e.conversationId === id); }

  /**
   * Connects; resolves on the first `ready`.
   * @returns {Promise<this>}
   */
  start() {
    this._starting ??= new Promise((resolve, reject) => {
      this._startWaiter = { resolve, reject };
      this._conn = new Connection({
        WebSocket: this._opt.WebSocket ?? globalThis.WebSocket,
        url: () => this.session.gatewayUrl,
        token: () => this.session.accessToken,
        onReady: (f) => this._onReady(f),
        onFrame: (f) => this._onFrame(f),
        onState: (state, info) => {
          const previous = this.state;
          this.state = state;
          if (state !== 'open') this._typingIn.clear();
          this.emit('state', { state, previous, ...info });
        },
        onError: (e) => this._onConnectionError(e),
        // Closed with 4002: refresh, then the connection reconnects with the new token.
        onExpired: () => this._refreshAfterExpiry(),
        backoff: this._opt.backoff,
        connectTimeoutMs: this._opt.connectTimeoutMs,
      });
      this._conn.start();
    });
    return /** @type {Promise<this>} */ (this._starting);
  }

  /**
   * Starts following a conversation: loads its latest page. Resolves with its messages.
   * @param {string} id
   * @returns {Promise<Message[]>}
   */
  async open(id) {
    if (this._logs.has(id)) return this.messages(id);
    const log = /** @type {SeqLog<Message>} */ (new SeqLog(null));
    this._logs.set(id, log);
    try {
      const page = await this._api('GET', `${API}/${encodeURIComponent(id)}/messages?limit=${PAGE}`);
      // Live entries that came while the page loaded are held by the log; anchoring at the
      // page's head releases those after it.
      this._release(id, log.anchor(page.lastSeq));
      const older = log.addOlder(page.messages);
      this.emit('history', { conversationId: id, messages: older, hasOlder: log.hasOlder });
    } catch (e) {
      this._logs.delete(id);
      throw e;
    }
    return this.messages(id);
  }

  /**
   * Loads the page before the oldest known message of an opened conversation.
   * @param {string} id
   * @param {number} [limit]
   * @returns {Promise<Message[]>}
   */
  async loadOlder(id, limit = PAGE) {
    const log = this._logs.get(id);
    if (!log?.hasOlder) return [];
    const page = await this._api('GET', `${API}/${encodeURIComponent(id)}/messages?before=${(log.floor ?? 0) + 1}&limit=${limit}`);
    const added = log.addOlder(page.messages);
    this.emit('history', { conversationId: id, messages: added, hasOlder: log.hasOlder });
    return added;
  }

  /**
   * Replies; the first reply to a waiting conversation assigns it. Resolves on the ack.
   * @param {string} conversationId
   * @param {string} text
   * @returns {Promise<Message>}
   */
  send(conversationId, text) {
    const body = String(text ?? '');
    if (!body.trim()) return Promise.reject(new PorchError({ code: 'invalid_request', message: 'a message needs some text' }));
    const { entry, acked } = this._sends.add(body, conversationId);
    this._conn?.send({ type: 'send', conversationId, clientMessageId: entry.clientMessageId, text: body });
    this._typingOut.get(conversationId)?.reset();
    return acked;
  }

  /**
   * Sends a file into a conversation of the agent's queues (docs/attachments.md); the first
   * one to a waiting conversation assigns it, as a reply does. Resolves with its message.
   * @param {string} conversationId @param {Blob & {name?: string}} file
   * @param {import('./porch.js').AttachOptions} [options] @returns {Promise<Message>}
   */
  attach(conversationId, file, options) { return attach(extras.attachTarget(this, conversationId), file, options); }
  /** A short-lived URL reading an attachment of a conversation. @param {string} conversationId @param {string} attachmentId */
  attachmentUrl(conversationId, attachmentId) { return attachmentUrl(extras.attachTarget(this, conversationId), attachmentId); }

  /** @param {string} conversationId */
  typing(conversationId) {
    let throttle = this._typingOut.get(conversationId);
    if (!throttle) this._typingOut.set(conversationId, (throttle = new TypingThrottle(this._opt.typingIntervalMs)));
    if (this.state === 'open' && throttle.take()) this._conn?.send({ type: 'typing', conversationId });
  }

  /** @param {string} conversationId @param {number} seq */
  markRead(conversationId, seq) {
    if (seq > 0) this._conn?.send({ type: 'read', conversationId, seq });
  }

  /** Takes a conversation (`POST …/assign`). Resolves with the updated conversation. */
  /** @param {string} id @returns {Promise<Conversation>} */
  assign(id) { return this._action(id, 'assign'); }
  /**
   * Closes a conversation (`POST …/close`): the guest sees an entry with `event: closed`.
   * `wrapUp` is one of the deployment's wrap-up codes, required when it has a list (routing.md).
   * @param {string} id @param {{ wrapUp?: string }} [options] @returns {Promise<Conversation>}
   */
  close(id, { wrapUp } = {}) { return this._action(id, 'close', wrapUp === undefined ? undefined : { wrapUp }); }
  /**
   * Transfers a conversation the agent holds to another agent of its queue (`agentId`) or to
   * another queue (`queue`), with an internal `note` only agents read (`POST …/transfer`).
   * @param {string} id @param {{ agentId?: string, queue?: string, note?: string }} target
   * @returns {Promise<Conversation>}
   */
  transfer(id, { agentId, queue, note } = {}) { return this._action(id, 'transfer', { agentId, queue, note }); }
  /** Puts a conversation the agent holds back in its queue (`POST …/unassign`). */
  /** @param {string} id @returns {Promise<Conversation>} */
  unassign(id) { return this._action(id, 'unassign'); }

  // Routing (docs/routing.md) and what the console shows beside the chat: `agent-extras.js`.

  /** The live offers to this agent, the one that runs out first first. */
  get offers() { return this._offers.list; }
  /** `GET /api/v2/agent/status`: status, capacity and load. */
  routing() { return extras.routing(this); }
  /** `PUT /api/v2/agent/status`. @param {'available' | 'away'} status */
  setStatus(status) { return extras.setStatus(this, status); }
  /** Resolves once the conversation is the agent's. @param {string} conversationId @returns {Promise<void>} */
  accept(conversationId) { return this._offers.answer('accept', conversationId); }
  /** The offer goes to the next agent. @param {string} conversationId @returns {Promise<void>} */
  decline(conversationId) { return this._offers.answer('decline', conversationId); }
  /** @param {{q?: string, state?: string, before?: string, limit?: number}} [options] */
  search(options) { return extras.search(this, options); }
  /** @param {string} conversationId */
  visitor(conversationId) { return extras.visitor(this, conversationId); }
  /** @param {string} conversationId @param {{before?: string, limit?: number}} [options] */
  customerConversations(conversationId, options) { return extras.customerConversations(this, conversationId, options); }
  /** @param {string} conversationId */
  cannedReplies(conversationId) { return extras.cannedReplies(this, conversationId); }

  /** @param {import('./porch.js').AgentStatus} status */
  _setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.emit('status', { status });
  }

  end() {
    this._ended = true;
    this._refresh.clear();
    this._typingIn.clear();
    this._offers.clear();
    this._conn?.stop('the agent left');
    this._sends.rejectAll(new PorchError({ code: 'ended', message: 'the console was closed (end() was called)' }));
  }

  /** @param {string} id @param {'assign' | 'close' | 'transfer' | 'unassign'} verb @param {object} [json] */
  _action(id, verb, json) { return extras.action(this, id, verb, json); }

  /** @param {any} frame the `ready` frame (protocol.md) */
  _onReady(frame) {
    // The list is the truth at this instant; logs we follow catch up from their lastSeq.
    const fresh = new Map((frame.conversations ?? []).map((/** @type {Conversation} */ c) => [c.id, c]));
    for (const [id, old] of this._summaries) {
      // Followed but no longer open: keep it until its log (which ends with `closed`) says so.
      if (!fresh.has(id) && this._logs.has(id)) fresh.set(id, old);
    }
    this._summaries = fresh;
    this._refresh.schedule(frame.tokenExpiresInMs);
    // The server lists what fits in one frame; GET /api/v2/agent/conversations lists the rest.
    this.moreConversations = frame.moreConversations === true;
    // The offers the agent holds follow `ready`; the ones shown before are stale.
    this._offers.clear();
    this.emit('ready', { conversations: this.conversations, moreConversations: this.moreConversations });
    this.emit('conversations', { conversations: this.conversations });
    for (const id of this._logs.keys()) this._fill(id);
    for (const e of this._sends.list()) {
      this._conn?.send({ type: 'send', conversationId: e.conversationId, clientMessageId: e.clientMessageId, text: e.text });
    }
    this._startWaiter?.resolve(this);
    this._startWaiter = null;
  }

  /** @param {any} frame a frame of protocol.md (`agent-frames.js`) */
  _onFrame(frame) { onFrame(this, frame); }

  /** @param {Message | undefined} message */
  _onMessage(message) {
    if (!message) return;
    const id = message.conversationId;
    const summary = this._summaries.get(id);
    if (summary && message.seq > (summary.lastSeq ?? 0)) {
      this._upsert({ ...summary, lastSeq: message.seq, updatedAtMs: message.createdAtMs ?? summary.updatedAtMs, lastMessage: lastMessageOf(message) });
    }
    const log = this._logs.get(id);
    if (!log) return;
    this._release(id, log.insert(message));
    if (log.hasGap) this._fill(id);
  }

  /** @param {string} id @param {Message[]} messages */
  _release(id, messages) {
    for (const m of messages) {
      if (m.sender?.id === this.agentId && m.clientMessageId) this._sends.settle(m.clientMessageId, m);
      if (m.sender?.id) this._typingIn.stop(`${id} ${m.sender.id}`);
      // After a reconnect no `conversation` frame tells of a close that happened meanwhile;
      // its log entry does.
      if (m.event === 'closed') this._upsert(/** @type {Conversation} */ ({ ...(this._summaries.get(id) ?? { id }), state: 'closed' }));
      this.emit('message', { conversationId: id, message: m });
    }
  }

  /** @param {Conversation | undefined} conversation */
  _upsert(conversation) {
    if (!conversation?.id) return;
    const old = this._summaries.get(conversation.id);
    const merged = { ...old, ...conversation, lastSeq: Math.max(old?.lastSeq ?? 0, conversation.lastSeq ?? 0) };
    this._summaries.set(conversation.id, merged);
    this.emit('conversation', merged);
    this.emit('conversations', { conversations: this.conversations });
  }

  /** Pages a followed conversation forward from its lastSeq until nothing is missing. @param {string} id @returns {Promise<void>} */
  _fill(id) { return extras.fill(this, id); }

  /** @param {PorchError} error */
  _onConnectionError(error) {
    if (error.fatal) {
      this._startWaiter?.reject(error);
      this._startWaiter = null;
    }
    this.emit('error', error);
  }

  /** @param {string} method @param {string} path @param {object} [json] @returns {Promise<any>} */
  _api(method, path, json) {
    return request(this._fetch, this._baseUrl, method, path, { token: this.session.accessToken, json });
  }
}
