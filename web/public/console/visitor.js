// The visitor beside the chat: what the backend or the page said of the guest (name, email,
// external id and how it was verified, attributes), where it was when the chat started (the
// page and the browser), and the same customer's other conversations, each a button that
// opens it. Guests' words: text only.

/** How many of the customer's other conversations are listed. */
const HISTORY_SHOWN = 10;

/**
 * Rows of a description list: [term, value] pairs, empty values left out. A value may be an
 * element (a link).
 * @param {[string, string | Node | null | undefined][]} rows
 */
export function describe(rows) {
  return rows.filter(([, v]) => v).flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    if (typeof v === 'string') dd.textContent = v;
    else dd.append(/** @type {Node} */ (v));
    return [dt, dd];
  });
}

/**
 * How the guest's `externalId` was vouched for (docs/identity.md).
 * @param {string | undefined} verifiedBy
 */
export function verification(verifiedBy) {
  if (verifiedBy === 'backend') return '✓ Verified: created by your backend';
  if (verifiedBy === 'identityToken') return '✓ Verified: signed identity token';
  return null;
}

/**
 * A `User-Agent` as a person says it: "Chrome 120 on Linux". Unknown ones as given.
 * @param {string} ua
 */
export function browserName(ua) {
  /** @type {[string, RegExp][]} */
  const browsers = [['Edge', /Edg(?:e|A|iOS)?\/(\d+)/], ['Opera', /OPR\/(\d+)/], ['Firefox', /(?:Firefox|FxiOS)\/(\d+)/],
    ['Chrome', /(?:Chrome|CriOS)\/(\d+)/], ['Safari', /Version\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//]];
  /** @type {[string, RegExp][]} */
  const systems = [['Android', /Android/], ['iOS', /iPhone|iPad|iPod/], ['Windows', /Windows/], ['macOS', /Mac OS X/],
    ['ChromeOS', /CrOS/], ['Linux', /Linux/]];
  const browser = browsers.find(([, re]) => re.test(ua));
  const system = systems.find(([, re]) => re.test(ua));
  if (!browser) return ua;
  const version = /** @type {RegExpExecArray} */ (browser[1].exec(ua))[1];
  return `${browser[0]} ${version}${system ? ` on ${system[0]}` : ''}`;
}

/**
 * The page the visitor was on: its title, linking to its address (opened elsewhere, never
 * with this page's rights).
 * @param {import('../sdk/porch.js').VisitorContext} context
 */
function pageLink(context) {
  if (!context.pageUrl) return context.pageTitle ?? null;
  const a = document.createElement('a');
  a.href = context.pageUrl;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = context.pageTitle || context.pageUrl;
  return a;
}

/**
 * The rows of what is known of the visitor.
 * @param {any} c a Conversation
 * @param {import('../sdk/porch.js').VisitorContext | null} context
 */
export function visitorRows(c, context) {
  const g = c?.guest ?? {};
  /** @type {[string, string | Node | null | undefined][]} */
  const rows = [
    ['Name', g.displayName],
    ['Email', g.email],
    ['External id', g.externalId],
    ['Identity', g.externalId ? verification(g.verifiedBy) : null],
    ...Object.entries(g.attributes ?? {}).map(([k, v]) => /** @type {[string, string]} */ ([k, String(v)])),
    ['Page', context ? pageLink(context) : null],
    ['Address', context?.pageUrl && context.pageTitle ? context.pageUrl : null],
    ['Browser', context?.userAgent ? browserName(context.userAgent) : null],
    ['Conversation started', c?.createdAtMs ? new Date(c.createdAtMs).toLocaleString() : null],
  ];
  return describe(rows);
}

/**
 * The customer's other conversations, newest first: buttons carrying the conversation's id
 * (the sidebar's click handler opens them).
 * @param {any[]} conversations
 * @param {string} currentId
 */
export function historyItems(conversations, currentId) {
  return conversations.filter((c) => c.id !== currentId).slice(0, HISTORY_SHOWN).map((c) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.conversationId = c.id;
    b.textContent = `${new Date(c.createdAtMs).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })} · ${c.state}`;
    li.append(b);
    return li;
  });
}
