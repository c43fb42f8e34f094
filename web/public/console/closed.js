// The console's closed conversations: a page at a time, newest first, searched by the guest's
// name or email or a message's text (`GET /api/v2/agent/conversations/search`). Picking one
// opens it like any other (read-only: it is closed).

import { conversationItem } from './render.js';

export class ClosedList {
  /**
   * @param {{agent: import('../sdk/porch.js').PorchAgent, byId: (id: string) => any, openId: () => string | null}} o
   */
  constructor({ agent, byId, openId }) {
    this.agent = agent;
    this.$ = byId;
    this.openId = openId;
    /** @type {import('../sdk/porch.js').Conversation[]} */
    this.shown = [];
    /** The search the list shows; a newer one makes an older answer stale. */
    this.q = '';
    this.generation = 0;
    this.$('closed-search').onsubmit = (/** @type {SubmitEvent} */ e) => {
      e.preventDefault();
      this.load(this.$('closed-q').value.trim());
    };
    this.$('closed-more').onclick = () => this.load(this.q, this.shown.at(-1)?.id);
  }

  /**
   * The first page of `q`, or the page after `before`.
   * @param {string} q
   * @param {string} [before]
   */
  async load(q, before) {
    const generation = ++this.generation;
    this.q = q;
    this.$('closed-status').textContent = 'Searching…';
    try {
      const page = await this.agent.search({ q, before });
      if (generation !== this.generation) return;
      this.shown = before ? [...this.shown, ...page.conversations] : page.conversations;
      this.$('closed-more').hidden = !page.hasMore;
      this.render();
      this.$('closed-status').textContent = this.shown.length
        ? `${this.shown.length}${page.hasMore ? '+' : ''} ${q ? `found for “${q}”` : 'closed'}`
        : q ? `No closed conversation matches “${q}”.` : 'No closed conversations yet.';
    } catch (caught) {
      if (generation !== this.generation) return;
      const err = /** @type {{detail?: string, message?: string, code?: string}} */ (caught ?? {});
      this.$('closed-status').textContent = `Search failed: ${err.detail ?? err.message} (${err.code ?? 'error'})`;
    }
  }

  /** A conversation closed meanwhile: the unfiltered list shows it on top. */
  /** @param {import('../sdk/porch.js').Conversation} c */
  closed(c) {
    if (this.q || this.shown.some((s) => s.id === c.id)) return;
    this.shown = [c, ...this.shown];
    this.render();
  }

  render() {
    const nowMs = Date.now();
    const agentId = this.agent.agentId;
    this.$('closed-list').replaceChildren(...this.shown.map((c) => conversationItem(c, { current: c.id === this.openId(), unread: 0, agentId, nowMs })));
  }
}
