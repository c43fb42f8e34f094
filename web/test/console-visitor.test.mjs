// The visitor beside the chat (issue 19), in Chromium with axe at 1280×800 and 390×844: the
// widget sends where the visitor was (page, title, browser) when the chat starts, and the
// console shows it with the identity's verification and the customer's earlier
// conversations, each of which opens.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const SHOP_TITLE = 'Acme Shop: a page with the Porch widget';

for (const screen of SCREENS) {
  describe(`the visitor beside the chat at ${screen.name}`, { timeout: 600_000 }, () => {
    const env = porchAndChromium();

    async function console_() {
      const { name: _name, ...options } = screen;
      const page = await openPage(await env.browser.newContext(options), `${env.porch.baseUrl}/console/`);
      await page.fill('#login-name', env.porch.agent.name);
      await page.fill('#login-secret', env.porch.agent.secret);
      await page.press('#login-secret', 'Enter');
      await until(page, 'connected', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'));
      return page;
    }

    /** The visitor panel as term → text. */
    const details = (page) => page.locator('#visitor-details').evaluate((dl) => Object.fromEntries(
      [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]),
    ));

    async function open(page, cid) {
      if (screen.viewport.width < 700 && await page.locator('#back').isVisible()) await page.click('#back');
      await page.locator(`.sidebar [data-conversation-id="${cid}"]`).click();
      await until(page, 'the conversation open', (p) => p.locator('#messages .msg').count().then((n) => n > 0));
    }

    it('the widget\'s page, title and browser, shown to the agent', T, async () => {
      const url = `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}#fragment`;
      const shop = await widgetPage(env.browser, screen, url);
      await shop.click('.launcher');
      await write(shop, 'Does this come in blue?');
      const cid = await conversationOf(shop, env.porch.deployment.id);
      // The session is saved before the message goes out: the visitor's page may close only
      // once the message is stored (else the console would open an empty conversation).
      await until(shop, 'the message stored', async () => (await env.porch.history(cid, env.agentToken)).some((m) => m.text === 'Does this come in blue?'));
      const { body: context } = await env.porch.api('GET', `/api/v2/agent/conversations/${cid}/visitor`, { bearer: env.agentToken, expect: 200 });
      assert.equal(context.pageUrl, url.replace('#fragment', ''), 'the address, without its fragment');
      assert.equal(context.pageTitle, SHOP_TITLE);
      assert.match(context.userAgent, /Chrome\//);
      await shop.context().close();

      const page = await console_();
      await open(page, cid);
      await page.click('#visitor summary');
      await until(page, 'the page shown', async (p) => (await details(p)).Page === SHOP_TITLE);
      const shown = await details(page);
      assert.match(shown.Browser, /^Chrome \d+ on \w+$/, 'the browser as a person says it');
      assert.equal(shown.Address, context.pageUrl);
      assert.equal(await page.locator('#visitor-details a').getAttribute('href'), context.pageUrl);
      assert.equal(await page.locator('#visitor-details a').getAttribute('rel'), 'noopener noreferrer');
      assert.deepEqual(await axeSerious(page), []);
      await page.context().close();
    });

    it('a verified customer, and its earlier conversations, which open', T, async () => {
      const { porch } = env;
      const session = async (text) => {
        const { body: guest } = await porch.api('POST', '/api/v2/webmessaging/guests', {
          bearer: await porch.clientToken(),
          json: { deploymentId: porch.deployment.id, displayName: 'Jana', externalId: 'crm-jana', context: { pageTitle: 'Orders' } },
          expect: 201,
        });
        await porch.api('POST', '/api/v2/webmessaging/guests/messages', { bearer: guest.accessToken, json: { clientMessageId: 'c1', text }, expect: 201 });
        return guest.conversationId;
      };
      const earlier = await session('My first order is late');
      await env.agentCloses(earlier);
      const now = await session('And now the second one');

      const page = await console_();
      await open(page, now);
      await page.click('#visitor summary');
      await until(page, 'the identity', async (p) => (await details(p)).Identity === '✓ Verified: created by your backend');
      assert.equal((await details(page)).Page, 'Orders', 'a title without an address is text');
      await until(page, 'the earlier conversation', (p) => p.locator(`#visitor-history [data-conversation-id="${earlier}"]`).isVisible());
      assert.match(await page.locator('#visitor-history').textContent(), /closed/);
      assert.deepEqual(await axeSerious(page), []);
      await page.locator(`#visitor-history [data-conversation-id="${earlier}"]`).click();
      await until(page, 'it opens', (p) => p.locator('#messages').textContent().then((t) => t.includes('My first order is late')));
      assert.equal(await page.locator('#conversation-state').textContent(), 'closed');
      await page.context().close();
    });
  });
}
