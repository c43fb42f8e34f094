// The preview of a conversation's latest entry in an agent's list (api.md, "Last message"):
// the server's rule (porch_core::preview), so a list that live `message` frames move on shows
// what a reload would. Pure, so Node tests import it.

import { LIMITS } from './wire.gen.js';

/** Unicode's directional marks, embeddings, overrides and isolates: removed. */
const BIDI = /[\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/gu;
const BLANK = /^[\s\p{Cc}]$/u;

/**
 * A conversation's `lastMessage` after `m`.
 * @param {import('./porch.js').Message} m
 * @returns {import('./porch.js').LastMessage}
 */
export function lastMessageOf(m) {
  const senderRole = m.sender?.role ?? 'system';
  /** @type {import('./porch.js').LastMessage['kind']} */
  const kind = m.attachment ? 'attachment' : senderRole === 'system' ? 'system' : 'text';
  const senderId = m.sender?.id ?? '';
  /** @type {import('./porch.js').LastMessage} */
  const preview = { seq: m.seq, createdAtMs: m.createdAtMs, senderRole, senderId, kind, text: '' };
  if (kind === 'attachment') return preview;
  const [text, truncated] = oneLine(m.text ?? '', LIMITS.lastMessagePreviewCharsMax);
  return truncated ? { ...preview, text, truncated } : { ...preview, text };
}

/**
 * `text` on one line, at most `max` characters (code points): runs of blanks and control
 * characters become one space. Returns the line and whether anything was cut.
 * @param {string} text
 * @param {number} max
 * @returns {[string, boolean]}
 */
export function oneLine(text, max) {
  let out = '';
  let count = 0;
  let space = false;
  for (const c of text.replace(BIDI, '')) {
    if (BLANK.test(c)) { space = count > 0; continue; }
    const needed = space ? 2 : 1;
    if (count + needed > max) return [out, true];
    if (space) { out += ' '; space = false; }
    out += c;
    count += needed;
  }
  return [out, false];
}
