// DOM helpers of the console. Keyed by seq, so rendering the same message twice (a history
// page overlapping live ones, a re-opened conversation) shows it once. Text goes through
// textContent only: guests write it.

/**
 * @param {{seq?: number, text: string, sender?: {role: string, id?: string, displayName?: string}, clientMessageId?: string, note?: string, wrapUp?: string}} m
 * @param {{agentId: string, pending?: boolean}} o
 */
export function messageElement(m, { agentId, pending = false }) {
  const role = m.sender?.role ?? 'agent';
  const mine = role === 'agent' && (pending || m.sender?.id === agentId);
  const el = document.createElement('div');
  el.className = `msg ${role === 'system' ? 'system' : mine ? 'mine' : 'theirs'}${pending ? ' pending' : ''}`;
  if (m.seq) el.dataset.seq = String(m.seq);
  if (m.clientMessageId) el.dataset.clientMessageId = m.clientMessageId;
  el.dataset.role = role;
  if (role !== 'system') {
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = `${mine ? 'You' : (m.sender?.displayName || (role === 'guest' ? 'Guest' : 'Agent'))}${pending ? ' · sending…' : ''}`;
    el.append(who);
  }
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = m.text;
  el.append(text);
  // Agents only (the server never sends them to guests): a transfer's note, a close's code.
  for (const [label, value] of [['Note', m.note], ['Wrap-up', m.wrapUp]]) {
    if (!value) continue;
    const internal = document.createElement('p');
    internal.className = 'internal';
    internal.textContent = `${label}: ${value}`;
    el.append(internal);
  }
  return el;
}

/**
 * Inserts a stored message at its place by seq, replacing the pending bubble of the same
 * send; a seq already shown is left alone.
 * @param {HTMLElement} log
 * @param {HTMLElement} el
 */
export function placeMessage(log, el) {
  const seq = Number(el.dataset.seq);
  if (log.querySelector(`[data-seq="${seq}"]`)) return;
  const id = el.dataset.clientMessageId;
  if (id) log.querySelector(`.pending[data-client-message-id="${CSS.escape(id)}"]`)?.remove();
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  let before = null;
  for (const child of /** @type {HTMLElement[]} */ ([...log.children])) {
    if (Number(child.dataset.seq || Infinity) > seq) { before = child; break; }
  }
  log.insertBefore(el, before);
  if (atEnd) log.scrollTop = log.scrollHeight;
}

/**
 * A guest's label: the name given, or a short form of the id.
 * @param {import('../sdk/porch.js').Conversation} conversation
 */
export function guestName(conversation) {
  return conversation?.guest?.displayName || `Guest ${String(conversation?.guest?.id ?? conversation?.id ?? '').slice(-5)}`;
}

/**
 * One entry of the conversation list.
 * @param {any} c a Conversation
 * @param {{current: boolean, unread: number, agentId: string, nowMs: number}} o
 */
export function conversationItem(c, { current, unread, agentId, nowMs }) {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.conversationId = c.id;
  if (current) button.setAttribute('aria-current', 'true');
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = guestName(c);
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = c.state === 'waiting'
    ? `waiting ${waitedFor(nowMs - c.createdAtMs)}`
    : c.state === 'closed'
      ? `closed ${new Date(c.updatedAtMs ?? c.createdAtMs).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })}`
      : `${c.assignedAgentId === agentId ? 'yours' : 'another agent'} · ${new Date(c.updatedAtMs ?? c.createdAtMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  button.append(name, meta);
  const preview = previewLine(c, agentId);
  if (preview) button.append(preview);
  if (unread) {
    const badge = document.createElement('span');
    badge.className = 'unread';
    badge.textContent = String(unread);
    badge.setAttribute('aria-label', `${unread} unread`);
    button.prepend(badge);
  }
  li.append(button);
  return li;
}

/**
 * The conversation's latest entry on one line (api.md, "Last message"): who wrote it ("You",
 * the guest's name, "Agent", "Bot"), then its text, or what it is (a file); Porch's own entries
 * as they are, in italics. The line is cut by CSS where the row ends; the server's cut gets an
 * ellipsis. The time is the row's: when it was written.
 * @param {any} c a Conversation
 * @param {string} agentId
 * @returns {HTMLElement | null}
 */
export function previewLine(c, agentId) {
  /** @type {import('../sdk/porch.js').LastMessage | undefined} */
  const last = c.lastMessage;
  if (!last) return null;
  const el = document.createElement('span');
  el.className = `preview ${last.kind}`;
  const who = last.senderRole === 'guest' ? guestName(c)
    : last.senderRole === 'agent' ? (last.senderId === agentId ? 'You' : 'Agent')
      : last.senderRole === 'bot' ? 'Bot' : '';
  const what = last.kind === 'attachment' ? 'sent a file' : `${last.text}${last.truncated ? '…' : ''}`;
  el.textContent = who ? `${who}: ${what}` : what;
  const at = new Date(last.createdAtMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  el.title = `${el.textContent} (${at})`;
  return el;
}

/**
 * How long a guest has waited, as an agent glances at it: "under a minute", "4 min", "1 h 5 min".
 * @param {number} ms
 */
export function waitedFor(ms) {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'under a minute';
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
