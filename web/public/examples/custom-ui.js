// The reference custom UI: a whole chat page on the Porch SDK, about 200 lines. Start here
// when you build your own. Everything about the protocol (subprotocol pair, ready, resume,
// outbox, token refresh, backoff) is in PorchGuest; this file only draws what it reports.
// Visitors read plain words; causes and fixes go to the browser console, for you.

// On your site, import from your Porch: 'https://chat.example.com/sdk/porch.js'
// (or copy web/public/sdk/ into your bundle: plain ES modules, no dependencies).
import { PorchGuest } from '../sdk/porch.js';
import { bindFiles, showFile } from './custom-ui-files.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
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
const gatewayUrl = fragment.get('gatewayUrl');
const accessToken = fragment.get('accessToken');
const deployment = query.get('deployment');
if (accessToken && gatewayUrl) {
  options.session = {
    gatewayUrl,
    accessToken,
    expiresAtMs: Number(fragment.get('expiresAtMs')) || undefined,
    guestId: fragment.get('guestId') ?? undefined,
  };
  history.replaceState(null, '', location.pathname + location.search);
} else if (deployment) {
  options.baseUrl = porchUrl;
  options.deploymentId = deployment;
  options.guest = { displayName: query.get('name') ?? undefined };
}

/** @type {PorchGuest} */
let chat = newChat(options);

