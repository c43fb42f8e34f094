// A guest's history over REST: pages before the oldest entry known (`loadOlder`), and pages
// forward from `lastSeq` when the socket could not replay what was missed (`fill`). Kept apart
// from guest.js, which runs the session.

import { LIMITS, PATHS } from './wire.gen.js';

const { guestMessages: MESSAGES } = PATHS;
export const HISTORY_PAGE = LIMITS.historyPageDefault;
/** The largest page (`history_page_max`), for catching up after a failed resume. */
const FILL_PAGE = LIMITS.historyPageMax;

/** @typedef {import('./porch.js').Message} Message @typedef {import('./guest.js').PorchGuest} PorchGuest */

/**
 * Loads the page before the oldest message known; resolves with it (ascending). One at a
 * time: a second call while one runs gets the same promise. Older entries never say how the
 * conversation stands now (a close may have been reopened since): `ready` and live frames do.
 * @param {PorchGuest} guest @param {number} limit @returns {Promise<Message[]>}
 */
export function loadOlder(guest, limit) {
  if (!guest._log.hasOlder) return Promise.resolve([]);
  guest._older ??= (async () => {
    try {
      const page = await guest._api('GET', `${MESSAGES}?before=${(guest._log.floor ?? 0) + 1}&limit=${limit}`);
      const added = guest._log.addOlder(page.messages);
      guest.emit('history', { messages: added, hasOlder: guest._log.hasOlder });
      return added;
    } finally {
      guest._older = null;
    }
  })();
  return guest._older;
}

/** Pages forward from lastSeq until nothing is missing. One at a time. @param {PorchGuest} guest */
export function fill(guest) {
  guest._filling ??= (async () => {
    try {
      for (let page = 0; page < 10_000; page += 1) {
        const got = await guest._api('GET', `${MESSAGES}?after=${guest._log.lastSeq}&limit=${FILL_PAGE}`);
        for (const m of got.messages) guest._release(guest._log.insert(m));
        if (!got.hasMore || !got.messages.length) break;
      }
    } catch (e) {
      guest.emit('error', /** @type {import('./errors.js').PorchError} */ (e)); // the next reconnect or gap tries again
    } finally {
      guest._filling = null;
    }
  })();
  return guest._filling;
}
