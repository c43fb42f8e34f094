// Handing the open conversation on (docs/routing.md): transfer to an agent or a queue with a
// note only agents read, unassign back to its queue, close with a wrap-up code; and the
// summary a bot left when it handed the conversation over (docs/bots.md). The choices come
// from the server (`GET …/{id}/handover`), so the forms offer only what it would take.

import { request } from '../sdk/http.js';
import { PATHS } from '../sdk/wire.gen.js';

/** @typedef {import('../sdk/porch.js').PorchAgent} PorchAgent */
/** @typedef {import('../sdk/porch.js').Conversation} Conversation */
/** @typedef {{id: string, name: string, status: string, capacity: number, load: number}} AgentChoice */
/** @typedef {{agents: AgentChoice[], queues: string[], wrapUpCodes: string[]}} HandoverOptions */

/**
 * One GET of the agent API with the agent's current token.
 * @param {PorchAgent} agent @param {string} baseUrl @param {string} path
 * @returns {Promise<any>}
 */
export function agentGet(agent, baseUrl, path) {
  return request(fetch.bind(globalThis), baseUrl, 'GET', `${PATHS.agentApi}${path}`, { token: agent.session.accessToken });
}

/** @param {unknown} caught */
export const failed = (caught) => {
  const err = /** @type {{detail?: string, message?: string, code?: string}} */ (caught ?? {});
  return `${err.detail ?? err.message} (${err.code ?? 'error'})`;
};

export class Handover {
  /**
   * @param {{agent: PorchAgent, baseUrl: string, byId: (id: string) => any, onChanged: () => void}} o
   */
  constructor({ agent, baseUrl, byId, onChanged }) {
    this.agent = agent;
    this.baseUrl = baseUrl;
    this.$ = byId;
    this.onChanged = onChanged;
    /** @type {string | null} */
    this.id = null;
    const $ = byId;
    $('transfer-open').onclick = () => this.openTransfer();
    $('unassign').onclick = () => this.act(() => agent.unassign(this.need()));
    $('close-conversation').onclick = () => this.openClose();
    $('transfer-form').onsubmit = (/** @type {SubmitEvent} */ e) => { e.preventDefault(); this.transfer(); };
    $('close-form').onsubmit = (/** @type {SubmitEvent} */ e) => { e.preventDefault(); this.close(); };
    for (const form of ['transfer-form', 'close-form']) {
      $(form).querySelector('[data-cancel]').onclick = () => this.hide(true);
      $(form).onkeydown = (/** @type {KeyboardEvent} */ e) => { if (e.key === 'Escape') this.hide(true); };
    }
  }

  need() {
    if (!this.id) throw new Error('no conversation is open');
    return this.id;
  }

  /** A conversation was opened: forms shut, its hand-off summary read. @param {string} id */
  use(id) {
    this.id = id;
    this.hide(false);
    this.$('handoff').hidden = true;
    agentGet(this.agent, this.baseUrl, `/conversations/${encodeURIComponent(id)}/handoff`)
      .then(({ handoff }) => {
        if (this.id !== id || !handoff?.summary) return;
        this.$('handoff-summary').textContent = handoff.summary;
        this.$('handoff').hidden = false;
      })
      .catch(() => { /* no summary shown: the chat matters more */ });
  }

  /** The buttons this agent may use on `c`. @param {Conversation} c */
  render(c) {
    const supervisor = Boolean(this.agent.session.supervisor);
    const mine = c.state === 'assigned' && c.assignedAgentId === this.agent.agentId;
    const live = c.state !== 'closed';
    this.$('transfer-open').hidden = !(mine || (supervisor && live));
    this.$('unassign').hidden = !(mine || (supervisor && c.state === 'assigned'));
    this.$('close-conversation').hidden = !live;
    if (!live) this.hide(false);
  }

  /** @param {boolean} refocus give focus back to the conversation's heading */
  hide(refocus) {
    this.$('transfer-form').hidden = true;
    this.$('close-form').hidden = true;
    this.$('handover-error').textContent = '';
    if (refocus) this.$('transfer-open').focus();
  }

  /** @returns {Promise<HandoverOptions | null>} */
  async options() {
    try {
      return await agentGet(this.agent, this.baseUrl, `/conversations/${encodeURIComponent(this.need())}/handover`);
    } catch (caught) {
      this.$('handover-error').textContent = `Could not read the choices: ${failed(caught)}`;
      return null;
    }
  }

  async openTransfer() {
    this.hide(false);
    const options = await this.options();
    if (!options) return;
    const select = this.$('transfer-target');
    const agents = group('Agents', options.agents.map((a) => choice(`agent:${a.id}`,
      `${a.name} · ${a.status} · ${a.load} of ${a.capacity}`, a.status !== 'available')));
    const queues = group('Queues', options.queues.map((q) => choice(`queue:${q}`, q, false)));
    select.replaceChildren(...[agents, queues].filter((g) => g.children.length));
    const first = /** @type {HTMLOptionElement | undefined} */ ([...select.options].find((o) => !o.disabled));
    if (first) select.value = first.value;
    this.$('transfer-note').value = '';
    this.$('transfer-form').hidden = false;
    this.$('transfer-form').querySelector('button[type="submit"]').disabled = !first;
    // Said rather than an empty list: nobody can take it right now.
    if (!first) this.$('handover-error').textContent = 'No other agent of this queue is available, and there is no other queue: try again later.';
    select.focus();
  }

  async transfer() {
    const [kind, ...rest] = String(this.$('transfer-target').value).split(':');
    const value = rest.join(':');
    if (!value) return;
    const note = this.$('transfer-note').value.trim() || undefined;
    const target = kind === 'agent' ? { agentId: value, note } : { queue: value, note };
    await this.act(() => this.agent.transfer(this.need(), target));
  }

  async openClose() {
    this.hide(false);
    const options = await this.options();
    if (!options) return;
    const select = this.$('wrap-up');
    const codes = options.wrapUpCodes;
    select.replaceChildren(...(codes.length ? codes : ['']).map((code) => choice(code, code || 'No wrap-up code needed', false)));
    select.disabled = codes.length === 0;
    this.$('close-form').hidden = false;
    (codes.length ? select : this.$('close-form').querySelector('button[type="submit"]')).focus();
  }

  async close() {
    const wrapUp = this.$('wrap-up').value || undefined;
    await this.act(() => this.agent.close(this.need(), { wrapUp }));
  }

  /** Runs one hand-over; the forms shut when it was taken, the cause is shown when refused. @param {() => Promise<unknown>} run */
  async act(run) {
    this.$('handover-error').textContent = '';
    try {
      await run();
      this.hide(false);
      this.$('handover-status').textContent = 'Done.';
      this.onChanged();
    } catch (caught) {
      this.$('handover-error').textContent = failed(caught);
    }
  }
}

/** @param {string} label @param {HTMLOptionElement[]} options */
function group(label, options) {
  const g = document.createElement('optgroup');
  g.label = label;
  g.append(...options);
  return g;
}

/** @param {string} value @param {string} label @param {boolean} disabled */
function choice(value, label, disabled) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  o.disabled = disabled;
  return o;
}
