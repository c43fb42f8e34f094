// The web UIs in headless Chromium against a real Porch: a guest on the standard widget and
// an agent on the console talk both ways with typing shown; the guest reloads; Porch is
// restarted mid-conversation (and messages are written while it is down); every list shown
// must then equal the server's log exactly. The reference custom UI does the same. Both show
// the deployment's notice while it is set. axe-core checks accessibility, and the run writes
// the screenshots in docs/screenshots/.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startPorch } from './lib/porch.mjs';
import { axeSerious, launch, openPage, shown, until } from './lib/browser.mjs';

// The screenshots in the README are made by this test. They change with every run (times,
// ids, ports), so they are written to docs/screenshots only when asked: PORCH_SCREENSHOTS=1.
const SHOTS = process.env.PORCH_SCREENSHOTS === '1'
  ? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots')
  : path.join(os.tmpdir(), 'porch-screenshots');
const T = { timeout: 150_000 };

describe('widget, console and custom UI in Chromium', { timeout: 600_000 }, () => {
  let porch;
  let browser;
  let agentToken;
  let consolePage;

  before(async () => {
    porch = await startPorch();
    browser = await launch();
    agentToken = (await porch.agentLogin()).accessToken;
    await mkdir(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await porch?.stop();
  });
  afterEach(() => porch.ensureRunning());

  /** Uncaught exceptions in a page fail the test, even when the UI looked right. */
  const noPageErrors = (page) => assert.deepEqual(page.logs.filter((l) => l.startsWith('pageerror')), [], `${page.url()} threw`);

  /** The server's log of a conversation as `seq:text` lines: what every UI must show. */
  const truth = async (cid) => (await porch.history(cid, agentToken)).map((m) => `${m.seq}:${m.text}`);
  /** Waits until `page` shows exactly the server's log (which must contain `mustHave`). */
  async function showsExactly(page, kind, cid, mustHave = []) {
    let expected;
    await until(page, `exactly the server's log (with ${JSON.stringify(mustHave)})`, async () => {
      expected = await truth(cid);
      const list = await shown(page, kind);
      return mustHave.every((t) => expected.some((l) => l.endsWith(`:${t}`))) && JSON.stringify(list) === JSON.stringify(expected);
    }, { kind });
    return expected;
  }

  /** The widget's notice banner: its text, whether it holds any element (it must not: the
   * text is the customer's, shown as text), its height and where it sits in the panel. */
  const widgetNotice = (page) => page.evaluate(() => {
    const root = document.getElementById('porch-widget').shadowRoot;
    const el = root.querySelector('.notice');
    const box = el.getBoundingClientRect();
    return { text: el.textContent, elements: el.childElementCount, height: box.height, top: box.top, headerBottom: root.querySelector('header').getBoundingClientRect().bottom, role: el.getAttribute('role') };
  });

  async function openConsole() {
    if (consolePage) return consolePage;
    const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
    consolePage = await openPage(context, `${porch.baseUrl}/console/`);
    const serious = await axeSerious(consolePage);
    assert.deepEqual(serious, [], 'the login view has no serious accessibility violations');
    await consolePage.fill('#login-name', porch.agent.name);
    await consolePage.fill('#login-secret', porch.agent.secret);
    await consolePage.press('#login-secret', 'Enter');
    await until(consolePage, 'connected', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'));
    return consolePage;
  }

  /** The agent opens a conversation in the console, replies, and the guest sees typing. */
  async function agentReplies(cid, guestPage, typingSelector, kind, text) {
    const c = await openConsole();
    await c.click(`[data-conversation-id="${cid}"]`);
    await until(c, 'the conversation open', (p) => p.locator('#conversation-title').isVisible());
    await c.focus('#reply');
    await c.keyboard.type(text.slice(0, 8), { delay: 20 });
    await until(guestPage, 'the agent typing indicator', (p) => p.locator(typingSelector).textContent().then((t) => /alice is typing/.test(t)), { kind });
    await c.keyboard.type(text.slice(8), { delay: 5 });
    await c.keyboard.press('Enter');
  }

  /** Stops Porch with SIGTERM (sessions close with 4200), lets both sides write while it is
   * down, then starts it again on the same port and data dir. */
  async function restartWhileTalking({ guestPage, guestInput, guestText, agentText, cid }) {
    await porch.kill('SIGTERM');
    await guestPage.fill(guestInput, guestText);
    await guestPage.press(guestInput, 'Enter');
    await consolePage.click(`[data-conversation-id="${cid}"]`);
    await consolePage.fill('#reply', agentText);
    await consolePage.press('#reply', 'Enter');
    await until(consolePage, 'the reply pending while down', async (p) => (await shown(p, 'console')).includes(`…:${agentText}`), { kind: 'console' });
    await porch.restart();
  }

  it('widget guest and console agent talk, reload, survive a restart: nothing lost or shown twice', T, async () => {
    const context = await browser.newContext({ viewport: { width: 1024, height: 720 } });
    const guest = await openPage(context, `${porch.baseUrl}/examples/widget-host.html?deployment=${porch.deployment.id}`);
    // Keyboard only: focus the launcher (it shows once the widget has checked the page),
    // Enter opens the panel and puts focus in the input.
    await guest.locator('.launcher').waitFor({ state: 'visible' });
    await guest.focus('.launcher');
    await guest.keyboard.press('Enter');
    await until(guest, 'focus in the message box', (p) => p.evaluate(() => document.getElementById('porch-widget').shadowRoot.activeElement?.id === 'porch-input'));
    await guest.keyboard.type('Hello, my parcel is lost');
    await guest.keyboard.press('Enter');
    const cid = await until(guest, 'a session', (p) => p.evaluate((dep) => JSON.parse(sessionStorage.getItem(`porch:guest:${dep}`) ?? 'null')?.session?.conversationId, porch.deployment.id));
    await showsExactly(guest, 'widget', cid, ['Hello, my parcel is lost']);

    const c = await openConsole();
    await until(c, 'the conversation waiting', (p) => p.locator(`#waiting-list [data-conversation-id="${cid}"]`).isVisible());
    await c.click(`[data-conversation-id="${cid}"]`);
    await guest.focus('#porch-input');
    await guest.keyboard.type('It was sent on Monday', { delay: 20 });
    await until(c, 'the guest typing indicator', (p) => p.locator('#typing').textContent().then((t) => /is typing/.test(t)));
    await guest.keyboard.press('Enter');
    await agentReplies(cid, guest, '.typing', 'widget', 'Hi, Alice here. Let me look that up.');
    await showsExactly(guest, 'widget', cid, ['It was sent on Monday', 'Hi, Alice here. Let me look that up.']);
    // The console marks what the agent has read; the widget shows it as "seen".
    await until(guest, 'the guest\'s messages marked seen', (p) => p.evaluate(() => document.getElementById('porch-widget').shadowRoot.querySelectorAll('.msg.mine.read').length === 2), { kind: 'widget' });
    await showsExactly(c, 'console', cid);
    assert.equal(await c.locator('#conversation-state').textContent(), 'assigned', 'the first reply assigned it');

    // Host CSS does not leak into the shadow root.
    const look = await guest.evaluate(() => {
      const root = document.getElementById('porch-widget').shadowRoot;
      const text = getComputedStyle(root.querySelector('.msg .text'));
      return { font: text.fontFamily, spacing: text.letterSpacing, launcher: getComputedStyle(root.querySelector('.launcher')).backgroundColor };
    });
    assert.doesNotMatch(look.font, /Georgia/, `the host page's font leaked in: ${look.font}`);
    assert.equal(look.spacing, 'normal', 'the host page\'s letter-spacing leaked in');
    assert.equal(look.launcher, 'rgb(31, 78, 140)', 'the launcher keeps its own colour, not the page\'s button style');

    // The customer's backend sets a notice while the panel is open: a banner at its top, as
    // text (markup in it stays text). axe below checks it with the banner shown.
    assert.equal((await widgetNotice(guest)).height, 0, 'no notice, no banner');
    const marked = 'Closed on <b>24 December</b><img src=x onerror="window.pwned=1">';
    await porch.setNotice(marked);
    const banner = await until(guest, 'the notice banner', (p) => widgetNotice(p).then((n) => n.text === marked && n), { kind: 'widget' });
    assert.equal(banner.elements, 0, 'the notice is text, never HTML');
    assert.equal(banner.role, 'status');
    assert.ok(banner.height > 0 && Math.abs(banner.top - banner.headerBottom) < 1, `the banner is right under the panel's header: ${JSON.stringify(banner)}`);
    assert.equal(await guest.locator('.notice').isVisible(), true);
    // Each notice replaces the last.
    const noticeText = 'We are closed on 24 December; we answer on the 27th.';
    await porch.setNotice(noticeText);
    await until(guest, 'the replacement notice', (p) => widgetNotice(p).then((n) => n.text === noticeText));
    assert.equal(await guest.evaluate(() => window.pwned), undefined);
    // The console's picture shows the visitor beside the chat (axe checks it open).
    await c.click('#visitor summary');
    await until(c, 'the visitor\'s details', (p) => p.locator('#visitor-details').textContent().then((t) => t.includes('Acme Shop')));
    assert.deepEqual(await axeSerious(guest), [], 'widget: no serious accessibility violations');
    assert.deepEqual(await axeSerious(c), [], 'console: no serious accessibility violations');
    await guest.screenshot({ path: path.join(SHOTS, 'widget.png') });
    await c.screenshot({ path: path.join(SHOTS, 'console.png') });

    // A reload restores the conversation (and the open panel), and the notice from `ready`.
    await guest.reload();
    await showsExactly(guest, 'widget', cid);
    await until(guest, 'the notice after the reload', (p) => widgetNotice(p).then((n) => n.text === noticeText));
    // A new visitor reads the notice before writing anything: no session, no conversation.
    const visitor = await openPage(await browser.newContext(), `${porch.baseUrl}/examples/widget-host.html?deployment=${porch.deployment.id}`);
    await visitor.click('.launcher');
    await until(visitor, 'the notice before any session', (p) => widgetNotice(p).then((n) => n.text === noticeText), { kind: 'widget' });
    const session = await visitor.evaluate((dep) => sessionStorage.getItem(`porch:guest:${dep}`), porch.deployment.id);
    assert.equal(session, null, 'reading the notice opened no guest session');
    await visitor.context().close();
    // Cleared by the backend: the banner goes.
    await porch.clearNotice();
    await until(guest, 'the banner gone', (p) => widgetNotice(p).then((n) => n.text === '' && n.height === 0));
    assert.equal(await guest.locator('.notice').isVisible(), false);

    await restartWhileTalking({ guestPage: guest, guestInput: '#porch-input', guestText: 'Sent while Porch was down', agentText: 'Written during the restart', cid });
    const final = await showsExactly(guest, 'widget', cid, ['Sent while Porch was down', 'Written during the restart']);
    await showsExactly(c, 'console', cid, ['Sent while Porch was down', 'Written during the restart']);
    assert.equal(new Set(final).size, final.length);

    // Escape closes the panel and gives focus back to the launcher.
    await guest.focus('#porch-input');
    await guest.keyboard.press('Escape');
    assert.equal(await guest.locator('#porch-panel').isVisible(), false);
    assert.equal(await guest.evaluate(() => document.getElementById('porch-widget').shadowRoot.activeElement?.className), 'launcher');
    noPageErrors(guest);
    noPageErrors(c);
    await context.close();
  });

  it('the reference custom UI does the same through the SDK', T, async () => {
    const context = await browser.newContext({ viewport: { width: 820, height: 700 } });
    const page = await openPage(context, `${porch.baseUrl}/examples/custom-ui.html?deployment=${porch.deployment.id}&name=Flo`);
    await page.fill('#text', 'Do you ship to Norway?');
    await page.press('#text', 'Enter');
    const cid = await until(page, 'a session', (p) => p.evaluate(() => JSON.parse(sessionStorage.getItem('porch:custom-ui') ?? 'null')?.session?.conversationId));
    await showsExactly(page, 'custom', cid, ['Do you ship to Norway?']);
    const c = await openConsole();
    await until(c, 'Flo in the waiting list', (p) => p.locator(`[data-conversation-id="${cid}"]`).textContent().then((t) => t.includes('Flo')));
    await agentReplies(cid, page, '#typing', 'custom', 'Yes, in three to five days.');
    await showsExactly(page, 'custom', cid, ['Yes, in three to five days.']);
    // The deployment's notice, shown while set (axe checks the page with it).
    await porch.setNotice('Orders placed today ship on Monday.');
    await until(page, 'the notice', (p) => p.locator('#announcement').textContent().then((t) => t === 'Orders placed today ship on Monday.'));
    assert.equal(await page.locator('#announcement').isVisible(), true);
    assert.deepEqual(await axeSerious(page), [], 'custom UI: no serious accessibility violations');
    await page.screenshot({ path: path.join(SHOTS, 'custom-ui.png') });
    await porch.clearNotice();
    await until(page, 'the notice gone', (p) => p.locator('#announcement').isVisible().then((v) => !v));

    await page.reload();
    await showsExactly(page, 'custom', cid);
    await restartWhileTalking({ guestPage: page, guestInput: '#text', guestText: 'And to Iceland?', agentText: 'Iceland too.', cid });
    await showsExactly(page, 'custom', cid, ['And to Iceland?', 'Iceland too.']);
    await showsExactly(c, 'console', cid, ['And to Iceland?', 'Iceland too.']);
    noPageErrors(page);
    noPageErrors(c);
    await context.close();
  });

  it('the widget works on a page of another origin (CORS for the module, the widget endpoint and REST)', T, async () => {
    // The customer's site: another origin, no CSP, one script tag pointing at Porch.
    let deploymentId = '';
    const shop = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Another shop</h1>
        <script type="module" src="${porch.baseUrl}/widget/widget.js" data-deployment="${deploymentId}" data-display-name="Gus"></script></body></html>`);
    });
    await new Promise((resolve) => shop.listen(0, '127.0.0.1', resolve));
    const shopOrigin = `http://127.0.0.1:${shop.address().port}`;
    try {
      deploymentId = (await porch.createDeployment({ name: 'another-shop', origins: [shopOrigin] })).id;
      const context = await browser.newContext();
      const page = await openPage(context, `${shopOrigin}/`);
      await page.click('.launcher');
      await page.fill('#porch-input', 'Hello from another site');
      await page.press('#porch-input', 'Enter');
      const cid = await until(page, 'a session', (p) => p.evaluate((dep) => JSON.parse(sessionStorage.getItem(`porch:guest:${dep}`) ?? 'null')?.session?.conversationId, deploymentId));
      await porch.api('POST', `/api/v2/agent/conversations/${cid}/messages`, { bearer: agentToken, json: { clientMessageId: 'x-1', text: 'Welcome, Gus' }, expect: 201 });
      await showsExactly(page, 'widget', cid, ['Hello from another site', 'Welcome, Gus']);
      await page.reload(); // history over REST, cross-origin, with the bearer token
      await showsExactly(page, 'widget', cid, ['Hello from another site', 'Welcome, Gus']);
      noPageErrors(page);
      await context.close();
    } finally {
      shop.close();
    }
  });

  it('the widget fits a 360 px wide phone', T, async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
    const page = await openPage(context, `${porch.baseUrl}/examples/widget-host.html?deployment=${porch.deployment.id}`);
    await page.click('.launcher');
    await page.fill('#porch-input', 'Hi from my phone');
    await page.press('#porch-input', 'Enter');
    await until(page, 'the message stored', async (p) => (await shown(p, 'widget')).some((l) => /^\d+:Hi from my phone$/.test(l)), { kind: 'widget' });
    const boxes = await page.evaluate(() => {
      const root = document.getElementById('porch-widget').shadowRoot;
      return Object.fromEntries(['.panel', '#porch-input', '.send', '.close'].map((s) => {
        const r = root.querySelector(s).getBoundingClientRect();
        return [s, { left: r.left, right: r.right, top: r.top, bottom: r.bottom }];
      }));
    });
    for (const [sel, b] of Object.entries(boxes)) {
      assert.ok(b.left >= 0 && b.right <= 360 && b.top >= 0 && b.bottom <= 640, `${sel} is inside the 360×640 viewport: ${JSON.stringify(b)}`);
    }
    assert.deepEqual(await axeSerious(page), [], 'widget at 360 px: no serious accessibility violations');
    await page.screenshot({ path: path.join(SHOTS, 'widget-360.png') });
    noPageErrors(page);
    await context.close();
  });
});
