// The agent SDK (what the console runs on) against a real Porch: the live list, history,
// replies that assign, typing both ways, closing, and resync after a reconnect with no
// duplicates (dedupe by conversation and seq).

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PorchAgent, PorchGuest, memoryStorage } from '../public/sdk/porch.js';
import { startPorch } from './lib/porch.mjs';
import { controlledFetch, controlledSockets, record, waitFor } from './lib/sockets.mjs';

const T = { timeout: 60_000 };
const AGENT_EVENTS = ['state', 'ready', 'conversations', 'conversation', 'message', 'history', 'ack', 'typing', 'error'];

describe('PorchAgent against a real Porch', { timeout: 240_000 }, () => {
  let porch;
  const clients = [];

  before(async () => { porch = await startPorch({ serveArgs: ['--heartbeat-interval-ms', '1000'] }); });
  after(async () => {
    for (const c of clients) c.end();
    await porch?.stop();
  });
  afterEach(() => porch.ensureRunning());

  async function newAgent(sockets = controlledSockets()) {
    const session = await PorchAgent.login({ baseUrl: porch.baseUrl, name: porch.agent.name, secret: porch.agent.secret });
    const agent = new PorchAgent({ session, WebSocket: sockets.WebSocket, backoff: { random: () => 0.2 } });
    clients.push(agent);
    const events = record(agent, AGENT_EVENTS);
    await agent.start();
    return { agent, events, sockets };
  }

  async function newGuest(name) {
    const guest = new PorchGuest({
      baseUrl: porch.baseUrl, deploymentId: porch.deployment.id, guest: { displayName: name },
      WebSocket: controlledSockets().WebSocket, fetch: controlledFetch({ origin: porch.origin }), storage: memoryStorage(),
    });
    clients.push(guest);
    const events = record(guest, ['state', 'message', 'typing', 'conversation', 'error', 'closed', 'reopened']);
    await guest.start();
    return { guest, events };
  }

  /** Message events of one conversation, as seq:text, in the order they were emitted. */
  const emitted = (events, id) => events.of('message').filter((e) => e.conversationId === id).map((e) => `${e.message.seq}:${e.message.text}`);

  it('sees a new conversation live, reads it, replies (assigning it), and both see typing', T, async () => {
    const { agent, events } = await newAgent();
    const { guest, events: guestEvents } = await newGuest('Bea');
    const id = guest.conversationId;
    await waitFor('the new conversation in the list', () => agent.conversations.find((c) => c.id === id && c.state === 'waiting'), { show: events.show });
    await guest.send('my order is late');
    const history = await agent.open(id);
    await waitFor('the guest message', () => agent.messages(id).some((m) => m.text === 'my order is late'), { show: events.show });
    assert.ok(history.length <= agent.messages(id).length);
    guest.typing();
    const typing = await waitFor('guest typing', () => events.of('typing').find((t) => t.conversationId === id && t.active), { show: events.show });
    assert.equal(typing.participant.role, 'guest');
    agent.typing(id);
    await waitFor('agent typing at the guest', () => guestEvents.of('typing').find((t) => t.active && t.participant.role === 'agent'), { show: guestEvents.show });
    const reply = await agent.send(id, 'Let me check.');
    assert.equal(reply.sender.role, 'agent');
    await waitFor('assigned', () => agent.conversation(id)?.state === 'assigned', { show: events.show });
    await waitFor('the reply at the guest', () => guest.messages.some((m) => m.text === 'Let me check.'), { show: guestEvents.show });
    assert.deepEqual(agent.messages(id).map((m) => m.seq), guest.messages.map((m) => m.seq));
    assert.deepEqual(agent.messages(id).map((m) => m.text), ['my order is late', 'alice joined the conversation', 'Let me check.']);
  });

  it('resyncs after a reconnect: missed messages over REST, new conversations from ready, nothing twice', T, async () => {
    const { agent, events, sockets } = await newAgent();
    const { guest } = await newGuest('Cy');
    const id = guest.conversationId;
    await guest.send('first');
    await agent.open(id);
    await waitFor('first', () => agent.messages(id).some((m) => m.text === 'first'), { show: events.show });
    sockets.blocked = true;
    sockets.cutAll();
    await waitFor('reconnecting', () => agent.state === 'reconnecting', { show: events.show });
    for (const text of ['second', 'third', 'fourth']) await guest.send(text);
    const { guest: late } = await newGuest('Di');
    sockets.blocked = false;
    await waitFor('every missed message', () => agent.messages(id).length === 4, { show: events.show });
    assert.ok(agent.conversations.some((c) => c.id === late.conversationId), 'the conversation that began while away is listed');
    await guest.send('fifth');
    await waitFor('live again', () => agent.messages(id).length === 5, { show: events.show });
    const shown = [...events.of('history').filter((h) => h.conversationId === id).flatMap((h) => h.messages.map((m) => `${m.seq}:${m.text}`)), ...emitted(events, id)];
    assert.deepEqual(shown, ['1:first', '2:second', '3:third', '4:fourth', '5:fifth'], events.show());
  });

  it('transfers with a note only agents read, unassigns, and closes with a wrap-up code', T, async () => {
    const { agent, events } = await newAgent();
    const { guest, events: guestEvents } = await newGuest('Flo');
    const id = guest.conversationId;
    await guest.send('a refund, please');
    await agent.open(id);
    await agent.assign(id);
    await porch.cli(['agents', 'create', '--name', `billing-${Date.now()}`, '--queue', 'billing']);
    const moved = await agent.transfer(id, { queue: 'billing', note: 'refund approved' });
    assert.deepEqual([moved.state, moved.queue, moved.assignedAgentId], ['waiting', 'billing', undefined]);
    await waitFor('the agent saw the entry with its note', () => agent.messages(id).some((m) => m.note === 'refund approved'), { show: events.show });
    await waitFor('it left the agent\'s list', () => !agent.conversations.some((c) => c.id === id), { show: events.show });
    await waitFor('the guest sees the transfer', () => guest.messages.some((m) => m.text.includes('another team')), { show: guestEvents.show });
    assert.ok(guest.messages.every((m) => m.note === undefined), 'no note reaches the guest');

    const { guest: other } = await newGuest('Gus');
    await other.send('hello?');
    await agent.assign(other.conversationId);
    const back = await agent.unassign(other.conversationId);
    assert.equal(back.state, 'waiting');
    await agent.assign(other.conversationId);
    await porch.cli(['wrapups', 'set', '--deployment', porch.deployment.id, 'resolved', 'spam']);
    await assert.rejects(agent.close(other.conversationId), (e) => e.code === 'wrap_up_required' && e.detail.includes('resolved'));
    await assert.rejects(agent.close(other.conversationId, { wrapUp: 'nope' }), (e) => e.code === 'wrap_up_unknown');
    const closed = await agent.close(other.conversationId, { wrapUp: 'resolved' });
    assert.equal(closed.state, 'closed');
    await porch.cli(['wrapups', 'set', '--deployment', porch.deployment.id]);
  });

  it('closes a conversation: the guest sees until when writing reopens it, and its send within that reopens it', T, async () => {
    const { agent, events } = await newAgent();
    const { guest, events: guestEvents } = await newGuest('Ed');
    const id = guest.conversationId;
    await guest.send('thanks, bye');
    await agent.open(id);
    await agent.assign(id);
    const closed = await agent.close(id);
    assert.equal(closed.state, 'closed');
    assert.ok(closed.reopenUntilMs > Date.now(), `the close's answer says until when it can be reopened: ${JSON.stringify(closed)}`);
    await waitFor('the list without it', () => !agent.conversations.some((c) => c.id === id), { show: events.show });
    await waitFor('the guest sees the close', () => guest.closed && guest.messages.some((m) => m.event === 'closed'), { show: guestEvents.show });
    assert.equal(guest.reopenUntilMs, closed.reopenUntilMs, 'the conversation frame carried the same window');
    assert.deepEqual(guestEvents.of('closed').map((c) => [c.final, c.reopenUntilMs]), [[false, closed.reopenUntilMs]]);
    const again = await guest.send('one more thing');
    assert.equal(again.text, 'one more thing');
    await waitFor('open again', () => !guest.closed && guest.conversation?.state === 'waiting' && guestEvents.of('reopened').length === 1, { show: guestEvents.show });
    assert.equal(guest.conversation.reopenUntilMs, undefined, 'an open conversation has no window');
    await waitFor('back in the agent\'s list', () => agent.conversations.some((c) => c.id === id && c.state === 'waiting'), { show: events.show });
    const tail = (await porch.history(id, agent.session.accessToken)).slice(-2);
    assert.deepEqual(tail.map((m) => [m.reopened ?? false, m.event ?? null, m.text]), [[true, 'waiting', tail[0].text], [false, null, 'one more thing']]);
  });

  it('sees a conversation its guest reopens come back to its list, the reopen entry before the message', T, async () => {
    const { agent, events } = await newAgent();
    const { guest } = await newGuest('Flo');
    const id = guest.conversationId;
    const token = guest._session.accessToken;
    await guest.send('hello');
    await agent.open(id);
    await agent.assign(id);
    await agent.close(id);
    await waitFor('the list without it', () => !agent.conversations.some((c) => c.id === id), { show: events.show });
    // Within reopen_window_secs (docs/routing.md); written over REST, as a custom client would.
    const json = { clientMessageId: 'again-1', text: 'one more thing' };
    await porch.api('POST', '/api/v2/webmessaging/guests/messages', { bearer: token, json, expect: 201 });
    // This agent is away (it never chose available): the conversation waits in its queue again.
    await waitFor('back in the list', () => agent.conversations.some((c) => c.id === id && c.state === 'waiting'), { show: events.show });
    await waitFor('the reopen, then the message', () => {
      const tail = agent.messages(id).slice(-2);
      return tail.length === 2 && tail[0].reopened === true && tail[1].text === 'one more thing';
    }, { show: events.show });
  });

  it('refreshes its token before it expires and stays connected past the first token\'s end', T, async () => {
    // Three-second agent tokens: the SDK refreshes a second after each ready (REFRESH_MIN_DELAY_MS).
    const shortLived = await startPorch({ serveArgs: ['--heartbeat-interval-ms', '500', '--agent-token-ttl-secs', '3'] });
    try {
      const session = await PorchAgent.login({ baseUrl: shortLived.baseUrl, name: shortLived.agent.name, secret: shortLived.agent.secret });
      const agent = new PorchAgent({ session, WebSocket: controlledSockets().WebSocket, backoff: { random: () => 0.2 } });
      clients.push(agent);
      const events = record(agent, [...AGENT_EVENTS, 'refresh']);
      await agent.start();
      const firstExpiry = session.expiresAtMs;
      await waitFor('three refreshes', () => events.of('refresh').length >= 3, { timeout: 15_000, show: events.show });
      assert.notEqual(agent.session.accessToken, session.accessToken);
      assert.ok(agent.session.expiresAtMs > firstExpiry, 'the session holds the fresh token');
      assert.deepEqual(events.of('refresh').at(-1).session, agent.session, 'the event carries the session to keep');
      assert.ok(events.of('refresh').every((r) => r.inPlace), `every refresh in place:\n${events.show()}`);
      assert.equal(events.of('ready').length, 1, 'no reconnect: the one socket took each new token');
      // Past the first token's end, the feed still works on the fresh one.
      await waitFor('past the first token', () => Date.now() > firstExpiry + 1_000, { timeout: 10_000 });
      const guest = new PorchGuest({
        baseUrl: shortLived.baseUrl, deploymentId: shortLived.deployment.id, WebSocket: controlledSockets().WebSocket,
        fetch: controlledFetch({ origin: shortLived.origin }), storage: memoryStorage(),
      });
      clients.push(guest);
      await guest.start();
      await waitFor('the new conversation, live', () => agent.conversations.some((c) => c.id === guest.conversationId), { show: events.show });
      const expired = events.of('error').filter((e) => e.code === 'token_expired' && e.fatal);
      assert.deepEqual(expired, [], events.show());
    } finally {
      await shortLived.stop();
    }
  });
});
