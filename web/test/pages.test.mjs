// The reference custom UI and the raw guest page in Chromium, on a laptop and a phone screen,
// with axe (issue 19, defects 1, 2 and 4): the custom UI says nothing before the visitor
// writes, shows plain states, ends a closed conversation with "Start a new chat" (and a reload
// then starts afresh), and says a page that cannot work is unavailable; the raw page refuses
// Send before Connect in words, and long frames wrap instead of widening it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, shown, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { DEVELOPER_TEXT, SCREENS } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const KEY = 'porch:custom-ui';

describe('the custom UI and the raw guest page in Chromium (issue 19)', { timeout: 600_000 }, () => {
  // Reopening off: a close is final at once (the window's cases: widget-reopen.test.mjs).
  const env = porchAndChromium({ serveArgs: ['--reopen-window-secs', '0'] });

  const noPageErrors = (page) => assert.deepEqual(page.logs.filter((l) => l.startsWith('pageerror')), [], `${page.url()} threw`);
  const customUi = (screen, deployment = env.porch.deployment.id) => env.browser.newContext(screenOptions(screen))
    .then((context) => openPage(context, `${env.porch.baseUrl}/examples/custom-ui.html?deployment=${deployment}&name=Flo`));
  /** What the visitor sees of the custom UI. */
  const ui = (page) => page.evaluate(() => ({
    status: document.getElementById('status').textContent,
    composer: document.getElementById('composer').checkVisibility(),
    ended: document.getElementById('ended')?.checkVisibility() ? document.getElementById('ended-text').textContent : null,
    restart: Boolean(document.getElementById('restart')?.checkVisibility()),
    announcement: document.getElementById('announcement').textContent,
    text: document.body.innerText,
  }));
  const saved = (page) => page.evaluate((k) => JSON.parse(sessionStorage.getItem(k) ?? 'null')?.session?.conversationId ?? null, KEY);

  async function writes(page, text) {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
    const cid = await until(page, 'a session', saved);
    await until(page, 'the message stored', async (p) => (await shown(p, 'custom')).some((l) => /^\d+:/.test(l) && l.endsWith(`:${text}`)), { kind: 'custom' });
    return cid;
  }

  for (const screen of SCREENS) {
    describe(`on ${screen.name}`, () => {
      it('custom UI: nothing before the visitor writes but the notice; plain "Reconnecting…" while Porch is down', T, async () => {
        await env.porch.setNotice('Orders ship on Monday.');
        try {
          const page = await customUi(screen);
          // Module scripts have run once the page has loaded.
          assert.equal((await ui(page)).status, '', 'no "Not connected" before the visitor writes');
          await until(page, 'the notice before any session', (p) => ui(p).then((u) => u.announcement === 'Orders ship on Monday.'));
          assert.equal(await saved(page), null, 'no session yet');
          assert.deepEqual(await axeSerious(page), []);
          await writes(page, 'Do you ship to Norway?');
          await env.porch.kill('SIGKILL');
          const down = await until(page, 'reconnecting', (p) => ui(p).then((u) => u.status === 'Reconnecting…' && u));
          assert.doesNotMatch(down.text, DEVELOPER_TEXT);
          assert.ok(page.logs.some((l) => /^(warning|error): Porch: network/.test(l)), `the cause is in the console:\n${page.logs.join('\n')}`);
          await env.porch.restart();
          await until(page, 'connected', (p) => ui(p).then((u) => u.status === 'Connected'));
          noPageErrors(page);
          await page.context().close();
        } finally {
          await env.porch.clearNotice();
        }
      });

      it('custom UI: a closed conversation ends with "Start a new chat"; a reload starts afresh', T, async () => {
        const page = await customUi(screen);
        const cid = await writes(page, 'Thanks, that is all');
        await page.focus('#text');
        await env.agentCloses(cid);
        const ended = await until(page, 'the ended state', (p) => ui(p).then((u) => u.ended !== null && u));
        assert.equal(ended.composer, false, 'the composer is gone');
        assert.equal(ended.restart, true, '"Start a new chat" is offered');
        assert.equal(ended.ended, 'This conversation has ended.');
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'restart');
        assert.equal(await saved(page), null, 'the stored session is forgotten');
        assert.doesNotMatch(ended.text, DEVELOPER_TEXT);
        assert.deepEqual(await axeSerious(page), []);
        await page.reload();
        const fresh = await until(page, 'a fresh page', (p) => ui(p).then((u) => u.composer && u));
        assert.equal(fresh.ended, null, 'the reload did not restore the closed chat');
        assert.deepEqual(await shown(page, 'custom'), []);
        const next = await writes(page, 'A new question');
        assert.notEqual(next, cid);
        // And "Start a new chat" without a reload.
        await env.agentCloses(next);
        await until(page, 'ended again', (p) => ui(p).then((u) => u.restart));
        await page.click('#restart');
        const third = await writes(page, 'And one more');
        assert.ok(third !== next && third !== cid);
        noPageErrors(page);
        await page.context().close();
      });

      it('custom UI: a deployment that does not exist is "unavailable" for the visitor, explained in the console', T, async () => {
        const page = await customUi(screen, 'dep_doesnotexist000000000000');
        const state = await until(page, 'unavailable', (p) => ui(p).then((u) => u.ended && u));
        assert.equal(state.ended, 'Chat is unavailable right now. Please try again later.');
        assert.equal(state.composer, false);
        assert.equal(state.restart, false, 'a new chat would fail the same way');
        assert.doesNotMatch(state.text, DEVELOPER_TEXT);
        assert.ok(page.logs.some((l) => /^error: Porch: .*deployment_unknown/.test(l)), page.logs.join('\n'));
        assert.deepEqual(await axeSerious(page), []);
        noPageErrors(page);
        await page.context().close();
      });

      it('raw guest page: Send before Connect is refused in words, and long frames wrap', T, async () => {
        const context = await env.browser.newContext(screenOptions(screen));
        const page = await openPage(context, `${env.porch.baseUrl}/demo/guest.html`);
        await page.fill('#text', 'too early');
        await page.click('#send button');
        await until(page, 'the refusal in the log', (p) => p.locator('#log').textContent().then((t) => /not sent .*Connect first/.test(t)));
        noPageErrors(page);
        const guest = await env.porch.createGuest('Raw');
        await page.fill('#gatewayUrl', guest.gatewayUrl);
        await page.fill('#accessToken', guest.accessToken);
        await page.click('#connect button');
        await until(page, 'ready', (p) => p.locator('#log').textContent().then((t) => t.includes('"type":"ready"')));
        const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
        assert.ok(widths.scroll <= widths.view, `the page is no wider than the screen: ${JSON.stringify(widths)}`);
        assert.deepEqual(await axeSerious(page), []);
        await context.close();
      });
    });
  }
});

function screenOptions({ name: _name, ...options }) {
  return options;
}
