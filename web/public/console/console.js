// The agent console: log in, follow the queues live, read and answer conversations.
// All the protocol work (reconnect, resync, ordering, dedupe, outbox) is the SDK's
// PorchAgent; this file only draws. Served by Porch, so it talks to its own origin.

import { PorchAgent } from '../sdk/porch.js';
import { Alerts } from './alerts.js';
import { ConsoleFiles } from './attach.js';
import { CannedMenu } from './canned.js';
import { ClosedList } from './closed.js';
import { Handover } from './handover.js';
import { conversationItem, guestName, messageElement, placeMessage } from './render.js';
import { RoutingView } from './routing.js';
import { SupervisorView } from './supervisor.js';
import { historyItems, visitorRows } from './visitor.js';

const baseUrl = new URL('..', import.meta.url).href.replace(/\/$/, '');
/** The agent token lives in this tab only (sessionStorage), so a reload stays logged in. */
const SESSION_KEY = 'porch:console:session';
/** The conversation open in this tab, so a reload opens it again. */
const OPEN_KEY = 'porch:console:open';
/** How often the waiting times in the list move on. */
const LIST_TICK_MS = 30_000;

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
/** @type {PorchAgent | null} */
let agent = null;
/** @type {string | null} */
let openId = null;
/** @type {Map<string, number>} unread messages, by conversation */
const unread = new Map();
/** @type {Map<string, import('../sdk/porch.js').VisitorContext>} where each visitor was, by conversation */
const contexts = new Map();
/** @type {RoutingView | null} */
let routing = null;
/** @type {ClosedList | null} */
let closedList = null;
/** @type {Handover | null} */
let handover = null;
/** @type {SupervisorView | null} */
let supervisor = null;
const canned = new CannedMenu({
  textarea: $('reply'),
  list: $('canned-list'),
  status: $('canned-status'),
  load: (id) => (agent ? agent.cannedReplies(id) : Promise.resolve([])),
});
const files = new ConsoleFiles({ agent: () => agent, openId: () => openId, byId: $ });
const alerts = new Alerts({ sound: $('alert-sound'), desktop: $('alert-desktop'), note: $('alert-note'), baseTitle: document.title });

/**
 * The words of a failure: a PorchError's cause and fix, or whatever else was thrown.
 * @param {unknown} err
 */
const failure = (err) => /** @type {{detail?: string, message?: string, code?: string}} */ (err ?? {});

function showLogin(message = '') {
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message;
  $('login-name').focus();
}

$('login-form').addEventListener('submit', async (/** @type {SubmitEvent} */ e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try {
    const session = await PorchAgent.login({ baseUrl, name: $('login-name').value.trim(), secret: $('login-secret').value });
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    $('login-secret').value = '';
    start(session);
  } catch (caught) {
    const err = failure(caught);
    $('login-error').textContent = `${err.detail ?? err.message} (${err.code ?? 'error'})`;
  }
});

$('logout').addEventListener('click', () => logout(''));

/** @param {string} message why, shown on the login form */
function logout(message) {
  agent?.end();
  agent = null;
  routing?.stop();
  routing = null;
  supervisor?.stop();
  supervisor = handover = null;
  closedList = null;
  $('closed-list').replaceChildren();
  unread.clear();
  alerts.title(0);
  setOpen(null);
  sessionStorage.removeItem(SESSION_KEY);
  showLogin(message);
}

