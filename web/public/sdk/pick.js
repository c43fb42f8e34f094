// The frame that sends a guest's outbox entry: `send` for a message, `choose` for the pick of
// a bot's quick reply (docs/bots.md), so a pick queued offline goes out as a pick when the
// connection comes back, with its clientMessageId (a duplicate if it was stored before).

/** @typedef {import('./porch.js').OutboxEntry} OutboxEntry */

/**
 * @param {OutboxEntry} entry
 * @returns {{type: 'send' | 'choose', clientMessageId: string, text: string, choice?: {seq: number, id: string}}}
 */
export function sendFrame(entry) {
  const { clientMessageId, text, choice } = entry;
  return choice ? { type: 'choose', clientMessageId, text, choice: { seq: choice.seq, id: choice.id } } : { type: 'send', clientMessageId, text };
}
