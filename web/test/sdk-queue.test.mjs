// Queue positions in the guest SDK (docs/routing.md, "Queue positions"): against a real Porch,
// `ready` gives a waiting guest its place and `queue` events follow as those ahead are served,
// with an estimate once the queue has a wait behind it, and `null` once an agent holds the
// conversation. And the words the widget says it in, in every language it ships.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PorchGuest, memoryStorage } from '../public/sdk/porch.js';
import { placeOf } from '../public/sdk/queue.js';
import { LANGUAGES, stringsFor } from '../public/widget/strings.js';
import { queuePlace } from '../public/widget/view.js';
import { startPorch } from './lib/porch.mjs';
import { controlledFetch, controlledSockets, record, waitFor } from './lib/sockets.mjs';

const T = { timeout: 60_000 };

describe('queue positions in PorchGuest, against a real Porch', { timeout: 120_000 }, () => {
  let porch;
  let agent;
  const guests = [];

  before(async () => {
    porch = await startPorch();
    agent = await porch.agentLogin();
  });
  after(async () => {
    for (const g of guests) g.end();
    await porch?.stop();
  });

  async function joined(name) {
    const guest = new PorchGuest({
      baseUrl: porch.baseUrl, deploymentId: porch.deployment.id, guest: { displayName: name },
      WebSocket: controlledSockets().WebSocket, fetch: controlledFetch({ origin: porch.origin }), storage: memoryStorage(),
    });
    guests.push(guest);
    const events = record(guest, ['queue', 'conversation', 'message']);
    await guest.start();
    return { guest, events };
  }

  const assign = (conversationId) => porch.api('POST', `/api/v2/agent/conversations/${conversationId}/assign`, { bearer: agent.accessToken, expect: 200 });

  it('tells each waiting guest its place, moves it up, and forgets it once an agent holds the conversation', T, async () => {
    const first = await joined('Ann');
    const second = await joined('Bob');
    assert.deepEqual(first.guest.queue, { position: 1 }, 'no estimate before any wait');
    assert.deepEqual(second.guest.queue, { position: 2 });
    assert.deepEqual(second.events.of('queue'), [{ position: 2 }], 'from ready');

    await assign(first.guest.conversationId);
    await waitFor('Ann no longer queued', () => first.guest.queue === null, { show: first.events.show });
    assert.deepEqual(first.events.of('queue').at(-1), null, 'emitted as null');
    const moved = await waitFor('Bob moved up', () => second.guest.queue?.position === 1 && second.guest.queue, { show: second.events.show });
    assert.ok(Number.isSafeInteger(moved.estimatedWaitMs) && moved.estimatedWaitMs >= 0, `an estimate once Ann's wait is known: ${JSON.stringify(moved)}`);
    assert.deepEqual(second.events.of('queue').at(-1), moved);

    await assign(second.guest.conversationId);
    await waitFor('Bob no longer queued', () => second.guest.queue === null, { show: second.events.show });
    // Nothing comes after null: the server sends no positions to a held conversation.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(second.events.of('queue').at(-1), null, second.events.show());
  });
});

describe('queue places, as read and as said', () => {
  it('keeps only a whole position of at least 1, and a whole estimate', () => {
    assert.deepEqual(placeOf({ position: 3, estimatedWaitMs: 120_000 }), { position: 3, estimatedWaitMs: 120_000 });
    assert.deepEqual(placeOf({ position: 3 }), { position: 3 });
    assert.deepEqual(placeOf({ position: 2, estimatedWaitMs: -1 }), { position: 2 });
    for (const bad of [null, undefined, {}, { position: 0 }, { position: 1.5 }, { position: '2x' }]) assert.equal(placeOf(bad), null);
  });

  it('says the place and the wait in plain words, in every language shipped', () => {
    const en = stringsFor('en');
    assert.equal(queuePlace({ position: 3, estimatedWaitMs: 90_000 }, en), 'You are number 3 in the queue · about 2 minutes');
    assert.equal(queuePlace({ position: 1, estimatedWaitMs: 0 }, en), 'You are number 1 in the queue · about 1 minute');
    assert.equal(queuePlace({ position: 12, estimatedWaitMs: 3_600_000 }, en), 'You are number 12 in the queue · about 1 hour');
    assert.equal(queuePlace({ position: 3 }, en), 'You are number 3 in the queue');
    for (const lang of Object.keys(LANGUAGES)) {
      const s = stringsFor(lang);
      const said = queuePlace({ position: 3, estimatedWaitMs: 120_000 }, s);
      assert.ok(said !== queuePlace({ position: 3, estimatedWaitMs: 120_000 }, en) || lang === 'en', `${lang} has its own words: ${said}`);
      assert.doesNotMatch(said, /\{|\}|undefined|NaN/, `${lang}: ${said}`);
      assert.notEqual(queuePlace({ position: 3 }, s), s.t('waiting'), lang);
    }
    // French may put a no-break space between the number and its unit (the runtime's Intl data).
    assert.match(queuePlace({ position: 3, estimatedWaitMs: 120_000 }, stringsFor('fr')), /^Vous êtes n° 3 dans la file d’attente · environ 2\sminutes$/);
  });
});
