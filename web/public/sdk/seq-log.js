// One conversation's log as the client knows it: a contiguous run of entries by `seq`, plus
// entries that arrived ahead of a gap. Whatever order entries come in (socket replay, live
// frames, REST pages, all overlapping across reconnects), each is released once, in seq order.

/**
 * @template {{seq: number}} [Entry=import('./porch.js').Message] what the log holds
 */
export class SeqLog {
  /**
   * @param {number | null} [floor] the seq just before the first entry this log will hold;
   *   null while unknown ("unanchored"): entries are then held until `anchor` is called.
   */
  constructor(floor = null) {
    /** @type {number | null} */
    this.floor = floor;
    /** @type {number | null} highest seq such that every seq in (floor, lastSeq] is held */
    this.lastSeq = floor;
    /** @type {Map<number, Entry>} the contiguous run */
    this._entries = new Map();
    /** @type {Map<number, Entry>} ahead of a gap, or everything while unanchored */
    this._pending = new Map();
  }

  get anchored() {
    return this.floor !== null;
  }

  /** Entries are missing between lastSeq and something already received. */
  get hasGap() {
    return this.anchored && this._pending.size > 0;
  }

  /** Older entries exist before the floor (seq starts at 1 and has no gaps). */
  get hasOlder() {
    return this.anchored && /** @type {number} */ (this.floor) > 0;
  }

  /** The contiguous run, ascending. */
  get messages() {
    return [...this._entries.values()].sort((a, b) => a.seq - b.seq);
  }

  /** @param {number} seq */
  has(seq) {
    return this._entries.has(seq);
  }

  /**
   * Fixes the floor of an unanchored log (e.g. at `ready.lastSeq`) and releases what was
   * held after it. Held entries at or below the floor are dropped: they are history, which
   * the caller pages over REST.
   * @param {number} floor
   * @returns {Entry[]} entries now released, ascending
   */
  anchor(floor) {
    if (this.anchored) return [];
    this.floor = floor;
    this.lastSeq = floor;
    for (const seq of [...this._pending.keys()]) if (seq <= floor) this._pending.delete(seq);
    return this._drain();
  }

  /**
   * Adds one entry.
   * @param {Entry} entry
   * @returns {Entry[]} entries now released in order: [] for a duplicate, for an entry older
   *   than the floor, or for one held behind a gap
   */
  insert(entry) {
    const { seq } = entry;
    if (!Number.isSafeInteger(seq) || seq < 1) return [];
    if (!this.anchored) {
      this._pending.set(seq, entry);
      return [];
    }
    if (seq <= /** @type {number} */ (this.lastSeq) || this._pending.has(seq)) return [];
    this._pending.set(seq, entry);
    return this._drain();
  }

  /**
   * Prepends a page of older history (REST `before=`). Entries already held, or not directly
   * below the floor, are ignored, so the run stays contiguous.
   * @param {Entry[]} entries any order
   * @returns {Entry[]} the entries added, ascending
   */
  addOlder(entries) {
    if (!this.anchored) return [];
    const added = [];
    const bySeq = new Map(entries.map((e) => [e.seq, e]));
    let floor = /** @type {number} */ (this.floor);
    while (floor > 0 && bySeq.has(floor)) {
      const entry = /** @type {Entry} */ (bySeq.get(floor));
      this._entries.set(floor, entry);
      added.push(entry);
      floor -= 1;
    }
    this.floor = floor;
    return added.reverse();
  }

  /** Moves held entries into the run while the next seq is there. */
  _drain() {
    const released = [];
    let next = /** @type {number} */ (this.lastSeq) + 1;
    while (this._pending.has(next)) {
      const entry = /** @type {Entry} */ (this._pending.get(next));
      this._pending.delete(next);
      this._entries.set(next, entry);
      released.push(entry);
      this.lastSeq = next;
      next += 1;
    }
    return released;
  }
}
