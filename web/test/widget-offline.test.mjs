// The widget's offline form (issue 19), in Chromium on a laptop and a phone screen with axe:
// while nobody can answer, a new visitor leaves an email and a message; a wrong or missing
// email is refused in words and nothing is sent; sent, the session carries the email, the
// message waits in the queue, the panel says the answer comes by email, and the agent who
// comes later sees the email beside the chat and answers. With an agent available, or the
// form turned off by the operator, the live chat shows. French and Arabic (right to left).
// Porch reads availability on every page view here (`--widget-availability-cache-ms 0`).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { axeSerious, openPage, shown, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, panel, savedConversation, widgetPage } from './lib/widget.mjs';

const T = { timeout: 120_000 };
// docs/sdk.md shows the form; like browser.test.mjs, the picture is rewritten only when asked.
const SHOTS = process.env.PORCH_SCREENSHOTS === '1'
  ? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots')
  : os.tmpdir();
const EMAIL = 'ann@example.com';
const TEXT = 'My bench arrived with a broken leg';

describe('the widget\'s offline form (issue 19)', { timeout: 900_000 }, () => {
  const env = porchAndChromium({ serveArgs: ['--widget-availability-cache-ms', '0'] });
  const shopUrl = (id, extra = '') => `${env.porch.baseUrl}/examples/widget-host.html?deployment=${id}${extra}`;
  /** A deployment whose form is on (the suite's are off), on the agent's queue. */
  const offlineDeployment = (name) => env.porch.createDeployment({ name, offlineForm: true });
  /** The form as the visitor sees it. */
  const form = (page) => page.evaluate(() => {
    const root = document.getElementById('porch-widget').shadowRoot;
    const q = (sel) => root.querySelector(sel);
    return {
      shown: q('form.offline').checkVisibility(),
      intro: q('.offline-intro').textContent,
      error: q('.offline-error').textContent,
      emailInvalid: q('#porch-offline-email').getAttribute('aria-invalid') === 'true',
      messageInvalid: q('#porch-offline-message').getAttribute('aria-invalid') === 'true',
      sent: q('.offline-sent').textContent,
      dir: q('.panel').dir,
    };
  });
  const fill = async (page, email, text) => {
    await page.fill('#porch-offline-email', email);
    await page.fill('#porch-offline-message', text);
    await page.click('.offline-send');
  };
  const setStatus = (status) => env.porch.api('PUT', '/api/v2/agent/status', { bearer: env.agentToken, json: { status }, expect: 200 });

  for (const screen of SCREENS) {
    it(`on ${screen.name}: nobody to answer, the form; a wrong email refused; sent, the agent answers later`, T, async () => {
      const dep = await offlineDeployment(`offline-${screen.name}`);
      assert.equal(dep.offlineForm, true);
      const page = await widgetPage(env.browser, screen, shopUrl(dep.id));
      await page.click('.launcher');
      await until(page, 'the offline form', (p) => form(p).then((f) => f.shown));
      const first = await panel(page);
      assert.equal(first.composer, false, 'no live chat beside the form');
      assert.equal(first.focused, 'porch-offline-email', 'focus in the email field');
      assert.match((await form(page)).intro, /^Nobody is here to chat right now\./);
      assert.deepEqual(await axeSerious(page), []);

      // Refused in words, nothing sent: a missing dot, then no email, then no message.
      await fill(page, 'ann@example', TEXT);
      let f = await until(page, 'the email refused', (p) => form(p).then((x) => x.error && x));
      assert.equal(f.error, 'This email address does not look right. Please check it (for example, name@example.com).');
      assert.equal(f.emailInvalid, true);
      assert.equal((await panel(page)).focused, 'porch-offline-email');
      assert.deepEqual(await axeSerious(page), [], 'the refusal is accessible');
      await fill(page, '', TEXT);
      assert.equal((await form(page)).error, 'Please enter your email address.');
      await fill(page, EMAIL, '   ');
      f = await form(page);
      assert.deepEqual([f.error, f.emailInvalid, f.messageInvalid], ['Please write your message.', false, true]);
      assert.equal(await savedConversation(page, dep.id), null, 'no session for a refused form');

      await page.fill('#porch-offline-email', EMAIL);
      await page.fill('#porch-offline-message', TEXT);
      if (screen === SCREENS[0]) await page.screenshot({ path: path.join(SHOTS, 'widget-offline.png') });
      await page.click('.offline-send');
      const cid = await conversationOf(page, dep.id);
      await until(page, 'the message stored', async (p) => (await shown(p, 'widget')).some((l) => l.endsWith(`:${TEXT}`) && !l.startsWith('…')), { kind: 'widget' });
      f = await form(page);
      assert.equal(f.shown, false);
      assert.equal(f.sent, `Thank you. The team will answer you by email at \u2068${EMAIL}\u2069.`);
      const after = await panel(page);
      assert.equal(after.composer, true, 'the visitor may go on writing');
      assert.equal(after.focused, 'porch-input');
      await until(page, 'waiting', (p) => panel(p).then((x) => /^(Waiting for an agent…|You are number \d+ in the queue)/.test(x.subtitle)));
      assert.deepEqual(await axeSerious(page), []);

      // The agent, later: the conversation waits in the queue with the visitor's email.
      const { body: list } = await env.porch.api('GET', '/api/v2/agent/conversations?state=waiting', { bearer: env.agentToken, expect: 200 });
      const waiting = list.conversations.find((c) => c.id === cid);
      assert.equal(waiting?.guest.email, EMAIL, 'the email is the guest\'s');
      await env.agentSays(cid, 'Sorry about that, a new leg is on its way');
      await until(page, 'the answer, live', async (p) => (await shown(p, 'widget')).some((l) => l.endsWith(':Sorry about that, a new leg is on its way')), { kind: 'widget' });

      // A reload restores the chat, not the form; a new chat asks again.
      await page.reload();
      await page.locator('.launcher').waitFor({ state: 'visible' });
      if (!(await panel(page)).open) await page.click('.launcher');
      await until(page, 'the conversation back', async (p) => (await shown(p, 'widget')).some((l) => l.endsWith(`:${TEXT}`)), { kind: 'widget' });
      f = await form(page);
      assert.deepEqual([f.shown, f.sent], [false, `Thank you. The team will answer you by email at \u2068${EMAIL}\u2069.`], 'still says where the answer goes');
      await env.agentCloses(cid);
      await until(page, 'ended', (p) => panel(p).then((s) => s.restart));
      await page.click('.restart');
      await until(page, 'the form again', (p) => form(p).then((x) => x.shown));
      assert.equal((await form(page)).sent, '', 'the confirmation was about the last chat');
      assert.equal((await panel(page)).focused, 'porch-offline-email');
      assert.deepEqual(await axeSerious(page), []);
      await page.context().close();
    });
  }

  it('sent while the session cannot be created: a reload sends it once, with the email', T, async () => {
    const dep = await offlineDeployment('offline-reload');
    const page = await widgetPage(env.browser, SCREENS[0], shopUrl(dep.id));
    // The session's creation fails as if Porch could not be reached: the widget retries.
    const creating = `**/api/v2/webmessaging/deployments/${dep.id}/guests`;
    let tries = 0;
    await page.route(creating, (route) => { tries += 1; return route.abort('connectionrefused'); });
    await page.click('.launcher');
    await until(page, 'the offline form', (p) => form(p).then((f) => f.shown));
    await fill(page, EMAIL, TEXT);
    await until(page, 'a retried creation', async () => tries >= 2);
    assert.equal(await savedConversation(page, dep.id), null, 'no session yet');

    // The visitor reloads before Porch answers: the message was kept, and goes out now.
    await page.unroute(creating);
    await page.reload();
    await page.locator('.launcher').waitFor({ state: 'visible' });
    if (!(await panel(page)).open) await page.click('.launcher');
    const cid = await conversationOf(page, dep.id);
    await until(page, 'the message stored', async (p) => (await shown(p, 'widget')).some((l) => l.endsWith(`:${TEXT}`) && !l.startsWith('…')), { kind: 'widget' });
    assert.equal((await form(page)).sent, `Thank you. The team will answer you by email at \u2068${EMAIL}\u2069.`);
    const log = await env.porch.history(cid, env.agentToken);
    assert.deepEqual(log.filter((m) => m.sender.role === 'guest').map((m) => m.text), [TEXT], 'stored once');
    const { body: list } = await env.porch.api('GET', '/api/v2/agent/conversations?state=waiting', { bearer: env.agentToken, expect: 200 });
    assert.equal(list.conversations.find((c) => c.id === cid)?.guest.email, EMAIL, 'the session carries the form\'s email');
    await env.agentCloses(cid);
    await page.context().close();
  });

  it('an agent available: the live chat; the form off: the live chat; a wrong setting named', T, async () => {
    const dep = await offlineDeployment('offline-available');
    await setStatus('available');
    try {
      const page = await widgetPage(env.browser, SCREENS[1], shopUrl(dep.id));
      await page.click('.launcher');
      await until(page, 'the live chat', (p) => panel(p).then((s) => s.composer && s.focused === 'porch-input'));
      assert.equal((await form(page)).shown, false);
      await page.context().close();
    } finally {
      await setStatus('away');
    }
    const off = await env.porch.cli(['deployments', 'update', dep.id, '--offline-form', 'false']);
    assert.equal(off.offlineForm, false);
    const page = await widgetPage(env.browser, SCREENS[0], shopUrl(dep.id));
    await page.click('.launcher');
    await until(page, 'the live chat', (p) => panel(p).then((s) => s.composer));
    assert.equal((await form(page)).shown, false, 'nobody is available, but the operator turned the form off');
    await page.context().close();
    await assert.rejects(env.porch.cli(['deployments', 'update', dep.id, '--offline-form', 'maybe']), /maybe[\s\S]*true, false/);
  });

  it('in French, and in Arabic right to left', T, async () => {
    const dep = await offlineDeployment('offline-languages');
    const fr = await widgetPage(env.browser, SCREENS[1], shopUrl(dep.id, '&lang=fr'));
    await fr.click('.launcher');
    await until(fr, 'the form in French', (p) => form(p).then((x) => x.shown && x.intro.startsWith('Personne n’est disponible')));
    await fill(fr, 'nom@exemple', 'Bonjour');
    await until(fr, 'the refusal in French', (p) => form(p).then((x) => x.error.startsWith('Cette adresse e-mail ne semble pas correcte.')));
    assert.deepEqual(await axeSerious(fr), []);
    await fr.context().close();

    const ar = await widgetPage(env.browser, SCREENS[1], shopUrl(dep.id, '&lang=ar'));
    await ar.click('.launcher');
    const f = await until(ar, 'the form in Arabic', (p) => form(p).then((x) => x.shown && x));
    assert.equal(f.dir, 'rtl');
    assert.match(f.intro, /^لا يوجد أحد متاح/);
    await fill(ar, EMAIL, 'مرحبا');
    await conversationOf(ar, dep.id);
    const sent = await until(ar, 'the confirmation in Arabic', (p) => form(p).then((x) => x.sent));
    assert.ok(sent.startsWith('شكرًا لك.') && sent.includes(`\u2068${EMAIL}\u2069`), sent);
    assert.deepEqual(await axeSerious(ar), []);
    await ar.context().close();
  });

  // Last: the console connects the agent, and its offers must not touch the tests above.
  it('the agent sees the email in the console\'s visitor panel', T, async () => {
    const dep = await offlineDeployment('offline-console');
    const page = await widgetPage(env.browser, SCREENS[0], shopUrl(dep.id));
    await page.click('.launcher');
    await until(page, 'the offline form', (p) => form(p).then((x) => x.shown));
    await fill(page, 'jo@example.org', 'Do you deliver to Ghent?');
    const cid = await conversationOf(page, dep.id);
    // The session is saved before the message goes out: close the page only once it is stored.
    await until(page, 'the message stored', async (p) => (await shown(p, 'widget')).some((l) => l.endsWith(':Do you deliver to Ghent?') && !l.startsWith('…')), { kind: 'widget' });
    await page.context().close();

    const c = await openPage(await env.browser.newContext({ viewport: { width: 1280, height: 800 } }), `${env.porch.baseUrl}/console/`);
    await c.fill('#login-name', env.porch.agent.name);
    await c.fill('#login-secret', env.porch.agent.secret);
    await c.press('#login-secret', 'Enter');
    await c.locator(`.sidebar [data-conversation-id="${cid}"]`).click();
    await until(c, 'the message', (p) => p.locator('#messages').textContent().then((t) => t.includes('Do you deliver to Ghent?')));
    await c.click('#visitor summary');
    const email = await until(c, 'the email', (p) => p.locator('#visitor-details').evaluate((dl) => [...dl.querySelectorAll('dt')].find((dt) => dt.textContent === 'Email')?.nextElementSibling.textContent));
    assert.equal(email, 'jo@example.org');
    assert.deepEqual(await axeSerious(c), []);
    await c.context().close();
    await env.agentCloses(cid);
  });
});
