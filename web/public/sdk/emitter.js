// A minimal typed event emitter. A throwing listener must not break the SDK's own state
// machine, so its error is rethrown on a fresh task: visible in the console, harmless here.

/** @template {Record<string, any>} Events */
export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
  }

  /**
   * Subscribes; returns the function that unsubscribes.
   * @template {keyof Events & string} K
   * @param {K} type
   * @param {(payload: Events[K]) => void} listener
   * @returns {() => void}
   */
  on(type, listener) {
    let set = this._listeners.get(type);
    if (!set) this._listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => this.off(type, listener);
  }

  /**
   * @template {keyof Events & string} K
   * @param {K} type
   * @param {(payload: Events[K]) => void} listener
   */
  off(type, listener) {
    this._listeners.get(type)?.delete(listener);
  }

  /**
   * @template {keyof Events & string} K
   * @param {K} type
   * @param {Events[K]} payload
   */
  emit(type, payload) {
    for (const listener of [...(this._listeners.get(type) ?? [])]) {
      try {
        listener(payload);
      } catch (e) {
        setTimeout(() => { throw e; }, 0);
      }
    }
  }
}
