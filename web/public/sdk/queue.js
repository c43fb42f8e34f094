// A waiting guest's place in its queue (docs/routing.md, "Queue positions"): from `ready` and
// `queue` frames, and gone once an agent holds the conversation or it closes. Emits the
// guest's `queue` event when it changes: `{position, estimatedWaitMs}`, or null.

/** @typedef {import('./porch.js').QueuePosition} QueuePosition */

export class QueuePlace {
  /** @param {import('./emitter.js').Emitter<import('./porch.js').GuestEvents>} guest */
  constructor(guest) {
    this._guest = guest;
    /** @type {QueuePosition | null} */ this.current = null;
    // An entry or a `conversation` that says an agent holds it (or it closed) ends the place;
    // the server sends no more positions then.
    guest.on('message', (m) => { if (m.event === 'assigned' || m.event === 'closed') this.set(null); });
    guest.on('conversation', (c) => { if (c?.state !== 'waiting') this.set(null); });
    guest.on('closed', () => this.set(null));
  }

  /** Takes a place from `ready`'s `queue` or a `queue` frame (absent: no place).
   * @param {{position?: unknown, estimatedWaitMs?: unknown} | null | undefined} from */
  set(from) {
    const next = placeOf(from);
    if (same(next, this.current)) return;
    this.current = next;
    this._guest.emit('queue', next);
  }
}

/** @param {{position?: unknown, estimatedWaitMs?: unknown} | null | undefined} from @returns {QueuePosition | null} */
export function placeOf(from) {
  const position = Number(from?.position);
  if (!Number.isSafeInteger(position) || position < 1) return null;
  const wait = Number(from?.estimatedWaitMs);
  return Number.isSafeInteger(wait) && wait >= 0 ? { position, estimatedWaitMs: wait } : { position };
}

/** @param {QueuePosition | null} a @param {QueuePosition | null} b */
function same(a, b) {
  return a === b || (a !== null && b !== null && a.position === b.position && a.estimatedWaitMs === b.estimatedWaitMs);
}
