// The widget's DOM: built once in the shadow root, then updated in place. Message and notice
// text only ever goes through textContent, never innerHTML: it is written by strangers (the
// notice by the customer's backend, but shown in every visitor's browser).

import { WIDGET_CSS } from './styles.js';

const CHAT_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';

const TEMPLATE = `
<button class="launcher" type="button" aria-expanded="false" aria-controls="porch-panel" aria-label="Open chat">
  ${CHAT_ICON}<span class="badge" hidden></span>
</button>
<section id="porch-panel" class="panel" role="dialog" aria-labelledby="porch-title" hidden>
  <header>
    <h2 id="porch-title"></h2>
    <button class="close" type="button" aria-label="Close chat">&times;</button>
  </header>
  <div class="notice" role="status" aria-live="polite" aria-atomic="true"></div>
  <div class="status" role="status" aria-live="polite"></div>
  <button class="older" type="button" hidden>Load earlier messages</button>
  <div class="log" role="log" aria-live="polite" aria-label="Messages" tabindex="0"></div>
  <div class="typing" aria-live="polite"></div>
  <form class="composer">
    <label class="visually-hidden" for="porch-input">Your message</label>
    <textarea id="porch-input" rows="1" placeholder="Type a message…" maxlength="4000"></textarea>
    <button class="send" type="submit">Send</button>
  </form>
  <div class="ended" hidden><span class="ended-text">This conversation has ended.</span><button type="button" class="restart">Start a new chat</button></div>
</section>`;

/**
 * Builds the widget in `shadow` and returns its parts.
 * @param {ShadowRoot} shadow
 * @param {{title: string}} options
 */
export function buildView(shadow, { title }) {
  // Constructable stylesheets are not subject to the host page's CSP `style-src`, so the
  // widget keeps its look on strict pages; a <style> element is the fallback.
  if ('adoptedStyleSheets' in shadow && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(WIDGET_CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = WIDGET_CSS;
    shadow.append(style);
  }
  const root = document.createElement('div');
  root.innerHTML = TEMPLATE; // a constant: no outside text
  shadow.append(...root.childNodes);
  const $ = (sel) => /** @type {HTMLElement} */ (shadow.querySelector(sel));
  $('#porch-title').textContent = title;
  return {
    launcher: $('.launcher'),
    badge: $('.badge'),
    panel: $('.panel'),
    close: $('.close'),
    notice: $('.notice'),
    status: $('.status'),
    older: $('.older'),
    log: $('.log'),
    typing: $('.typing'),
    form: /** @type {HTMLFormElement} */ ($('form')),
    input: /** @type {HTMLTextAreaElement} */ ($('textarea')),
    send: /** @type {HTMLButtonElement} */ ($('.send')),
    ended: $('.ended'),
    endedText: $('.ended-text'),
    restart: $('.restart'),
  };
}

/**
 * Shows the deployment's notice, or nothing for null. The region stays in the page while
 * empty (collapsed by CSS, not `hidden`) so screen readers announce the next notice.
 * @param {HTMLElement} el
 * @param {{id: string, text: string} | null} notice
 */
export function showNotice(el, notice) {
  el.textContent = notice?.text ?? '';
  if (notice) el.dataset.noticeId = notice.id;
  else delete el.dataset.noticeId;
  // A long notice scrolls (max-height): keyboard users must be able to reach it.
  if (notice) el.tabIndex = 0;
  else el.removeAttribute('tabindex');
}

/**
 * One message bubble. `mine`: sent by this guest.
 * @param {{seq?: number, text: string, sender?: {role: string, displayName?: string}, clientMessageId?: string}} m
 * @param {{mine: boolean, pending?: boolean}} how
 */
export function messageElement(m, { mine, pending = false }) {
  const el = document.createElement('div');
  const role = m.sender?.role ?? 'guest';
  el.className = `msg ${role === 'system' ? 'system' : mine ? 'mine' : 'theirs'}${pending ? ' pending' : ''}`;
  if (m.seq) el.dataset.seq = String(m.seq);
  if (m.clientMessageId) el.dataset.clientMessageId = m.clientMessageId;
  el.dataset.role = role;
  if (role !== 'system') {
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = mine ? 'You' : (m.sender?.displayName || (role === 'agent' ? 'Agent' : 'Guest'));
    el.append(who);
  }
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = m.text;
  el.append(text);
  return el;
}

/**
 * Puts a message at its place by seq (history pages arrive after live messages) and keeps
 * pending bubbles last. Scrolls to the end only if the reader was already there.
 * @param {HTMLElement} log
 * @param {HTMLElement} el
 */
export function placeMessage(log, el) {
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const seq = Number(el.dataset.seq);
  let before = null;
  for (const child of /** @type {HTMLElement[]} */ ([...log.children])) {
    // Pending bubbles have no seq yet: they stay after every stored message.
    const other = Number(child.dataset.seq || Infinity);
    if (other > seq) { before = child; break; }
  }
  log.insertBefore(el, before);
  if (atEnd) log.scrollTop = log.scrollHeight;
}
