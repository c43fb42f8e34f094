// Closed conversations in the console (issue 19), in Chromium with axe at 1280×800 and
// 390×844: listed newest first, searched by the guest's name, email or a message's text,
// opened read-only; a conversation closed while the console is open joins the list.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS } from './lib/widget.mjs';

const T = { timeout: 120_000 };

for (const screen of SCREENS) {
  describe(`the console's closed conversations at ${screen.name}`, { timeout: 600_000 }, () => {
    const env = porchAndChromium();

    /** A visitor who wrote `text`; returns the conversation id. */
    async function visitor(name, email, text) {
      const { body: guest } = await env.porch.api('POST', '/api/v2/webmessaging/guests', {
        bearer: await env.porch.clientToken(), json: { deploymentId: env.porch.deployment.id, displayName: name, email }, expect: 201,
      });
      await env.porch.api('POST', '/api/v2/webmessaging/guests/messages', {
        bearer: guest.accessToken, json: { clientMessageId: `c-${name}`, text }, expect: 201,
      });
      return guest.conversationId;
    }

    async function loggedIn() {
      const { name: _name, ...options } = screen;
      const context = await env.browser.newContext(options);
      const page = await openPage(context, `${env.porch.baseUrl}/console/`);
      await page.fill('#login-name', env.porch.agent.name);
      await page.fill('#login-secret', env.porch.agent.secret);
      await page.press('#login-secret', 'Enter');
      await until(page, 'connected', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'));
      return page;
    }

    const names = (page) => page.locator('#closed-list .name').allTextContents();
    async function searchFor(page, q) {
      await page.fill('#closed-q', q);
      await page.press('#closed-q', 'Enter');
      await until(page, `the answer for ${q}`, (p) => p.locator('#closed-status').textContent().then((t) => !t.startsWith('Searching')));
      return names(page);
    }

    it('listed, searched by name, email and text, opened read-only', T, async () => {
      const dora = await visitor('Dora', 'dora@example.com', 'my invoice is wrong');
      const emil = await visitor('Emil', 'emil@shop.test', 'the parcel never came');
      const open = await visitor('Fritz', 'fritz@shop.test', 'an invoice question, still open');
      await env.agentCloses(dora);
      await env.agentCloses(emil);

      const page = await loggedIn();
      await until(page, 'the closed ones, newest first', async (p) => (await names(p)).join() === 'Emil,Dora');
      assert.match(await page.locator(`#closed-list [data-conversation-id="${emil}"]`).textContent(), /closed/);
      assert.deepEqual(await searchFor(page, 'dor'), ['Dora'], 'by name');
      assert.deepEqual(await searchFor(page, 'SHOP.TEST'), ['Emil'], 'by email, any case');
      assert.deepEqual(await searchFor(page, 'invoice'), ['Dora'], 'by text; the open one is not listed here');
      assert.deepEqual(await searchFor(page, 'nobody wrote this'), []);
      assert.match(await page.locator('#closed-status').textContent(), /No closed conversation matches/);
      assert.deepEqual(await axeSerious(page), []);

      await searchFor(page, '');
      await page.locator(`#closed-list [data-conversation-id="${dora}"]`).click();
      await until(page, 'Dora open', (p) => p.locator('#conversation-title').textContent().then((t) => t === 'Dora'));
      await until(page, 'her message', (p) => p.locator('#messages').textContent().then((t) => t.includes('my invoice is wrong')));
      assert.equal(await page.locator('#conversation-state').textContent(), 'closed');
      assert.match(await page.locator('#conversation-reopen').textContent(), /^the visitor can reopen it until \d{1,2}:\d{2}/, 'closed just now: within the reopen window');
      assert.equal(await page.locator('#conversation-reopen').isVisible(), true);
      assert.equal(await page.locator('#reply').isDisabled(), true, 'no reply to a closed conversation');
      assert.deepEqual(await axeSerious(page), []);
      if (screen.viewport.width < 700) {
        assert.equal(await page.locator('.sidebar').isVisible(), false, 'on a phone, the conversation alone');
        await page.click('#back');
      }

      // Closed while the console is open: it joins the top of the list.
      await env.agentCloses(open);
      await until(page, 'Fritz on top', async (p) => (await names(p))[0] === 'Fritz');
      await page.context().close();
    });
  });
}
