// The widget's DOM: built once in the shadow root, then updated in place. Message and notice
// text only ever goes through textContent, never innerHTML: it is written by strangers (the
// notice by the customer's backend, but shown in every visitor's browser). Visible words come
// from the string table (strings.js).

import { WIDGET_CSS } from './styles.js';

const CLIP_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"/></svg>';
const CHAT_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';

// A constant: every outside word is set below with textContent or setAttribute.
const TEMPLATE = `
<button class="launcher" type="button" aria-expanded="false" aria-controls="porch-panel" hidden>
  ${CHAT_ICON}<span class="badge" hidden></span>
</button>
<section id="porch-panel" class="panel" role="dialog" aria-labelledby="porch-title" hidden>
  <header>
    <img class="avatar" alt="" referrerpolicy="no-referrer" hidden>
    <div class="heading"><h2 id="porch-title"></h2><p class="subtitle"></p></div>
    <button class="close" type="button">&times;</button>
  </header>
  <div class="notice" role="status" aria-live="polite" aria-atomic="true"></div>
  <div class="status" role="status" aria-live="polite"></div>
  <p class="offline-sent" role="status"></p>
  <p class="greeting" hidden></p>
  <button class="older" type="button" hidden></button>
  <div class="log" role="log" aria-live="polite" tabindex="0"></div>
  <div class="typing" aria-live="polite"></div>
  <div class="ended" hidden><p class="ended-text"></p><button type="button" class="restart"></button></div>
  <form class="composer">
    <button class="attach" type="button">${CLIP_ICON}</button>
    <input class="file" type="file" hidden>
    <label class="visually-hidden" for="porch-input"></label>
    <textarea id="porch-input" rows="1"></textarea>
    <button class="send" type="submit"></button>
  </form>
  <form class="offline" novalidate aria-labelledby="porch-offline-intro" hidden>
    <p id="porch-offline-intro" class="offline-intro"></p>
    <label for="porch-offline-email"></label>
    <input id="porch-offline-email" type="email" dir="ltr" autocomplete="email" inputmode="email" spellcheck="false" aria-describedby="porch-offline-error">
    <label for="porch-offline-message"></label>
    <textarea id="porch-offline-message" rows="4" aria-describedby="porch-offline-error"></textarea>
    <p id="porch-offline-error" class="offline-error" role="alert"></p>
    <button class="offline-send" type="submit"></button>
  </form>
</section>`;

/** The largest height the message box grows to, in pixels; it scrolls beyond. */
export const INPUT_HEIGHT_MAX_PX = 120;

/**
 * Builds the widget in `shadow` and returns its parts.
 * @param {ShadowRoot} shadow
 * @param {{title: string, s: ReturnType<typeof import('./strings.js').stringsFor>}} options
 */
export function buildView(shadow, { title, s }) {
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
  root.innerHTML = TEMPLATE;
  shadow.append(...root.childNodes);
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (shadow.querySelector(sel));
  const view = {
    launcher: $('.launcher'),
    badge: $('.badge'),
    panel: $('.panel'),
    title: $('#porch-title'),
    subtitle: $('.subtitle'),
    avatar: /** @type {HTMLImageElement} */ ($('.avatar')),
    close: $('.close'),
    notice: $('.notice'),
    status: $('.status'),
    greeting: $('.greeting'),
    older: $('.older'),
    log: $('.log'),
    typing: $('.typing'),
    form: /** @type {HTMLFormElement} */ ($('form.composer')),
    input: /** @type {HTMLTextAreaElement} */ ($('#porch-input')),
    send: /** @type {HTMLButtonElement} */ ($('.send')),
    attach: /** @type {HTMLButtonElement} */ ($('.attach')),
    file: /** @type {HTMLInputElement} */ ($('.file')),
    ended: $('.ended'),
    endedText: $('.ended-text'),
    restart: $('.restart'),
    offline: /** @type {HTMLFormElement} */ ($('form.offline')),
    offlineEmail: /** @type {HTMLInputElement} */ ($('#porch-offline-email')),
    offlineMessage: /** @type {HTMLTextAreaElement} */ ($('#porch-offline-message')),
    offlineError: $('.offline-error'),
    offlineSent: $('.offline-sent'),
  };
  for (const el of [view.launcher, view.panel]) {
    el.lang = s.lang;
    el.dir = s.dir;
  }
  view.title.textContent = title || s.t('title');
  view.launcher.setAttribute('aria-label', s.t('openChat'));
  view.close.setAttribute('aria-label', s.t('closeChat'));
  view.older.textContent = s.t('older');
  view.log.setAttribute('aria-label', s.t('messages'));
  /** @type {HTMLElement} */ (shadow.querySelector('label[for="porch-input"]')).textContent = s.t('yourMessage');
  view.input.placeholder = s.t('placeholder');
  view.send.textContent = s.t('send');
  view.attach.setAttribute('aria-label', s.t('attachFile'));
  view.attach.title = s.t('attachFile');
  view.restart.textContent = s.t('restart');
  labelOffline(shadow, s);
  // A picture the page's policy (img-src) or its host refuses: the name says who it is.
  view.avatar.addEventListener('error', () => {
    view.avatar.dataset.failed = view.avatar.getAttribute('src') ?? '';
    view.avatar.hidden = true;
  });
  return view;
}

