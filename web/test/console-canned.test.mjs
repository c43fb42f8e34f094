// Canned replies in the console (issue 19), in Chromium with axe at 1280×800 and 390×844:
// set with the real CLI (`porch canned-replies set`), offered after `/` in the composer,
// chosen with the arrows, inserted with Enter or Tab (which then do not send), closed with
// Escape; the inserted text is sent as the agent's reply.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { cli } from '../../tests/lib/porch-process.mjs';
import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const HOURS = 'We answer from 9 to 17, Monday to Friday.';
const HOLIDAY = 'We are closed on public holidays.';
const REFUND = 'Refunds reach your account within 5 working days.';

for (const screen of SCREENS) {
  describe(`the console's canned replies at ${screen.name}`, { timeout: 600_000 }, () => {
    const env = porchAndChromium();

    it('/ lists the deployment\'s replies; arrows, Enter, Tab and Escape', T, async () => {
      const { porch } = env;
      for (const [shortcut, text] of [['hours', HOURS], ['holiday', HOLIDAY], ['refund', REFUND]]) {
        const set = await cli(porch.dataDir, ['canned-replies', 'set', '--deployment', porch.deployment.id, '--shortcut', shortcut, '--text', text]);
        assert.equal(set.shortcut, shortcut);
      }
      const { body: guest } = await porch.api('POST', '/api/v2/webmessaging/guests', {
        bearer: await porch.clientToken(), json: { deploymentId: porch.deployment.id, displayName: 'Hanna' }, expect: 201,
      });
      await porch.api('POST', '/api/v2/webmessaging/guests/messages', {
        bearer: guest.accessToken, json: { clientMessageId: 'c-1', text: 'When are you open?' }, expect: 201,
      });

      const { name: _name, ...options } = screen;
      const page = await openPage(await env.browser.newContext(options), `${porch.baseUrl}/console/`);
      await page.fill('#login-name', porch.agent.name);
      await page.fill('#login-secret', porch.agent.secret);
      await page.press('#login-secret', 'Enter');
      await page.locator(`[data-conversation-id="${guest.conversationId}"]`).click();
      await until(page, 'the message', (p) => p.locator('#messages').textContent().then((t) => t.includes('When are you open?')));
      await until(page, 'replies loaded', (p) => p.locator('#reply').getAttribute('placeholder').then((t) => t.includes('/ for canned')));

      const reply = page.locator('#reply');
      const options_ = () => page.locator('#canned-list [role="option"] .shortcut').allTextContents();
      await reply.pressSequentially('/ho');
      await until(page, 'two matches', async () => (await options_()).join() === '/holiday,/hours');
      assert.equal(await reply.getAttribute('aria-activedescendant'), 'canned-option-0');
      assert.deepEqual(await axeSerious(page), []);
      await reply.press('ArrowDown');
      assert.equal(await page.locator('#canned-option-1').getAttribute('aria-selected'), 'true');
      await reply.press('Enter');
      assert.equal(await reply.inputValue(), HOURS, 'Enter inserts, and does not send');
      assert.equal(await page.locator('#canned-list').isHidden(), true);
      assert.equal(await page.locator('#messages .msg.mine').count(), 0, 'nothing sent yet');

      await reply.press('Enter');
      await until(page, 'sent as the reply', (p) => p.locator('#messages .msg.mine .text').allTextContents().then((t) => t.includes(HOURS)));

      await reply.pressSequentially('Thanks. /re');
      await until(page, 'one match', async () => (await options_()).join() === '/refund');
      await reply.press('Tab');
      assert.equal(await reply.inputValue(), `Thanks. ${REFUND}`, 'Tab inserts in place of /re');
      await reply.fill('');
      await reply.pressSequentially('/h');
      await until(page, 'the list', async () => (await options_()).length === 2);
      await reply.press('Escape');
      assert.equal(await page.locator('#canned-list').isHidden(), true, 'Escape closes');
      assert.equal(await reply.inputValue(), '/h', 'and leaves the text');
      await reply.pressSequentially('zz');
      assert.equal(await page.locator('#canned-list').isHidden(), true, 'no reply starts with /hzz');
      assert.deepEqual(await axeSerious(page), []);
      await page.context().close();
    });
  });
}
