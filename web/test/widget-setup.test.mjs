// A page that cannot work is found when the widget loads (issue 19, defect 7), in Chromium on
// a laptop and a phone screen: an origin the deployment does not list (or lists with another
// port), a deployment that does not exist or is disabled, a Content-Security-Policy whose
// connect-src leaves Porch out (HTTP and WebSocket, or WebSocket only). Each time the visitor
// gets no launcher (nothing that looks like a working chat), and the page's builder gets the
// cause and the fix in the console and in the widget's `error` event. A page that can work
// gets its launcher.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, panel, porchEvents, startShop, widgetPage } from './lib/widget.mjs';
import { run } from '../../tests/lib/porch-process.mjs';

const T = { timeout: 60_000 };

describe('the widget checks its page when it loads (issue 19, defect 7)', { timeout: 600_000 }, () => {
  const env = porchAndChromium();

  /**
   * Opens a shop page whose deployment lists `origins(shop)` (or is `deploymentId`) and
   * returns what the visitor and the builder see once the widget has decided.
   */
  async function load(screen, { csp, origins = (shop) => [shop.origin], deploymentId, disable = false } = {}) {
    const shop = await startShop(env.porch, { csp });
    try {
      shop.deploymentId = deploymentId ?? (await env.porch.createDeployment({ name: `shop-${Date.now()}`, origins: origins(shop) })).id;
      if (disable) await run(env.porch.dataDir, ['deployments', 'disable', shop.deploymentId]);
      const page = await widgetPage(env.browser, screen, `${shop.origin}/`);
      const decided = () => Promise.all([panel(page), porchEvents(page, 'error')]).then(([p, errors]) => (p.launcher || errors.length) && { p, errors });
      const { p, errors } = await until(page, 'the widget\'s verdict', decided);
      const consoleErrors = page.logs.filter((l) => l.startsWith('error: Porch widget'));
      const axe = await axeSerious(page);
      await page.context().close();
      return { shop, launcher: p.launcher, errors, consoleErrors, axe };
    } finally {
      await shop.close();
    }
  }

  /** No launcher; one error event and one console line, both with the code and the fix. */
  function assertRefused(result, code, fix) {
    assert.equal(result.launcher, false, 'no launcher for a chat that cannot work');
    assert.equal(result.errors.length, 1, JSON.stringify(result.errors));
    assert.equal(result.errors[0].code, code);
    assert.equal(result.errors[0].fatal, true);
    assert.match(`${result.errors[0].message} ${result.errors[0].fix ?? ''}`, fix);
    assert.equal(result.consoleErrors.length, 1, result.consoleErrors.join('\n'));
    assert.match(result.consoleErrors[0], new RegExp(code));
    assert.match(result.consoleErrors[0], fix);
    assert.deepEqual(result.axe, [], 'no serious accessibility violation');
  }

  for (const screen of SCREENS) {
    describe(`on ${screen.name}`, () => {
      it('a page of a listed origin gets its launcher, and no error', T, async () => {
        const result = await load(screen);
        assert.equal(result.launcher, true);
        assert.deepEqual(result.errors, []);
        assert.deepEqual(result.consoleErrors, []);
        assert.deepEqual(result.axe, []);
      });

      it('an origin the deployment does not list', T, async () => {
        const result = await load(screen, { origins: () => ['https://somewhere-else.example'] });
        assertRefused(result, 'origin_not_allowed', new RegExp(`--add-origin ${result.shop.origin.replace(/\./g, '\\.')}`));
      });

      it('an origin the deployment lists with another port', T, async () => {
        const result = await load(screen, { origins: () => ['http://127.0.0.1:1'] });
        assertRefused(result, 'origin_not_allowed', /it lists http:\/\/127\.0\.0\.1:1\b/);
      });

      it('a deployment id that does not exist', T, async () => {
        const result = await load(screen, { deploymentId: 'dep_doesnotexist000000000000' });
        assertRefused(result, 'deployment_unknown', /porch deployments list/);
      });

      it('a disabled deployment', T, async () => {
        const result = await load(screen, { disable: true });
        assertRefused(result, 'deployment_disabled', /porch deployments enable dep_/);
      });

      it('a Content-Security-Policy whose connect-src leaves Porch out', T, async () => {
        const result = await load(screen, { csp: "connect-src 'self'" });
        assertRefused(result, 'csp_blocked', new RegExp(`add ${env.porch.baseUrl} ws://127\\.0\\.0\\.1:${env.porch.port} to its connect-src`));
      });

      it('a Content-Security-Policy that allows Porch\'s HTTP but not its WebSocket', T, async () => {
        const result = await load(screen, { csp: `connect-src 'self' ${env.porch.baseUrl}` });
        assertRefused(result, 'csp_blocked', new RegExp(`add ws://127\\.0\\.0\\.1:${env.porch.port} to its connect-src`));
      });
    });
  }
});
