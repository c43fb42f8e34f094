// The standard widget. On any page:
//
//   <script type="module" src="https://chat.example.com/widget/widget.js" data-deployment="dep_…"></script>
//
// Optional attributes: data-title (panel heading), data-display-name (the guest's name, if
// the page knows it). Everything lives in a shadow root; the Porch URL is where this file
// came from. No conversation is created until the guest sends something: a page view must
// not put an empty chat in the agents' queue.

import { PorchGuest } from '../sdk/porch.js';
import { buildView, messageElement, placeMessage, showNotice } from './view.js';

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

/** @param {DOMStringMap} config the script tag's data-* attributes */
function mount({ deployment = '', title = 'Chat with us', displayName }) {
  const host = document.createElement('div');
  host.id = 'porch-widget';
  document.body.append(host);
  const view = buildView(host.attachShadow({ mode: 'open' }), { title });
  const openKey = `porch:widget:${deployment}:open`;
  let guest = newGuest();
  let unread = 0;
  /** Up to where an agent has read this conversation (their `read` frames). */
  let agentRead = 0;

  function newGuest() {
    const g = new PorchGuest({ baseUrl, deploymentId: deployment, guest: displayName ? { displayName } : {} });
    g.on('message', (m) => {
      view.log.querySelector(`.pending[data-client-message-id="${CSS.escape(m.clientMessageId ?? '')}"]`)?.remove();
      placeMessage(view.log, messageElement(m, { mine: m.sender?.id === g.guestId }));
      markSeen();
      if (m.sender?.role === 'agent') {
        if (isOpen() && document.visibilityState === 'visible') g.markRead(m.seq);
        else setUnread(unread + 1);
      }
      if (m.event === 'closed') showEnded('The agent closed this conversation.');
    });
    g.on('history', ({ messages, hasOlder }) => {
      for (const m of messages) placeMessage(view.log, messageElement(m, { mine: m.sender?.id === g.guestId }));
      view.older.hidden = !hasOlder;
    });
    g.on('outbox', ({ pending }) => renderPending(pending));
    g.on('typing', ({ participant, active }) => {
      view.typing.textContent = active ? `${participant?.displayName || 'The agent'} is typing…` : '';
    });
    g.on('state', ({ state, cause, retryInMs }) => {
      if (state === 'open') setStatus('');
      else if (state === 'reconnecting' && cause) {
        setStatus(`Reconnecting${retryInMs ? ` in ${Math.ceil(retryInMs / 1000)} s` : ''}… (${cause.detail})`);
      }
    });
    g.on('error', (e) => {
      if (e.fatal) showEnded(`Chat unavailable: ${e.detail}`, true);
      else if (e.clientMessageId && !g.pending.some((p) => p.clientMessageId === e.clientMessageId)) {
        view.log.querySelector(`.pending[data-client-message-id="${CSS.escape(e.clientMessageId)}"]`)?.remove();
        setStatus(`Not sent: ${e.detail}`, true);
      }
    });
    g.on('read', ({ participant, seq }) => {
      if (participant?.role !== 'agent' || seq <= agentRead) return;
      agentRead = seq;
      markSeen();
    });
    g.on('conversation', (c) => { if (c.state === 'closed') showEnded('The agent closed this conversation.'); });
    // The deployment's notice (opening hours, an outage): a banner at the top of the panel.
    g.on('notice', (n) => showNotice(view.notice, n));
    return g;
  }

  /** Adds a bubble per unsent message. It goes when the stored message arrives (the ack can
   * come first: removing it then would make the text blink), or when the send is refused. */
  function renderPending(pending) {
    for (const p of pending) {
      if (view.log.querySelector(`[data-client-message-id="${CSS.escape(p.clientMessageId)}"]`)) continue;
      view.log.append(messageElement({ ...p, sender: { role: 'guest' } }, { mine: true, pending: true }));
      view.log.scrollTop = view.log.scrollHeight;
    }
  }

  /** "Seen" on the guest's own messages an agent has read. */
  function markSeen() {
    for (const el of /** @type {HTMLElement[]} */ ([...view.log.querySelectorAll('.msg.mine[data-seq]')])) {
      if (Number(el.dataset.seq) <= agentRead) el.classList.add('read');
    }
  }

  function setStatus(text, isError = false) {
    view.status.textContent = text;
    view.status.classList.toggle('error', isError);
  }

  function setUnread(n) {
    unread = n;
    view.badge.hidden = n === 0;
    view.badge.textContent = String(n);
    view.launcher.setAttribute('aria-label', n ? `Open chat (${n} unread)` : 'Open chat');
  }

  function showEnded(text, isError = false) {
    view.endedText.textContent = text;
    view.ended.hidden = false;
    view.form.hidden = true;
    view.typing.textContent = '';
    if (isError) setStatus('');
  }

  const isOpen = () => !view.panel.hidden;

  /** Starts the session; a failure before any socket (e.g. the network) is shown, and the
   * next send tries again with the message still queued. */
  function startGuest() {
    guest.start().catch((e) => { if (!e.fatal) setStatus(`Could not start the chat: ${e.detail}`, true); });
  }

  function open() {
    view.panel.hidden = false;
    view.launcher.setAttribute('aria-expanded', 'true');
    remember(openKey, '1');
    setUnread(0);
    if (guest.lastSeq) guest.markRead();
    view.log.scrollTop = view.log.scrollHeight;
    (view.form.hidden ? view.restart : view.input).focus();
  }

  function close() {
    view.panel.hidden = true;
    view.launcher.setAttribute('aria-expanded', 'false');
    remember(openKey, null);
    view.launcher.focus();
  }

  view.launcher.addEventListener('click', () => (isOpen() ? close() : open()));
  view.close.addEventListener('click', close);
  view.panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); close(); }
  });
  view.input.addEventListener('keydown', (e) => {
    // Enter sends; Shift+Enter is a new line; never while an IME is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); view.form.requestSubmit(); }
  });
  view.input.addEventListener('input', () => { if (guest.state === 'open') guest.typing(); });
  view.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = view.input.value.trim();
    if (!text) return;
    view.input.value = '';
    guest.send(text).catch(() => { /* shown by the error handler */ });
    if (guest.state === 'idle') startGuest();
  });
  view.older.addEventListener('click', () => { guest.loadOlder().catch((e) => setStatus(e.detail, true)); });
  view.restart.addEventListener('click', () => {
    guest.end({ forget: true });
    view.log.replaceChildren();
    view.ended.hidden = true;
    view.form.hidden = false;
    view.older.hidden = true;
    setStatus('');
    // The new guest hears of the notice when it connects; until then the old one may be stale.
    showNotice(view.notice, null);
    guest = newGuest();
    agentRead = 0;
    view.input.focus();
  });

  // After a reload: the saved session resumes at once, and an open panel stays open. A new
  // visitor has no session yet, so the notice ("we are closed") is read without one.
  if (guest.hasSavedSession()) startGuest();
  else guest.peekNotice().catch(() => { /* no banner; the session brings it later */ });
  if (recall(openKey)) open();
}

/** sessionStorage, when the page may use it (it throws where storage is blocked). */
function remember(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch { /* the panel just will not reopen by itself after a reload */ }
}

function recall(key) {
  try { return sessionStorage.getItem(key); } catch { return null; }
}
