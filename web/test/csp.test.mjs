// The Content-Security-Policy of the pages Porch serves (console, demo and example pages), in
// headless Chromium against a real Porch: no page may allow inline scripts wholesale
// ('unsafe-inline'), every page still works under its policy (its own inline scripts are
// allowed by hash), and a script a stranger managed to put into the page, as an element or
// as an event-handler attribute, does not run.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { startPorch } from './lib/porch.mjs';
import { launch, openPage, until } from './lib/browser.mjs';

const T = { timeout: 60_000 };

/** Records every CSP violation of the page in `window.__violations`, from before any script
 * of the page runs (an init script is the browser's, not the page's: no policy applies). */
const RECORD_VIOLATIONS = () => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push({ directive: e.effectiveDirective, sample: e.sample });
  });
};

/** Puts a script into the page the way a rendering bug would (markup from a stranger's text),
 * both as an element and as an event-handler attribute; neither may run. */
const INJECT = () => {
  const holder = document.createElement('div');
  holder.innerHTML = '<img src="/no-such-image.png" onerror="window.__ran = \'attribute\'">';
  document.body.append(holder);
  const script = document.createElement('script');
  script.textContent = "window.__ran = 'element';";
  document.body.append(script);
};

describe('Content-Security-Policy of the pages Porch serves', { timeout: 300_000 }, () => {
  let porch;
  let browser;
  let context;

  before(async () => {
    porch = await startPorch();
    browser = await launch();
    context = await browser.newContext();
    await context.addInitScript(RECORD_VIOLATIONS);
  });
  after(async () => {
    await browser?.close();
    await porch?.stop();
  });

  /** Opens `path`; checks its policy allows no inline script wholesale; returns the page. */
  async function open(path) {
    const response = await fetch(`${porch.baseUrl}${path}`);
    const policy = response.headers.get('content-security-policy') ?? '';
    const scriptSrc = policy.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'));
    assert.ok(scriptSrc, `${path}: a script-src directive: ${policy}`);
    assert.doesNotMatch(scriptSrc, /unsafe-inline|unsafe-eval|\*/, `${path}: ${scriptSrc}`);
    assert.match(policy, /frame-ancestors 'none'/, `${path}: ${policy}`);
    return openPage(context, `${porch.baseUrl}${path}`);
  }

  /** The page's own scripts ran without a violation; an injected one is refused and does
   * not run. */
  async function worksAndRefusesInjection(page) {
    assert.deepEqual(await page.evaluate(() => window.__violations), [], `${page.url()}: its own scripts are allowed`);
    await page.evaluate(INJECT);
    await until(page, 'both injections reported as violations', (p) => p.evaluate(() => {
      const seen = new Set(window.__violations.map((v) => v.directive));
      return seen.has('script-src-elem') && seen.has('script-src-attr');
    }));
    assert.equal(await page.evaluate(() => window.__ran), undefined, `${page.url()}: an injected script ran`);
    assert.deepEqual(page.logs.filter((l) => l.startsWith('pageerror')), [], `${page.url()} threw`);
  }

  it('the raw guest page runs its inline script (allowed by hash) and connects', T, async () => {
    const page = await open('/demo/guest.html');
    const guest = await porch.createGuest('Csp');
    await page.evaluate(([url, token]) => { window.porchDemo.connect(url, token); }, [guest.gatewayUrl, guest.accessToken]);
    await until(page, 'ready', (p) => p.evaluate(() => window.porchDemo.events.some((e) => e.kind === 'frame' && e.data.type === 'ready')));
    await worksAndRefusesInjection(page);
    await page.close();
  });

  it('the widget host page runs its inline module, which loads the widget', T, async () => {
    const page = await open(`/examples/widget-host.html?deployment=${porch.deployment.id}`);
    await until(page, 'the widget', (p) => p.evaluate(() => !!document.getElementById('porch-widget')?.shadowRoot?.querySelector('.launcher')));
    await worksAndRefusesInjection(page);
    await page.close();
  });

  it('the reference custom UI loads its module', T, async () => {
    const page = await open(`/examples/custom-ui.html?deployment=${porch.deployment.id}&name=Csp`);
    await until(page, 'the composer', (p) => p.locator('textarea').isVisible());
    await worksAndRefusesInjection(page);
    await page.close();
  });

  it('the agent console logs in and connects', T, async () => {
    const page = await open('/console/');
    await page.fill('#login-name', porch.agent.name);
    await page.fill('#login-secret', porch.agent.secret);
    await page.press('#login-secret', 'Enter');
    await until(page, 'connected', (p) => p.locator('#connection').textContent().then((t) => t === 'Connected'));
    await worksAndRefusesInjection(page);
    await page.close();
  });

  it('the start page has a policy too', T, async () => {
    const page = await open('/');
    await worksAndRefusesInjection(page);
    await page.close();
  });
});
