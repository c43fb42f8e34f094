// A widget visitor reopens a closed chat within the reopen window (issue 18, item 4), in
// Chromium with axe: the agent closes, the panel says the chat ended and that writing again
// reopens it, keeping the composer beside "Start a new chat"; the visitor writes and the agent
// finds the same conversation open again with the message after the reopen entry. Once the
// window has gone by, the composer goes and "Start a new chat" gives a new conversation. The
// reference custom UI does the same in its own words.
// (Reopening off, a close final at once: widget.test.mjs and pages.test.mjs.)

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, shown, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { DEVELOPER_TEXT, SCREENS, conversationOf, panel, savedConversation, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const REOPENABLE = 'This conversation has ended. Write again to reopen it.';

/** The suite of one reopen window: a Porch started with it, and what its tests share. */
function suite(windowSecs) {
  const env = porchAndChromium({ serveArgs: ['--reopen-window-secs', String(windowSecs)] });
  const shopUrl = () => `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}`;
  const visitorWrites = async (page, text) => {
    await write(page, text);
    await until(page, 'the message stored', async (p) => (await shown(p, 'widget')).some((l) => /^\d+:/.test(l) && l.endsWith(`:${text}`)), { kind: 'widget' });
  };
  /** Opens the widget, writes, and has the agent close the conversation; returns it. */
  const closedChat = async (screen) => {
    const page = await widgetPage(env.browser, screen, shopUrl());
    await page.click('.launcher');
    await visitorWrites(page, 'Where is my order?');
    const cid = await conversationOf(page, env.porch.deployment.id);
    await page.focus('#porch-input');
    const closed = await env.agentCloses(cid);
    return { page, cid, closed: closed.body ?? closed };
  };
  return { env, visitorWrites, closedChat };
}

describe('the widget reopens a closed chat within the window (issue 18)', { timeout: 600_000 }, () => {
  const { env, visitorWrites, closedChat } = suite(300);

  for (const screen of SCREENS) {
    it(`on ${screen.name}: the visitor writes after the close; the agent finds the conversation open again with the message`, T, async () => {
      const { page, cid } = await closedChat(screen);
      const state = await until(page, 'the reopenable close', (p) => panel(p).then((s) => s.ended === REOPENABLE && s));
      assert.equal(state.composer, true, 'the composer stays');
      assert.equal(state.restart, true, '"Start a new chat" is offered too');
      assert.equal(state.focused, 'porch-input', 'focus stays in the message box');
      assert.doesNotMatch(state.text, DEVELOPER_TEXT);
      assert.equal(await savedConversation(page, env.porch.deployment.id), cid, 'the session stays saved');
      assert.deepEqual(await axeSerious(page), [], 'no serious accessibility violation');
      await visitorWrites(page, 'One more thing: the invoice');
      const open = await until(page, 'the chat open again', (p) => panel(p).then((s) => s.ended === null && s));
      assert.equal(open.composer, true);
      assert.equal(await savedConversation(page, env.porch.deployment.id), cid, 'the same conversation');
      const { body } = await env.porch.api('GET', '/api/v2/agent/conversations?state=waiting,assigned', { bearer: env.agentToken, expect: 200 });
      assert.ok(body.conversations.some((c) => c.id === cid && c.state !== 'closed' && c.reopenUntilMs === undefined), 'the agent sees it open again');
      const log = await env.porch.history(cid, env.agentToken);
      assert.deepEqual(log.slice(-2).map((m) => [m.reopened ?? false, m.text]), [[true, log.at(-2).text], [false, 'One more thing: the invoice']]);
      assert.deepEqual(page.logs.filter((l) => l.startsWith('pageerror')), []);
      await page.context().close();
    });
  }

  it('the custom UI: the same, in its own words', T, async () => {
    const context = await env.browser.newContext({ viewport: SCREENS[0].viewport });
    const page = await openPage(context, `${env.porch.baseUrl}/examples/custom-ui.html?deployment=${env.porch.deployment.id}&name=Flo`);
    const ui = (p) => p.evaluate(() => ({
      composer: document.getElementById('composer').checkVisibility(),
      ended: document.getElementById('ended').checkVisibility() ? document.getElementById('ended-text').textContent : null,
      restart: document.getElementById('restart').checkVisibility(),
      cid: JSON.parse(sessionStorage.getItem('porch:custom-ui') ?? 'null')?.session?.conversationId ?? null,
    }));
    const writes = async (text) => {
      await page.fill('#text', text);
      await page.press('#text', 'Enter');
      await until(page, 'the message stored', async (p) => (await shown(p, 'custom')).some((l) => /^\d+:/.test(l) && l.endsWith(`:${text}`)), { kind: 'custom' });
    };
    await writes('Do you ship to Norway?');
    const { cid } = await ui(page);
    await env.agentCloses(cid);
    const closed = await until(page, 'the reopenable close', (p) => ui(p).then((u) => u.ended && u));
    assert.deepEqual(closed, { composer: true, ended: 'The agent ended this chat. Send a message to pick it up again.', restart: true, cid });
    assert.deepEqual(await axeSerious(page), []);
    await writes('And to Iceland?');
    const open = await until(page, 'open again', (p) => ui(p).then((u) => u.ended === null && u));
    assert.equal(open.cid, cid, 'the same conversation');
    await context.close();
  });

  it('a reload within the window finds the chat reopenable, and writing reopens it', T, async () => {
    const { page, cid } = await closedChat(SCREENS[0]);
    await until(page, 'the reopenable close', (p) => panel(p).then((s) => s.ended === REOPENABLE));
    await page.reload();
    // The panel was open: it opens again by itself.
    const state = await until(page, 'reopenable after the reload', (p) => panel(p).then((s) => s.ended === REOPENABLE && s.composer && s));
    assert.equal(state.restart, true);
    await visitorWrites(page, 'Back again');
    await until(page, 'open again', (p) => panel(p).then((s) => s.ended === null));
    assert.equal(await savedConversation(page, env.porch.deployment.id), cid);
    await page.context().close();
  });
});

describe('the widget after the reopen window (issue 18)', { timeout: 300_000 }, () => {
  // A window of 2 s: the test waits for it to pass (a deadline wait, no timing assertion).
  const { env, closedChat, visitorWrites } = suite(2);

  it('once the window has gone by: the composer goes, "Start a new chat" gives a new conversation', T, async () => {
    const { page, cid } = await closedChat(SCREENS[1]);
    const final = await until(page, 'the final close', (p) => panel(p).then((s) => s.ended === 'This conversation has ended.' && s));
    assert.equal(final.composer, false, 'the composer is gone');
    assert.equal(final.restart, true);
    assert.equal(final.focused, 'restart', 'focus moved from the message box to "Start a new chat"');
    assert.equal(await savedConversation(page, env.porch.deployment.id), null, 'the saved session is forgotten');
    assert.deepEqual(await axeSerious(page), []);
    await page.click('.restart');
    await until(page, 'a fresh composer', (p) => panel(p).then((s) => s.composer && s.ended === null));
    await visitorWrites(page, 'A new question');
    const next = await conversationOf(page, env.porch.deployment.id);
    assert.notEqual(next, cid, 'a new conversation');
    await page.context().close();
  });
});
