// Agents' lists and the widget's header (issue 19), in Chromium at 1280×800 and 390×844 with
// axe: each row of the console's lists previews the conversation's latest entry ("Rosa: …",
// "You: …"), live as messages arrive, on one line whatever its length, beside how long the
// guest has waited; the widget names the agent who joined and shows their picture, loaded
// without a referrer, and only the name when the page's policy refuses the picture.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, panel, startShop, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const AVATAR = 'https://avatars.example.test/ann.png';
/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

describe('agents\' lists and the widget\'s header (issue 19)', { timeout: 600_000 }, () => {
  const env = porchAndChromium();

  async function loggedIn(screen) {
    const { name: _name, ...options } = screen;
    const context = await env.browser.newContext(options);
    const page = await openPage(context, `${env.porch.baseUrl}/console/`);
    await page.fill('#login-name', env.porch.agent.name);
    await page.fill('#login-secret', env.porch.agent.secret);
    await page.press('#login-secret', 'Enter');
    await until(page, 'connected', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'));
    return page;
  }

  const preview = (page, cid) => page.locator(`[data-conversation-id="${cid}"] .preview`).textContent().catch(() => '');

  /** Nothing wider than the screen, and the row's preview cut inside the row. */
  async function fits(page, cid) {
    return page.evaluate((id) => {
      const row = document.querySelector(`[data-conversation-id="${id}"]`);
      const line = row.querySelector('.preview');
      return {
        page: document.documentElement.scrollWidth <= window.innerWidth,
        row: line.getBoundingClientRect().right <= row.getBoundingClientRect().right + 0.5,
        oneLine: line.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(line).fontSize) * 1.5,
      };
    }, cid);
  }

  for (const screen of SCREENS) {
    it(`the console's rows preview the latest entry, live, on ${screen.name}`, T, async () => {
      const name = `Rosa${screen.viewport.width}`;
      const guest = await env.porch.createGuest(name);
      const cid = guest.conversationId;
      const long = `Hello, my bench arrived broken\nand ${'the legs wobble, '.repeat(12)}`;
      await env.porch.api('POST', '/api/v2/webmessaging/guests/messages', {
        bearer: guest.accessToken, json: { clientMessageId: 'c-1', text: long }, expect: 201,
      });
      const page = await loggedIn(screen);
      await until(page, 'the guest\'s words in the waiting row', (p) => preview(p, cid).then((t) => t.startsWith(`${name}: Hello, my bench arrived broken and the legs`) && t.endsWith('…')));
      const row = await page.locator(`[data-conversation-id="${cid}"]`).textContent();
      assert.match(row, /waiting under a minute/, 'how long the guest has waited');
      assert.deepEqual(await fits(page, cid), { page: true, row: true, oneLine: true });
      assert.deepEqual(await axeSerious(page), []);

      // Live: the agent answers (its first reply takes the conversation), then the guest.
      await env.agentSays(cid, 'Sorry to hear that! Sending a new one.');
      await until(page, 'the agent\'s reply, as "You"', (p) => preview(p, cid).then((t) => t === 'You: Sorry to hear that! Sending a new one.'));
      await env.porch.api('POST', '/api/v2/webmessaging/guests/messages', {
        bearer: guest.accessToken, json: { clientMessageId: 'c-2', text: 'Thanks!' }, expect: 201,
      });
      await until(page, 'the guest again', (p) => preview(p, cid).then((t) => t === `${name}: Thanks!`));
      assert.deepEqual(await fits(page, cid), { page: true, row: true, oneLine: true });
      assert.deepEqual(await axeSerious(page), []);
      await env.agentCloses(cid);
      await page.context().close();
    });
  }

  for (const screen of SCREENS) {
    it(`the widget's header names the agent and shows their picture, on ${screen.name}`, T, async () => {
      await env.porch.cli(['agents', 'set', env.porch.agent.name, '--display-name', 'Ann from Support', '--avatar-url', AVATAR]);
      const shop = await startShop(env.porch, { csp: "img-src 'self' https://avatars.example.test" });
      try {
        shop.deploymentId = (await env.porch.createDeployment({ name: `lists-${Date.now()}`, origins: [shop.origin] })).id;
        const page = await widgetPage(env.browser, screen, `${shop.origin}/`);
        const referers = [];
        await page.route(AVATAR, (route) => {
          referers.push(route.request().headers().referer ?? '');
          return route.fulfill({ status: 200, contentType: 'image/png', body: PNG });
        });
        await page.click('.launcher');
        await write(page, 'Where is my bench?');
        const cid = await conversationOf(page, shop.deploymentId);
        await env.porch.api('POST', `/api/v2/agent/conversations/${cid}/assign`, { bearer: env.agentToken, expect: 200 });
        await until(page, 'the agent named', (p) => panel(p).then((s) => s.subtitle === 'You are chatting with Ann from Support'));
        const avatar = () => page.evaluate(() => {
          const img = document.getElementById('porch-widget').shadowRoot.querySelector('.avatar');
          return { shown: img.checkVisibility(), alt: img.alt, src: img.getAttribute('src'), referrer: img.referrerPolicy, loaded: img.complete && img.naturalWidth > 0 };
        });
        const shown = await until(page, 'the picture', () => avatar().then((a) => a.loaded && a));
        assert.deepEqual(shown, { shown: true, alt: 'Photo of Ann from Support', src: AVATAR, referrer: 'no-referrer', loaded: true });
        assert.deepEqual(referers, [''], 'no Referer sent to the picture\'s host');
        assert.deepEqual(await axeSerious(page), []);
        await env.agentCloses(cid);
        await until(page, 'no agent once closed', () => avatar().then((a) => !a.shown));
        await page.context().close();
      } finally {
        await shop.close();
        await env.porch.cli(['agents', 'set', env.porch.agent.name, '--clear-display-name', '--clear-avatar-url']);
      }
    });
  }

  it('a picture the page\'s policy refuses is not shown; the name is', T, async () => {
    await env.porch.cli(['agents', 'set', env.porch.agent.name, '--display-name', 'Ann from Support', '--avatar-url', AVATAR]);
    try {
      // Porch's own pages allow images from Porch only (img-src 'self' data:).
      const page = await widgetPage(env.browser, SCREENS[0], `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}`);
      await page.click('.launcher');
      await write(page, 'Hello?');
      const cid = await conversationOf(page, env.porch.deployment.id);
      await env.porch.api('POST', `/api/v2/agent/conversations/${cid}/assign`, { bearer: env.agentToken, expect: 200 });
      await until(page, 'the agent named', (p) => panel(p).then((s) => s.subtitle === 'You are chatting with Ann from Support'));
      const hidden = () => page.evaluate(() => !document.getElementById('porch-widget').shadowRoot.querySelector('.avatar').checkVisibility());
      await until(page, 'the refused picture hidden', hidden);
      assert.deepEqual(await axeSerious(page), []);
      await env.agentCloses(cid);
      await page.context().close();
    } finally {
      await env.porch.cli(['agents', 'set', env.porch.agent.name, '--clear-display-name', '--clear-avatar-url']);
    }
  });
});