// 2. Render what the SDK reports. Messages come in seq order, each once; history pages
//    (older messages) come separately and go before them.
/** @param {import('../sdk/porch.js').GuestOptions} opts */
function newChat(opts) {
  const c = new PorchGuest(opts);
  c.on('message', (m) => {
    $('log').querySelector(`.pending[data-client-message-id="${CSS.escape(m.clientMessageId ?? '')}"]`)?.remove();
    insertBySeq(entry(m));
    if (m.sender.role !== 'guest' && document.visibilityState === 'visible') c.markRead(m.seq);
  });
  c.on('history', ({ messages, hasOlder }) => {
    for (const m of messages) insertBySeq(entry(m));
    $('older').hidden = !hasOlder;
  });
  // Sent but not yet stored: shown greyed at the end until the stored message replaces it.
  c.on('outbox', ({ pending }) => {
    for (const p of pending) {
      if ($('log').querySelector(`[data-client-message-id="${CSS.escape(p.clientMessageId)}"]`)) continue;
      $('log').append(entry({ ...p, sender: { role: 'guest', id: c.guestId } }, true));
    }
    scrollToEnd();
  });
  c.on('typing', ({ participant, active }) => {
    $('typing').textContent = active ? `${participant.displayName ?? 'Someone'} is typing…` : '';
  });
  // 3. Connection state, in plain words. Nothing shows before the visitor writes.
  c.on('state', ({ state }) => {
    const text = /** @type {Record<string, string>} */ ({ connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…' })[state] ?? '';
    $('status').textContent = text;
    $('status').classList.toggle('bad', state === 'reconnecting');
  });
  // The cause and the fix are Porch's words, for you: the console. Visitors get plain ones.
  c.on('error', (e) => {
    console[e.fatal ? 'error' : 'warn'](`Porch: ${e.code}: ${e.detail}${e.ref ? ` [ref ${e.ref}]` : ''}`);
    if (e.fatal) unavailable();
    else if (e.clientMessageId && !c.pending.some((p) => p.clientMessageId === e.clientMessageId)) {
      // Refused for good (too long, conversation closed…): the greyed copy says so.
      markNotSent(e.clientMessageId);
      notice('Your message could not be sent.');
    }
  });
  // Closed by an agent. Within the reopen window (`final: false`) the visitor may still write:
  // that reopens it, so the composer stays. Once final, the SDK has forgotten the saved
  // session; offer a new chat. (A session your backend made cannot be replaced from here: your
  // page asks it for another.)
  c.on('closed', ({ unsent, final }) => {
    for (const p of unsent) markNotSent(p.clientMessageId);
    if (final) ended('This conversation has ended.', Boolean(options.deploymentId));
    else reopenable();
  });
  c.on('reopened', () => { $('ended').hidden = true; });
  // The deployment's notice (opening hours, an outage), or null when your backend cleared it.
  // Your backend wrote it, but every visitor's browser shows it: text, never HTML.
  c.on('notice', (n) => { $('announcement').textContent = n?.text ?? ''; });
  // While the conversation waits for an agent: its place in the queue, and about how long.
  c.on('queue', (q) => { $('queue').textContent = q ? queueText(q) : ''; });
  return c;
}

/** "You are number 3 in the queue · about 2 min": minutes rounded up.
 * @param {import('../sdk/porch.js').QueuePosition} q */
function queueText(q) {
  const place = `You are number ${q.position} in the queue`;
  if (q.estimatedWaitMs === undefined) return place;
  const mins = Math.max(1, Math.ceil(q.estimatedWaitMs / 60_000));
  return `${place} · about ${mins} min`;
}

// 4. Sending: Enter sends, Shift+Enter is a new line. send() queues in the outbox and
//    resolves when the server acknowledged; it survives reconnects and reloads.
$('composer').addEventListener('submit', (/** @type {SubmitEvent} */ e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  $('text').value = '';
  $('notice').hidden = true;
  chat.send(text).catch(() => { /* reported through 'error' or 'closed' */ });
  ensureStarted();
});
$('text').addEventListener('keydown', (/** @type {KeyboardEvent} */ e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('composer').requestSubmit(); }
});
$('text').addEventListener('input', () => chat.typing());
$('older').addEventListener('click', () => chat.loadOlder().catch(() => notice('Earlier messages could not be loaded.')));
// A new conversation: forget this one (end with forget), then a new PorchGuest.
$('restart').addEventListener('click', () => {
  chat.end({ forget: true });
  chat = newChat(options);
  $('log').replaceChildren();
  $('ended').hidden = true;
  $('composer').hidden = false;
  $('older').hidden = true;
  $('notice').hidden = true;
  $('status').textContent = '';
  $('queue').textContent = '';
  $('text').focus();
});

// 5. Start. A session given or saved starts now. With only a deployment, the page is checked
//    (origin, deployment, Content-Security-Policy) and the deployment's notice read; the first
//    message creates the conversation (a visitor who never writes puts nothing in the agents'
//    queue), and is sent once Porch answers if it is down.
bindFiles({ chat: () => chat, byId: $, start: ensureStarted });

/** Starts the chat once; resolves when it has started (or failed, which it reports). */
function ensureStarted() {
  if (chat.state !== 'idle') return Promise.resolve();
  const c = chat;
  return c.start().catch((e) => {
    if (e.fatal || e.code === 'ended' || c !== chat) return; // reported through 'error'
    console.error(`Porch: ${e.code}: ${e.detail}`);
    unavailable();
  });
}
if (options.session || chat.hasSavedSession()) ensureStarted();
else if (options.deploymentId) {
  chat.check().catch((e) => {
    console[e.code === 'network' ? 'warn' : 'error'](`Porch: this page cannot start a chat: ${e.code}: ${e.detail}`);
    if (e.code !== 'network') unavailable();
  });
} else {
  console.error('Porch: no session: open this page with ?deployment=dep_… or with #gatewayUrl=…&accessToken=… from your backend');
  unavailable();
}

// --- drawing helpers -------------------------------------------------------------------

/**
 * @param {{seq?: number, text: string, clientMessageId?: string, sender: {role: string, id?: string | null, displayName?: string}, attachment?: import('../sdk/porch.js').Attachment}} m
 * @param {boolean} [pending]
 */
function entry(m, pending = false) {
  const li = document.createElement('li');
  const mine = m.sender.role === 'guest' && m.sender.id === chat.guestId;
  li.className = `${m.sender.role === 'system' ? 'system' : mine ? 'mine' : 'theirs'}${pending ? ' pending' : ''}`;
  if (m.seq) li.dataset.seq = String(m.seq);
  if (m.clientMessageId) li.dataset.clientMessageId = m.clientMessageId;
  if (m.sender.role !== 'system') {
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = mine ? (pending ? 'You · sending…' : 'You') : (m.sender.displayName ?? 'Support');
    li.append(who);
  }
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = m.text; // never innerHTML: the other side wrote this
  if (m.attachment && m.seq) showFile(text, m.attachment, chat);
  li.append(text);
  return li;
}

/** @param {HTMLElement} li */
function insertBySeq(li) {
  const seq = Number(li.dataset.seq);
  const after = [...$('log').children].find((el) => Number(el.dataset.seq || Infinity) > seq);
  $('log').insertBefore(li, after ?? null);
  scrollToEnd();
}

/** @param {string} clientMessageId */
function markNotSent(clientMessageId) {
  const li = $('log').querySelector(`.pending[data-client-message-id="${CSS.escape(clientMessageId)}"]`);
  if (!li) return;
  li.classList.replace('pending', 'failed');
  li.querySelector('.who').textContent = 'You · not sent';
}

function scrollToEnd() {
  $('log-box').scrollTop = $('log-box').scrollHeight;
}

/** @param {string} text */
function notice(text) {
  $('notice').textContent = text;
  $('notice').hidden = false;
}

/**
 * The chat is over: the composer goes; a new chat is offered when one could work.
 * @param {string} text
 * @param {boolean} canRestart
 */
function ended(text, canRestart) {
  const hadFocus = $('composer').contains(document.activeElement);
  $('ended-text').textContent = text;
  $('restart').hidden = !canRestart;
  $('ended').hidden = false;
  $('composer').hidden = true;
  $('typing').textContent = '';
  $('status').textContent = '';
  if (hadFocus) (canRestart ? $('restart') : $('log-box')).focus();
}

/** Closed, but writing again picks it up: say so, keep the composer, offer a new chat too. */
function reopenable() {
  $('ended-text').textContent = 'The agent ended this chat. Send a message to pick it up again.';
  $('restart').hidden = !options.deploymentId;
  $('ended').hidden = false;
  $('typing').textContent = '';
}

function unavailable() {
  ended('Chat is unavailable right now. Please try again later.', false);
}
