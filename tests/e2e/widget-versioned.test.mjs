// The widget's one tag on a customer's page (another origin), pointing at the versioned URL
// Porch names in Content-Location (`/v/VERSION/widget/widget.js`): in headless Chromium the
// widget loads every module from under that prefix, each cacheable for a year, still finds
// Porch's API above the prefix, and a guest's message gets stored.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { cli } from '../lib/porch-process.mjs';
import { startPorch } from './lib/porch.mjs';
import { launchBrowser } from './lib/browser.mjs';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const WAIT_MS = 10_000;

describe('the widget from a versioned URL', { timeout: 120_000 }, () => {
  let porch;
  let browser;
  let shop;
  let page = '';

  before(async () => {
    // The customer's site: one page with the one tag, on an origin of its own.
    shop = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    });
    await new Promise((resolve) => shop.listen(0, '127.0.0.1', resolve));
    const shopOrigin = `http://127.0.0.1:${shop.address().port}`;
    porch = await startPorch({ extraOrigins: [shopOrigin] });
    // No agent is available here: the live chat, not the offline form, is what this loads.
    await cli(porch.dataDir, ['deployments', 'update', porch.deployment.id, '--offline-form', 'false']);
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (porch) await porch.stop();
    if (shop) shop.close();
  });

  it('loads every module from the prefix, cacheable for a year, and sends', async () => {
    const head = await fetch(`${porch.baseUrl}/widget/widget.js`, { method: 'HEAD' });
    const versioned = head.headers.get('content-location');
    assert.match(versioned ?? '', /^\/v\/[0-9a-f]{12}\/widget\/widget\.js$/);
    const prefix = versioned.replace(/widget\/widget\.js$/, '');
    page = `<!doctype html><html lang="en"><title>Shop</title><p>A shop.</p>
<script type="module" src="${porch.baseUrl}${versioned}" data-deployment="${porch.deployment.id}"></script>`;

    const scripts = [];
    const tab = await browser.context.newPage();
    const problems = [];
    tab.on('pageerror', (e) => problems.push(e.message));
    tab.on('response', (r) => {
      if (r.url().startsWith(porch.baseUrl) && r.request().resourceType() === 'script') {
        scripts.push({ path: new URL(r.url()).pathname, cache: r.headers()['cache-control'] });
      }
    });
    await tab.goto(`http://127.0.0.1:${shop.address().port}/`);
    await tab.locator('.launcher').click({ timeout: WAIT_MS });
    await tab.locator('#porch-input').fill('Hello from a pinned widget');
    await tab.locator('#porch-input').press('Enter');
    const key = `porch:guest:${porch.deployment.id}`;
    const handle = await tab.waitForFunction((k) => JSON.parse(sessionStorage.getItem(k) ?? 'null')?.session, key,
      { timeout: WAIT_MS });
    const session = await handle.jsonValue();

    const paths = scripts.map((s) => s.path);
    for (const path of ['widget/widget.js', 'widget/view.js', 'sdk/porch.js']) {
      assert.ok(paths.includes(`${prefix}${path}`), `${path} from the prefix: ${paths.join(', ')}`);
    }
    for (const s of scripts) {
      assert.ok(s.path.startsWith(prefix), `every module under ${prefix}, not ${s.path}`);
      assert.equal(s.cache, IMMUTABLE, s.path);
    }
    // The API is above the prefix: the guest's session and message are Porch's.
    const until = Date.now() + WAIT_MS;
    let texts = [];
    while (Date.now() < until && !texts.includes('Hello from a pinned widget')) {
      const history = await porch.expect(200, 'GET', '/api/v2/webmessaging/guests/messages', { bearer: session.accessToken });
      texts = history.messages.map((m) => m.text);
      if (!texts.length) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(texts, ['Hello from a pinned widget']);
    assert.deepEqual(problems, []);
  });
});
