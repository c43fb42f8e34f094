// The guest SDK against a real Porch: reconnect with backoff, outbox resend and server
// dedupe, resume without gaps or duplicates while messages arrive, the REST fallback when
// resume is refused, restore after a reload, terminal closes, deployment notices. The network is the test's
// (lib/sockets.mjs); the server is the real binary.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PorchGuest, memoryStorage } from '../public/sdk/porch.js';
import { startPorch } from './lib/porch.mjs';
import { controlledFetch, controlledSockets, record, waitFor } from './lib/sockets.mjs';

const EVENTS = ['state', 'ready', 'message', 'history', 'ack', 'outbox', 'error', 'refresh', 'typing', 'notice'];
const T = { timeout: 60_000 };

describe('PorchGuest against a real Porch', { timeout: 300_000 }, () => {
  let porch;
  let agent;
  const guests = [];

  before(async () => {
    // Fast heartbeats so expiry and revocation show within a second; a small resume window
    // so the REST fallback can be reached with a dozen messages.
    porch = await startPorch({ serveArgs: ['--heartbeat-interval-ms', '1000', '--resume-messages-max', '5'] });
    agent = await porch.agentLogin();
  });
  after(async () => {
    for (const g of guests) g.end();
    await porch?.stop();
  });
  // A test that fails while Porch is down must not take the next ones with it.
  afterEach(() => porch.ensureRunning());

  /** A started guest on controlled sockets; `show()` in failures prints its events. */
  async function guestWith({ storage = memoryStorage(), session, deploymentId, sockets = controlledSockets(), fetchFn, backoff = { random: () => 0.2 } } = {}) {
    const fetch = fetchFn ?? controlledFetch({ origin: porch.origin });
    const options = session ? { session } : { baseUrl: porch.baseUrl, deploymentId: deploymentId ?? porch.deployment.id, guest: { displayName: 'Ann' } };
    const guest = new PorchGuest({ ...options, WebSocket: sockets.WebSocket, fetch, storage, backoff });
    guests.push(guest);
    const events = record(guest, EVENTS);
    return { guest, events, sockets, fetch, storage };
  }

  const agentSays = (conversationId, text) => porch.api('POST', `/api/v2/agent/conversations/${conversationId}/messages`, {
    bearer: agent.accessToken, json: { clientMessageId: `a-${text}`, text }, expect: 201,
  });

  /** The guest showed exactly the server's log: every seq once, in order, same texts. */
  async function assertExactLog(guest, events) {
    const truth = await porch.history(guest.conversationId, agent.accessToken);
    const shown = [...events.of('history').flatMap((h) => h.messages), ...events.of('message')].sort((a, b) => a.seq - b.seq);
    assert.deepEqual(shown.map((m) => `${m.seq}:${m.text}`), truth.map((m) => `${m.seq}:${m.text}`), `events:\n${events.show()}`);
    assert.deepEqual(guest.messages.map((m) => m.seq), truth.map((m) => m.seq));
  }

  it('backs off exponentially while Porch is down, queues sends, and delivers them once after', T, async () => {
    const { guest, events, sockets, fetch } = await guestWith({ backoff: { random: () => 0.999 } });
    await guest.start();
    await guest.send('before');
    const downSince = events.length;
    await porch.kill('SIGKILL');
    const pending = guest.send('while down');
    const retries = () => events.slice(downSince).filter((e) => e.type === 'state' && e.payload.retryInMs !== undefined).map((e) => e.payload);
    await waitFor('three retries while down', () => retries().length >= 3, { show: events.show });
    // Full jitter with random() = 0.999: just under 500, 1000, 2000 ms.
    assert.deepEqual(retries().slice(0, 3).map((r) => r.retryInMs), [499, 999, 1998]);
    assert.deepEqual(retries().slice(0, 3).map((r) => r.cause.code), ['network', 'network', 'network']);
    assert.match(retries()[0].cause.detail, /127\.0\.0\.1:\d+.*1006/, 'a network loss is explained, not "connection failed"');
    assert.equal(guest.pending.length, 1);
    await porch.restart();
    const stored = await pending;
    assert.equal(stored.text, 'while down');
    await assertExactLog(guest, events);
    // Tokens go in the subprotocol and the Authorization header, never in a URL.
    const token = JSON.parse(guest._saved.storage.getItem(guest._saved.key)).session.accessToken;
    for (const url of [...sockets.urls, ...fetch.log.map((r) => r.url)]) assert.ok(!url.includes(token), `token in ${url}`);
    assert.ok(sockets.urls.slice(1).every((u) => /afterSeq=\d+$/.test(u)), `reconnects resume: ${sockets.urls}`);
  });

  it('resends an unacknowledged message with the same id after a reconnect; the server dedupes', T, async () => {
    const { guest, events, sockets } = await guestWith();
    await guest.start();
    let lostAck = null;
    // The server stores the message, then the network drops before the ack arrives.
    sockets.dropIncoming = (frame, socket) => {
      if (lostAck || frame.type !== 'ack') return false;
      lostAck = frame;
      socket.cut();
      return true;
    };
    const stored = await guest.send('exactly once');
    assert.ok(lostAck, 'the first ack was dropped');
    const sends = sockets.sent.filter((f) => f.type === 'send' && f.text === 'exactly once');
    assert.equal(sends.length, 2, `sent once, resent once: ${JSON.stringify(sends)}`);
    assert.equal(sends[1].clientMessageId, sends[0].clientMessageId, 'the resend keeps its clientMessageId');
    const dup = await waitFor('the duplicate ack', () => events.of('ack').find((a) => a.clientMessageId === sends[0].clientMessageId), { show: events.show });
    assert.equal(dup.duplicate, true);
    assert.equal(dup.message.seq, stored.seq);
    assert.equal(guest.pending.length, 0);
    await assertExactLog(guest, events);
  });

  it('resumes without gaps or duplicates while both sides keep sending through repeated cuts', T, async () => {
    const { guest, events, sockets } = await guestWith();
    await guest.start();
    const cid = guest.conversationId;
    // Six rounds: messages from both sides in flight, then the network drops.
    const guestSends = [];
    for (let round = 0; round < 6; round += 1) {
      await waitFor(`session ${round + 1} ready`, () => events.of('ready').length === round + 1 && guest.state === 'open', { show: events.show });
      const agentRound = Promise.all([1, 2, 3, 4, 5].map((i) => agentSays(cid, `agent ${round}.${i}`)));
      guestSends.push(guest.send(`guest ${round}.1`), guest.send(`guest ${round}.2`));
      await new Promise((r) => setTimeout(r, 10 + round * 15));
      sockets.cutAll();
      await agentRound;
    }
    await Promise.all(guestSends);
    await waitFor('the session after the sixth cut', () => events.of('ready').length === 7, { show: events.show });
    const truth = await porch.history(cid, agent.accessToken);
    await waitFor(`the guest at seq ${truth.at(-1).seq}`, () => guest.lastSeq === truth.at(-1).seq, { show: events.show });
    await assertExactLog(guest, events);
    assert.equal(truth.filter((m) => m.text.startsWith('guest ')).length, 12, 'each guest message stored once');
    assert.equal(truth.filter((m) => m.text.startsWith('agent ')).length, 30);
  });

  it('pages missed messages over REST when the resume window is exceeded', T, async () => {
    const { guest, events, sockets } = await guestWith();
    await guest.start();
    await guest.send('hello');
    sockets.blocked = true;
    sockets.cutAll();
    for (let i = 1; i <= 12; i += 1) await agentSays(guest.conversationId, `missed ${i}`);
    sockets.blocked = false;
    const ready = await waitFor('a second ready', () => events.of('ready')[1], { show: events.show });
    assert.equal(ready.resume.recovered, false, JSON.stringify(ready.resume));
    assert.match(ready.resume.reason, /resume limit/);
    await waitFor('all 12 missed messages', () => guest.messages.filter((m) => m.text.startsWith('missed')).length === 12, { show: events.show });
    await assertExactLog(guest, events);
  });

  it('restores the session after a reload: same conversation, history, missed messages, queued sends', T, async () => {
    const storage = memoryStorage();
    const offline = controlledSockets();
    const first = await guestWith({ storage, sockets: offline });
    await first.guest.start();
    await first.guest.send('before reload');
    // The ack can come before the message frame; the saved position is the log's.
    await waitFor('the message in the log', () => first.guest.lastSeq === 1, { show: first.events.show });
    const cid = first.guest.conversationId;
    offline.blocked = true;
    offline.cutAll();
    first.guest.send('typed while offline').catch(() => { /* the page goes away before the ack */ });
    const queuedId = first.guest.pending[0].clientMessageId;
    first.guest.end(); // the page unloads; the outbox stays saved
    await agentSays(cid, 'while the page reloaded');

    const second = await guestWith({ storage });
    assert.equal(second.guest.hasSavedSession(), true);
    await second.guest.start();
    assert.equal(second.guest.conversationId, cid);
    await waitFor('the queued message and the missed reply', () => second.guest.messages.length >= 4 && second.guest.pending.length === 0, { show: second.events.show });
    const resent = second.sockets.sent.find((f) => f.type === 'send' && f.text === 'typed while offline');
    assert.equal(resent?.clientMessageId, queuedId, 'the saved outbox entry keeps its id');
    assert.deepEqual(second.events.of('history').flatMap((h) => h.messages).map((m) => m.text), ['before reload'], `history up to the saved lastSeq:\n${second.events.show()}`);
    await assertExactLog(second.guest, second.events);
  });

  it('pages older history backwards after a restore, until the first message', T, async () => {
    const storage = memoryStorage();
    const first = await guestWith({ storage });
    await first.guest.start();
    // 59 replies + the system entry of the first reply assigning it = 60 entries.
    for (let i = 1; i <= 59; i += 1) await agentSays(first.guest.conversationId, `old ${i}`);
    await waitFor('all 60 entries', () => first.guest.lastSeq === 60, { show: first.events.show });
    first.guest.end();
    const { guest, events } = await guestWith({ storage });
    await guest.start();
    const initial = await waitFor('the first history page', () => events.of('history')[0], { show: events.show });
    assert.deepEqual([initial.messages.length, initial.messages[0].seq, initial.hasOlder], [50, 11, true]);
    const older = await guest.loadOlder();
    assert.deepEqual(older.map((m) => m.seq), Array.from({ length: 10 }, (_, i) => i + 1));
    assert.equal(guest.hasOlder, false);
    assert.deepEqual(await guest.loadOlder(), [], 'nothing before seq 1');
    await assertExactLog(guest, events);
  });

  it('notices a link that went silent (no close, no frames) through its own pings', T, async () => {
    const { guest, events, sockets } = await guestWith();
    await guest.start();
    // A black hole: the socket stays "open" but nothing arrives (a sleeping laptop, a dead NAT).
    const dead = [...sockets.live][0];
    sockets.dropIncoming = (_frame, socket) => socket === dead;
    const lost = await waitFor('the silent link detected', () => events.of('state').find((s) => s.cause?.code === 'network' && /nothing heard/.test(s.cause.detail)), { timeout: 15_000, show: events.show });
    assert.ok(lost.retryInMs !== undefined);
    await waitFor('a new session', () => events.of('ready').length === 2, { show: events.show });
    await agentSays(guest.conversationId, 'are you there?');
    await waitFor('the message on the new socket', () => guest.messages.some((m) => m.text === 'are you there?'), { show: events.show });
    assert.ok(sockets.sent.some((f) => f.type === 'ping'), 'the SDK pinged');
  });

  it('refreshes the token before it expires, and keeps the conversation whole', T, async () => {
    const dep = await porch.createDeployment({ name: 'short-tokens', ttlSecs: 4 });
    const { guest, events, storage } = await guestWith({ deploymentId: dep.id });
    await guest.start();
    const firstToken = JSON.parse(storage.getItem(`porch:guest:${dep.id}`)).session.accessToken;
    const talk = (async () => { for (let i = 1; i <= 12; i += 1) { await agentSays(guest.conversationId, `tick ${i}`); await new Promise((r) => setTimeout(r, 250)); } })();
    await waitFor('two refreshes', () => events.of('refresh').length >= 2, { show: events.show });
    await talk;
    await waitFor('all ticks', () => guest.messages.filter((m) => m.text.startsWith('tick')).length === 12, { show: events.show });
    const expired = events.of('state').filter((s) => s.cause?.code === 'token_expired');
    assert.deepEqual(expired, [], 'refreshed before the server had to close with 4002');
    assert.ok(events.of('refresh').every((r) => r.inPlace), `every refresh in place:\n${events.show()}`);
    assert.equal(events.of('ready').length, 1, 'no reconnect: the one socket took each new token');
    const token = JSON.parse(storage.getItem(`porch:guest:${dep.id}`)).session.accessToken;
    assert.notEqual(token, firstToken);
    const page = await porch.api('GET', '/api/v2/webmessaging/guests/messages?limit=1', { bearer: token, expect: 200 });
    assert.equal(page.body.lastSeq, guest.lastSeq, 'the new token works over REST');
    await assertExactLog(guest, events);
  });

  it('falls back to reconnecting when the gateway does not answer `refresh`', T, async () => {
    const dep = await porch.createDeployment({ name: 'no-refreshed', ttlSecs: 4 });
    const sockets = controlledSockets();
    // As an older Porch would: its `refreshed` never comes; the SDK waits for an `error`
    // frame or REFRESH_ANSWER_TIMEOUT_MS, so the test turns it into `unknown_frame_type`.
    sockets.dropIncoming = (frame, socket) => {
      if (frame.type !== 'refreshed') return false;
      socket.onmessage?.({ data: JSON.stringify({ type: 'error', code: 'unknown_frame_type', message: 'unknown frame type `refresh` [ref old]' }) });
      return true;
    };
    const { guest, events } = await guestWith({ deploymentId: dep.id, sockets });
    await guest.start();
    await waitFor('a refresh', () => events.of('refresh').length >= 1, { show: events.show });
    assert.equal(events.of('refresh')[0].inPlace, false);
    await waitFor('a new session on the new token', () => events.of('ready').length >= 2 && guest.state === 'open', { show: events.show });
    assert.ok(sockets.sent.some((f) => f.type === 'refresh'), 'it tried in place first');
    assert.deepEqual(events.of('error').filter((e) => e.fatal), [], 'nothing fatal');
    await agentSays(guest.conversationId, 'after the fallback');
    await waitFor('the reply', () => guest.messages.some((m) => m.text === 'after the fallback'), { show: events.show });
    await assertExactLog(guest, events);
  });

  it('after close 4002 (refresh failed until expiry) refreshes and resumes', T, async () => {
    const dep = await porch.createDeployment({ name: 'expiring', ttlSecs: 2 });
    let sawExpiry = false;
    const fetchFn = controlledFetch({ origin: porch.origin, refuse: (url) => !sawExpiry && url.endsWith('/guests/token') });
    const { guest, events } = await guestWith({ deploymentId: dep.id, fetchFn });
    guest.on('state', (s) => { if (s.cause?.closeCode === 4002) sawExpiry = true; });
    await guest.start();
    await guest.send('before expiry');
    await waitFor('close 4002', () => sawExpiry, { show: events.show });
    await waitFor('a refresh and a new session', () => events.of('refresh').length >= 1 && guest.state === 'open', { show: events.show });
    await agentSays(guest.conversationId, 'after expiry');
    await waitFor('the reply', () => guest.messages.some((m) => m.text === 'after expiry'), { show: events.show });
    const failedRefresh = events.of('error').find((e) => e.code === 'network' && /guests\/token/.test(e.detail));
    assert.ok(failedRefresh, `the failed proactive refresh was reported:\n${events.show()}`);
    await assertExactLog(guest, events);
  });

  it('stops on a terminal close with the server\'s cause, and does not retry', T, async () => {
    const { guest, events, sockets } = await guestWith({ backoff: { random: () => 0 } });
    await guest.start();
    await porch.revokeGuest(guest.guestId);
    const fatal = await waitFor('a fatal error', () => events.of('error').find((e) => e.fatal), { show: events.show });
    assert.equal(fatal.code, 'guest_revoked');
    assert.equal(fatal.closeCode, 4006);
    assert.ok(fatal.detail.length > 10 && fatal.ref, `cause and ref: ${JSON.stringify(fatal)}`);
    assert.equal(guest.state, 'closed');
    assert.equal(guest.hasSavedSession(), false, 'dead credentials are not restored');
    const opens = sockets.urls.length;
    await new Promise((r) => setTimeout(r, 300)); // with zero backoff, a retry would be here by now
    assert.equal(sockets.urls.length, opens, 'no reconnect after a terminal close');
  });

  it('resends sends refused by the rate limit after the server\'s retryAfterMs: each stored once', T, async () => {
    const { guest, events } = await guestWith();
    await guest.start();
    // 60 at once: the default burst is 30 and the bucket refills at 10 a second, so even when
    // a loaded machine takes a second or two to read them all, at least ten are refused and
    // resent (40 sent under load saw as few as 5 refusals).
    const texts = Array.from({ length: 60 }, (_, i) => `burst ${i}`);
    const started = Date.now();
    await Promise.all(texts.map((t) => guest.send(t)));
    const limited = events.of('error').filter((e) => e.code === 'rate_limited');
    assert.ok(limited.length >= 10, `refusals seen: ${limited.length}`);
    // Each refusal is told when its own token will be there (10 a second), so the burst's
    // refusals wait from about 100 ms to about 3 s, spread; a resend that still comes a little
    // early is told the next free time. Never the old fixed answer for all of them.
    assert.ok(limited.every((e) => e.retryInMs > 0 && e.retryInMs <= 5000 && e.clientMessageId), JSON.stringify(limited));
    const waits = limited.map((e) => e.retryInMs);
    assert.ok(Math.max(...waits) - Math.min(...waits) >= 300, `refusals spread out: ${waits}`);
    assert.ok(Date.now() - started < 15_000, 'resent on the server\'s schedule, not a fixed 2 s per round');
    const stored = (await porch.history(guest.conversationId, agent.accessToken)).filter((m) => m.text.startsWith('burst '));
    assert.deepEqual(stored.map((m) => m.text).sort(), [...texts].sort(), 'every message stored exactly once');
  });

  it('receives the deployment\'s notice live, finds it in ready when it connects later, and hears it cleared', T, async () => {
    // A deployment of its own: notices go to every guest of a deployment.
    const dep = await porch.createDeployment({ name: 'notices-live' });
    const first = await guestWith({ deploymentId: dep.id });
    await first.guest.start();
    assert.equal(first.guest.notice, null);
    assert.deepEqual(first.events.of('notice'), [], 'no notice, no event');

    const closed = await porch.setNotice('Closed on 24 December; we answer on the 27th.', dep.id);
    assert.match(closed.id, /^ntc_/);
    await waitFor('the notice frame', () => first.events.of('notice').length === 1, { show: first.events.show });
    assert.deepEqual(first.events.of('notice')[0], closed, 'the event carries the notice as REST returned it');
    assert.deepEqual(first.guest.notice, closed);

    // A guest connecting now gets it from ready, before start() resolves.
    const later = await guestWith({ deploymentId: dep.id });
    const readies = [];
    later.sockets.dropIncoming = (frame) => { if (frame.type === 'ready') readies.push(frame); return false; };
    await later.guest.start();
    assert.deepEqual(readies[0]?.notice, closed, 'ready carried it');
    assert.deepEqual(later.guest.notice, closed);
    assert.deepEqual(later.events.of('notice'), [closed], `emitted once, from ready:\n${later.events.show()}`);

    // Each PUT replaces the last, with a new id.
    const replaced = await porch.setNotice('Open again from 27 December.', dep.id);
    assert.notEqual(replaced.id, closed.id);
    for (const g of [first, later]) {
      await waitFor('the replacement', () => g.guest.notice?.id === replaced.id, { show: g.events.show });
    }

    await porch.clearNotice(dep.id);
    for (const g of [first, later]) {
      await waitFor('the notice cleared', () => g.events.of('notice').length === 3, { show: g.events.show });
      assert.equal(g.events.of('notice').at(-1), null, 'clearing emits null');
      assert.equal(g.guest.notice, null);
    }
    assert.deepEqual(first.events.of('notice').map((n) => n?.text ?? null), ['Closed on 24 December; we answer on the 27th.', 'Open again from 27 December.', null]);
  });

  it('reads the notice before any session, then does not repeat it when the session brings it', T, async () => {
    const dep = await porch.createDeployment({ name: 'notices-peek' });
    const { guest, events, sockets, fetch } = await guestWith({ deploymentId: dep.id });
    assert.equal(await guest.peekNotice(), null, 'no notice yet');
    const closed = await porch.setNotice('Closed today; leave a message.', dep.id);
    assert.deepEqual(await guest.peekNotice(), closed);
    assert.deepEqual(events.of('notice'), [closed]);
    assert.deepEqual(sockets.urls, [], 'no socket: reading the notice needs no session');
    assert.ok(fetch.log.every((r) => r.method === 'GET' && r.url.endsWith(`/deployments/${dep.id}/widget`)), JSON.stringify(fetch.log));
    await guest.start();
    assert.deepEqual(events.of('notice'), [closed], `ready carried the same notice: no second event\n${events.show()}`);
    // Another origin's page is refused, with the cause.
    const stranger = new PorchGuest({ baseUrl: porch.baseUrl, deploymentId: dep.id, fetch: controlledFetch({ origin: 'https://evil.example' }), storage: memoryStorage() });
    await assert.rejects(stranger.peekNotice(), (e) => e.code === 'origin_not_allowed');
  });

  it('on a reconnect emits a notice only if it changed: not the same one again, but another one or none', T, async () => {
    const dep = await porch.createDeployment({ name: 'notices-reconnect' });
    const outage = await porch.setNotice('Replies may be slow today.', dep.id);
    const { guest, events, sockets } = await guestWith({ deploymentId: dep.id });
    const readies = [];
    sockets.dropIncoming = (frame) => { if (frame.type === 'ready') readies.push(frame); return false; };
    await guest.start();
    assert.deepEqual(events.of('notice'), [outage]);

    // The same notice in the next ready: nothing to tell.
    sockets.cutAll();
    await waitFor('a second ready', () => events.of('ready').length === 2 && guest.state === 'open', { show: events.show });
    assert.equal(readies[1]?.notice?.id, outage.id, 'the second ready carried the same notice');
    assert.deepEqual(events.of('notice'), [outage], `not emitted again:\n${events.show()}`);

    // Replaced while the guest was offline (it missed the frame): the next ready tells.
    sockets.blocked = true;
    sockets.cutAll();
    const resolved = await porch.setNotice('All fixed, thank you for waiting.', dep.id);
    sockets.blocked = false;
    await waitFor('the new notice from ready', () => events.of('notice').length === 2, { show: events.show });
    assert.deepEqual(events.of('notice')[1], resolved);
    assert.deepEqual(guest.notice, resolved);

    // Cleared while offline: a ready without a notice emits null.
    sockets.blocked = true;
    sockets.cutAll();
    await porch.clearNotice(dep.id);
    sockets.blocked = false;
    await waitFor('null from ready', () => events.of('notice').length === 3, { show: events.show });
    assert.equal(events.of('notice')[2], null);
    assert.equal(guest.notice, null);
    assert.equal('notice' in readies.at(-1), false, 'ready has no notice field when there is none');
    assert.deepEqual(events.of('notice').map((n) => n?.id ?? null), [outage.id, resolved.id, null], 'one event per change, none per reconnect');
  });

  it('rejects start() with the server\'s code for a bad token or a foreign origin', T, async () => {
    const bad = await guestWith({ session: { gatewayUrl: `ws://127.0.0.1:${porch.port}/api/v2/gateway`, accessToken: 'not.a.jwt', expiresAtMs: Date.now() + 60_000 } });
    await assert.rejects(bad.guest.start(), (e) => e.code === 'token_malformed' && e.closeCode === 4003 && e.fatal && e.detail.length > 0);
    const foreign = await guestWith({ fetchFn: controlledFetch({ origin: 'https://elsewhere.example' }) });
    await assert.rejects(foreign.guest.start(), (e) => e.code === 'origin_not_allowed' && e.status === 403 && /elsewhere|origin/i.test(e.detail));
  });
});
