// The widget's defects of issue 19, each a regression test in Chromium on a laptop and a
// phone screen, with axe: a closed conversation (found live, on a reconnect, after a reload)
// ends the chat and always offers a new one; visitors read plain states while the cause goes
// to the console and the host page; a notice keeps the last message in view and survives
// "Start a new chat"; a message written while Porch was down is sent once it is back.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, shown, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { DEVELOPER_TEXT, SCREENS, conversationOf, panel, porchEvents, savedConversation, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };

describe('the widget in Chromium (issue 19)', { timeout: 900_000 }, () => {
  // Reopening off: a close is final at once (the window's cases: widget-reopen.test.mjs).
  const env = porchAndChromium({ serveArgs: ['--reopen-window-secs', '0'] });
  const { agentSays, agentCloses, truth } = env;
  const shopUrl = () => `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}`;
  const noPageErrors = (page) => assert.deepEqual(page.logs.filter((l) => l.startsWith('pageerror')), [], `${page.url()} threw`);

  /** Opens the panel and writes the first message; returns the conversation. */
  async function visitorWrites(page, text) {
    await page.click('.launcher');
    await write(page, text);
    const cid = await conversationOf(page, env.porch.deployment.id);
    await until(page, 'the message stored', async (p) => (await shown(p, 'widget')).some((l) => /^\d+:/.test(l) && l.endsWith(`:${text}`)), { kind: 'widget' });
    return cid;
  }

  /** The panel once a conversation is over: no composer, the reason, "Start a new chat",
   * nothing a developer would write, and no saved session left. */
  async function assertEnded(page, why = 'This conversation has ended.') {
    const state = await until(page, 'the ended state', (p) => panel(p).then((s) => s.ended !== null && s));
    assert.equal(state.composer, false, 'the composer is gone');
    assert.equal(state.restart, true, '"Start a new chat" is offered');
    assert.equal(state.ended, why);
    assert.doesNotMatch(state.text, DEVELOPER_TEXT);
    assert.equal(await savedConversation(page, env.porch.deployment.id), null, 'the stored session is forgotten');
    assert.deepEqual(await axeSerious(page), [], 'no serious accessibility violation when ended');
    return state;
  }

  for (const screen of SCREENS) {
    describe(`on ${screen.name}`, () => {
      it('closed live: the composer goes, focus moves to "Start a new chat", which starts afresh and keeps the notice', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        const cid = await visitorWrites(page, 'Where is my order?');
        await env.porch.setNotice('Back on Monday.');
        try {
          await until(page, 'the notice', (p) => panel(p).then((s) => s.notice === 'Back on Monday.'));
          await page.focus('#porch-input');
          await agentCloses(cid);
          const state = await assertEnded(page);
          assert.equal(state.focused, 'restart', 'focus followed the composer to the offer of a new chat');
          await page.click('.restart');
          const fresh = await until(page, 'a fresh composer', (p) => panel(p).then((s) => s.composer && s));
          assert.equal(fresh.ended, null);
          assert.deepEqual(await shown(page, 'widget'), [], 'the old conversation is cleared away');
          assert.equal(fresh.notice, 'Back on Monday.', 'the deployment\'s notice stays after "Start a new chat"');
          await write(page, 'A new question');
          const next = await conversationOf(page, env.porch.deployment.id);
          assert.notEqual(next, cid, 'a new conversation');
          await until(page, 'the new message stored', async (p) => JSON.stringify(await shown(p, 'widget')) === JSON.stringify(await truth(next)), { kind: 'widget' });
          noPageErrors(page);
        } finally {
          await env.porch.clearNotice();
          await page.context().close();
        }
      });

      it('closed while the socket was down: found on the reconnect', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        // The network between this page and Porch, under the test's control.
        let blocked = false;
        const live = new Set();
        await page.routeWebSocket(/\/api\/v2\/gateway/, (ws) => {
          if (blocked) return ws.close({ code: 1011, reason: '' });
          live.add(ws);
          ws.connectToServer();
          ws.onClose(() => live.delete(ws));
        });
        const cid = await visitorWrites(page, 'Is anyone there?');
        blocked = true;
        for (const ws of live) await ws.close({ code: 1011, reason: '' });
        await until(page, 'reconnecting', (p) => panel(p).then((s) => s.status === 'Reconnecting…'));
        await agentCloses(cid);
        blocked = false;
        await assertEnded(page);
        noPageErrors(page);
        await page.context().close();
      });

      it('closed while the visitor was away: found after the reload, and the next reload starts afresh', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        const cid = await visitorWrites(page, 'I will be back');
        await page.goto('about:blank');
        await agentCloses(cid);
        await page.goBack();
        await assertEnded(page);
        assert.ok((await shown(page, 'widget')).some((l) => l.endsWith(':I will be back')), 'the transcript stays readable');
        await page.reload();
        const fresh = await until(page, 'a fresh widget', (p) => panel(p).then((s) => s.composer && s));
        assert.equal(fresh.ended, null);
        assert.deepEqual(await shown(page, 'widget'), []);
        noPageErrors(page);
        await page.context().close();
      });

      it('Porch down: the visitor reads "Reconnecting…", the cause goes to the console and the page', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        const cid = await visitorWrites(page, 'Hello');
        await env.porch.kill('SIGKILL');
        const state = await until(page, 'reconnecting', (p) => panel(p).then((s) => s.status === 'Reconnecting…' && s));
        assert.doesNotMatch(state.text, DEVELOPER_TEXT);
        const errors = await until(page, 'an error event', (p) => porchEvents(p, 'error').then((e) => e.length && e));
        assert.equal(errors[0].code, 'network');
        assert.match(errors[0].message, /127\.0\.0\.1/, 'the page gets the cause');
        assert.ok(page.logs.some((l) => /^(warning|error): Porch widget \(dep_/.test(l) && /network/.test(l)), `the console names it:\n${page.logs.join('\n')}`);
        assert.deepEqual(await axeSerious(page), [], 'no serious accessibility violation while reconnecting');
        await env.porch.restart();
        await until(page, 'connected again', (p) => panel(p).then((s) => s.status === ''));
        await agentSays(cid, 'We are back');
        await until(page, 'the reply', async (p) => JSON.stringify(await shown(p, 'widget')) === JSON.stringify(await truth(cid)), { kind: 'widget' });
        noPageErrors(page);
        await page.context().close();
      });

      it('a message written while Porch was unreachable is sent once it is back, without writing again', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        await until(page, 'the launcher', (p) => panel(p).then((s) => s.launcher));
        await env.porch.kill('SIGKILL');
        await page.click('.launcher');
        await write(page, 'Written while Porch was down');
        await until(page, 'the message pending', async (p) => (await shown(p, 'widget')).includes('…:Written while Porch was down'), { kind: 'widget' });
        const whileDown = await until(page, 'a status', (p) => panel(p).then((st) => st.status && st));
        await env.porch.restart();
        const cid = await conversationOf(page, env.porch.deployment.id);
        await until(page, 'the message stored once', async (p) => JSON.stringify(await shown(p, 'widget')) === JSON.stringify(await truth(cid)), { kind: 'widget' });
        assert.deepEqual(await truth(cid), ['1:Written while Porch was down']);
        assert.equal(whileDown.status, 'Reconnecting…', 'a plain state while Porch was down');
        noPageErrors(page);
        await page.context().close();
      });

      it('a notice that appears keeps the last message in view', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        const cid = await visitorWrites(page, 'Question');
        for (let i = 1; i <= 14; i += 1) await agentSays(cid, `Answer line ${i}`);
        await until(page, 'every answer', async (p) => (await shown(p, 'widget')).some((l) => l.endsWith(':Answer line 14')), { kind: 'widget' });
        const lastInView = () => page.evaluate(() => {
          const root = document.getElementById('porch-widget').shadowRoot;
          const log = root.querySelector('.log').getBoundingClientRect();
          const last = [...root.querySelectorAll('.log .msg')].at(-1).getBoundingClientRect();
          return last.bottom <= log.bottom + 1 && last.top >= log.top - 1;
        });
        await until(page, 'the last answer in view', lastInView);
        try {
          await env.porch.setNotice('We are closed on 24 December.\nOrders placed after the 20th ship in January.\nThank you for your patience.');
          await until(page, 'the notice', (p) => panel(p).then((s) => s.notice.startsWith('We are closed')));
          await until(page, 'the last answer still in view', lastInView);
        } finally {
          await env.porch.clearNotice();
        }
        noPageErrors(page);
        await page.context().close();
      });
    });
  }
});
