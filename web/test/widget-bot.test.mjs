// The reference bot (examples/bot/bot.mjs) over a real Porch and a real widget in Chromium
// (issue 22): the bot hears the deployment's signed webhooks, greets the visitor with quick
// replies and a card the widget renders as plain buttons and links; the visitor's click is
// sent as a message naming the choice (a `choose` frame on its gateway connection); the bot hands off with a summary, the visitor reads
// the hand-off in plain words, and the agent picks up with the whole history and the summary.

import { spawn } from 'node:child_process';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { cli, freePort } from '../../tests/lib/porch-process.mjs';
import { axeSerious, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const BOT = new URL('../../examples/bot/bot.mjs', import.meta.url).pathname;

describe('a bot answers in the widget, then hands off (issue 22)', { timeout: 300_000 }, () => {
  // Webhooks to the bot on 127.0.0.1 over http: allowed for this test server only.
  const env = porchAndChromium({ serveArgs: ['--webhook-allow-http', '--webhook-allow-private-targets'] });
  let bot;
  before(async () => {
    const { dataDir, deployment, baseUrl } = env.porch;
    const added = await cli(dataDir, ['bots', 'add', '--deployment', deployment.id, '--name', 'Helper']);
    await cli(dataDir, ['queues', 'set', 'default', '--bot', added.id]);
    const port = await freePort();
    const hook = await cli(dataDir, ['webhooks', 'add', '--deployment', deployment.id, '--url', `http://127.0.0.1:${port}/`,
      '--event', 'conversation.created', '--event', 'message.created', '--webhook-allow-http', '--webhook-allow-private-targets']);
    const envVars = { PORCH_URL: baseUrl, BOT_ID: added.id, BOT_SECRET: added.secret, WEBHOOK_SECRET: hook.secret, PORT: String(port) };
    bot = spawn(process.execPath, [BOT], { env: { ...process.env, ...envVars }, stdio: ['ignore', 'pipe', 'pipe'] });
    bot.logs = '';
    bot.stderr.on('data', (c) => { bot.logs += c; });
    await new Promise((resolve, reject) => {
      bot.stdout.once('data', resolve);
      bot.once('exit', (code) => reject(new Error(`the bot exited (${code}): ${bot.logs}`)));
    });
  });
  after(() => bot?.kill());

  const inShadow = (page, sel) => page.evaluate((s) => [...document.getElementById('porch-widget').shadowRoot.querySelectorAll(s)]
    .map((el) => ({ text: el.textContent, href: el.getAttribute('href'), disabled: el.disabled ?? null })), sel);

  it('quick replies and a card, a pick, the hand-off, and an agent with the summary', T, async () => {
    const screen = SCREENS[0];
    const page = await widgetPage(env.browser, screen, `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}`);
    // What the widget sends over its gateway connection (opened by the launcher).
    const framesSent = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => framesSent.push(String(f.payload))));
    await page.click('.launcher');
    await write(page, 'Hello, I have a question');
    const cid = await conversationOf(page, env.porch.deployment.id);
    // The greeting and the answer to the first message both offer the topics.
    const replies = await until(page, 'quick replies', (p) => inShadow(p, '.quick-reply').then((b) => b.length >= 2 && b), { kind: 'widget' });
    assert.deepEqual(replies.slice(0, 2).map((b) => b.text), ['Billing', 'Something broke']);
    const links = await until(page, 'a card', (p) => inShadow(p, '.card-link').then((l) => l.length > 0 && l));
    assert.equal(links[0].href, 'https://help.example/');
    assert.deepEqual(await inShadow(page, '.card script, .card iframe'), [], 'plain elements only');
    assert.deepEqual(await axeSerious(page), []);

    await page.locator('#porch-widget .quick-reply', { hasText: 'Billing' }).first().click();
    await until(page, 'the hand-off in plain words', (p) => p.evaluate(() => document.getElementById('porch-widget').shadowRoot
      .querySelector('.log').innerText.includes('passed the conversation to a person')), { kind: 'widget' });
    const choose = framesSent.map((f) => JSON.parse(f)).find((f) => f.type === 'choose');
    assert.equal(choose?.text, 'Billing', `the pick goes over the gateway as a choose frame: ${framesSent.join('\n')}`);
    assert.equal(choose.choice.id, 'billing');

    // The agent picks it up: the whole history, the pick with its choice, and the summary.
    await env.porch.api('POST', `/api/v2/agent/conversations/${cid}/assign`, { bearer: env.agentToken, expect: 200 });
    const log = await env.porch.history(cid, env.agentToken);
    const pick = log.find((m) => m.sender.role === 'guest' && m.content?.choice);
    assert.equal(pick?.text, 'Billing');
    assert.equal(pick.content.choice.id, 'billing');
    assert.ok(log.some((m) => m.sender.role === 'bot' && m.sender.displayName === 'Helper'), 'the bot\'s part is in the history');
    const { body } = await env.porch.api('GET', `/api/v2/agent/conversations/${cid}/handoff`, { bearer: env.agentToken, expect: 200 });
    assert.match(body.handoff.summary, /^Topic: Billing\./);
    assert.equal(body.handoff.queue, 'default');
    const seen = await page.evaluate(() => document.getElementById('porch-widget').shadowRoot.querySelector('.log').innerText);
    assert.ok(!seen.includes('Topic: Billing'), 'the visitor never reads the summary');
    await page.context().close();
  });
});
