// The standard widget. On any page:
//
//   <script type="module" src="https://chat.example.com/widget/widget.js" data-deployment="dep_…"></script>
//
// Optional attributes: data-title (panel heading), data-display-name (the guest's name, if
// the page knows it), data-lang (the language of the widget's words; else the page's),
// data-notify="on" (a tone and a tab-title count for replies while the page is hidden),
// data-keep="visits" (the chat survives closing the tab: localStorage). The
// page talks to it through `window.porchWidget` and `porch:*` events (docs/sdk.md). Everything
// lives in a shadow root; the Porch URL is where this file came from. No conversation is
// created until the guest sends something: a page view must not put an empty chat in the
// agents' queue.

import { Attention } from './attention.js';
import { Chat } from './chat.js';
import { stringsFor } from './strings.js';
import { buildView } from './view.js';

/** The widget endpoint's limits on what a page may say about its visitor (api.md). */
const ATTRIBUTE_CHARS_MAX = 1024;
const ATTRIBUTES_COUNT_MAX = 32;

// Loaded from a versioned URL (`/v/{version}/widget/widget.js`, cached for a year), the Porch
// URL is above the version prefix.
const baseUrl = new URL('..', import.meta.url).href.replace(/\/$/, '').replace(/\/v\/[0-9a-f]+$/, '');
const script = [...document.querySelectorAll('script[src]')].find((s) => /** @type {HTMLScriptElement} */ (s).src === import.meta.url)
  ?? document.querySelector('script[data-deployment]');
const config = /** @type {HTMLElement | null} */ (script)?.dataset ?? {};

if (!config.deployment) {
  // The one thing a builder must give; say so where they will look.
  console.error('Porch widget: add data-deployment="dep_…" to the <script> tag that loads widget.js');
} else if (!document.getElementById('porch-widget')) {
  mount(config);
}

/** @param {DOMStringMap} data the script tag's data-* attributes */
function mount({ deployment = '', title = '', displayName, identityToken, lang, notify, keep }) {
  const host = document.createElement('div');
  host.id = 'porch-widget';
  document.body.append(host);
  const s = stringsFor(lang || document.documentElement.lang || navigator.language);
  const view = buildView(host.attachShadow({ mode: 'open' }), { title, s });
  const emit = (/** @type {string} */ type, /** @type {object} */ detail) => host.dispatchEvent(new CustomEvent(`porch:${type}`, { detail, bubbles: true }));
  // `data-identity-token`: the page was rendered for a logged-in visitor, with an identity token
  // its backend signed (docs/identity.md); the session the widget creates is that customer's.
  /** @type {import('../sdk/porch.js').GuestDetails} */
  const guest = { ...(displayName ? { displayName } : {}), ...(identityToken ? { identityToken } : {}) };
  const storage = keepStorage(keep);
  const attention = new Attention({ enabled: notify === 'on' });
  const chat = new Chat({ view, s, config: { baseUrl, deployment, guest, storage }, emit, attention, tab: { remember, recall } });
  /** @type {Window & {porchWidget?: ReturnType<typeof hostApi>}} */ (window).porchWidget = hostApi(host, chat);
  chat.load();
  document.dispatchEvent(new CustomEvent('porch:ready', { detail: { deployment } }));
}

/**
 * What the host page can do (docs/sdk.md, "The widget from the page").
 * @param {HTMLElement} host
 * @param {Chat} chat
 */
