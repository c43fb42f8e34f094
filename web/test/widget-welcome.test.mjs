// A deployment's welcome in the widget (issue 19), in Chromium with axe: the operator's
// greeting and "usually replies within…" in the visitor's language, before the visitor writes;
// the greeting gives way to the conversation, and comes back with "Start a new chat".

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { cli } from '../../tests/lib/porch-process.mjs';
import { axeSerious, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, panel, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const GREETING = 'Hi! Ask us anything about your order.';

describe('the deployment\'s welcome in the widget (issue 19)', { timeout: 600_000 }, () => {
  const env = porchAndChromium();
  const shopUrl = (deploymentId, extra = '') => `${env.porch.baseUrl}/examples/widget-host.html?deployment=${deploymentId}${extra}`;
  const greeting = (page) => page.evaluate(() => {
    const el = document.getElementById('porch-widget').shadowRoot.querySelector('.greeting');
    return el.checkVisibility() ? el.textContent : null;
  });

  for (const screen of SCREENS) {
    it(`on ${screen.name}: the greeting and reply time until the visitor writes, in English and French`, T, async () => {
      const { id } = await env.porch.createDeployment({ name: `welcome-${screen.name}` });
      const updated = await cli(env.porch.dataDir, ['deployments', 'update', id, '--greeting', GREETING, '--reply-within-mins', '90']);
      assert.equal(updated.greeting, GREETING);
      assert.equal(updated.replyWithinMins, 90);

      const page = await widgetPage(env.browser, screen, shopUrl(id));
      await page.click('.launcher');
      await until(page, 'the greeting', (p) => greeting(p).then((g) => g === GREETING));
      assert.equal((await panel(page)).subtitle, 'Usually replies within 2 hours', '90 minutes, said in hours');
      assert.deepEqual(await axeSerious(page), []);

      await write(page, 'Where is my bench?');
      const cid = await conversationOf(page, id);
      await until(page, 'the conversation takes its place', (p) => greeting(p).then((g) => g === null));
      await until(page, 'waiting', (p) => panel(p).then((s) => /^(Waiting for an agent…|You are number \d+ in the queue)/.test(s.subtitle)));

      await env.porch.api('POST', `/api/v2/agent/conversations/${cid}/close`, { bearer: env.agentToken, expect: 200 });
      await until(page, 'ended', (p) => panel(p).then((s) => s.restart));
      await page.click('.restart');
      await until(page, 'greeted again', (p) => greeting(p).then((g) => g === GREETING));
      await page.context().close();

      const fr = await widgetPage(env.browser, screen, shopUrl(id, '&lang=fr'));
      await fr.click('.launcher');
      // French puts a no-break space between the number and its unit (the browser's Intl data).
      await until(fr, 'the reply time in French', (p) => panel(p).then((s) => s.subtitle === 'Répond généralement en 2\u00a0heures'));
      await fr.context().close();
    });
  }

  it('cleared, nothing is said; a wrong value is refused with its fix and changes nothing', T, async () => {
    const { id } = await env.porch.createDeployment({ name: 'welcome-cleared' });
    await cli(env.porch.dataDir, ['deployments', 'update', id, '--greeting', GREETING, '--reply-within-mins', '5']);
    await assert.rejects(
      cli(env.porch.dataDir, ['deployments', 'update', id, '--reply-within-mins', '0']),
      /--reply-within-mins must be at least 1/,
    );
    const cleared = await cli(env.porch.dataDir, ['deployments', 'update', id, '--clear-greeting', '--clear-reply-time']);
    assert.equal(cleared.greeting, null);
    assert.equal(cleared.replyWithinMins, null);
    const page = await widgetPage(env.browser, SCREENS[0], shopUrl(id));
    await page.click('.launcher');
    await until(page, 'the panel', (p) => panel(p).then((s) => s.open));
    assert.equal(await greeting(page), null);
    assert.equal((await panel(page)).subtitle, '');
    await page.context().close();
  });
});
