// Status and offers in the console (issue 18, item 9), in Chromium with axe, at 1280×800 and
// 390×844: the status switch with capacity and load; an offer shown with its time left, a
// tone and a desktop notification when the agent turned them on (remembered across a
// reload), the count in the tab's title; Accept opens the conversation; Decline passes it
// on; an offer left to run out sets the agent away.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const OFFER_MS = 5_000;
const TITLE = 'Porch agent console';

/** Before the console loads: count tones (oscillators started) and desktop notifications. */
function recordAlerts() {
  window.tones = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function counted(...args) {
    window.tones += 1;
    return start.apply(this, args);
  };
  window.notified = [];
  window.Notification = class {
    static permission = 'granted';
    static requestPermission() { return Promise.resolve('granted'); }
    constructor(title, options) { window.notified.push({ title, ...options }); }
    close() {}
  };
}

/** What the browser does when the agent switches to another tab, or back. */
const setVisible = (page, visible) => page.evaluate((v) => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (v ? 'visible' : 'hidden') });
  document.dispatchEvent(new Event('visibilitychange'));
}, visible);

for (const screen of SCREENS) {
  describe(`the console's status and offers at ${screen.name}`, { timeout: 600_000 }, () => {
    const env = porchAndChromium({ serveArgs: ['--offer-timeout-ms', String(OFFER_MS)] });

    /** A visitor who wrote once; returns the conversation id. */
    async function visitor(name) {
      const { body: guest } = await env.porch.api('POST', '/api/v2/webmessaging/guests', {
        bearer: await env.porch.clientToken(), json: { deploymentId: env.porch.deployment.id, displayName: name }, expect: 201,
      });
      await env.porch.api('POST', '/api/v2/webmessaging/guests/messages', {
        bearer: guest.accessToken, json: { clientMessageId: `c-${name}`, text: `Hello from ${name}` }, expect: 201,
      });
      return guest.conversationId;
    }

    async function loggedIn() {
      const { name: _name, ...options } = screen;
      const context = await env.browser.newContext(options);
      await context.addInitScript(recordAlerts);
      const page = await openPage(context, `${env.porch.baseUrl}/console/`);
      await page.fill('#login-name', env.porch.agent.name);
      await page.fill('#login-secret', env.porch.agent.secret);
      await page.press('#login-secret', 'Enter');
      await until(page, 'connected', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'));
      return page;
    }

    const offer = (page, cid) => page.locator(`#offers-list [data-offer-id="${cid}"][data-offer-action="accept"]`);
    const load = (page) => page.locator('#load').textContent();

    it('available, an offer with a tone, a notification and a count; Accept opens it', T, async () => {
      const page = await loggedIn();
      assert.equal(await page.locator('#status').inputValue(), 'away', 'a console that connects is away until the agent chooses');
      await until(page, 'the load', async (p) => /^0 of \d+ conversations$/.test(await load(p)));
      await page.click('.alerts summary');
      await page.check('#alert-sound');
      await page.check('#alert-desktop');
      await until(page, 'the switch said', (p) => p.locator('#alert-note').textContent().then((t) => t.includes('on')));
      await page.evaluate(() => { window.tones = 0; });

      await page.selectOption('#status', 'available');
      await until(page, 'stored available', async () => {
        const { body } = await env.porch.api('GET', '/api/v2/agent/status', { bearer: env.agentToken, expect: 200 });
        return body.status === 'available';
      });
      await setVisible(page, false);
      const cid = await visitor('Olga');
      await until(page, 'the offer', (p) => offer(p, cid).isVisible());
      const item = await page.locator('#offers-list li').textContent();
      assert.match(item, /Olga/);
      assert.match(item, /default · \d s left/);
      assert.match(await page.title(), new RegExp(`^\\(\\d+\\) ${TITLE}$`), 'a count in the title');
      await until(page, 'a tone', (p) => p.evaluate(() => window.tones > 0));
      const notified = await page.evaluate(() => window.notified);
      assert.equal(notified.length, 1, 'one desktop notification while the tab is hidden');
      assert.match(notified[0].body, /Olga/);
      await setVisible(page, true);
      assert.deepEqual(await axeSerious(page), []);

      await offer(page, cid).click();
      await until(page, 'the conversation open', (p) => p.locator('#conversation-title').textContent().then((t) => t === 'Olga'));
      await until(page, 'its message', (p) => p.locator('#messages').textContent().then((t) => t.includes('Hello from Olga')));
      await until(page, 'the offer gone', async (p) => (await p.locator('#offers-list li').count()) === 0);
      await until(page, 'the title plain again', async (p) => (await p.title()) === TITLE);
      await until(page, 'the load', async (p) => /^1 of \d+ conversations$/.test(await load(p)));
      assert.deepEqual(await axeSerious(page), []);

      await page.reload();
      await until(page, 'connected', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'));
      assert.equal(await page.isChecked('#alert-sound'), true, 'the sound switch remembered');
      assert.equal(await page.isChecked('#alert-desktop'), true, 'the notification switch remembered');
      assert.equal(await page.locator('#status').inputValue(), 'available', 'the status is the stored one');
      await env.agentCloses(cid);
      await page.context().close();
    });

    it('Decline passes an offer on; one left to run out sets the agent away', T, async () => {
      const page = await loggedIn();
      await page.selectOption('#status', 'available');
      const cid = await visitor('Pavel');
      await until(page, 'the offer', (p) => offer(p, cid).isVisible());
      await page.locator(`#offers-list [data-offer-id="${cid}"][data-offer-action="decline"]`).click();
      await until(page, 'the offer gone', async (p) => (await p.locator('#offers-list li').count()) === 0);
      assert.deepEqual(await axeSerious(page), []);
      // The only agent passed: a new round offers it again one offer's time later.
      await until(page, 'offered again', (p) => offer(p, cid).isVisible(), { timeout: OFFER_MS * 3 });
      await until(page, 'run out: away', async (p) => (await p.locator('#status').inputValue()) === 'away'
        && (await p.locator('#offers-list li').count()) === 0, { timeout: OFFER_MS * 3 });
      const { body } = await env.porch.api('GET', `/api/v2/agent/conversations?state=waiting`, { bearer: env.agentToken, expect: 200 });
      assert.ok(body.conversations.some((c) => c.id === cid), 'still waiting for someone');
      assert.equal(await page.title(), TITLE, 'no offer waits: the plain title');
      await env.agentCloses(cid);
      await page.context().close();
    });
  });
}
