// The one-tag widget and a logged-in visitor (issue 20, docs/identity.md), in Chromium: the
// page's backend signs an identity token (HS256 with the secret `porch identity-keys add`
// printed, node:crypto as a backend would) and the page hands it to the widget, by
// `porchWidget.identify(token)` mid-chat or before the first message. The anonymous chat
// becomes the customer's in place, keeping every message; a later chat in another browser
// context is the same customer's; something that is not a token is refused in the console.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';

import { cli } from '../../tests/lib/porch-process.mjs';
import { until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** What the builder's backend does when its visitor logs in. */
function sign(key, deploymentId, sub) {
  const now = Math.floor(Date.now() / 1000);
  const signed = `${b64({ alg: 'HS256', kid: key.kid })}.${b64({ sub, name: 'Rui Costa', aud: deploymentId, iat: now, exp: now + 120, jti: randomUUID() })}`;
  const mac = createHmac('sha256', Buffer.from(key.secret, 'base64url')).update(signed).digest('base64url');
  return `${signed}.${mac}`;
}

describe('the widget names a logged-in visitor (issue 20)', { timeout: 600_000 }, () => {
  const env = porchAndChromium();
  const shopUrl = (deploymentId) => `${env.porch.baseUrl}/examples/widget-host.html?deployment=${deploymentId}`;
  /** The conversations of `cid`'s customer, as an agent reads them. */
  const customerOf = async (cid) => {
    const { body } = await env.porch.api('GET', `/api/v2/agent/conversations/${cid}/customer`, { bearer: env.agentToken, expect: 200 });
    return body.conversations;
  };

  it('mid-chat: the anonymous conversation becomes the customer\'s, every message kept; a second browser is the same customer', T, async () => {
    const { id } = await env.porch.createDeployment({ name: 'widget-identity' });
    const key = await cli(env.porch.dataDir, ['identity-keys', 'add', '--deployment', id]);

    const page = await widgetPage(env.browser, SCREENS[0], shopUrl(id));
    await page.click('.launcher');
    await write(page, 'Before I log in');
    const cid = await conversationOf(page, id);
    await until(page, 'stored', async () => (await env.truth(cid)).some((line) => line.endsWith(':Before I log in')));
    const [anonymous] = await customerOf(cid);
    assert.equal(anonymous.guest.externalId ?? null, null, 'anonymous until the page says who it is');

    const identified = await page.evaluate((token) => window.porchWidget.identify(token), sign(key, id, 'crm-rui'));
    assert.equal(identified, true);
    const [known] = await customerOf(cid);
    assert.equal(known.id, cid, 'the same conversation');
    assert.equal(known.guest.externalId, 'crm-rui');
    assert.equal(known.guest.verifiedBy, 'identityToken');
    await write(page, 'Now I am logged in');
    await until(page, 'the next message on the same log', async () => {
      const lines = await env.truth(cid);
      const before = lines.findIndex((l) => l.endsWith(':Before I log in'));
      const signedIn = lines.findIndex((l) => l.includes('signed in'));
      const after = lines.findIndex((l) => l.endsWith(':Now I am logged in'));
      return before >= 0 && signedIn > before && after > signedIn;
    });
    await page.context().close();

    // Another browser, already logged in: the token goes before the first message.
    const other = await widgetPage(env.browser, SCREENS[1], shopUrl(id));
    assert.equal(await other.evaluate((token) => window.porchWidget.identify(token), sign(key, id, 'crm-rui')), true);
    await other.click('.launcher');
    await write(other, 'Hello again, from my phone');
    const second = await conversationOf(other, id);
    assert.notEqual(second, cid);
    const both = (await customerOf(second)).map((c) => c.id).sort();
    assert.deepEqual(both, [cid, second].sort(), "the customer's two conversations, from either");
    await other.context().close();
  });

  it('something that is not a token is refused in the console and changes nothing', T, async () => {
    const { id } = await env.porch.createDeployment({ name: 'widget-identity-bad' });
    const page = await widgetPage(env.browser, SCREENS[0], shopUrl(id));
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    assert.equal(await page.evaluate(() => window.porchWidget.identify('crm-rui')), false);
    assert.ok(errors.some((e) => /identify: pass the identity token/.test(e)), errors.join('\n'));
    await page.click('.launcher');
    await write(page, 'Still anonymous');
    const cid = await conversationOf(page, id);
    await until(page, 'stored', async () => (await env.truth(cid)).some((line) => line.endsWith(':Still anonymous')));
    const [conversation] = await customerOf(cid);
    assert.equal(conversation.guest.externalId ?? null, null);
    await page.context().close();
  });
});
