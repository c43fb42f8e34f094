// A guest's pick of a bot's quick reply through the SDK, over the gateway (docs/bots.md,
// protocol.md `choose`), against a real Porch and a bot of its deployment: the pick is a
// `choose` frame, acknowledged with the stored message naming the choice; a second click is
// the same send; a pick made while the network is gone waits in the outbox and goes out as a
// pick when the connection is back, stored once.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PorchGuest, memoryStorage } from '../public/sdk/porch.js';
import { cli } from '../../tests/lib/porch-process.mjs';
import { startPorch } from './lib/porch.mjs';
import { controlledFetch, controlledSockets, record, waitFor } from './lib/sockets.mjs';

const T = { timeout: 60_000 };

describe("PorchGuest picks a bot's quick reply over the gateway", { timeout: 180_000 }, () => {
  let porch;
  let botToken;
  const guests = [];
  before(async () => {
    porch = await startPorch();
    const bot = await cli(porch.dataDir, ['bots', 'add', '--deployment', porch.deployment.id, '--name', 'Helper']);
    await cli(porch.dataDir, ['queues', 'set', 'default', '--bot', bot.id]);
    const { body } = await porch.api('POST', '/api/v2/bots/token', { json: { botId: bot.id, secret: bot.secret }, expect: 200 });
    botToken = body.accessToken;
  });
  after(async () => {
    for (const g of guests) g.end();
    await porch?.stop();
  });

  /** A started guest whose bot asked a question with two quick replies; the bot's message. */
  async function askedGuest() {
    const sockets = controlledSockets();
    const guest = new PorchGuest({
      baseUrl: porch.baseUrl, deploymentId: porch.deployment.id, guest: { displayName: 'Ann' },
      WebSocket: sockets.WebSocket, fetch: controlledFetch({ origin: porch.origin }), storage: memoryStorage(),
      backoff: { random: () => 0.2 },
    });
    guests.push(guest);
    const events = record(guest, ['message', 'ack', 'outbox', 'error', 'state']);
    await guest.start();
    const quickReplies = [{ id: 'billing', label: 'Billing' }, { id: 'tech', label: 'Something broke' }];
    await porch.api('POST', `/api/v2/bot/conversations/${guest.conversationId}/messages`, {
      bearer: botToken, json: { clientMessageId: 'ask', text: 'What is it about?', quickReplies }, expect: 201,
    });
    const asked = await waitFor('the question', () => events.of('message').find((m) => m.content?.quickReplies), { show: events.show });
    return { guest, sockets, events, asked };
  }

  const picks = async (conversationId) => {
    const { body } = await porch.api('GET', `/api/v2/bot/conversations/${conversationId}/messages?after=0`, { bearer: botToken, expect: 200 });
    return body.messages.filter((m) => m.content?.choice);
  };

  it('sends a choose frame, acknowledged with the choice; a second click is the same send', T, async () => {
    const { guest, sockets, asked } = await askedGuest();
    const reply = asked.content.quickReplies[0];
    const [first, second] = await Promise.all([guest.choose(asked, reply), guest.choose(asked, reply)]);
    assert.equal(first.text, 'Billing');
    assert.deepEqual(first.content.choice, { seq: asked.seq, id: 'billing' });
    assert.equal(second.id, first.id, 'one message for two clicks');
    const frames = sockets.sent.filter((f) => f.type === 'choose');
    assert.equal(frames.length, 1, JSON.stringify(sockets.sent));
    assert.deepEqual(frames[0].choice, { seq: asked.seq, id: 'billing' });
    assert.ok(!sockets.sent.some((f) => f.type === 'send'), 'a pick is not a plain send');
    assert.equal((await picks(guest.conversationId)).length, 1);
  });

  it('a pick the server refuses rejects with content_invalid and stores nothing', T, async () => {
    const { guest, asked } = await askedGuest();
    await assert.rejects(guest.choose(asked, { id: 'refund', label: 'Refund' }), (e) => e.code === 'content_invalid');
    assert.deepEqual(await picks(guest.conversationId), []);
    assert.deepEqual(guest.pending, [], 'not kept for a resend');
  });

  it('a pick made offline waits in the outbox and goes out as a pick on reconnect', T, async () => {
    const { guest, sockets, events, asked } = await askedGuest();
    sockets.blocked = true;
    sockets.cutAll();
    await waitFor('the connection to drop', () => guest.state !== 'open', { show: events.show });
    const picked = guest.choose(asked, asked.content.quickReplies[1]);
    assert.deepEqual(guest.pending.map((e) => e.choice), [{ seq: asked.seq, id: 'tech' }]);
    sockets.blocked = false;
    const stored = await picked;
    assert.deepEqual(stored.content.choice, { seq: asked.seq, id: 'tech' });
    assert.ok(sockets.sent.some((f) => f.type === 'choose' && f.choice.id === 'tech'));
    const [only] = await picks(guest.conversationId);
    assert.equal(only.id, stored.id, 'stored once');
  });
});
