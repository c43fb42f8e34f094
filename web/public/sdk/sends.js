// The outbox plus the promises of the callers waiting for each ack. Shared by guests and
// agents: a send settles on its `ack`, or on its own message arriving in the log (e.g.
// replayed after a reconnect that lost the ack), whichever comes first.

import { isRetryableSendError } from './errors.js';
import { Outbox } from './outbox.js';

/** @typedef {import('./errors.js').PorchError} PorchError */
/** @typedef {import('./porch.js').Message} Message */
/** @typedef {import('./outbox.js').OutboxEntry} OutboxEntry */

/** Waits this long before resending a send refused for a reason that may pass. */
export const SEND_RETRY_MS = 2_000;

export class Sends {
  /** @param {() => void} onChange the pending list changed (persist it, show it) */
  constructor(onChange) {
    this.outbox = new Outbox();
    /** @type {Map<string, {resolve: (m: Message) => void, reject: (e: PorchError) => void}>} */
    this._waiters = new Map();
    /** @type {Map<string, Promise<Message>>} the promise of each pending id, for a repeat */
    this._acked = new Map();
    this._onChange = onChange;
  }

  /**
   * Puts restored entries (an earlier page's) before the current ones.
   * @param {OutboxEntry[] | null | undefined} entries
   */
  restore(entries) {
    this.outbox = new Outbox([...(entries ?? []), ...this.outbox.list()]);
    this._onChange();
  }

  /**
   * A pick that is pending already (a second click) is the same send: the same promise.
   * @param {string} text
   * @param {string} [conversationId]
   * @param {{clientMessageId?: string, choice?: {seq: number, id: string}}} [given]
   * @returns {{entry: import('./outbox.js').OutboxEntry, acked: Promise<Message>, repeat?: boolean}} repeat: pending already, sent already
   */
  add(text, conversationId, given) {
    const pending = given?.clientMessageId && this.outbox.list().find((e) => e.clientMessageId === given.clientMessageId);
    const acked = pending && this._acked.get(pending.clientMessageId);
    if (pending && acked) return { entry: pending, acked, repeat: true };
    const entry = this.outbox.add(text, conversationId, given);
    const promise = new Promise(/** @param {(m: Message) => void} resolve @param {(e: PorchError) => void} reject */ (resolve, reject) => this._waiters.set(entry.clientMessageId, { resolve, reject }));
    this._acked.set(entry.clientMessageId, promise);
    promise.then(() => this._acked.delete(entry.clientMessageId), () => this._acked.delete(entry.clientMessageId));
    this._onChange();
    return { entry, acked: promise };
  }

  list() {
    return this.outbox.list();
  }

  /**
   * The send is stored: resolve its caller, drop it from the outbox.
   * @param {string} clientMessageId
   * @param {Message} message
   */
  settle(clientMessageId, message) {
    const had = this.outbox.remove(clientMessageId);
    this._waiters.get(clientMessageId)?.resolve(message);
    this._waiters.delete(clientMessageId);
    if (had) this._onChange();
  }

  /**
   * The server refused a send (`error` frame with its clientMessageId).
   * @param {string} clientMessageId
   * @param {PorchError} error
   * @returns {'retry' | 'dropped' | 'unknown'} retry: keep it and resend later
   */
  refuse(clientMessageId, error) {
    if (!this.outbox.has(clientMessageId)) return 'unknown';
    if (isRetryableSendError(error.code)) return 'retry';
    this.outbox.remove(clientMessageId);
    this._waiters.get(clientMessageId)?.reject(error);
    this._waiters.delete(clientMessageId);
    this._onChange();
    return 'dropped';
  }

  /**
   * An `error` frame about a send: when the refusal may pass, keep the send and resend it
   * after the server's `retryAfterMs` (rate limits say exactly when), or SEND_RETRY_MS.
   * @param {{clientMessageId?: string, retryAfterMs?: number}} frame
   * @param {PorchError} error
   * @param {(entry: OutboxEntry) => void} resend
   * @returns {number | null} the wait before the resend, or null if it will not be resent
   */
  refuseFrame(frame, error, resend) {
    if (!frame.clientMessageId || this.refuse(frame.clientMessageId, error) !== 'retry') return null;
    const delayMs = typeof frame.retryAfterMs === 'number' && Number.isFinite(frame.retryAfterMs) ? frame.retryAfterMs : SEND_RETRY_MS;
    setTimeout(() => {
      const entry = this.outbox.list().find((e) => e.clientMessageId === frame.clientMessageId);
      if (entry) resend(entry);
    }, delayMs);
    return delayMs;
  }

  /** Rejects every waiting caller and empties the outbox (the conversation is closed: no
   * send can succeed); returns the entries dropped, oldest first.
   * @param {PorchError} error
   */
  dropAll(error) {
    const dropped = this.outbox.list();
    this.rejectAll(error);
    this.outbox = new Outbox();
    if (dropped.length) this._onChange();
    return dropped;
  }

  /**
   * Rejects every waiting caller (the client ended); the outbox itself is kept.
   * @param {PorchError} error
   */
  rejectAll(error) {
    for (const { reject } of this._waiters.values()) reject(error);
    this._waiters.clear();
  }
}
