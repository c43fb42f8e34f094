// What agents expect from the console (issue 19), in Chromium with axe: the wait time in the
// waiting list, the visitor's details beside the chat, the open conversation kept across a
// reload, a phone-sized layout (the list or the conversation, with Back), and a header that
// keeps one line while a long reconnect cause is shown.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS } from './lib/widget.mjs';

const T = { timeout: 120_000 };

describe('the console agents expect (issue 19)', { timeout: 600_000 }, () => {
  const env = porchAndChromium();

  /** A visitor the customer's backend knows, who has written once; returns the conversation id. */
  async function knownVisitor(name) {
    const { porch } = env;
    const { body: guest } = await porch.api('POST', '/api/v2/webmessaging/guests', {
      bearer: await porch.clientToken(),
      json: { deploymentId: porch.deployment.id, displayName: name, email: `${name.toLowerCase()}@example.com`, externalId: `crm-${name}`, attributes: { plan: 'gold' } },
      expect: 201,
    });
    await porch.api('POST', '/api/v2/webmessaging/guests/messages', {
      bearer: guest.accessToken, json: { clientMessageId: `c-${name}`, text: `Hello from ${name}` }, expect: 201,
    });
    return guest.conversationId;
  }

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

  const item = (page, cid) => page.locator(`[data-conversation-id="${cid}"]`);
  const visible = (page, selector) => page.locator(selector).isVisible();

  it('the waiting time, the visitor\'s details, and the open conversation kept across a reload', T, async () => {
    const cid = await knownVisitor('Rosa');
    const page = await loggedIn(SCREENS[0]);
    await until(page, 'Rosa waiting', (p) => item(p, cid).textContent().then((t) => /Rosa/.test(t) && /waiting under a minute/.test(t)));
    await item(page, cid).click();
    await until(page, 'her message', (p) => p.locator('#messages').textContent().then((t) => t.includes('Hello from Rosa')));
    await page.click('#visitor summary');
    const details = await page.locator('#visitor-details').evaluate((dl) => Object.fromEntries(
      [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]),
    ));
    assert.equal(details.Email, 'rosa@example.com');
    assert.equal(details['External id'], 'crm-Rosa');
    assert.equal(details.plan, 'gold');
    assert.ok(details['Conversation started'], 'when it started');
    assert.deepEqual(await axeSerious(page), []);

    await page.reload();
    await until(page, 'the same conversation, open again', (p) => p.locator('#conversation-title').textContent().then((t) => t === 'Rosa'));
    await until(page, 'with its messages', (p) => p.locator('#messages').textContent().then((t) => t.includes('Hello from Rosa')));
    await page.context().close();
  });

  it('on a phone: the list, then the conversation alone, and Back; the header keeps one line while reconnecting', T, async () => {
    const cid = await knownVisitor('Sam');
    const page = await loggedIn(SCREENS[1]);
    const headerHeight = () => page.locator('header.top').evaluate((h) => h.getBoundingClientRect().height);
    const oneLine = await headerHeight();
    assert.equal(await visible(page, '.sidebar'), true, 'the list first');
    assert.equal(await visible(page, '#conversation'), false);
    await item(page, cid).click();
    await until(page, 'the conversation alone', async (p) => await visible(p, '#conversation') && !(await visible(p, '.sidebar')));
    const width = await page.locator('#messages').evaluate((m) => m.getBoundingClientRect().width);
    assert.ok(width > 350, `the conversation takes the screen's width: ${width}`);
    assert.deepEqual(await axeSerious(page), []);
    await page.click('#back');
    await until(page, 'the list again', async (p) => await visible(p, '.sidebar') && !(await visible(p, '#conversation')));

    await env.porch.kill();
    await until(page, 'a reconnect line', (p) => p.locator('#connection').textContent().then((t) => t.startsWith('Reconnecting')), { timeout: 30_000 });
    const cause = await page.locator('#connection').getAttribute('title');
    assert.ok(cause.length > 30, `a cause long enough to wrap: ${cause}`);
    assert.ok(Math.abs((await headerHeight()) - oneLine) < 1, 'the header did not grow');
    assert.deepEqual(await axeSerious(page), []);
    await env.porch.ensureRunning();
    await until(page, 'connected again', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'), { timeout: 30_000 });
    await page.context().close();
  });
});
