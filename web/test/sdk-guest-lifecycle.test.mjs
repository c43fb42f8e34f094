// The guest SDK's beginning and end against a real Porch (issue 19): a session created while
// Porch is down once it is back, with the message written meanwhile sent once; the page check
// before any session; and a closed conversation, final wherever the client learns it (live,
// on a reconnect, after a reload), with the saved session forgotten.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PorchGuest, memoryStorage } from '../public/sdk/porch.js';
import { startPorch } from './lib/porch.mjs';
import { controlledFetch, controlledSockets, record, waitFor } from './lib/sockets.mjs';

const EVENTS = ['state', 'ready', 'message', 'history', 'ack', 'outbox', 'error', 'conversation', 'closed'];
const T = { timeout: 60_000 };

describe('PorchGuest: the session\'s beginning and end', { timeout: 300_000 }, () => {
  let porch;
  let agent;
  const guests = [];

  before(async () => {
    // Reopening off: these closes are final at once (the window's cases: sdk-guest-reopen).
    porch = await startPorch({ serveArgs: ['--heartbeat-interval-ms', '1000', '--reopen-window-secs', '0'] });
    agent = await porch.agentLogin();
  });
  after(async () => {
    for (const g of guests) g.end();
    await porch?.stop();
  });
  afterEach(() => porch.ensureRunning());

  function guestWith({ storage = memoryStorage(), sockets = controlledSockets(), fetchFn, deploymentId } = {}) {
    const fetch = fetchFn ?? controlledFetch({ origin: porch.origin });
    const guest = new PorchGuest({
      baseUrl: porch.baseUrl, deploymentId: deploymentId ?? porch.deployment.id, guest: { displayName: 'Cy' },
      WebSocket: sockets.WebSocket, fetch, storage, backoff: { random: () => 0.2 },
    });
    guests.push(guest);
    return { guest, events: record(guest, EVENTS), sockets, storage, fetch };
  }

  const agentCloses = (cid) => porch.api('POST', `/api/v2/agent/conversations/${cid}/close`, { bearer: agent.accessToken, expect: 200 });

  /** The promises of a closed conversation, whichever way the client learned it. */
  async function assertClosedForGood(guest, events, storage) {
    await waitFor('the closed event', () => events.of('closed').length === 1, { show: events.show });
    assert.equal(guest.closed, true);
    assert.equal(guest.conversation.state, 'closed');
    assert.equal(guest.hasSavedSession(), false, 'a reload starts afresh');
    assert.equal(storage.getItem(`porch:guest:${porch.deployment.id}`), null, 'the saved session is gone');
    await waitFor('the socket stopped', () => guest.state === 'closed', { show: events.show });
    await assert.rejects(guest.send('anyone there?'), (e) => e.code === 'conversation_closed');
    assert.equal(events.of('closed').length, 1, 'once');
  }

  it('creates the session once Porch is back, and sends what was written while it was down, once', T, async () => {
    const { guest, events } = guestWith();
    await porch.kill('SIGKILL');
    const sent = guest.send('written while Porch was down');
    const started = guest.start();
    const retries = () => events.of('state').filter((s) => s.state === 'reconnecting' && s.cause?.code === 'network');
    await waitFor('two tries to create the session', () => retries().length >= 2, { show: events.show });
    assert.ok(retries().every((r) => r.retryInMs >= 0), 'each retry says when');
    assert.equal(guest.pending.length, 1, 'the message waits in the outbox');
    await porch.restart();
    await started;
    const stored = await sent;
    assert.equal(stored.text, 'written while Porch was down');
    const log = await porch.history(guest.conversationId, agent.accessToken);
    assert.deepEqual(log.map((m) => m.text), ['written while Porch was down'], 'stored once');
  });

  it('a reload while the session is being created: what was written is kept, and sent once in the session created then', T, async () => {
    const first = guestWith();
    await porch.kill('SIGKILL');
    first.guest.send('written, then the page reloaded').catch(() => { /* the page went away */ });
    first.guest.start().catch(() => { /* the page went away */ });
    await waitFor('a try to create the session', () => first.events.of('state').some((s) => s.state === 'reconnecting'), { show: first.events.show });
    first.guest.end(); // the reload: the page goes, its storage stays
    const again = guestWith({ storage: first.storage });
    assert.equal(again.guest.hasSavedSession(), true, 'there is something to restore');
    assert.deepEqual(again.guest.pending, [], 'nothing until start()');
    await porch.restart();
    await again.guest.start();
    await waitFor('the message acknowledged', () => again.guest.pending.length === 0, { show: again.events.show });
    const log = await porch.history(again.guest.conversationId, agent.accessToken);
    assert.deepEqual(log.map((m) => m.text), ['written, then the page reloaded'], 'stored once');
  });

  it('a message written before start() never overwrites a saved session', T, async () => {
    const { guest, storage } = guestWith();
    await guest.start();
    await guest.send('one');
    guest.end();
    const next = guestWith({ storage });
    next.guest.send('two').catch(() => { /* asserted below */ });
    assert.equal(JSON.parse(storage.getItem(`porch:guest:${porch.deployment.id}`)).session?.conversationId, guest.conversationId, 'the saved session is still there');
    await next.guest.start();
    assert.equal(next.guest.conversationId, guest.conversationId, 'the same conversation');
    await waitFor('the message acknowledged', () => next.guest.pending.length === 0, { show: next.events.show });
    const log = await porch.history(guest.conversationId, agent.accessToken);
    assert.deepEqual(log.map((m) => m.text), ['one', 'two']);
  });

  it('does not retry a refusal: an unknown deployment rejects start()', T, async () => {
    const { guest, events } = guestWith({ deploymentId: 'dep_nosuchthing' });
    await assert.rejects(guest.start(), (e) => e.code === 'deployment_unknown' && e.status === 404);
    assert.equal(events.of('state').filter((s) => s.state === 'reconnecting').length, 0);
  });

  it('checks a page before any session: the deployment, the origin, the gateway', T, async () => {
    await porch.setNotice('Back on Monday');
    try {
      const ok = guestWith();
      const { notice } = await ok.guest.check();
      assert.equal(notice.text, 'Back on Monday');
      assert.ok(ok.sockets.urls.some((u) => u.endsWith('/api/v2/gateway?probe=1')), `the gateway was probed: ${ok.sockets.urls}`);
      assert.equal(ok.guest.conversationId, null, 'a check creates no session');
      const foreign = guestWith({ fetchFn: controlledFetch({ origin: 'https://elsewhere.example' }) });
      await assert.rejects(foreign.guest.check(), (e) => e.code === 'origin_not_allowed' && /elsewhere/.test(e.detail));
      const unknown = guestWith({ deploymentId: 'dep_nosuchthing' });
      await assert.rejects(unknown.guest.check(), (e) => e.code === 'deployment_unknown');
      await porch.kill('SIGKILL');
      await assert.rejects(guestWith().guest.check(), (e) => e.code === 'network');
    } finally {
      await porch.ensureRunning();
      await porch.clearNotice();
    }
  });

  it('a conversation closed live is final: event, saved session forgotten, socket stopped', T, async () => {
    const { guest, events, storage } = guestWith();
    await guest.start();
    await guest.send('thanks');
    await agentCloses(guest.conversationId);
    await assertClosedForGood(guest, events, storage);
    assert.ok(guest.messages.some((m) => m.event === 'closed'), 'the closing entry is shown');
  });

  it('a conversation closed while the socket was down is found closed on the reconnect; unsent messages are reported', T, async () => {
    const { guest, events, sockets, storage } = guestWith();
    await guest.start();
    await guest.send('first');
    sockets.blocked = true;
    sockets.cutAll();
    const late = guest.send('sent into the gap');
    late.catch(() => { /* asserted below */ });
    await agentCloses(guest.conversationId);
    sockets.blocked = false;
    await assertClosedForGood(guest, events, storage);
    assert.deepEqual(events.of('closed')[0].unsent.map((e) => e.text), ['sent into the gap']);
    await assert.rejects(late, (e) => e.code === 'conversation_closed');
    const log = await porch.history(guest.conversationId, agent.accessToken);
    assert.ok(!log.some((m) => m.text === 'sent into the gap'), 'nothing was stored after the close');
  });

  it('a conversation closed while the page was away is found closed after the reload', T, async () => {
    const storage = memoryStorage();
    const first = guestWith({ storage });
    await first.guest.start();
    await first.guest.send('see you');
    await waitFor('the message in the log', () => first.guest.lastSeq === 1, { show: first.events.show });
    first.guest.end(); // the page unloads; the session stays saved
    await agentCloses(first.guest.conversationId);
    const second = guestWith({ storage });
    assert.equal(second.guest.hasSavedSession(), true);
    await second.guest.start();
    await assertClosedForGood(second.guest, second.events, storage);
    await waitFor('the transcript', () => second.guest.messages.map((m) => m.text).includes('see you'), { show: second.events.show });
  });
});
