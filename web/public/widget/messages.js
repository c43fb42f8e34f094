// The widget's message list: one bubble per entry, at its place by seq (history pages arrive
// after live messages), pending sends last, consecutive messages of one sender grouped under
// one name and time, and system entries in the visitor's language. A bot's quick replies and
// cards are `rich.js`.

import { richElements } from './rich.js';

import { showAttachment } from './files.js';

/** Messages of one sender closer together than this share one heading. */
export const GROUP_GAP_MS = 5 * 60_000;

/**
 * @typedef {{seq?: number, text: string, event?: string, createdAtMs?: number,
 *   sender?: {role: string, id?: string, displayName?: string}, clientMessageId?: string,
 *   content?: import('../sdk/porch.js').Content,
 *   attachment?: import('../sdk/porch.js').Attachment, fallback?: true, reopened?: true}} Entry
 * @typedef {ReturnType<typeof import('./strings.js').stringsFor>} Strings
 */

/**
 * One bubble. `mine`: sent by this guest; `choose` sends the pick of one of its quick replies;
 * `urlOf`: a file's short-lived URL, for attachments.
 * @param {Entry} m
 * @param {{mine: boolean, pending?: boolean, s: Strings,
 *   choose?: (reply: import('../sdk/porch.js').QuickReply) => Promise<unknown>,
 *   urlOf?: (id: string) => Promise<import('../sdk/porch.js').AttachmentUrls>}} how
 */
export function messageElement(m, { mine, pending = false, s, choose, urlOf }) {
  const el = document.createElement('div');
  const role = m.sender?.role ?? 'guest';
  el.className = `msg ${role === 'system' ? 'system' : mine ? 'mine' : 'theirs'}${pending ? ' pending' : ''}`;
  if (m.seq) el.dataset.seq = String(m.seq);
  if (m.clientMessageId) el.dataset.clientMessageId = m.clientMessageId;
  el.dataset.role = role;
  el.dataset.sender = mine ? 'me' : (m.sender?.id ?? role);
  const at = m.createdAtMs ?? Date.now();
  el.dataset.at = String(at);
  if (role !== 'system') el.append(heading(m, { mine, pending, at, s }));
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = role === 'system' ? systemText(m, s) : m.text;
  if (m.attachment && urlOf) showAttachment(text, m.attachment, { s, urlOf });
  el.append(text);
  if (m.content && !mine) el.append(...richElements(m.content, choose));
  return el;
}

/**
 * "You · 10:42 · sending…": who, when, and the state of one's own message.
 * @param {Entry} m
 * @param {{mine: boolean, pending: boolean, at: number, s: Strings}} how
 */
function heading(m, { mine, pending, at, s }) {
  const meta = document.createElement('p');
  meta.className = 'meta';
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = mine ? s.t('you') : (m.sender?.displayName || s.t('agent'));
  const time = document.createElement('time');
  time.dateTime = new Date(at).toISOString();
  time.textContent = new Intl.DateTimeFormat(s.lang, { hour: '2-digit', minute: '2-digit' }).format(at);
  const state = document.createElement('span');
  state.className = 'state';
  state.textContent = pending ? s.t('sending') : '';
  meta.append(who, ' ', time, ' ', state);
  return meta;
}

/**
 * A system entry in the visitor's language (Porch writes them in English). A queue's fallback
 * message, or its close, is the operator's own words: shown as written.
 * @param {Entry} m
 * @param {Strings} s
 */
function systemText(m, s) {
  if (s.lang === 'en' || (m.fallback && m.event !== 'waiting')) return m.text;
  if (m.reopened) return s.t('reopenedEntry');
  switch (m.event) {
    case 'assigned': return s.t('agentJoined');
    case 'closed': return s.t('closedEntry');
    case 'waiting': return s.t('returned');
    default: return m.text;
  }
}

/**
 * Sets the state line of one's own message: '' (stored), seen, not sent.
 * @param {HTMLElement} el
 * @param {string} text
 */
export function setState(el, text) {
  const state = el.querySelector('.state');
  if (state) state.textContent = text;
}

/**
 * Puts a bubble at its place by seq and keeps pending bubbles last, then regroups it and the
 * one after it.
 * @param {HTMLElement} log
 * @param {HTMLElement} el
 */
export function placeMessage(log, el) {
  const seq = Number(el.dataset.seq || Infinity);
  let before = null;
  for (const child of /** @type {HTMLElement[]} */ ([...log.children])) {
    // Pending bubbles have no seq yet: they stay after every stored message.
    if (Number(child.dataset.seq || Infinity) > seq) { before = child; break; }
  }
  log.insertBefore(el, before);
  regroup(el);
  if (el.nextElementSibling) regroup(/** @type {HTMLElement} */ (el.nextElementSibling));
}

/**
 * A bubble joins the group of the one before it when the same sender wrote both, close in time.
 * @param {HTMLElement} el
 */
function regroup(el) {
  const prev = /** @type {HTMLElement | null} */ (el.previousElementSibling);
  const same = prev && el.dataset.role !== 'system' && prev.dataset.sender === el.dataset.sender
    && Math.abs(Number(el.dataset.at) - Number(prev.dataset.at)) < GROUP_GAP_MS;
  el.classList.toggle('grouped', Boolean(same));
}
