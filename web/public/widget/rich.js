// What a bot's message carries beside its text (docs/bots.md): quick replies, as buttons whose
// pick is sent as the visitor's message, and cards, a title, a text and links. Everything is
// set with textContent and real elements, never markup, and only https:// links are kept (the
// server refuses others; a page's copy of the SDK may be older than the server).

/**
 * @typedef {import('../sdk/porch.js').Content} Content
 * @typedef {import('../sdk/porch.js').QuickReply} QuickReply
 * @typedef {import('../sdk/porch.js').Card} Card
 */

/**
 * The elements to show under a message's text, for `content`; `choose` sends a pick (the
 * SDK's `guest.choose`: a `choose` frame, kept in the outbox while offline) and resolves once
 * it is stored (the buttons stay disabled), or rejects when it is refused (they come back).
 * @param {Content} content
 * @param {((reply: QuickReply) => Promise<unknown>) | undefined} choose
 * @returns {HTMLElement[]}
 */
export function richElements(content, choose) {
  const out = (content.cards ?? []).map(cardElement);
  const replies = content.quickReplies ?? [];
  if (replies.length && choose) out.push(quickReplies(replies, choose));
  return out;
}

/**
 * @param {QuickReply[]} replies
 * @param {(reply: QuickReply) => Promise<unknown>} choose
 */
function quickReplies(replies, choose) {
  const group = document.createElement('div');
  group.className = 'quick-replies';
  group.setAttribute('role', 'group');
  const buttons = replies.map((reply) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'quick-reply';
    button.textContent = reply.label;
    button.dataset.replyId = reply.id;
    button.addEventListener('click', () => {
      buttons.forEach((b) => { b.disabled = true; });
      button.setAttribute('aria-pressed', 'true');
      choose(reply).catch(() => {
        buttons.forEach((b) => { b.disabled = false; });
        button.removeAttribute('aria-pressed');
      });
    });
    return button;
  });
  group.append(...buttons);
  return group;
}

/** @param {Card} card */
function cardElement(card) {
  const el = document.createElement('div');
  el.className = 'card';
  const title = document.createElement('p');
  title.className = 'card-title';
  title.textContent = card.title;
  el.append(title);
  if (card.text) {
    const text = document.createElement('p');
    text.className = 'card-text';
    text.textContent = card.text;
    el.append(text);
  }
  for (const link of card.links ?? []) {
    if (!/^https:\/\/[^/?#\s]/.test(link.url)) continue;
    const a = document.createElement('a');
    a.className = 'card-link';
    a.href = link.url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = link.label;
    el.append(a);
  }
  return el;
}
