// The supervisor's view (docs/routing.md, "Supervisors"): every queue (waiting, longest wait,
// agents), every agent (status, load), every live conversation, with Open and Transfer on
// each. The conversations are the SDK's live list (a supervisor's feed covers every queue);
// queues and agents are the overview (`GET …/supervisor/overview`), read again when a
// conversation changes and every few seconds while shown (statuses change without a frame).

import { agentGet, failed } from './handover.js';
import { guestName, waitedFor } from './render.js';

/** How often the overview is read again while shown, for statuses set elsewhere. */
const OVERVIEW_REFRESH_MS = 5_000;
/** Changes that arrive together cost one read. */
const CHANGE_SETTLE_MS = 250;

/** @typedef {import('../sdk/porch.js').PorchAgent} PorchAgent */
/** @typedef {import('../sdk/porch.js').Conversation} Conversation */
/** @typedef {{id: string, name: string, status: string, capacity: number, load: number, queues: string[]}} AgentRow */
/** @typedef {{name: string, waiting: number, assigned: number, longestWaitMs: number, agentIds: string[]}} QueueRow */

export class SupervisorView {
  /**
   * @param {{agent: PorchAgent, baseUrl: string, byId: (id: string) => any,
   *   onOpen: (id: string, transfer: boolean) => void, onShow: () => void, onHide: () => void}} o
   */
  constructor({ agent, baseUrl, byId, onOpen, onShow, onHide }) {
    this.agent = agent;
    this.baseUrl = baseUrl;
    this.$ = byId;
    this.onShow = onShow;
    /** @type {AgentRow[]} */
    this.agents = [];
    this.shown = false;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.settle = undefined;
    const enabled = Boolean(agent.session.supervisor);
    byId('supervisor-open').hidden = !enabled;
    if (!enabled) return;
    byId('supervisor-open').onclick = () => this.show();
    byId('supervisor-back').onclick = () => { this.hide(); onHide(); };
    byId('supervisor-conversations').onclick = (/** @type {MouseEvent} */ e) => {
      const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (e.target).closest('[data-supervise-id]'));
      if (button?.dataset.superviseId) onOpen(button.dataset.superviseId, button.dataset.action === 'transfer');
    };
    agent.on('conversations', () => { if (this.shown) this.changed(); });
  }

  show() {
    this.onShow();
    this.shown = true;
    this.$('supervisor-view').hidden = false;
    this.renderConversations();
    this.reload();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.reload(), OVERVIEW_REFRESH_MS);
    this.$('supervisor-title').focus();
  }

  hide() {
    this.shown = false;
    this.$('supervisor-view').hidden = true;
    clearInterval(this.timer);
    clearTimeout(this.settle);
  }

  stop() { this.hide(); }

  /** A conversation changed: the list now, the counts and loads once changes settle. */
  changed() {
    this.renderConversations();
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.reload(), CHANGE_SETTLE_MS);
  }

  async reload() {
    try {
      const overview = await agentGet(this.agent, this.baseUrl, '/supervisor/overview');
      if (!this.shown) return;
      this.agents = overview.agents;
      this.$('supervisor-error').textContent = '';
      this.$('supervisor-queues').replaceChildren(...overview.queues.map((/** @type {QueueRow} */ q) => this.queueItem(q)));
      this.$('supervisor-agents').replaceChildren(...overview.agents.map((/** @type {AgentRow} */ a) => agentItem(a)));
      this.renderConversations();
    } catch (caught) {
      this.$('supervisor-error').textContent = `Could not read the overview: ${failed(caught)}`;
    }
  }

  /** @param {QueueRow} q */
  queueItem(q) {
    const names = q.agentIds.map((id) => this.agents.find((a) => a.id === id))
      .filter((a) => a).map((a) => `${a?.name} (${a?.status})`);
    const wait = q.waiting ? ` · longest wait ${waitedFor(q.longestWaitMs)}` : '';
    return item(q.name, `${q.waiting} waiting${wait} · ${q.assigned} assigned · agents: ${names.join(', ') || 'none'}`, { queue: q.name });
  }

  renderConversations() {
    const focused = /** @type {HTMLElement | null} */ (document.activeElement);
    const again = focused?.dataset?.superviseId ? `[data-supervise-id="${CSS.escape(focused.dataset.superviseId)}"][data-action="${focused.dataset.action}"]` : null;
    const all = this.agent.conversations;
    this.$('supervisor-conversations').replaceChildren(...all.map((c) => this.conversationItem(c)));
    this.$('supervisor-count').textContent = `(${all.length})`;
    if (again) /** @type {HTMLElement | null} */ (document.querySelector(again))?.focus();
  }

  /** @param {Conversation} c */
  conversationItem(c) {
    const holder = c.state === 'assigned' ? (this.agents.find((a) => a.id === c.assignedAgentId)?.name ?? 'an agent') : null;
    const meta = holder ? `${c.queue} · held by ${holder}` : `${c.queue} · waiting ${waitedFor(Date.now() - c.createdAtMs)}`;
    const li = item(guestName(c), meta, { conversationId: c.id });
    const actions = document.createElement('span');
    actions.className = 'supervise-actions';
    for (const [action, label] of [['open', 'Open'], ['transfer', 'Transfer…']]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.dataset.superviseId = c.id;
      b.dataset.action = action;
      b.setAttribute('aria-label', `${label.replace('…', '')} ${guestName(c)}'s conversation`);
      actions.append(b);
    }
    li.append(actions);
    return li;
  }
}

/** @param {AgentRow} a */
function agentItem(a) {
  return item(a.name, `${a.status} · ${a.load} of ${a.capacity} · ${a.queues.join(', ')}`, { agentId: a.id, status: a.status });
}

/** @param {string} title @param {string} meta @param {Record<string, string>} data */
function item(title, meta, data) {
  const li = document.createElement('li');
  Object.assign(li.dataset, data);
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = title;
  const line = document.createElement('span');
  line.className = 'meta';
  line.textContent = meta;
  li.append(name, line);
  return li;
}
