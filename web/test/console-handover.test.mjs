// Handing conversations on in the console, and the supervisor's view (issue 18, items 7 and
// 9), in Chromium with axe: an agent sets its status, accepts an offer, transfers the
// conversation to another agent with a note (that agent's console shows the note, the guest's
// history never has it); that agent closes it with a wrap-up code from the server's list. A
// supervisor's view counts the queue and lists live conversations, follows a new visitor and
// another agent's status changes without a reload (`agent` frames; the view reads the
// overview on no timer), and its Transfer moves another agent's conversation to another queue;
// at 390 px wide too. A bot's hand-off summary shows to the agent who opens the conversation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS } from './lib/widget.mjs';

const T = { timeout: 120_000 };
const NOTE = 'Wants the refund in store credit';

describe('the console hands conversations on, and supervises', { timeout: 600_000 }, () => {
  const env = porchAndChromium();
  /** Bob, a plain agent of the same queue; Sue, a supervisor serving only `ops`; Carol of `billing`. */
  const people = {};

  async function setUp() {
    if (people.bob) return;
    const { porch } = env;
    people.bob = await porch.cli(['agents', 'create', '--name', 'bob', '--queue', 'default']);
    people.sue = await porch.cli(['agents', 'create', '--name', 'sue', '--queue', 'ops']);
    await porch.cli(['agents', 'set', 'sue', '--supervisor', 'true']);
    await porch.cli(['agents', 'create', '--name', 'carol', '--queue', 'billing']);
    await porch.cli(['wrapups', 'set', '--deployment', porch.deployment.id, 'resolved', 'refund-issued']);
  }

  /** A visitor who wrote once; returns the guest session. */
  async function visitor(name) {
    const { body: guest } = await env.porch.api('POST', '/api/v2/webmessaging/guests', {
      bearer: await env.porch.clientToken(), json: { deploymentId: env.porch.deployment.id, displayName: name }, expect: 201,
    });
    await env.porch.api('POST', '/api/v2/webmessaging/guests/messages', {
      bearer: guest.accessToken, json: { clientMessageId: `c-${name}`, text: `Hello from ${name}` }, expect: 201,
    });
    return guest;
  }

  async function console(screen, { name, secret }) {
    const { name: _screen, ...options } = screen;
    const context = await env.browser.newContext(options);
    const page = await openPage(context, `${env.porch.baseUrl}/console/`);
    await page.fill('#login-name', name);
    await page.fill('#login-secret', secret);
    await page.press('#login-secret', 'Enter');
    await until(page, 'connected', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'));
    return page;
  }

  const stored = async (cid) => (await env.porch.api('GET', `/api/v2/agent/conversations/${cid}/messages?after=0&limit=200`, { bearer: env.agentToken, expect: 200 })).body.messages;
  const text = (page, selector) => page.locator(selector).textContent();

  it('status, accept, transfer with a note, close with a wrap-up code', T, async () => {
    await setUp();
    const alice = await console(SCREENS[0], env.porch.agent);
    await alice.selectOption('#status', 'available');
    const guest = await visitor('Olga');
    const cid = guest.conversationId;
    const accept = alice.locator(`#offers-list [data-offer-id="${cid}"][data-offer-action="accept"]`);
    await until(alice, 'the offer', () => accept.isVisible());
    await accept.click();
    await until(alice, 'the conversation open', (p) => text(p, '#conversation-title').then((t) => t === 'Olga'));
    await alice.selectOption('#status', 'away'); // no more offers for Alice

    const bob = await console(SCREENS[0], people.bob);
    await bob.selectOption('#status', 'available');
    await until(bob, 'stored available', (p) => p.locator('#routing[data-status="available"]').count());

    await alice.click('#transfer-open');
    await until(alice, 'the transfer form', (p) => p.locator('#transfer-form').isVisible());
    await until(alice, 'Bob offered, available', (p) => p.locator(`#transfer-target option[value="agent:${people.bob.id}"]:not([disabled])`).count());
    await alice.selectOption('#transfer-target', `agent:${people.bob.id}`);
    await alice.fill('#transfer-note', NOTE);
    assert.deepEqual(await axeSerious(alice), [], 'the transfer form');
    await alice.click('#transfer-form button[type="submit"]');
    await until(alice, 'held by another agent now', (p) => text(p, '#conversation-state').then((t) => t === 'assigned to another agent'));
    await until(alice, 'the transfer in the log, with its note', (p) => text(p, '#messages').then((t) => t.includes(`Note: ${NOTE}`)));

    await until(bob, 'Olga in his list', (p) => p.locator(`#assigned-list [data-conversation-id="${cid}"]`).isVisible());
    await bob.click(`#assigned-list [data-conversation-id="${cid}"]`);
    await until(bob, 'the note, for agents', (p) => text(p, '#messages .internal').then((t) => t === `Note: ${NOTE}`));
    const { body: theirs } = await env.porch.api('GET', '/api/v2/webmessaging/guests/messages?after=0', { bearer: guest.accessToken, expect: 200 });
    assert.ok(theirs.messages.some((m) => m.event === 'assigned' && /transferred/.test(m.text)), 'the guest sees the transfer');
    assert.ok(theirs.messages.every((m) => m.note === undefined && !m.text.includes(NOTE)), 'never its note');

    await bob.click('#close-conversation');
    await until(bob, 'the wrap-up codes', async (p) => (await p.locator('#wrap-up option').allTextContents()).join() === 'resolved,refund-issued');
    await bob.selectOption('#wrap-up', 'refund-issued');
    assert.deepEqual(await axeSerious(bob), [], 'the close form');
    await bob.click('#close-form button[type="submit"]');
    await until(bob, 'closed', (p) => text(p, '#conversation-state').then((t) => t === 'closed'));
    await until(bob, 'the wrap-up in the log', (p) => text(p, '#messages').then((t) => t.includes('Wrap-up: refund-issued')));
    const last = (await stored(cid)).at(-1);
    assert.equal(last.event, 'closed');
    assert.equal(last.wrapUp, 'refund-issued');
    await bob.selectOption('#status', 'away');
    await Promise.all([alice.context().close(), bob.context().close()]);
  });

  it('a bot\'s hand-off summary, for the agent who picks the conversation up', T, async () => {
    await setUp();
    const { porch } = env;
    const summary = 'Charged twice in May; wants a refund.';
    const bot = await porch.cli(['bots', 'add', '--deployment', porch.deployment.id, '--name', 'Helper']);
    await porch.cli(['queues', 'set', 'default', '--bot', bot.id]);
    let guest;
    try {
      guest = await visitor('Rae');
      const { body: session } = await porch.api('POST', '/api/v2/bots/token', { json: { botId: bot.id, secret: bot.secret }, expect: 200 });
      await porch.api('POST', `/api/v2/bot/conversations/${guest.conversationId}/handoff`, { bearer: session.accessToken, json: { summary }, expect: 200 });
    } finally {
      await porch.cli(['queues', 'set', 'default', '--no-bot']);
    }
    const alice = await console(SCREENS[0], env.porch.agent);
    const item = alice.locator(`#waiting-list [data-conversation-id="${guest.conversationId}"]`);
    await until(alice, 'Rae waiting', () => item.isVisible());
    await item.click();
    await until(alice, 'the bot\'s summary', (p) => text(p, '#handoff-summary').then((t) => t === summary));
    assert.equal(await alice.locator('#handoff').isVisible(), true);
    assert.deepEqual(await axeSerious(alice), []);
    const { body: theirs } = await porch.api('GET', '/api/v2/webmessaging/guests/messages?after=0', { bearer: guest.accessToken, expect: 200 });
    assert.ok(theirs.messages.every((m) => !m.text.includes(summary)), 'the visitor never reads the summary');
    await porch.api('POST', `/api/v2/agent/conversations/${guest.conversationId}/close`, { bearer: env.agentToken, json: { wrapUp: 'resolved' }, expect: 200 });
    await alice.context().close();
  });

  for (const screen of SCREENS) {
    it(`the supervisor's view follows live and its transfer works, at ${screen.name}`, T, async () => {
      await setUp();
      const taken = await visitor(`Pia ${screen.name}`);
      await env.porch.api('POST', `/api/v2/agent/conversations/${taken.conversationId}/assign`, { bearer: env.agentToken, expect: 200 });
      const sue = await console(screen, people.sue);
      assert.equal(await sue.locator('#supervisor-open').isVisible(), true, 'a supervisor has the view');
      await sue.click('#supervisor-open');
      await until(sue, 'the queue counted', (p) => text(p, '#supervisor-queues [data-queue="default"]').then((t) => /1 assigned/.test(t)));
      await until(sue, 'Alice with her load', (p) => text(p, '#supervisor-agents').then((t) => /alice/.test(t) && /1 of \d+/.test(t)));
      const row = (cid) => sue.locator(`#supervisor-conversations [data-conversation-id="${cid}"]`);
      await until(sue, 'held by Alice', () => row(taken.conversationId).textContent().then((t) => /held by alice/.test(t)));

      // Bob changes his status elsewhere (REST): Sue's view follows, live, with no reload.
      const { body: bob } = await env.porch.api('POST', '/api/v2/agents/login', { json: { name: 'bob', secret: people.bob.secret }, expect: 200 });
      const bobRow = sue.locator(`#supervisor-agents [data-agent-id="${bob.agentId}"]`);
      for (const status of ['available', 'away']) {
        await env.porch.api('PUT', '/api/v2/agent/status', { bearer: bob.accessToken, json: { status }, expect: 200 });
        await until(sue, `bob ${status}, live`, () => bobRow.getAttribute('data-status').then((s) => s === status));
        assert.match(await bobRow.textContent(), new RegExp(`^bob${status}`), 'his row says it');
      }

      const arriving = await visitor(`Quinn ${screen.name}`);
      await until(sue, 'the new visitor, live', () => row(arriving.conversationId).isVisible());
      await until(sue, 'waiting counted', (p) => text(p, '#supervisor-queues [data-queue="default"]').then((t) => /[1-9]\d* waiting · longest wait/.test(t)));
      assert.deepEqual(await axeSerious(sue), [], 'the supervisor view');

      await row(taken.conversationId).locator('[data-action="transfer"]').click();
      await until(sue, 'the transfer form', (p) => p.locator('#transfer-form').isVisible());
      await sue.selectOption('#transfer-target', 'queue:billing');
      await sue.click('#transfer-form button[type="submit"]');
      await until(sue, 'moved to billing', async () => {
        const { body } = await env.porch.api('GET', '/api/v2/agent/conversations?state=waiting,assigned', { bearer: env.agentToken, expect: 200 });
        return !body.conversations.some((c) => c.id === taken.conversationId);
      });
      const entry = (await env.porch.api('GET', `/api/v2/webmessaging/guests/messages?after=0`, { bearer: taken.accessToken, expect: 200 })).body.messages.at(-1);
      assert.match(entry.text, /^sue transferred the conversation to another team$/, `the entry names the supervisor: ${JSON.stringify(entry)}`);
      await sue.click('#supervisor-open');
      await until(sue, 'the moved one, waiting in billing', () => row(taken.conversationId).textContent().then((t) => /billing · waiting/.test(t)));
      await env.porch.api('POST', `/api/v2/agent/conversations/${arriving.conversationId}/close`, { bearer: env.agentToken, json: { wrapUp: 'resolved' }, expect: 200 });
      await until(sue, 'the closed one gone, live', async () => (await row(arriving.conversationId).count()) === 0);
      await sue.context().close();
    });
  }
});
