// The SDK and the widget in real browsers, Chromium and Firefox (lib/engines.mjs), against a
// real Porch. The SDK's guest and agent: they talk both ways; both move onto fresh tokens in
// place (a `refresh` frame, protocol.md "Refresh") without reconnecting; a guest whose gateway
// never answers `refresh` falls back to reconnecting with the new token. The SDK is the one
// Porch serves, imported by a page of Porch's own origin. The Node suites (sdk-guest,
// sdk-agent) cover the network faults; this one holds each browser's WebSocket and fetch to
// the same behaviour. The widget's main path: on a shop of another origin, a visitor opens
// it, writes, reads the agent's answer, and finds both again after a reload.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { engines, eventually } from './lib/engines.mjs';
import { startPorch } from './lib/porch.mjs';
import { startShop } from './lib/widget.mjs';

const T = { timeout: 90_000 };

/** In the page: starts a guest or an agent with the SDK and records its events on `window.porch`. */
function startInPage({ role, deploymentId, agent }) {
  return (async () => {
    const sdk = await import('/sdk/porch.js');
    const events = [];
    const record = (client, types) => {
      for (const type of types) client.on(type, (d) => events.push({ type, inPlace: d?.inPlace, text: d?.text ?? d?.message?.text, code: d?.code, fatal: d?.fatal }));
    };
    // Counts the sockets the SDK opens: in place means one.
    let sockets = 0;
    const Counted = class extends WebSocket {
      constructor(url, protocols) { super(url, protocols); sockets += 1; }
    };
    let client;
    if (role === 'guest') {
      client = new sdk.PorchGuest({ baseUrl: location.origin, deploymentId, guest: { displayName: 'Bea' }, storage: sdk.memoryStorage(), WebSocket: Counted });
    } else {
      const session = await sdk.PorchAgent.login({ baseUrl: location.origin, ...agent });
      client = new sdk.PorchAgent({ session, WebSocket: Counted });
    }
    record(client, ['ready', 'refresh', 'message', 'error']);
    window.porch = { client, events, sockets: () => sockets };
    await client.start();
    return role === 'guest' ? client.conversationId : client.agentId;
  })();
}

const events = (page, type) => page.evaluate((t) => window.porch.events.filter((e) => e.type === t), type);
const socketsOpened = (page) => page.evaluate(() => window.porch.sockets());