/**
 * The picture of the agent who holds the conversation, beside the heading (protocol.md,
 * `agent`), or none. Loaded without a referrer: the picture's host learns nothing of the page.
 * @param {HTMLImageElement} img
 * @param {{name: string, avatarUrl?: string} | null | undefined} agent
 * @param {ReturnType<typeof import('./strings.js').stringsFor>} s
 */
export function showAvatar(img, agent, s) {
  const url = agent?.avatarUrl?.startsWith('https://') ? agent.avatarUrl : '';
  if (!url || !agent || img.dataset.failed === url) {
    img.hidden = true;
    img.removeAttribute('src');
    return;
  }
  img.alt = s.t('agentPhoto', { name: agent.name });
  if (img.getAttribute('src') !== url) img.src = url;
  img.hidden = false;
}

/**
 * The offline form's words (offline.js).
 * @param {ShadowRoot} shadow
 * @param {ReturnType<typeof import('./strings.js').stringsFor>} s
 */
function labelOffline(shadow, s) {
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (shadow.querySelector(sel));
  $('.offline-intro').textContent = s.t('offlineIntro');
  $('label[for="porch-offline-email"]').textContent = s.t('offlineEmail');
  $('label[for="porch-offline-message"]').textContent = s.t('yourMessage');
  $('.offline-send').textContent = s.t('send');
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
 * The message box grows with its text, up to INPUT_HEIGHT_MAX_PX, then scrolls.
 * @param {HTMLElement} input
 */
export function fitInput(input) {
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight + 2, INPUT_HEIGHT_MAX_PX)}px`;
}

/**
 * Keeps the newest message in view while the reader is at the end of the log, whatever
 * changes its size: a notice or a status line appearing above it, the message box growing,
 * messages arriving, the panel opening. A reader who scrolled up is left where they are.
 * @param {HTMLElement} log
 */
export function followEnd(log) {
  let atEnd = true;
  /** Where our own last scroll left the log. Its scroll event can come after a notice shrank
   * the log in the same frame (scroll events run before resize observers): it is still ours. */
  let ours = -1;
  const stick = () => {
    if (!atEnd) return;
    log.scrollTop = log.scrollHeight;
    ours = log.scrollTop;
  };
  log.addEventListener('scroll', () => {
    atEnd = log.scrollTop === ours || log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  });
  new ResizeObserver(stick).observe(log);
  new MutationObserver(stick).observe(log, { childList: true, subtree: true, characterData: true });
  return {
    /** Back to the end (the panel opened, the visitor sent something). */
    toEnd() {
      atEnd = true;
      stick();
    },
  };
}

/**
 * "Usually replies within 5 minutes", in the visitor's language: the number and its unit come
 * from the browser's own Intl data, so every language gets its plural forms right.
 * @param {number} mins
 * @param {ReturnType<typeof import('./strings.js').stringsFor>} s
 */
export function replyTime(mins, s) {
  const [value, unit] = mins < 60 ? [mins, 'minute'] : mins < 1440 ? [Math.ceil(mins / 60), 'hour'] : [Math.ceil(mins / 1440), 'day'];
  const time = new Intl.NumberFormat(s.lang, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
  return s.t('replyWithin', { time });
}

/** "You are number 3 in the queue · about 2 minutes", in the visitor's language: the wait
 * rounded up to whole minutes (hours from 60), as `replyTime` words it.
 * @param {import('../sdk/porch.js').QueuePosition} place
 * @param {ReturnType<typeof import('./strings.js').stringsFor>} s */
export function queuePlace(place, s) {
  const n = new Intl.NumberFormat(s.lang).format(place.position);
  if (place.estimatedWaitMs === undefined) return s.t('queuePlace', { n });
  const mins = Math.max(1, Math.ceil(place.estimatedWaitMs / 60_000));
  const [value, unit] = mins < 60 ? [mins, 'minute'] : [Math.ceil(mins / 60), 'hour'];
  const time = new Intl.NumberFormat(s.lang, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
  return s.t('queueWait', { n, time });
}