/** @param {import('../sdk/porch.js').AgentSession} session */
function start(session) {
  agent = new PorchAgent({ session, baseUrl });
  const a = agent;
  routing = new RoutingView({
    agent: a,
    byId: $,
    onAccepted: (id) => openConversation(id),
    onOffer: (offer) => alerts.offer({
      title: 'New conversation offered',
      body: `${guestName(offer.conversation)}, queue ${offer.conversation.queue}`,
      tag: offer.conversation.id,
      onClick: () => /** @type {HTMLElement | null} */ (document.querySelector('#offers-list button'))?.focus(),
    }),
    onCount: () => renderCount(),
  });
  const closed = new ClosedList({ agent: a, byId: $, openId: () => openId });
  handover = new Handover({ agent: a, baseUrl, byId: $, onChanged: () => renderHead() });
  supervisor = new SupervisorView({
    agent: a, baseUrl, byId: $,
    onOpen: (id, transfer) => openConversation(id).then(() => { if (transfer) handover?.openTransfer(); }),
    onShow: () => { setOpen(null); $('empty').hidden = true; $('open-view').hidden = true; $('app-view').classList.add('reading'); },
    onHide: () => $('back').click(),
  });
  closedList = closed;
  a.on('ready', () => closed.load(closed.q));
  // The SDK refreshes the token before it expires; keep the fresh one for a reload.
  a.on('refresh', ({ session: fresh }) => sessionStorage.setItem(SESSION_KEY, JSON.stringify(fresh)));
  a.on('conversations', () => {
    renderList();
    // After a reload, the conversation that was open, once the agent's list is known.
    const wanted = sessionStorage.getItem(OPEN_KEY);
    if (wanted && openId === null && a.conversation(wanted)) openConversation(wanted);
  });
  a.on('conversation', (c) => {
    if (c.id === openId) renderHead();
    if (c.state === 'closed') closed.closed(c);
  });
  a.on('message', ({ conversationId, message }) => {
    if (conversationId === openId) {
      placeMessage($('messages'), messageElement(message, { agentId: a.agentId }));
      if (message.sender?.role === 'guest' && document.visibilityState === 'visible') a.markRead(conversationId, message.seq);
    } else if (message.sender?.role === 'guest') {
      unread.set(conversationId, (unread.get(conversationId) ?? 0) + 1);
      renderList();
    }
  });
  a.on('history', ({ conversationId, messages, hasOlder }) => {
    if (conversationId !== openId) return;
    for (const m of messages) placeMessage($('messages'), messageElement(m, { agentId: a.agentId }));
    $('older').hidden = !hasOlder;
  });
  a.on('outbox', () => renderPending());
  a.on('typing', ({ conversationId, participant, active }) => {
    if (conversationId === openId) $('typing').textContent = active ? `${participant?.displayName || 'The guest'} is typing…` : '';
  });
  a.on('state', ({ state, cause, retryInMs }) => {
    const el = $('connection');
    el.classList.toggle('bad', state !== 'open');
    if (state === 'open') el.textContent = 'Connected';
      else if (state === 'reconnecting' && cause) el.textContent = `Reconnecting${retryInMs ? ` in ${Math.ceil(retryInMs / 1000)} s` : ''}: ${cause.detail}`;
    else if (state === 'connecting') el.textContent = 'Connecting…';
    // The header keeps one line: a long cause is cut there, and whole on hover.
    el.title = el.textContent;
  });
  a.on('error', (err) => {
    if (err.fatal) logout(`Disconnected: ${err.detail} (${err.code})`);
    else if (err.clientMessageId) {
      $('conversation-error').textContent = `Not sent: ${err.detail}`;
      if (!(openId && a.pending(openId).some((p) => p.clientMessageId === err.clientMessageId))) {
        $('messages').querySelector(`.pending[data-client-message-id="${CSS.escape(err.clientMessageId)}"]`)?.remove();
      }
    }
  });
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('agent-name').textContent = session.name;
  a.start().catch(() => { /* fatal errors log out, above */ });
}

function renderList() {
  if (!agent) return;
  const focused = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.conversationId;
  const all = agent.conversations;
  const nowMs = Date.now();
  const agentId = agent.agentId;
  for (const state of ['waiting', 'assigned']) {
    const items = all.filter((c) => c.state === state)
      .map((c) => conversationItem(c, { current: c.id === openId, unread: unread.get(c.id) ?? 0, agentId, nowMs }));
    $(`${state}-list`).replaceChildren(...items);
    $(`${state}-count`).textContent = `(${items.length})`;
  }
  renderCount();
  closedList?.render();
  // Re-rendering replaced the buttons: give focus back to the one that had it.
  if (focused) /** @type {HTMLElement | null} */ (document.querySelector(`[data-conversation-id="${CSS.escape(focused)}"]`))?.focus();
}

/** Offers and unread messages waiting, in the tab's title. */
function renderCount() {
  let count = agent?.offers.length ?? 0;
  for (const n of unread.values()) count += n;
  alerts.title(count);
}

/** @type {HTMLElement} */ (document.querySelector('.sidebar')).addEventListener('click', (e) => {
  const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (e.target).closest('[data-conversation-id]'));
  if (button?.dataset.conversationId) openConversation(button.dataset.conversationId);
});

setInterval(() => {
  renderList();
  renderReopen(openId ? agent?.conversation(openId) : null);
}, LIST_TICK_MS);

/**
 * Which conversation is open (null: none); on a narrow screen it takes the whole page.
 * @param {string | null} id
 */
function setOpen(id) {
  openId = id;
  if (id) sessionStorage.setItem(OPEN_KEY, id);
  else sessionStorage.removeItem(OPEN_KEY);
  $('app-view').classList.toggle('reading', id !== null);
}

$('back').addEventListener('click', () => {
  setOpen(null);
  $('open-view').hidden = true;
  $('empty').hidden = false;
  renderList();
  /** @type {HTMLElement | null} */ (document.querySelector('.sidebar button'))?.focus();
});

