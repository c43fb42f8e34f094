// Queue positions where visitors read them (issue 18 item 5, issue 19 "the queue position
// once routing exists"), in Chromium at 1280×800 and 390×844 with axe: the widget and the
// reference custom UI say "You are number 3 in the queue", then, once a guest ahead was
// served, "… number 2 … · about 1 minute", and say nothing of a queue once an agent holds the
// conversation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, panel, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };

describe('queue positions in the widget and the custom UI (issue 18, issue 19)', { timeout: 600_000 }, () => {
  const env = porchAndChromium();
  const assign = (cid) => env.porch.api('POST', `/api/v2/agent/conversations/${cid}/assign`, { bearer: env.agentToken, expect: 200 });

  /** Two guests waiting before the visitor writes (sessions made at the widget endpoint). */
  async function twoAhead() {
    const ahead = [await env.porch.createGuest('Ahead one'), await env.porch.createGuest('Ahead two')];
    return ahead.map((g) => g.conversationId);
  }

  /** Shows the visitor's place through `said(page)`, then serves the guests ahead and the
   * visitor, checking the words at each step; closes everything after, so the queue starts
   * empty for the next screen. */
  async function walk(page, said, visitorCid, ahead) {
    // With an estimate once an earlier screen's conversations left the queue some history.
    await until(page, 'number 3', (p) => said(p).then((t) => /^You are number 3 in the queue( · about \d+ min(utes?)?)?$/.test(t)));
    assert.deepEqual(await axeSerious(page), []);
    await assign(ahead[0]);
    await until(page, 'number 2 with a wait', (p) => said(p).then((t) => /^You are number 2 in the queue · about \d+ min(utes?)?$/.test(t)));
    assert.deepEqual(await axeSerious(page), []);
    await assign(visitorCid);
    await until(page, 'no queue once held', (p) => said(p).then((t) => !/queue/.test(t)));
    for (const cid of [...ahead, visitorCid]) await env.agentCloses(cid);
  }

  for (const screen of SCREENS) {
    it(`the widget on ${screen.name}`, T, async () => {
      const ahead = await twoAhead();
      const page = await widgetPage(env.browser, screen, `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}`);
      await page.click('.launcher');
      await write(page, 'Where is my bench?');
      const cid = await conversationOf(page, env.porch.deployment.id);
      await walk(page, (p) => panel(p).then((s) => s.subtitle), cid, ahead);
      await page.context().close();
    });

    it(`the custom UI on ${screen.name}`, T, async () => {
      const ahead = await twoAhead();
      const { name: _name, ...options } = screen;
      const context = await env.browser.newContext(options);
      const page = await openPage(context, `${env.porch.baseUrl}/examples/custom-ui.html?deployment=${env.porch.deployment.id}&name=Flo`);
      await page.fill('#text', 'Where is my bench?');
      await page.press('#text', 'Enter');
      const cid = await until(page, 'a session', (p) => p.evaluate(() => JSON.parse(sessionStorage.getItem('porch:custom-ui') ?? 'null')?.session?.conversationId ?? null));
      await walk(page, (p) => p.evaluate(() => document.getElementById('queue').textContent), cid, ahead);
      await context.close();
    });
  }
});
