// The supervisor's view (docs/routing.md, "Supervisors"): every queue (waiting, longest wait,
// agents), every agent (status, load), every live conversation, with Open and Transfer on
// each. The conversations are the SDK's live list (a supervisor's feed covers every queue);
// queues and agents are the overview (`GET …/supervisor/overview`), read when shown, again when
// a conversation changes (its counts), and after every `ready` (a reconnect may have missed
// frames). Agents' statuses and loads follow their `agent` frames, live, with no read.

import { agentGet, failed } from './handover.js';
import { guestName, waitedFor } from './render.js';

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
    /** @type {QueueRow[]} */
    this.queues = [];
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
    agent.on('agent', (row) => { if (this.shown) this.agentChanged(row); });
    // After a reconnect the frames missed meanwhile are gone: the overview is the truth.
    agent.on('ready', () => { if (this.shown) this.reload(); });
  }

  show() {
    this.onShow();
    this.shown = true;
    this.$('supervisor-view').hidden = false;
    this.renderConversations();
    this.reload();
    this.$('supervisor-title').focus();
  }

  hide() {
    this.shown = false;
    this.$('supervisor-view').hidden = true;
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
      this.queues = overview.queues;
      this.$('supervisor-error').textContent = '';
      this.renderAgents();
      this.renderConversations();
    } catch (caught) {
      this.$('supervisor-error').textContent = `Could not read the overview: ${failed(caught)}`;
    }
  }

  /** An `agent` frame: that agent as stored now. One the overview did not list is new: read it. */
  /** @param {AgentRow} row */
  agentChanged(row) {
    const at = this.agents.findIndex((a) => a.id === row.id);
    if (at < 0) { this.reload(); return; }
    this.agents[at] = row;
    this.renderAgents();
    this.renderConversations();
  }

  /** The queues (their agents' names and statuses) and the agents, from what is known now. */
  renderAgents() {
    this.$('supervisor-queues').replaceChildren(...this.queues.map((q) => this.queueItem(q)));
    this.$('supervisor-agents').replaceChildren(...this.agents.map((a) => agentItem(a)));
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
