// The agent's routing in the console (docs/routing.md): the status switch, capacity and load,
// and the offers with Accept, Decline and the time left. The SDK keeps the truth
// (`agent.status`, `agent.offers`); this draws it and forwards the agent's clicks.

import { guestName } from './render.js';

/** How often the time left on the offers moves on. */
const OFFER_TICK_MS = 1_000;

/** @typedef {import('../sdk/porch.js').PorchAgent} PorchAgent */

export class RoutingView {
  /**
   * @param {{agent: PorchAgent, byId: (id: string) => any, onAccepted: (id: string) => void,
   *   onOffer: (offer: import('../sdk/porch.js').Offer) => void, onCount: () => void}} o
   */
  constructor({ agent, byId, onAccepted, onOffer, onCount }) {
    this.agent = agent;
    this.$ = byId;
    this.onAccepted = onAccepted;
    /** Conversations assigned to this agent as the list last showed: a change re-reads the load. */
    this.mine = -1;
    this.$('status').onchange = () => this.choose(this.$('status').value);
    this.$('offers-list').onclick = (/** @type {MouseEvent} */ e) => this.clicked(e);
    agent.on('status', () => this.renderStatus());
    agent.on('offers', () => { this.renderOffers(); onCount(); });
    agent.on('offer', (offer) => {
      this.$('offer-announce').textContent = `New offer: ${guestName(offer.conversation)}`;
      onOffer(offer);
    });
    agent.on('ready', () => this.refresh());
    agent.on('conversations', ({ conversations }) => {
      const mine = conversations.filter((c) => c.state === 'assigned' && c.assignedAgentId === agent.agentId).length;
      if (mine !== this.mine) {
        this.mine = mine;
        this.refresh();
      }
    });
    this.timer = setInterval(() => this.tick(), OFFER_TICK_MS);
  }

  stop() { clearInterval(this.timer); }

  /** Reads status, capacity and load again (`GET /api/v2/agent/status`). */
  async refresh() {
    try {
      const state = await this.agent.routing();
      this.$('load').textContent = `${state.load} of ${state.capacity} conversations`;
      this.$('routing-error').textContent = '';
    } catch (caught) {
      this.fail(caught);
    }
    this.renderStatus();
  }

  /** @param {string} status */
  async choose(status) {
    try {
      await this.agent.setStatus(/** @type {'available' | 'away'} */ (status));
      this.$('routing-error').textContent = '';
    } catch (caught) {
      this.fail(caught);
    }
    this.renderStatus();
  }

  renderStatus() {
    const status = this.agent.status;
    // `offline` is the server's word for "no connection": this console is connected, so
    // until the agent chooses, it is not taking conversations.
    this.$('status').value = status === 'available' ? 'available' : 'away';
    this.$('routing').dataset.status = status ?? 'away';
  }

  renderOffers() {
    const focused = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.offerAction;
    const focusedId = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.offerId;
    const offers = this.agent.offers;
    this.$('offers-list').replaceChildren(...offers.map((o) => offerItem(o)));
    this.$('offers-count').textContent = `(${offers.length})`;
    this.$('offers').hidden = offers.length === 0;
    this.tick();
    if (focused && focusedId) {
      /** @type {HTMLElement | null} */ (document.querySelector(`[data-offer-id="${CSS.escape(focusedId)}"][data-offer-action="${focused}"]`))?.focus();
    }
  }

  /** The time left on each offer, in place (a re-render would take the agent's focus). */
  tick() {
    const now = Date.now();
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#offers-list [data-expires-at-ms]'))) {
      const left = Math.max(0, Math.ceil((Number(el.dataset.expiresAtMs) - now) / 1000));
      el.textContent = left > 0 ? `${left} s left` : 'ending…';
    }
  }

  /** @param {MouseEvent} e */
  async clicked(e) {
    const button = /** @type {HTMLButtonElement | null} */ (/** @type {HTMLElement} */ (e.target).closest('[data-offer-action]'));
    const id = button?.dataset.offerId;
    if (!button || !id) return;
    const accepting = button.dataset.offerAction === 'accept';
    button.disabled = true;
    try {
      await (accepting ? this.agent.accept(id) : this.agent.decline(id));
      this.$('routing-error').textContent = '';
      if (accepting) this.onAccepted(id);
    } catch (caught) {
      button.disabled = false;
      this.fail(caught);
    }
  }

  /** @param {unknown} caught */
  fail(caught) {
    const err = /** @type {{detail?: string, message?: string, code?: string}} */ (caught ?? {});
    this.$('routing-error').textContent = `${err.detail ?? err.message} (${err.code ?? 'error'})`;
  }
}

/**
 * One offer: who, from which queue, the time left, Accept and Decline.
 * @param {import('../sdk/porch.js').Offer} offer
 */
function offerItem({ conversation, expiresAtMs }) {
  const li = document.createElement('li');
  li.className = 'offer';
  const nameId = `offer-name-${conversation.id}`;
  const name = document.createElement('span');
  name.className = 'name';
  name.id = nameId;
  name.textContent = guestName(conversation);
  const meta = document.createElement('span');
  meta.className = 'meta';
  const queue = document.createElement('span');
  queue.textContent = `${conversation.queue} · `;
  const left = document.createElement('span');
  left.dataset.expiresAtMs = String(expiresAtMs);
  meta.append(queue, left);
  const buttons = document.createElement('span');
  buttons.className = 'offer-actions';
  for (const [action, label] of [['accept', 'Accept'], ['decline', 'Decline']]) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.offerAction = action;
    b.dataset.offerId = conversation.id;
    b.setAttribute('aria-describedby', nameId);
    if (action === 'accept') b.className = 'primary';
    buttons.append(b);
  }
  li.append(name, meta, buttons);
  return li;
}
