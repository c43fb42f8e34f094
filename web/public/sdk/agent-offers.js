// An agent's routing on the client (docs/routing.md): its status, and the offers it holds.
// Offers are the server's (`offer`, `offerEnded` frames); this keeps the live ones and ties
// each `accept`/`decline` to its answer. The server answers an agent's frames in the order
// it sent them, and a refused answer is an `error` frame without an id: it settles the
// oldest answer still waiting.

import { PorchError } from './errors.js';

/** @typedef {import('./porch.js').Offer} Offer */

/** Error codes that refuse an `accept` or a `decline` (protocol.md). */
export const OFFER_REFUSALS = new Set([
  'offer_expired', 'offer_not_yours', 'conversation_taken', 'agent_at_capacity', 'manual_take_off', 'conversation_unknown',
]);

/** How long an answer waits for the server before it is given up (the socket may be gone). */
const ANSWER_TIMEOUT_MS = 15_000;

export class Offers {
  /**
   * @param {{send: (frame: object) => boolean, emit: (type: any, payload: any) => void}} io
   *   `send` writes a frame (false when the socket is not open); `emit` tells the agent's
   *   listeners: `offer` (a new one), `offerEnded`, and `offers` whenever the list moves.
   */
  constructor(io) {
    this._io = io;
    /** @type {Map<string, Offer>} live offers, by conversation id */
    this._offers = new Map();
    /** @type {{conversationId: string, resolve: () => void, reject: (e: PorchError) => void, timer: ReturnType<typeof setTimeout>}[]} */
    this._answers = [];
  }

  /** The live offers, the one that runs out first first. */
  get list() {
    return [...this._offers.values()].sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  }

  /** An `offer` frame: the same offer may come twice (a reconnect at that very moment). */
  /** @param {any} frame */
  offered(frame) {
    const conversation = frame.conversation;
    if (!conversation?.id) return;
    const known = this._offers.has(conversation.id);
    const offer = { conversation, expiresAtMs: Number(frame.expiresAtMs) };
    this._offers.set(conversation.id, offer);
    if (!known) this._io.emit('offer', offer);
    this.changed();
  }

  /** The list moved. */
  changed() { this._io.emit('offers', { offers: this.list }); }

  /** An `offerEnded` frame: the offer is gone whatever the reason; its answer is settled. */
  /** @param {{conversationId: string, reason: string}} frame */
  ended({ conversationId, reason }) {
    this._offers.delete(conversationId);
    const i = this._answers.findIndex((a) => a.conversationId === conversationId);
    if (i >= 0) {
      const [answer] = this._answers.splice(i, 1);
      clearTimeout(answer.timer);
      answer.resolve();
    }
    this._io.emit('offerEnded', { conversationId, reason });
    this.changed();
  }

  /** An `error` frame without a client message id: refuses the oldest waiting answer. */
  /** @param {PorchError} error @returns {boolean} whether it was an answer's */
  refused(error) {
    if (!OFFER_REFUSALS.has(error.code) || !this._answers.length) return false;
    const answer = /** @type {typeof this._answers[number]} */ (this._answers.shift());
    clearTimeout(answer.timer);
    // An offer that ran out, or went to someone else, is not coming back as it was.
    if (error.code !== 'agent_at_capacity') this._offers.delete(answer.conversationId);
    this.changed();
    answer.reject(error);
    return true;
  }

  /** Sends `accept` or `decline`; resolves on `offerEnded`, rejects on a refusal. */
  /** @param {'accept' | 'decline'} type @param {string} conversationId @returns {Promise<void>} */
  answer(type, conversationId) {
    return new Promise((resolve, reject) => {
      if (!this._io.send({ type, conversationId })) {
        reject(new PorchError({ code: 'not_connected', message: `cannot ${type} while the connection is down; the offer is sent again after the reconnect` }));
        return;
      }
      const timer = setTimeout(() => {
        this._answers = this._answers.filter((a) => a.timer !== timer);
        reject(new PorchError({ code: 'timeout', message: `no answer to ${type} within ${ANSWER_TIMEOUT_MS / 1000} s` }));
      }, ANSWER_TIMEOUT_MS);
      this._answers.push({ conversationId, resolve, reject, timer });
    });
  }

  /** After a reconnect the server sends the live offers again, right after `ready`. */
  clear() {
    for (const a of this._answers.splice(0)) {
      clearTimeout(a.timer);
      a.reject(new PorchError({ code: 'not_connected', message: 'the connection was lost before the answer came' }));
    }
    if (this._offers.size) {
      this._offers.clear();
      this.changed();
    }
  }
}
