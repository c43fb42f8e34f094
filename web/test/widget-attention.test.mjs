// The widget's two opt-in settings (issue 19), in Chromium: `data-notify="on"` (a tone and a
// count in the tab's title for replies while the page is hidden, nothing when it is off) and
// `data-keep="visits"` (the chat in every tab of the browser, through localStorage; one tab
// only by default).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, shown, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, panel, porchEvents, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const SHOP_TITLE = 'Acme Shop: a page with the Porch widget';

/** Counts the tones the page plays: every oscillator started, from before the widget loads. */
async function countTones(page) {
  await page.evaluate(() => {
    window.tones = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function counted(...args) {
      window.tones += 1;
      return start.apply(this, args);
    };
  });
}

/** What the browser does when the visitor switches to another tab, or back. */
const setVisible = (page, visible) => page.evaluate((v) => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (v ? 'visible' : 'hidden') });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => !v });
  document.dispatchEvent(new Event('visibilitychange'));
}, visible);

describe('the widget\'s opt-in settings (issue 19)', { timeout: 600_000 }, () => {
  // Reopening off: a close is final at once (widget-reopen.test.mjs tests the window).
  const env = porchAndChromium({ serveArgs: ['--reopen-window-secs', '0'] });
  const shopUrl = (extra = '') => `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}${extra}`;
  const screen = SCREENS[0];

  it('data-notify="on": replies while the page is hidden chime and count in the title, until it is seen', T, async () => {
    const page = await widgetPage(env.browser, screen, shopUrl('&notify=on'));
    await countTones(page);
    await page.click('.launcher');
    await write(page, 'Is the bench in stock?');
    const cid = await conversationOf(page, env.porch.deployment.id);
    await until(page, 'stored', async (p) => (await shown(p, 'widget')).includes('1:Is the bench in stock?'), { kind: 'widget' });

    await env.agentSays(cid, 'Visible reply');
    await until(page, 'a reply while visible', (p) => porchEvents(p, 'message').then((m) => m.some((x) => x.text === 'Visible reply')));
    assert.equal(await page.title(), SHOP_TITLE, 'no count while the visitor is looking');
    assert.equal(await page.evaluate(() => window.tones), 0, 'no tone while the visitor is looking');

    await setVisible(page, false);
    await env.agentSays(cid, 'Yes, two left');
    await until(page, 'one in the title', (p) => p.title().then((t) => t === `(1) ${SHOP_TITLE}`));
    await env.agentSays(cid, 'Shall I hold one?');
    await until(page, 'two in the title', (p) => p.title().then((t) => t === `(2) ${SHOP_TITLE}`));
    assert.equal(await page.evaluate(() => window.tones), 2, 'one tone per reply');

    await setVisible(page, true);
    await until(page, 'the page\'s title back', (p) => p.title().then((t) => t === SHOP_TITLE));
    assert.deepEqual(await axeSerious(page), []);
    await page.context().close();
  });

  it('off by default: neither tone nor title count', T, async () => {
    const page = await widgetPage(env.browser, screen, shopUrl());
    await countTones(page);
    await page.click('.launcher');
    await write(page, 'Quiet please');
    const cid = await conversationOf(page, env.porch.deployment.id);
    await setVisible(page, false);
    await env.agentSays(cid, 'A reply nobody rings for');
    await until(page, 'the reply, unread', (p) => porchEvents(p, 'unread').then((u) => u.at(-1)?.count === 1));
    assert.equal(await page.title(), SHOP_TITLE);
    assert.equal(await page.evaluate(() => window.tones), 0);
    await page.context().close();
  });

  it('data-keep="visits": the same chat in a second tab, until it ends; one tab only by default', T, async () => {
    const first = await widgetPage(env.browser, screen, shopUrl('&keep=visits'));
    await first.click('.launcher');
    await write(first, 'Started in the first tab');
    const cid = await until(first, 'a saved session', (p) => p.evaluate(
      (dep) => JSON.parse(localStorage.getItem(`porch:guest:${dep}`) ?? 'null')?.session?.conversationId ?? null, env.porch.deployment.id,
    ));
    await until(first, 'stored', async (p) => (await shown(p, 'widget')).includes('1:Started in the first tab'), { kind: 'widget' });

    // A second tab of the same browser (the same context) opens on the same conversation.
    const second = await openPage(first.context(), shopUrl('&keep=visits'));
    await second.click('.launcher');
    await until(second, 'the first tab\'s message', (p) => panel(p).then((s) => s.text.includes('Started in the first tab')));
    await write(second, 'Continued in the second');
    await until(first, 'the second tab\'s message, live in the first', (p) => panel(p).then((s) => s.text.includes('Continued in the second')));
    assert.deepEqual((await env.truth(cid)).filter((l) => !l.includes('joined')), ['1:Started in the first tab', '2:Continued in the second'], 'each message once');

    // Ended for good (reopening off), it is forgotten in every tab: the next page view starts afresh.
    await env.agentCloses(cid);
    await until(second, 'ended', (p) => panel(p).then((s) => s.ended === 'This conversation has ended.'));
    await until(second, 'forgotten', (p) => p.evaluate((dep) => localStorage.getItem(`porch:guest:${dep}`), env.porch.deployment.id).then((v) => v === null));
    await first.context().close();

    // Without the setting, a second tab is a new visitor.
    const one = await widgetPage(env.browser, screen, shopUrl());
    await one.click('.launcher');
    await write(one, 'Only in this tab');
    await conversationOf(one, env.porch.deployment.id);
    const other = await openPage(one.context(), shopUrl());
    await other.click('.launcher');
    assert.equal((await panel(other)).text.includes('Only in this tab'), false);
    await one.context().close();
  });

  it('a wrong data-keep is named in the console and the chat stays in the tab', T, async () => {
    const page = await widgetPage(env.browser, screen, shopUrl('&keep=forever'));
    await until(page, 'the console line', (p) => p.logs.some((l) => l.includes('data-keep="forever" is not a setting')));
    await page.click('.launcher');
    assert.equal((await panel(page)).open, true, 'the widget still works');
    await page.context().close();
  });
});
