// A guest's closed conversation without a socket (guest-close.js): within its reopen window
// the close keeps the session, the socket and the outbox, and a reopen (entry or frame) opens
// it again; without a window, or once it has gone by, the close is final, once.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { CLOSE_FRAME_WAIT_MS, CloseWindow } from '../public/sdk/guest-close.js';
import { Emitter } from '../public/sdk/emitter.js';
import { Sends } from '../public/sdk/sends.js';
import { record, waitFor } from './lib/sockets.mjs';

/** The parts of a PorchGuest a CloseWindow touches, each recording what was done to it. */
function fakeGuest() {
  const g = new Emitter();
  Object.assign(g, {
    closed: false,
    reopenUntilMs: null,
    conversation: { id: 'cnv_1', state: 'assigned' },
    cleared: [],
    _saved: { clear: () => g.cleared.push('saved') },
    _refresh: { clear: () => g.cleared.push('refresh') },
    _typingIn: { clear: () => {} },
    _conn: { stop: () => g.cleared.push('socket') },
    _sends: new Sends(() => {}),
  });
  g.close = new CloseWindow(g);
  g.events = record(g, ['closed', 'reopened', 'conversation']);
  return g;
}

const entry = (event, extra = {}) => ({ seq: 1, sender: { role: 'system', id: 'porch' }, text: event, event, ...extra });
const closedAt = (reopenUntilMs) => ({ id: 'cnv_1', state: 'closed', ...(reopenUntilMs ? { reopenUntilMs } : {}) });

describe('the reopen window', () => {
  it('a close within the window keeps everything; the window\'s end makes it final, once', async () => {
    const g = fakeGuest();
    const kept = g._sends.add('written after the close');
    kept.acked.catch(() => { /* asserted below */ });
    g.conversation = closedAt(Date.now() + 300);
    g.close.follow(g.conversation);
    assert.equal(g.closed, true);
    assert.ok(g.reopenUntilMs > Date.now());
    assert.deepEqual(g.events.of('closed').map((e) => [e.final, e.unsent.length]), [[false, 0]]);
    assert.deepEqual(g.cleared, [], 'session, token refresh and socket stay');
    assert.equal(g._sends.list().length, 1, 'the outbox stays');
    g.close.follow(g.conversation);
    assert.equal(g.events.of('closed').length, 1, 'the same close is told once');
    await waitFor('the close turns final', () => g.close.final, { show: g.events.show });
    const last = g.events.of('closed').at(-1);
    assert.deepEqual([last.final, last.reopenUntilMs, last.unsent.map((e) => e.text)], [true, null, ['written after the close']]);
    assert.deepEqual(g.cleared.sort(), ['refresh', 'saved', 'socket']);
    await assert.rejects(kept.acked, (e) => e.code === 'conversation_closed');
    assert.equal(g.events.of('closed').length, 2);
  });

  it('no window (reopening off, an older server) or a past one: final at once', () => {
    for (const conversation of [closedAt(null), closedAt(Date.now() - 1)]) {
      const g = fakeGuest();
      g.conversation = conversation;
      g.close.follow(conversation);
      assert.equal(g.close.final, true);
      assert.deepEqual(g.events.of('closed').map((e) => e.final), [true]);
      assert.equal(g.reopenUntilMs, null);
    }
  });

  it('a closing entry waits for its frame; a reopen entry opens the conversation again', () => {
    const g = fakeGuest();
    g.close.entries([entry('closed')]);
    assert.equal(g.closed, false, 'until the frame says until when');
    g.conversation = closedAt(Date.now() + 60_000);
    g.close.follow(g.conversation);
    assert.deepEqual(g.events.of('closed').map((e) => e.final), [false]);
    g.close.entries([entry('assigned', { reopened: true }), { seq: 2, sender: { role: 'guest', id: 'gst_1' }, text: 'one more thing' }]);
    assert.equal(g.closed, false);
    assert.equal(g.reopenUntilMs, null);
    assert.equal(g.conversation.state, 'assigned');
    assert.equal(g.conversation.reopenUntilMs, undefined);
    assert.equal(g.events.of('reopened').length, 1);
    g.close.follow({ id: 'cnv_1', state: 'assigned' });
    assert.equal(g.events.of('reopened').length, 1, 'the frame after the entry changes nothing');
    g.close.clear();
  });

  it('a close and its reopen replayed one entry at a time leave the conversation open', async () => {
    const g = fakeGuest();
    g.close.entries([entry('closed')]);
    g.close.entries([entry('waiting', { reopened: true })]);
    await new Promise((r) => setTimeout(r, CLOSE_FRAME_WAIT_MS + 100));
    assert.equal(g.closed, false);
    assert.deepEqual(g.events.of('closed'), [], 'the close was over before it was told');
  });

  it('a closing entry whose frame never comes is a final close', async () => {
    const g = fakeGuest();
    g.close.entries([entry('closed')]);
    await waitFor('the close turns final', () => g.close.final, { show: g.events.show });
    assert.deepEqual(g.events.of('closed').map((e) => e.final), [true]);
  });
});
