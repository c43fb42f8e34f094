// Where a guest's session survives a page reload. The storage is pluggable: anything with the
// Web Storage methods (`sessionStorage`, `localStorage`, or an adapter of your own).

/** @typedef {{getItem(key: string): string | null, setItem(key: string, value: string): void, removeItem(key: string): void}} StorageLike */

/** Bumped when the saved shape changes; an old shape is ignored, not misread. */
const VERSION = 1;

/** @returns {StorageLike} a storage that lives as long as the page (Node tests, or opting out). */
export function memoryStorage() {
  const map = new Map();
  return {
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => { map.set(k, String(v)); },
    removeItem: (k) => { map.delete(k); },
  };
}

/**
 * The browser's sessionStorage (one tab, survives reloads and same-site navigation), or
 * memory where there is none or it is blocked (reading it throws when storage is disabled).
 * @returns {StorageLike}
 */
export function defaultStorage() {
  try {
    const s = globalThis.sessionStorage;
    if (s) {
      s.getItem('porch:probe');
      return s;
    }
  } catch { /* blocked: fall through */ }
  return memoryStorage();
}

/** One saved record, as JSON under one key. Failures to write (quota, private mode) are
 * ignored: persistence is a convenience, the conversation lives on the server. */
export class SavedState {
  /** @param {StorageLike | null} storage null: save nothing @param {string} key */
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
  }

  /** @returns {any | null} */
  load() {
    if (!this.storage) return null;
    try {
      const raw = this.storage.getItem(this.key);
      if (!raw) return null;
      const parsed = JSON.parse(raw);
      return parsed && parsed.v === VERSION ? parsed : null;
    } catch {
      return null;
    }
  }

  /** @param {object} state */
  save(state) {
    if (!this.storage) return;
    try {
      this.storage.setItem(this.key, JSON.stringify({ ...state, v: VERSION }));
    } catch { /* see above */ }
  }

  clear() {
    try { this.storage?.removeItem(this.key); } catch { /* see above */ }
  }
}
