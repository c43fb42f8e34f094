// Where the visitor is, for the agent (api.md, `context`): the page's address and title and
// the browser, sent once when the widget endpoint creates the session. Cut to the server's
// bounds here, so a long title never costs the visitor a chat.

/** The server's bounds (porch-core limits.rs, `VISITOR_*_CHARS_MAX`). */
const URL_MAX = 2048;
const TITLE_MAX = 300;
const AGENT_MAX = 512;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/**
 * The context of this page, or null outside a browser page.
 * @param {{location?: {href: string, protocol: string}, document?: {title: string}, navigator?: {userAgent: string}}} [env]
 * @returns {import('./porch.js').VisitorContext | null}
 */
export function pageContext(env = /** @type {any} */ (globalThis)) {
  const { location, document, navigator } = env;
  if (!location) return null;
  /** @type {import('./porch.js').VisitorContext} */
  const context = {};
  // Another kind of page (file:, about:) has no address worth sending; a fragment is the
  // page's own business; an address too long would be refused, and a cut one would mislead.
  const url = /^https?:$/.test(location.protocol) ? location.href.split('#')[0] : '';
  if (url && url.length <= URL_MAX) context.pageUrl = url;
  const title = cut(document?.title ?? '', TITLE_MAX);
  if (title) context.pageTitle = title;
  const agent = cut(navigator?.userAgent ?? '', AGENT_MAX);
  if (agent) context.userAgent = agent;
  return context;
}

/** One line, trimmed, at most `max` characters (whole code points). @param {string} s @param {number} max */
function cut(s, max) {
  return [...s.replace(CONTROL, ' ').trim()].slice(0, max).join('').trim();
}

/**
 * The body of the widget endpoint: the page's context added unless the caller gave one
 * (`context: null` sends none).
 * @param {any} body
 */
export function withContext(body) {
  const b = { ...(body ?? {}) };
  if (b.context === undefined) {
    const context = pageContext();
    if (context && Object.keys(context).length) b.context = context;
  }
  if (b.context === null) delete b.context;
  return b;
}
