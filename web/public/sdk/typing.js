// Typing indicators, both ways. Outgoing: protocol.md asks for "at most every few seconds
// while typing", so keystrokes are throttled. Incoming: a `typing` frame says "typing now" and
// nothing says "stopped", so an indicator expires on its own, or when that person's message
// arrives.

export const TYPING_SEND_INTERVAL_MS = 3_000;
/** Longer than the send interval, so a steady typist's indicator never flickers off. */
export const TYPING_SHOW_MS = 6_000;

export class TypingThrottle {
  /** @param {number} [intervalMs] @param {() => number} [now] */
  constructor(intervalMs = TYPING_SEND_INTERVAL_MS, now = () => Date.now()) {
    this.intervalMs = intervalMs;
    this._now = now;
    this._lastSentAt = -Infinity;
  }

  /** True when a `typing` frame should go out now (and records that it did). */
  take() {
    const t = this._now();
    if (t - this._lastSentAt < this.intervalMs) return false;
    this._lastSentAt = t;
    return true;
  }

  /** After sending a message: the next keystroke is news again. */
  reset() {
    this._lastSentAt = -Infinity;
  }
}

/**
 * Who is typing, per key (e.g. `conversationId participantId`). `onChange(key, participant,
 * active)` fires when an indicator starts or stops.
 */
export class TypingTracker {
  /**
   * @param {(key: string, participant: import('./porch.js').Participant, active: boolean) => void} onChange
   * @param {{showMs?: number, setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout}} [options]
   */
  // The defaults wrap the globals: a browser's setTimeout called as a method of another
  // object throws "Illegal invocation".
  constructor(onChange, { showMs = TYPING_SHOW_MS, setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (t) => clearTimeout(t) } = {}) {
    this._onChange = onChange;
    this._showMs = showMs;
    this._setTimer = setTimer;
    this._clearTimer = clearTimer;
    /** @type {Map<string, {timer: ReturnType<typeof setTimeout>, participant: import('./porch.js').Participant}>} */
    this._active = new Map();
  }

  /** @param {string} key @param {import('./porch.js').Participant} participant */
  typing(key, participant) {
    const current = this._active.get(key);
    if (current) this._clearTimer(current.timer);
    const timer = this._setTimer(() => this.stop(key), this._showMs);
    this._active.set(key, { timer, participant });
    if (!current) this._onChange(key, participant, true);
  }

  /** @param {string} key */
  stop(key) {
    const current = this._active.get(key);
    if (!current) return;
    this._clearTimer(current.timer);
    this._active.delete(key);
    this._onChange(key, current.participant, false);
  }

  clear() {
    for (const key of [...this._active.keys()]) this.stop(key);
  }
}
