// Canned replies in the composer: typing `/` and the start of a shortcut lists the matching
// replies of the open conversation's deployment; arrows choose, Enter or Tab (or a click)
// puts the reply's text in place of `/shortcut`, Escape closes the list. The textarea keeps
// the focus throughout (the list is its `aria-activedescendant`), so typing goes on.

/** `/word` right before the caret, at the start or after a space. */
const TOKEN = /(^|\s)\/([a-z0-9_-]*)$/;
/** How many matches the list shows at once. */
const SHOWN_MAX = 8;

export class CannedMenu {
  /**
   * @param {{textarea: HTMLTextAreaElement, list: HTMLElement, status: HTMLElement,
   *   load: (conversationId: string) => Promise<import('../sdk/porch.js').CannedReply[]>}} o
   */
  constructor({ textarea, list, status, load }) {
    this.textarea = textarea;
    this.list = list;
    this.status = status;
    this.load = load;
    /** @type {Map<string, Promise<import('../sdk/porch.js').CannedReply[]>>} by deployment */
    this.byDeployment = new Map();
    /** @type {import('../sdk/porch.js').CannedReply[]} */
    this.replies = [];
    /** @type {import('../sdk/porch.js').CannedReply[]} */
    this.matches = [];
    this.active = 0;
    textarea.setAttribute('aria-autocomplete', 'list');
    textarea.setAttribute('aria-controls', list.id);
    textarea.addEventListener('input', () => this.update());
    textarea.addEventListener('keydown', (e) => this.key(e));
    textarea.addEventListener('blur', () => setTimeout(() => this.close(), 150));
    list.addEventListener('mousedown', (e) => e.preventDefault());
    list.addEventListener('click', (e) => {
      const option = /** @type {HTMLElement} */ (e.target).closest('[role="option"]');
      if (option) this.pick(Number(/** @type {HTMLElement} */ (option).dataset.index));
    });
  }

  /**
   * The conversation opened: its deployment's replies (read once per deployment).
   * @param {{id: string, deploymentId: string} | null} conversation
   */
  async use(conversation) {
    this.replies = [];
    this.close();
    if (!conversation) return;
    let loading = this.byDeployment.get(conversation.deploymentId);
    if (!loading) {
      loading = this.load(conversation.id).catch(() => {
        this.byDeployment.delete(conversation.deploymentId);
        return [];
      });
      this.byDeployment.set(conversation.deploymentId, loading);
    }
    const replies = await loading;
    this.replies = replies;
    this.textarea.placeholder = replies.length
      ? 'Write a reply… (Enter sends, Shift+Enter for a new line, / for canned replies)'
      : 'Write a reply… (Enter sends, Shift+Enter for a new line)';
  }

  get open() { return !this.list.hidden; }

  update() {
    const before = this.textarea.value.slice(0, this.textarea.selectionStart);
    const token = TOKEN.exec(before);
    if (!token || !this.replies.length) return this.close();
    const word = token[2];
    this.matches = this.replies.filter((r) => r.shortcut.startsWith(word)).slice(0, SHOWN_MAX);
    this.active = 0;
    if (!this.matches.length) {
      this.close();
      this.status.textContent = `No canned reply starts with /${word}.`;
      return;
    }
    this.render();
    this.status.textContent = `${this.matches.length} canned ${this.matches.length === 1 ? 'reply' : 'replies'}: arrows choose, Enter inserts, Escape closes.`;
  }

  render() {
    this.list.replaceChildren(...this.matches.map((r, i) => {
      const li = document.createElement('li');
      li.id = `canned-option-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', String(i === this.active));
      li.dataset.index = String(i);
      const key = document.createElement('span');
      key.className = 'shortcut';
      key.textContent = `/${r.shortcut}`;
      const text = document.createElement('span');
      text.className = 'preview';
      text.textContent = r.text;
      li.append(key, text);
      return li;
    }));
    this.list.hidden = false;
    this.textarea.setAttribute('aria-activedescendant', `canned-option-${this.active}`);
  }

  close() {
    if (this.list.hidden) return;
    this.list.hidden = true;
    this.list.replaceChildren();
    this.textarea.removeAttribute('aria-activedescendant');
  }

  /** @param {KeyboardEvent} e */
  key(e) {
    if (!this.open || e.isComposing) return;
    const n = this.matches.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.render();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      this.pick(this.active);
    } else if (e.key === 'Escape') {
      this.close();
    } else {
      return;
    }
    // The list had the key: the composer must not also send on Enter.
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  /** Puts the reply's text in place of `/shortcut`. @param {number} index */
  pick(index) {
    const reply = this.matches[index];
    if (!reply) return;
    const t = this.textarea;
    const caret = t.selectionStart;
    const token = TOKEN.exec(t.value.slice(0, caret));
    if (!token) return this.close();
    const start = caret - token[2].length - 1;
    t.value = t.value.slice(0, start) + reply.text + t.value.slice(caret);
    const end = start + reply.text.length;
    t.setSelectionRange(end, end);
    this.close();
    this.status.textContent = `Inserted /${reply.shortcut}.`;
    t.focus();
  }
}
