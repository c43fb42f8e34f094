// What the widget tests share: the two screens every check runs on, pages that record the
// widget's host events from their first script, a shop page of another origin (with the
// Content-Security-Policy a test gives it), and readers of what the panel shows.

import http from 'node:http';

import { openPage, until } from './browser.mjs';

/** A laptop and a phone (issue 19 asks for both). */
export const SCREENS = [
  { name: '1280x800', viewport: { width: 1280, height: 800 } },
  { name: '390x844', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
];

/** Opens `url` in a new context of `screen`, recording every `porch:*` event in
 * `window.porchEvents` from before the widget loads. */
export async function widgetPage(browser, screen, url) {
  const { name: _name, ...options } = screen;
  const context = await browser.newContext(options);
  await context.addInitScript(() => {
    window.porchEvents = [];
    for (const type of ['ready', 'message', 'unread', 'error']) {
      document.addEventListener(`porch:${type}`, (e) => window.porchEvents.push({ type, detail: e.detail }));
    }
  });
  return openPage(context, url);
}

/** The widget's host events so far, of one type. */
export const porchEvents = (page, type) => page.evaluate((t) => window.porchEvents.filter((e) => e.type === t).map((e) => e.detail), type);

/** The panel's parts as a visitor sees them. */
export function panel(page) {
  return page.evaluate(() => {
    const root = document.getElementById('porch-widget').shadowRoot;
    const visible = (sel) => {
      const el = root.querySelector(sel);
      return Boolean(el && el.checkVisibility());
    };
    return {
      launcher: visible('.launcher'),
      open: visible('.panel'),
      composer: visible('form') && visible('#porch-input'),
      ended: visible('.ended') ? root.querySelector('.ended-text').textContent : null,
      restart: visible('.restart'),
      status: root.querySelector('.status')?.textContent ?? '',
      subtitle: root.querySelector('.subtitle')?.textContent ?? '',
      notice: root.querySelector('.notice')?.textContent ?? '',
      text: root.querySelector('.panel').innerText,
      focused: root.activeElement?.className || root.activeElement?.id || null,
    };
  });
}

/** What no visitor should read: close codes, ids, URLs, developer advice. */
export const DEVELOPER_TEXT = /close \d{4}|\b(cnv|dep|gst|msg)_[a-z0-9]|https?:|wss?:|CORS|Content-Security|connect-src|origin|token|\[ref /i;

/** Types `text` in the widget's box and sends it with Enter. */
export async function write(page, text) {
  await page.fill('#porch-input', text);
  await page.press('#porch-input', 'Enter');
}

/** The conversation of the widget's saved session (null once forgotten). */
export const savedConversation = (page, deploymentId) => page.evaluate(
  (dep) => JSON.parse(sessionStorage.getItem(`porch:guest:${dep}`) ?? 'null')?.session?.conversationId ?? null, deploymentId,
);

/** Waits until the widget saved a session, and returns its conversation id. */
export const conversationOf = (page, deploymentId) => until(page, 'a session', (p) => savedConversation(p, deploymentId));

/**
 * A shop on another origin: one page carrying the widget of `porch`, with `csp` as its
 * Content-Security-Policy header when given. `deploymentId` may be set after the start
 * (a deployment listing the shop's origin needs that origin first).
 */
export async function startShop(porch, { csp } = {}) {
  const shop = { deploymentId: '', origin: '' };
  const server = http.createServer((req, res) => {
    const headers = { 'content-type': 'text/html; charset=utf-8' };
    if (csp) headers['content-security-policy'] = csp;
    res.writeHead(200, headers);
    res.end(`<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Another shop</h1>
      <script type="module" src="${porch.baseUrl}/widget/widget.js" data-deployment="${shop.deploymentId}"></script></body></html>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  shop.origin = `http://127.0.0.1:${server.address().port}`;
  shop.close = () => new Promise((resolve) => server.close(resolve));
  return shop;
}