function hostApi(host, chat) {
  return Object.freeze({
    open: () => chat.open(),
    close: () => chat.close(),
    /**
     * `message`, `unread` or `error`; returns the function that unsubscribes.
     * @param {'message' | 'unread' | 'error'} type
     * @param {(detail: any) => void} listener gets the event's detail (docs/sdk.md)
     */
    on(type, listener) {
      const handler = (/** @type {Event} */ e) => listener(/** @type {CustomEvent} */ (e).detail);
      host.addEventListener(`porch:${type}`, handler);
      return () => host.removeEventListener(`porch:${type}`, handler);
    },
    /**
     * The visitor logged in: an identity token the page's backend signed for them
     * (docs/identity.md). A live conversation becomes the customer's in place; before one
     * exists, the session the widget creates is theirs. Resolves false (the cause in the
     * console) for something that is not a token; rejects with the server's refusal.
     * @param {string} identityToken
     */
    async identify(identityToken) {
      if (typeof identityToken !== 'string' || identityToken.split('.').length !== 3) {
        console.error('Porch widget: identify: pass the identity token (a JWT, three dot-separated parts) your backend signed for this visitor (docs/identity.md); nothing was changed');
        return false;
      }
      if (chat.guest.conversationId) {
        await chat.guest.identify(identityToken).catch((/** @type {Error} */ e) => {
          console.error(`Porch widget: identify: ${e.message}`);
          throw e;
        });
      } else {
        chat.config.guest = { ...chat.config.guest, identityToken };
      }
      return true;
    },
    /**
     * What the page knows of its visitor, for the conversation the visitor starts next.
     * @param {import('../sdk/porch.js').GuestDetails} attrs checked here: the page may pass anything
     */
    setAttributes(attrs) {
      const problem = attributesProblem(attrs);
      if (problem) {
        console.error(`Porch widget: setAttributes: ${problem}; nothing was changed`);
        return false;
      }
      if (chat.guest.conversationId) {
        console.warn('Porch widget: setAttributes: this visitor\'s conversation exists already; the attributes apply to the next one');
      }
      /** @type {import('../sdk/porch.js').GuestDetails} */
      const next = { ...chat.config.guest, ...attrs, attributes: { ...chat.config.guest.attributes, ...attrs.attributes } };
      if (!Object.keys(next.attributes ?? {}).length) delete next.attributes;
      chat.config.guest = next;
      return true;
    },
  });
}

/** Why `attrs` would be refused by the widget endpoint, or '' (checked here, where the page
 * can be told, rather than as a failed conversation later).
 * @param {any} attrs whatever the page passed
 */
function attributesProblem(attrs) {
  if (!attrs || typeof attrs !== 'object') return 'pass an object: { displayName, email, attributes }';
  const known = new Set(['displayName', 'email', 'attributes']);
  const unknown = Object.keys(attrs).find((k) => !known.has(k));
  if (unknown) return `unknown field \`${unknown}\`; the fields are displayName, email, attributes`;
  for (const field of ['displayName', 'email']) {
    if (attrs[field] !== undefined && typeof attrs[field] !== 'string') return `${field} must be a string`;
    if ([...(attrs[field] ?? '')].length > ATTRIBUTE_CHARS_MAX) return `${field} is longer than ${ATTRIBUTE_CHARS_MAX} characters`;
  }
  const entries = Object.entries(attrs.attributes ?? {});
  if (entries.length > ATTRIBUTES_COUNT_MAX) return `${entries.length} attributes, the limit is ${ATTRIBUTES_COUNT_MAX}`;
  const bad = entries.find(([k, v]) => typeof v !== 'string' || [...k].length > ATTRIBUTE_CHARS_MAX || [...v].length > ATTRIBUTE_CHARS_MAX);
  if (bad) return `attribute \`${bad[0]}\` must be a string of at most ${ATTRIBUTE_CHARS_MAX} characters`;
  return '';
}

/**
 * Where the visitor's session is kept. By default the SDK's choice (sessionStorage: this tab,
 * across reloads). `data-keep="visits"`: localStorage, so the chat is there in every tab and
 * after the browser restarts, until the conversation ends (docs/sdk.md weighs the privacy).
 * @param {string | undefined} keep the `data-keep` attribute
 * @returns {import('../sdk/porch.js').StorageLike | undefined}
 */
function keepStorage(keep) {
  if (keep === undefined || keep === 'tab') return undefined;
  if (keep !== 'visits') {
    console.error(`Porch widget: data-keep="${keep}" is not a setting; use "visits" (every tab and visit) or "tab" (the default); keeping the chat in this tab only`);
    return undefined;
  }
  try {
    localStorage.getItem('porch:probe');
    return localStorage;
  } catch {
    console.warn('Porch widget: data-keep="visits": this browser blocks localStorage here; the chat is kept in this tab only');
    return undefined;
  }
}

/**
 * sessionStorage, when the page may use it (it throws where storage is blocked).
 * @param {string} key
 * @param {string | null} value null: forget
 */
function remember(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch { /* the panel just will not reopen by itself after a reload */ }
}

/** @param {string} key */
function recall(key) {
  try { return sessionStorage.getItem(key); } catch { return null; }
}
