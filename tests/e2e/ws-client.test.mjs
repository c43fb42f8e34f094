// The user's flow with a third-party WebSocket client (`ws`): backend token → guest session →
// socket with ['NICE-WebSocket-Auth', accessToken] → chat with an agent, plus the refusals a
// client must be able to read. One real porch serves every test of this file.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { startPorch } from './lib/porch.mjs';
import { Conn, MARKER, connectReady, messagesOf } from './lib/socket.mjs';

const TEST_TIMEOUT_MS = 30_000;

/** Asserts that `messages` have consecutive seqs (no gap, no duplicate, ascending). */
function assertContiguous(messages, what) {
  const seqs = messages.map((m) => m.seq);
  for (let i = 1; i < seqs.length; i += 1) {
    assert.equal(seqs[i], seqs[i - 1] + 1, `${what}: seqs must be consecutive, got ${JSON.stringify(seqs)}`);
  }
}

describe('porch with a ws client', { timeout: 120_000 }, () => {
  let porch;
  const open = []; // every Conn a test opened, closed in `after`

  function track(conn) { open.push(conn); return conn; }

  before(async () => { porch = await startPorch(); });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    if (porch) await porch.stop();
  });

  /** A fresh guest and its socket, `ready` received. */
  async function guestSocket(label = 'guest') {
    const guest = await porch.createGuest();
    const { conn, ready } = await connectReady(guest.gatewayUrl, guest.accessToken, { label });
    track(conn);
    return { guest, conn, ready };
  }

  /** The agent, logged in, with its socket open and `ready` received. */
  async function agentSocket() {
    const agent = await porch.agentLogin();
    const { conn, ready } = await connectReady(agent.gatewayUrl, agent.accessToken, { label: 'agent' });
    track(conn);
    return { agent, conn, ready };
  }

  it('runs the user flow: token, guest, socket, send/ack, agent reply, REST with the same token', { timeout: TEST_TIMEOUT_MS }, async () => {
    const agentSide = await agentSocket();
    assert.equal(agentSide.ready.role, 'agent', agentSide.conn.describe());
    assert.equal(agentSide.conn.ws.protocol, MARKER);

    const clientToken = await porch.clientToken();
    const guest = await porch.createGuest({ clientToken, displayName: 'Ada' });
    for (const field of ['guestId', 'conversationId', 'gatewayUrl', 'accessToken']) {
      assert.ok(guest[field], `POST /guests must return ${field}: ${JSON.stringify(guest)}`);
    }
    assert.equal(guest.gatewayUrl, porch.gatewayUrl, 'gatewayUrl follows the listen address');

    const conn = track(new Conn(guest.gatewayUrl, [MARKER, guest.accessToken], { label: 'guest' }));
    await conn.opened;
    assert.equal(conn.ws.protocol, MARKER, 'the server must echo exactly the marker, never the token');
    const ready = await conn.waitType('ready');
    assert.equal(conn.frames[0].type, 'ready', `ready must be the first frame\n${conn.describe()}`);
    assert.equal(ready.role, 'guest');
    assert.equal(ready.conversation?.id, guest.conversationId);
    for (const field of ['sessionId', 'participant', 'lastSeq', 'heartbeatIntervalMs', 'tokenExpiresInMs', 'limits']) {
      assert.ok(field in ready, `ready lacks ${field}: ${JSON.stringify(ready)}`);
    }
    assert.ok(ready.tokenExpiresInMs > 0, 'a fresh token has time left');

    // The agent hears of the new conversation on its queue.
    await agentSide.conn.waitType('conversation', (f) => f.conversation?.id === guest.conversationId);

    conn.send({ type: 'send', clientMessageId: 'c1', text: 'hi' });
    const ack = await conn.waitType('ack', (f) => f.clientMessageId === 'c1');
    assert.equal(ack.duplicate, false);
    assert.equal(ack.message.text, 'hi');
    assert.equal(ack.message.seq, ready.lastSeq + 1);
    assert.equal(ack.message.sender.role, 'guest');
    assert.equal(ack.message.sender.displayName, 'Ada');
    // The sender gets its own message as a `message` frame too.
    await conn.waitType('message', (f) => f.message.clientMessageId === 'c1');

    const heard = await agentSide.conn.waitType('message', (f) => f.message.conversationId === guest.conversationId && f.message.text === 'hi');
    assert.equal(heard.message.seq, ack.message.seq);

    // Typing and ping reach the right places.
    conn.send({ type: 'typing' });
    await agentSide.conn.waitType('typing', (f) => f.conversationId === guest.conversationId);
    conn.send({ type: 'ping', id: 'x' });
    await conn.waitType('pong', (f) => f.id === 'x');

    agentSide.conn.send({ type: 'send', conversationId: guest.conversationId, clientMessageId: 'a1', text: 'hello' });
    await agentSide.conn.waitType('ack', (f) => f.clientMessageId === 'a1');
    const reply = await conn.waitType('message', (f) => f.message.clientMessageId === 'a1');
    assert.equal(reply.message.sender.role, 'agent');
    assert.equal(reply.message.text, 'hello');
    const seen = messagesOf(conn, guest.conversationId);
    assertContiguous(seen, 'guest message frames');
    assert.ok(seen.findIndex((m) => m.text === 'hi') < seen.findIndex((m) => m.text === 'hello'), 'guest message before the reply');

    // The SAME accessToken works for guest REST.
    const path = '/api/v2/webmessaging/guests/messages';
    const posted = await porch.api('POST', path, { bearer: guest.accessToken, json: { clientMessageId: 'r1', text: 'via REST' } });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    assert.equal(posted.body.duplicate, false);
    const retried = await porch.api('POST', path, { bearer: guest.accessToken, json: { clientMessageId: 'r1', text: 'via REST' } });
    assert.equal(retried.status, 200, `a retry of the same clientMessageId: ${JSON.stringify(retried.body)}`);
    assert.equal(retried.body.duplicate, true);
    assert.equal(retried.body.message.id, posted.body.message.id, 'a retry returns the original message');
    // The socket sees the REST message too.
    await conn.waitType('message', (f) => f.message.clientMessageId === 'r1');

    const history = await porch.expect(200, 'GET', `${path}?after=0&limit=50`, { bearer: guest.accessToken });
    const texts = history.messages.map((m) => m.text);
    assertContiguous(history.messages, 'history');
    for (const t of ['hi', 'hello', 'via REST']) assert.ok(texts.includes(t), `history lacks "${t}": ${JSON.stringify(texts)}`);
    assert.ok(texts.indexOf('hi') < texts.indexOf('hello') && texts.indexOf('hello') < texts.indexOf('via REST'), `history order: ${JSON.stringify(texts)}`);
    assert.equal(texts.filter((t) => t === 'via REST').length, 1, 'the retry created nothing');
    assert.equal(history.lastSeq, history.messages.at(-1).seq);
    assert.equal(history.hasMore, false);
  });

  it('refuses the OAuth client token at the gateway with 4004 naming the accessToken from /guests', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clientToken = await porch.clientToken();
    const conn = track(new Conn(porch.gatewayUrl, [MARKER, clientToken], { label: 'client-token socket' }));
    await conn.opened; // 101 first: a browser can only read a reason after an upgrade
    assert.equal(conn.ws.protocol, MARKER);
    const { code, reason } = await conn.waitClose();
    assert.equal(code, 4004, conn.describe());
    assert.match(reason, /^token_wrong_kind: /);
    // Wording may change; what must stay: what was sent, and what to send instead.
    assert.match(reason, /client token/, 'the reason says what was sent');
    assert.match(reason, /accessToken\b.*\/guests\b/, 'the reason names the accessToken from POST /guests');
    assert.equal(conn.frames.length, 0, `no frame before the refusal\n${conn.describe()}`);

    // The same mistake over guest REST: 401 with a Bearer challenge and the same code.
    const res = await porch.api('GET', '/api/v2/webmessaging/guests/messages', { bearer: clientToken });
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.equal(res.body.error, 'token_wrong_kind');
    assert.ok(res.body.error_description && res.body.error_ref, JSON.stringify(res.body));
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
  });

  it('refuses ?token= without a subprotocol with 4008 telling to use the subprotocol', { timeout: TEST_TIMEOUT_MS }, async () => {
    const guest = await porch.createGuest();
    const conn = track(new Conn(`${guest.gatewayUrl}?token=${encodeURIComponent(guest.accessToken)}`, undefined, { label: 'query-token socket' }));
    await conn.opened;
    const { code, reason } = await conn.waitClose();
    assert.equal(code, 4008, conn.describe());
    assert.match(reason, /^token_in_query: /);
    // The fix must be readable in full: the exact marker to offer (a cut `NICE-WebS…` is not).
    assert.match(reason, /NICE-WebSocket-Auth/, `the reason must name the subprotocol marker: ${reason}`);
  });

  it('acks a frame sent the moment the socket opens, before ready arrived', { timeout: TEST_TIMEOUT_MS }, async () => {
    const guest = await porch.createGuest();
    let framesAtSend = -1;
    const conn = track(new Conn(guest.gatewayUrl, [MARKER, guest.accessToken], {
      label: 'eager guest',
      onOpen: (ws) => {
        framesAtSend = conn.frames.length;
        ws.send(JSON.stringify({ type: 'send', clientMessageId: 'early', text: 'sent on open' }));
      },
    }));
    await conn.opened;
    assert.equal(framesAtSend, 0, 'the send went out before any frame was read');
    const ack = await conn.waitType('ack', (f) => f.clientMessageId === 'early');
    assert.equal(ack.message.text, 'sent on open');
    assert.equal(conn.frames[0].type, 'ready', `ready still comes first\n${conn.describe()}`);
  });

  it('answers bad frames with error frames and keeps the connection usable', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { conn } = await guestSocket('bad-frames guest');
    conn.send('{"type":"send", this is not json');
    const badJson = await conn.waitType('error', (f) => f.code === 'bad_json');
    assert.ok(badJson.message, 'an error frame explains itself');
    conn.send({ type: 'dance' });
    const unknown = await conn.waitType('error', (f) => f.code === 'unknown_frame_type');
    assert.match(unknown.message, /dance/);
    conn.send({ type: 'send', clientMessageId: 'no-text' });
    await conn.waitType('error', (f) => f.code === 'bad_frame');
    assert.equal(conn.closed, null, `still open\n${conn.describe()}`);
    conn.send({ type: 'send', clientMessageId: 'after-errors', text: 'still here' });
    const ack = await conn.waitType('ack', (f) => f.clientMessageId === 'after-errors');
    assert.equal(ack.duplicate, false);
  });

  it('closes with 1009 on a 70,000-byte frame', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { conn } = await guestSocket('big-frame guest');
    const head = '{"type":"send","clientMessageId":"big","text":"';
    const tailJson = '"}';
    const big = head + 'a'.repeat(70_000 - head.length - tailJson.length) + tailJson;
    assert.equal(Buffer.byteLength(big), 70_000);
    conn.send(big);
    const { code, reason } = await conn.waitClose();
    assert.equal(code, 1009, `expected 1009 (message too big)\n${conn.describe()}`);
    assert.match(reason, /^message_too_big: /);
    assert.ok(!conn.frames.some((f) => f.type === 'ack'), 'nothing was stored');
  });

  it('closes with 1007 on a text frame that is not UTF-8', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { conn } = await guestSocket('bad-utf8 guest');
    // `ws` sends a Buffer as a text frame unchanged when told binary: false.
    conn.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    const { code, reason } = await conn.waitClose();
    assert.equal(code, 1007, `expected 1007 (invalid UTF-8)\n${conn.describe()}`);
    assert.match(reason, /^invalid_utf8: /);
  });

  it('resumes with ?afterSeq: replays exactly the missed messages in order', { timeout: TEST_TIMEOUT_MS }, async () => {
    const agent = await porch.agentLogin();
    const { guest, conn } = await guestSocket('resuming guest');
    const agentPath = `/api/v2/agent/conversations/${guest.conversationId}/messages`;
    // A first agent reply while connected also assigns the conversation (a system entry), so
    // the three replies below are the only entries the guest misses.
    await porch.expect(201, 'POST', agentPath, { bearer: agent.accessToken, json: { clientMessageId: 'warm', text: 'welcome' } });
    await conn.waitType('message', (f) => f.message.clientMessageId === 'warm');
    await conn.barrier();
    const lastSeen = Math.max(...messagesOf(conn, guest.conversationId).map((m) => m.seq));
    await conn.close();

    const missed = [];
    for (const n of [1, 2, 3]) {
      const body = await porch.expect(201, 'POST', agentPath, { bearer: agent.accessToken, json: { clientMessageId: `m${n}`, text: `missed ${n}` } });
      missed.push(body.message);
    }
    assert.deepEqual(missed.map((m) => m.seq), [lastSeen + 1, lastSeen + 2, lastSeen + 3], 'agent posts are consecutive after what the guest saw');

    const again = track(new Conn(`${guest.gatewayUrl}?afterSeq=${lastSeen}`, [MARKER, guest.accessToken], { label: 'resumed guest' }));
    await again.opened;
    const ready = await again.waitType('ready');
    assert.equal(again.frames[0].type, 'ready', again.describe());
    assert.deepEqual(
      { recovered: ready.resume?.recovered, afterSeq: ready.resume?.afterSeq, replayed: ready.resume?.replayed },
      { recovered: true, afterSeq: lastSeen, replayed: 3 },
      `ready.resume: ${JSON.stringify(ready.resume)}`,
    );
    await again.waitType('message', (f) => f.message.seq === lastSeen + 3);
    await again.barrier(); // anything else the server would send on resume is in by now
    const replayed = messagesOf(again, guest.conversationId);
    assert.deepEqual(replayed.map((m) => m.text), ['missed 1', 'missed 2', 'missed 3'], again.describe());
    assert.deepEqual(replayed.map((m) => m.seq), missed.map((m) => m.seq), 'no duplicates, no gaps');
  });
});
