// The user's flow in a real browser: Porch's demo page runs exactly
// `new WebSocket(gatewayUrl, ['NICE-WebSocket-Auth', accessToken])` in headless Chromium.
// What matters here is what page script can see: the echoed protocol, frames, and close codes
// with readable reasons (Chromium hides the cause of any refusal before the 101).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { startPorch } from './lib/porch.mjs';
import { connectReady } from './lib/socket.mjs';
import { events, launchBrowser, openDemo, waitEvent } from './lib/browser.mjs';

const MARKER = 'NICE-WebSocket-Auth';
const TEST_TIMEOUT_MS = 45_000;

describe('porch with headless Chromium', { timeout: 180_000 }, () => {
  let porch;
  let browser;
  const sockets = [];

  before(async () => {
    porch = await startPorch();
    browser = await launchBrowser();
  });
  after(async () => {
    await Promise.all(sockets.map((c) => c.close()));
    if (browser) await browser.close();
    if (porch) await porch.stop();
  });

  it('chats from the demo page: open with the marker, ready, send → ack, agent reply arrives', { timeout: TEST_TIMEOUT_MS }, async () => {
    const agent = await porch.agentLogin();
    const agentSide = await connectReady(agent.gatewayUrl, agent.accessToken, { label: 'agent' });
    sockets.push(agentSide.conn);

    const page = await openDemo(browser.context, porch.baseUrl);
    const guest = await porch.createGuest({ displayName: 'Browser Guest' });
    await page.evaluate(([url, token]) => { window.porchDemo.connect(url, token); }, [guest.gatewayUrl, guest.accessToken]);

    await waitEvent(page, { kind: 'open', data: { protocol: MARKER } });
    const ready = await waitEvent(page, { kind: 'frame', data: { type: 'ready' } });
    assert.equal(ready.data.conversation.id, guest.conversationId);

    const clientMessageId = await page.evaluate(() => window.porchDemo.send('hello'));
    const ack = await waitEvent(page, { kind: 'frame', data: { type: 'ack', clientMessageId } });
    assert.equal(ack.data.message.text, 'hello');
    assert.equal(ack.data.duplicate, false);

    await agentSide.conn.waitType('message', (f) => f.message.conversationId === guest.conversationId && f.message.text === 'hello');
    agentSide.conn.send({ type: 'send', conversationId: guest.conversationId, clientMessageId: 'agent-1', text: 'hi from the agent' });
    const reply = await waitEvent(page, { kind: 'frame', data: { type: 'message', message: { clientMessageId: 'agent-1' } } });
    assert.equal(reply.data.message.sender.role, 'agent');
    assert.equal(reply.data.message.text, 'hi from the agent');

    const seen = await events(page);
    assert.equal(seen[0].kind, 'open', JSON.stringify(seen));
    assert.equal(seen[1].data?.type, 'ready', `ready is the first frame: ${JSON.stringify(seen)}`);
    assert.ok(!seen.some((e) => e.kind === 'close' || e.kind === 'error'), `the socket stays open: ${JSON.stringify(seen)}`);
    const seqs = seen.filter((e) => e.data?.type === 'message').map((e) => e.data.message.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'messages in seq order');
    await page.close();
  });

  it('shows page script close 4004 with a reason when the OAuth client token is used', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await openDemo(browser.context, porch.baseUrl);
    const clientToken = await porch.clientToken();
    await page.evaluate(([url, token]) => { window.porchDemo.connect(url, token); }, [porch.gatewayUrl, clientToken]);
    const close = await waitEvent(page, { kind: 'close' });
    assert.equal(close.data.code, 4004, JSON.stringify(await events(page)));
    assert.match(close.data.reason, /^token_wrong_kind: .*client token/);
    assert.match(close.data.reason, /accessToken/);
    assert.equal(close.data.wasClean, true, 'the server finishes the close handshake');
    await page.close();
  });

  it('shows page script close 4005 when the page origin is not allowed for the deployment', { timeout: TEST_TIMEOUT_MS }, async () => {
    const elsewhere = await porch.createDeployment({ name: 'shop-elsewhere', origins: ['https://shop.example'] });
    const guest = await porch.createGuest({ deploymentId: elsewhere.id });
    const page = await openDemo(browser.context, porch.baseUrl);
    await page.evaluate(([url, token]) => { window.porchDemo.connect(url, token); }, [guest.gatewayUrl, guest.accessToken]);
    const close = await waitEvent(page, { kind: 'close' });
    assert.equal(close.data.code, 4005, JSON.stringify(await events(page)));
    assert.match(close.data.reason, /^origin_not_allowed: /);
    assert.ok(close.data.reason.includes(porch.origin), `the reason names the page origin: ${close.data.reason}`);
    const frames = (await events(page)).filter((e) => e.kind === 'frame');
    assert.deepEqual(frames, [], 'no ready for a refused origin');
    await page.close();
  });

  // What page script can read for each way of getting the call wrong. Everything after a 101
  // is readable; the one offer no 101 can answer (the token alone) is the documented 1006.
  it('shows page script the cause of every handshake mistake it can', { timeout: 90_000 }, async () => {
    const guest = await porch.createGuest({ displayName: 'Table' });
    const token = guest.accessToken;
    const url = guest.gatewayUrl;
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'E' : 'A');
    const cases = [
      { name: 'marker without token', url, protocols: [MARKER], code: 4001, reason: /^token_missing: / },
      { name: 'no subprotocol at all', url, protocols: [], code: 4001, reason: /^subprotocol_missing: .*NICE-WebSocket-Auth/ },
      { name: 'token before the marker', url, protocols: [token, MARKER], code: 4007, reason: /^subprotocol_order: / },
      { name: 'misspelled marker', url, protocols: ['nice-websocket-auth', token], code: 4007, reason: /^subprotocol_misspelled: .*case-sensitive/, protocol: 'nice-websocket-auth' },
      { name: 'token in the query (the report\'s second try)', url: `${url}?token=${token}`, protocols: [], code: 4008, reason: /^token_in_query: .*NICE-WebSocket-Auth/ },
      { name: 'token in the query beside the pair: refused all the same', url: `${url}?access_token=${token}`, protocols: [MARKER, token], code: 4008, reason: /^token_in_query: .*remove it/ },
      { name: 'altered token', url, protocols: [MARKER, tampered], code: 4003, reason: /^token_signature_invalid: / },
      { name: 'token alone: no legal 101, so the browser shows 1006', url, protocols: [token], code: 1006, reason: /^$/ },
    ];
    for (const c of cases) {
      const page = await openDemo(browser.context, porch.baseUrl);
      await page.evaluate(([u, p]) => { window.porchDemo.connectWith(u, p); }, [c.url, c.protocols]);
      const close = await waitEvent(page, { kind: 'close' });
      const seen = JSON.stringify(await events(page));
      assert.equal(close.data.code, c.code, `${c.name}: ${seen}`);
      assert.match(close.data.reason, c.reason, `${c.name}: ${seen}`);
      if (c.code !== 1006) {
        assert.match(close.data.reason, /\[ref [0-9a-z]{6}\]$/, `${c.name}: the reason carries the log reference`);
        const open = (await events(page)).find((e) => e.kind === 'open');
        assert.equal(open?.data.protocol, c.protocol ?? (c.protocols.length ? MARKER : ''), `${c.name}: echoed protocol`);
      }
      await page.close();
    }
  });

  it('the browser itself refuses a token with characters a subprotocol cannot hold', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await openDemo(browser.context, porch.baseUrl);
    await page.evaluate((u) => { window.porchDemo.connectWith(u, ['NICE-WebSocket-Auth', 'abc=']); }, porch.gatewayUrl);
    const thrown = await waitEvent(page, { kind: 'thrown' });
    assert.equal(thrown.data.name, 'SyntaxError', 'nothing is sent: docs/handshake.md, token characters');
    await page.close();
  });
});
