// The reference custom UI: a whole chat page on the Porch SDK, about 150 lines. Start here
// when you build your own. Everything about the protocol (subprotocol pair, ready, resume,
// outbox, token refresh, backoff) is in PorchGuest; this file only draws what it reports.

// On your site, import from your Porch: 'https://chat.example.com/sdk/porch.js'
// (or copy web/public/sdk/ into your bundle: plain ES modules, no dependencies).
import { PorchGuest } from '../sdk/porch.js';

const $ = (id) => /** @type {any} */ (document.getElementById(id));
const porchUrl = new URL('..', import.meta.url).href.replace(/\/$/, '');

// 1. Where the session comes from.
//    a) Your backend created it (POST /api/v2/webmessaging/guests, with its client token) and
//       handed it to this page in the URL fragment, which browsers never send to servers.
//       We read it and remove it from the address bar at once, so it does not linger in history.
//    b) ?deployment=dep_… : the page asks the public widget endpoint (its origin must be
//       allowed for the deployment). Simplest for a demo.
//    c) Neither: a session saved by an earlier load of this page (the SDK restores it).
const fragment = new URLSearchParams(location.hash.slice(1));
const query = new URLSearchParams(location.search);
/** @type {import('../sdk/porch.js').GuestOptions} */
const options = { storageKey: 'porch:custom-ui' };
if (fragment.get('accessToken') && fragment.get('gatewayUrl')) {
  options.session = {
    gatewayUrl: fragment.get('gatewayUrl'),
    accessToken: fragment.get('accessToken'),
    expiresAtMs: Number(fragment.get('expiresAtMs')) || undefined,
    guestId: fragment.get('guestId') ?? undefined,
  };
  history.replaceState(null, '', location.pathname + location.search);
} else if (query.get('deployment')) {
  options.baseUrl = porchUrl;
  options.deploymentId = query.get('deployment');
  options.guest = { displayName: query.get('name') ?? undefined };
}

const chat = new PorchGuest(options);

// 2. Render what the SDK reports. Messages come in seq order, each once; history pages
//    (older messages) come separately and go before them.
chat.on('message', (m) => {
  $('log').querySelector(`.pending[data-client-message-id="${CSS.escape(m.clientMessageId ?? '')}"]`)?.remove();
  insertBySeq(entry(m));
  if (m.sender.role !== 'guest' && document.visibilityState === 'visible') chat.markRead(m.seq);
});
chat.on('history', ({ messages, hasOlder }) => {
  for (const m of messages) insertBySeq(entry(m));
  $('older').hidden = !hasOlder;
});
// Sent but not yet stored: shown greyed at the end until the stored message replaces it.
chat.on('outbox', ({ pending }) => {
  for (const p of pending) {
    if ($('log').querySelector(`[data-client-message-id="${CSS.escape(p.clientMessageId)}"]`)) continue;
    $('log').append(entry({ ...p, sender: { role: 'guest', id: chat.guestId } }, true));
  }
  scrollToEnd();
});
chat.on('typing', ({ participant, active }) => {
  $('typing').textContent = active ? `${participant.displayName ?? 'Someone'} is typing…` : '';
});
// 3. Connection state, with the server's own explanation when something is wrong.
chat.on('state', ({ state, cause, retryInMs }) => {
  const text = {
    connecting: 'Connecting…',
    open: 'Connected',
    reconnecting: cause ? `Reconnecting${retryInMs ? ` in ${Math.ceil(retryInMs / 1000)} s` : ''} (${cause.detail})` : 'Reconnecting…',
    closed: 'Disconnected',
  }[state];
  if (text) $('status').textContent = text;
  $('status').classList.toggle('bad', state !== 'open');
});
chat.on('error', (e) => {
  // Fatal: the SDK stopped (revoked, expired beyond refresh, origin not allowed…). The
  // message is the server's cause and fix; show it as it is.
  if (e.fatal) notice(`${e.detail} (${e.code})`);
  else if (e.clientMessageId && !chat.pending.some((p) => p.clientMessageId === e.clientMessageId)) {
    // Refused for good (too long, conversation closed…): the greyed copy goes.
    $('log').querySelector(`.pending[data-client-message-id="${CSS.escape(e.clientMessageId)}"]`)?.remove();
    notice(`Not sent: ${e.detail}`);
  }
});
chat.on('conversation', (c) => {
  if (c.state === 'closed') notice('This conversation was closed. Reload the page to start a new one.');
});
// The deployment's notice (opening hours, an outage), or null when your backend cleared it.
// Your backend wrote it, but every visitor's browser shows it: text, never HTML.
chat.on('notice', (n) => { $('announcement').textContent = n?.text ?? ''; });

// 4. Sending: Enter sends, Shift+Enter is a new line. send() queues in the outbox and
//    resolves when the server acknowledged; it survives reconnects and reloads.
$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  $('text').value = '';
  chat.send(text).catch(() => { /* reported through 'error' */ });
  ensureStarted();
});
$('text').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('composer').requestSubmit(); }
});
$('text').addEventListener('input', () => chat.typing());
$('older').addEventListener('click', () => chat.loadOlder());

// 5. Start. A session given or saved starts now; with only a deployment, the first message
//    creates the conversation (a visitor who never writes puts nothing in the agents' queue).
function ensureStarted() {
  if (chat.state !== 'idle') return;
  chat.start().catch((e) => notice(`${e.detail} (${e.code})`));
}
if (options.session || chat.hasSavedSession()) ensureStarted();
else if (!options.deploymentId) notice('No session: open this page with ?deployment=dep_… or with #gatewayUrl=…&accessToken=… from your backend.');

// --- drawing helpers -------------------------------------------------------------------

function entry(m, pending = false) {
  const li = document.createElement('li');
  const mine = m.sender.role === 'guest' && m.sender.id === chat.guestId;
  li.className = `${m.sender.role === 'system' ? 'system' : mine ? 'mine' : 'theirs'}${pending ? ' pending' : ''}`;
  if (m.seq) li.dataset.seq = String(m.seq);
  if (m.clientMessageId) li.dataset.clientMessageId = m.clientMessageId;
  if (m.sender.role !== 'system') {
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = mine ? (pending ? 'You · sending…' : 'You') : (m.sender.displayName ?? m.sender.role);
    li.append(who);
  }
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = m.text; // never innerHTML: the other side wrote this
  li.append(text);
  return li;
}

function insertBySeq(li) {
  const seq = Number(li.dataset.seq);
  const after = [...$('log').children].find((el) => Number(el.dataset.seq || Infinity) > seq);
  $('log').insertBefore(li, after ?? null);
  scrollToEnd();
}

function scrollToEnd() {
  $('log-box').scrollTop = $('log-box').scrollHeight;
}

function notice(text) {
  $('notice').textContent = text;
  $('notice').hidden = false;
}
