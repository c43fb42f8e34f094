// Messages sent but not yet acknowledged. An entry keeps its clientMessageId for life: after a
// reconnect it is sent again with the same id, and the server answers `duplicate: true` if the
// first attempt had been stored (protocol.md, "Order, acks and idempotency").

/**
 * @typedef {object} OutboxEntry
 * @property {string} clientMessageId
 * @property {string} text
 * @property {string} [conversationId] agents only
 * @property {{seq: number, id: string}} [choice] a guest's pick of a bot's quick reply
 * @property {number} createdAtMs
 */

/**
 * A client message id: 128 random bits. `crypto.randomUUID` exists only in secure contexts
 * (https, localhost); `getRandomValues` works on plain-http shop pages too.
 * @param {() => Uint8Array} [randomBytes]
 */
export function newClientMessageId(randomBytes = () => globalThis.crypto.getRandomValues(new Uint8Array(16))) {
  return `c-${Array.from(randomBytes(), (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export class Outbox {
  /**
   * @param {OutboxEntry[]} [entries] restored from storage
   * @param {{newId?: () => string, now?: () => number}} [options]
   */
  constructor(entries = [], { newId = () => newClientMessageId(), now = () => Date.now() } = {}) {
    /** @type {Map<string, OutboxEntry>} insertion order = send order */
    this._entries = new Map();
    for (const e of entries) {
      if (e && typeof e.clientMessageId === 'string' && typeof e.text === 'string') this._entries.set(e.clientMessageId, e);
    }
    this._newId = newId;
    this._now = now;
  }

  /**
   * @param {string} text
   * @param {string} [conversationId]
   * @param {{clientMessageId?: string, choice?: {seq: number, id: string}}} [given] a pick's own id and choice
   * @returns {OutboxEntry}
   */
  add(text, conversationId, given = {}) {
    /** @type {OutboxEntry} */
    const entry = { clientMessageId: given.clientMessageId ?? this._newId(), text, createdAtMs: this._now() };
    if (conversationId) entry.conversationId = conversationId;
    if (given.choice) entry.choice = given.choice;
    this._entries.set(entry.clientMessageId, entry);
    return entry;
  }

  /**
   * Removes and returns the entry, or undefined when it was not (or no longer) pending.
   * @param {string} clientMessageId
   */
  remove(clientMessageId) {
    const entry = this._entries.get(clientMessageId);
    this._entries.delete(clientMessageId);
    return entry;
  }

  /** @param {string} clientMessageId */
  has(clientMessageId) {
    return this._entries.has(clientMessageId);
  }

  get size() {
    return this._entries.size;
  }

  /** Pending entries, oldest first: the order to resend them in. */
  list() {
    return [...this._entries.values()];
  }

  toJSON() {
    return this.list();
  }
}