for (const engine of engines()) {
  describe(`the SDK in ${engine.name}`, { timeout: 300_000 }, () => {
    let porch;
    let browser;
    let shortDeployment;

    let shop;

    before(async () => {
      // Agent tokens of 4 s: the SDK refreshes them a second after each ready (REFRESH_MIN_DELAY_MS).
      porch = await startPorch({ serveArgs: ['--heartbeat-interval-ms', '1000', '--agent-token-ttl-secs', '4'] });
      shortDeployment = await porch.createDeployment({ name: `short-${engine.name}`, ttlSecs: 4 });
      shop = await startShop(porch);
      shop.deploymentId = (await porch.createDeployment({ name: `shop-${engine.name}`, origins: [shop.origin] })).id;
      browser = await engine.launch();
    });
    after(async () => {
      await browser?.close();
      await shop?.close();
      await porch?.stop();
    });

    async function pageWith(options) {
      const page = await browser.newPage();
      await page.goto(`${porch.baseUrl}/`);
      const id = await page.evaluate(startInPage, options);
      return { page, id };
    }

    it('a guest and an agent talk both ways, each refreshing in place', T, async () => {
      const agent = await pageWith({ role: 'agent', agent: { name: porch.agent.name, secret: porch.agent.secret } });
      const guest = await pageWith({ role: 'guest', deploymentId: shortDeployment.id });
      await guest.page.evaluate(() => window.porch.client.send('hello from the browser'));
      // An agent follows the conversations it opens (docs/sdk.md, "Agents").
      await agent.page.evaluate((cid) => window.porch.client.open(cid), guest.id);
      const agentHeard = (text) => agent.page.evaluate(([cid, t]) => window.porch.client.messages(cid).some((m) => m.text === t), [guest.id, text]);
      await eventually('the agent hears the guest', () => agentHeard('hello from the browser'));
      await agent.page.evaluate((cid) => window.porch.client.send(cid, 'hello back'), guest.id);
      await eventually('the guest hears the agent', async () => (await events(guest.page, 'message')).some((m) => m.text === 'hello back'));
      for (const side of [guest, agent]) {
        await eventually('two refreshes', async () => (await events(side.page, 'refresh')).length >= 2);
        const refreshes = await events(side.page, 'refresh');
        assert.ok(refreshes.every((r) => r.inPlace), JSON.stringify(refreshes));
        assert.equal((await events(side.page, 'ready')).length, 1, 'one session throughout');
        assert.equal(await socketsOpened(side.page), 1, 'one socket throughout');
      }
      // Past the first tokens' four seconds, both still talk on their one socket.
      await new Promise((r) => setTimeout(r, 4_500));
      await guest.page.evaluate(() => window.porch.client.send('still here'));
      await eventually('the agent hears the guest again', () => agentHeard('still here'));
      assert.deepEqual((await events(guest.page, 'error')).filter((e) => e.fatal), []);
      await guest.page.close();
      await agent.page.close();
    });

    it('a guest whose gateway does not answer `refresh` reconnects with the new token', T, async () => {
      const page = await browser.newPage();
      await page.goto(`${porch.baseUrl}/`);
      // As an older Porch would answer: the page's sockets rename the frame on its way out.
      await page.evaluate(() => {
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (data) {
          return send.call(this, typeof data === 'string' ? data.replace('"type":"refresh"', '"type":"refresh-unknown"') : data);
        };
      });
      await page.evaluate(startInPage, { role: 'guest', deploymentId: shortDeployment.id });
      await eventually('a refresh', async () => (await events(page, 'refresh')).length >= 1);
      assert.equal((await events(page, 'refresh'))[0].inPlace, false);
      await eventually('a second session', async () => (await events(page, 'ready')).length >= 2);
      assert.ok(await socketsOpened(page) >= 2);
      assert.deepEqual((await events(page, 'error')).filter((e) => e.fatal), []);
      await page.close();
    });

    it('the widget: a visitor on another site writes, reads the answer, and keeps both across a reload', T, async () => {
      const agentToken = (await porch.agentLogin()).accessToken;
      const page = await browser.newPage();
      await page.goto(`${shop.origin}/`);
      await eventually('the launcher', () => page.evaluate(() => Boolean(document.getElementById('porch-widget')?.shadowRoot?.querySelector('.launcher')?.checkVisibility())));
      await engine.click(page, '.launcher');
      await engine.type(page, '#porch-input', 'Hello from a shop');
      const cid = await eventually('a session', () => page.evaluate((dep) => JSON.parse(sessionStorage.getItem(`porch:guest:${dep}`) ?? 'null')?.session?.conversationId, shop.deploymentId));
      await porch.api('POST', `/api/v2/agent/conversations/${cid}/messages`, { bearer: agentToken, json: { clientMessageId: `w-${engine.name}`, text: 'Welcome to the shop' }, expect: 201 });
      const shown = () => page.evaluate(() => [...document.getElementById('porch-widget').shadowRoot.querySelectorAll('.log .msg')]
        .map((el) => `${el.dataset.seq}:${el.querySelector('.text').textContent}`));
      const truth = async () => (await porch.history(cid, agentToken)).map((m) => `${m.seq}:${m.text}`);
      const showsTheLog = () => eventually('the widget shows the server\'s log', async () => {
        const [list, log] = [await shown(), await truth()];
        return log.length >= 2 && JSON.stringify(list) === JSON.stringify(log) ? list : false;
      });
      const before = await showsTheLog();
      assert.ok(before.some((l) => l.endsWith(':Hello from a shop')) && before.some((l) => l.endsWith(':Welcome to the shop')), JSON.stringify(before));
      await page.reload();
      assert.deepEqual(await showsTheLog(), before);
      await page.close();
    });
  });
}
