// The guest SDK and the reopen window against a real Porch (issue 18, item 4): a close within
// the window is not final (the session stays saved, a reload finds it, and a send reopens the
// same conversation); once the window has gone by the close is final, as with reopening off.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PorchGuest, memoryStorage } from '../public/sdk/porch.js';
import { startPorch } from './lib/porch.mjs';
import { controlledFetch, controlledSockets, record, waitFor } from './lib/sockets.mjs';

const EVENTS = ['state', 'ready', 'message', 'error', 'conversation', 'closed', 'reopened'];
const T = { timeout: 60_000 };

/** A Porch with `windowSecs` of reopen window, its agent, and guests on it. */
function onPorch(windowSecs) {
  const env = { porch: null, agent: null, guests: [] };
  env.ready = (async () => {
    env.porch = await startPorch({ serveArgs: ['--heartbeat-interval-ms', '1000', '--reopen-window-secs', String(windowSecs)] });
    env.agent = await env.porch.agentLogin();
  })();
  env.guestWith = (storage = memoryStorage()) => {
    const guest = new PorchGuest({
      baseUrl: env.porch.baseUrl, deploymentId: env.porch.deployment.id, guest: { displayName: 'Ro' },
      WebSocket: controlledSockets().WebSocket, fetch: controlledFetch({ origin: env.porch.origin }), storage, backoff: { random: () => 0.2 },
    });
    env.guests.push(guest);
    return { guest, events: record(guest, EVENTS), storage };
  };
  env.agentCloses = (cid) => env.porch.api('POST', `/api/v2/agent/conversations/${cid}/close`, { bearer: env.agent.accessToken, expect: 200 });
  after(async () => {
    for (const g of env.guests) g.end();
    await env.porch?.stop();
  });
  return env;
}

describe('PorchGuest within the reopen window', { timeout: 300_000 }, () => {
  const env = onPorch(300);

  it('a close found after a reload is reopenable; a send reopens the same conversation', T, async () => {
    await env.ready;
    const storage = memoryStorage();
    const first = env.guestWith(storage);
    await first.guest.start();
    await first.guest.send('see you');
    await waitFor('the message in the log', () => first.guest.lastSeq === 1, { show: first.events.show });
    first.guest.end(); // the page unloads; the session stays saved
    await env.agentCloses(first.guest.conversationId);
    const second = env.guestWith(storage);
    assert.equal(second.guest.hasSavedSession(), true);
    await second.guest.start();
    await waitFor('the close', () => second.events.of('closed').length === 1, { show: second.events.show });
    const [closed] = second.events.of('closed');
    assert.equal(closed.final, false);
    assert.ok(closed.reopenUntilMs > Date.now() && closed.conversation.reopenUntilMs === closed.reopenUntilMs, JSON.stringify(closed));
    assert.equal(second.guest.hasSavedSession(), true, 'within the window the session stays saved');
    assert.equal(second.guest.state, 'open', 'and connected');
    const again = await second.guest.send('one more thing');
    assert.equal(again.conversationId, first.guest.conversationId, 'the same conversation');
    await waitFor('open again', () => !second.guest.closed && second.events.of('reopened').length === 1, { show: second.events.show });
    assert.equal(second.guest.reopenUntilMs, null);
    const log = await env.porch.history(second.guest.conversationId, env.agent.accessToken);
    // The agent never chose `available`: the reopen takes it back to its queue.
    assert.deepEqual(log.slice(-3).map((m) => [m.event ?? null, m.reopened ?? false]), [['closed', false], ['waiting', true], [null, false]]);
    assert.equal(log.at(-1).text, 'one more thing');
  });
});

describe('PorchGuest after the reopen window', { timeout: 300_000 }, () => {
  // A window of 2 s: the test waits for it to pass (a deadline wait, no timing assertion).
  const env = onPorch(2);

  it('once the window has gone by, the close is final: session forgotten, socket stopped, sends refused', T, async () => {
    await env.ready;
    const { guest, events } = env.guestWith();
    await guest.start();
    await guest.send('thanks');
    await env.agentCloses(guest.conversationId);
    await waitFor('the final close', () => events.of('closed').some((c) => c.final), { show: events.show });
    assert.ok(events.of('closed').every((c, i, all) => c.final === (i === all.length - 1)), 'final once, last');
    assert.equal(guest.closed, true);
    assert.equal(guest.reopenUntilMs, null);
    assert.equal(guest.hasSavedSession(), false, 'a reload starts afresh');
    await waitFor('the socket stopped', () => guest.state === 'closed', { show: events.show });
    await assert.rejects(guest.send('anyone there?'), (e) => e.code === 'conversation_closed' && /new/.test(e.detail));
  });
});