/** @param {string} id */
async function openConversation(id) {
  if (!agent) return;
  setOpen(id);
  supervisor?.hide();
  handover?.use(id);
  unread.delete(id);
  $('empty').hidden = true;
  $('open-view').hidden = false;
  $('messages').replaceChildren();
  $('typing').textContent = '';
  $('conversation-error').textContent = '';
  renderHead();
  renderList();
  canned.use(agent.conversation(id));
  loadVisitor(id);
  try {
    await agent.open(id);
  } catch (err) {
    $('conversation-error').textContent = `Could not load the conversation: ${failure(err).detail}`;
    return;
  }
  if (openId !== id) return;
  for (const m of agent.messages(id)) placeMessage($('messages'), messageElement(m, { agentId: agent.agentId }));
  $('older').hidden = !agent.hasOlder(id);
  renderPending();
  const last = agent.messages(id).at(-1);
  if (last) agent.markRead(id, last.seq);
  $('reply').focus();
}

/**
 * Where the visitor was, and the customer's other conversations: read when a conversation
 * opens, drawn if it is still the open one.
 * @param {string} id
 */
async function loadVisitor(id) {
  const a = agent;
  if (!a) return;
  $('visitor-history').replaceChildren();
  $('visitor-history-title').hidden = true;
  try {
    if (!contexts.has(id)) contexts.set(id, await a.visitor(id));
    if (openId === id) renderHead();
    if (!a.conversation(id)?.guest?.externalId) return;
    const page = await a.customerConversations(id, { limit: 11 });
    if (openId !== id) return;
    const items = historyItems(page.conversations, id);
    $('visitor-history').replaceChildren(...items);
    $('visitor-history-title').hidden = items.length === 0;
  } catch { /* the details stay as they were: the chat matters more */ }
}

$('visitor-history').addEventListener('click', (/** @type {MouseEvent} */ e) => {
  const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (e.target).closest('[data-conversation-id]'));
  if (button?.dataset.conversationId) openConversation(button.dataset.conversationId);
});

function renderHead() {
  const c = openId ? agent?.conversation(openId) : null;
  if (!c) return;
  $('conversation-title').textContent = guestName(c);
  $('visitor-details').replaceChildren(...visitorRows(c, contexts.get(c.id) ?? null));
  $('conversation-state').textContent = c.state === 'assigned' && c.assignedAgentId !== agent?.agentId ? 'assigned to another agent' : c.state;
  $('take').hidden = c.state !== 'waiting';
  handover?.render(c);
  const closed = c.state === 'closed';
  $('reply').disabled = closed;
  $('reply-form').querySelector('button[type="submit"]').disabled = closed;
  files.enable(!closed);
  renderReopen(c);
}

/** A closed conversation its visitor may still reopen by writing (routing.md, "Reopen"): until
 * when. Checked again at each list tick, so it goes once the window has passed.
 * @param {import('../sdk/porch.js').Conversation | null | undefined} c */
function renderReopen(c) {
  const untilMs = c?.state === 'closed' ? c.reopenUntilMs ?? 0 : 0;
  const el = $('conversation-reopen');
  el.hidden = untilMs <= Date.now();
  el.textContent = el.hidden ? '' : `the visitor can reopen it until ${new Date(untilMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}

function renderPending() {
  if (!agent || !openId) return;
  const log = $('messages');
  for (const p of agent.pending(openId)) {
    if (log.querySelector(`[data-client-message-id="${CSS.escape(p.clientMessageId)}"]`)) continue;
    log.append(messageElement({ ...p, sender: { role: 'agent' } }, { agentId: agent.agentId, pending: true }));
    log.scrollTop = log.scrollHeight;
  }
}

$('reply-form').addEventListener('submit', (/** @type {SubmitEvent} */ e) => {
  e.preventDefault();
  const text = $('reply').value.trim();
  if (!text || !agent || !openId) return;
  $('reply').value = '';
  $('conversation-error').textContent = '';
  agent.send(openId, text).catch(() => { /* shown by the error handler */ });
});
$('reply').addEventListener('keydown', (/** @type {KeyboardEvent} */ e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('reply-form').requestSubmit(); }
});
$('reply').addEventListener('input', () => { if (agent && openId) agent.typing(openId); });
$('older').addEventListener('click', () => { if (agent && openId) agent.loadOlder(openId).catch((err) => { $('conversation-error').textContent = err.detail; }); });
$('take').addEventListener('click', () => act('assign'));

/** @param {'assign'} verb */
async function act(verb) {
  if (!agent || !openId) return;
  try {
    await agent[verb](openId);
    renderHead();
  } catch (caught) {
    const err = failure(caught);
    $('conversation-error').textContent = `${err.detail} (${err.code})`;
  }
}

const saved = (() => { try { return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null'); } catch { return null; } })();
if (saved?.accessToken && saved.expiresAtMs > Date.now()) start(saved);
else showLogin();
