// The browsers the cross-browser suites run in, each Debian's own binary (never one a tool
// downloads): Chromium through playwright-core (CDP), Firefox ESR through puppeteer-core over
// WebDriver BiDi. Both hand back a browser with `newPage()`, and pages with `goto`, `reload`
// and `evaluate(fn, arg)`; clicks and typing go through each engine's own `click` and `type`
// below, so one test body runs in both.
// PORCH_BROWSERS=chromium (or firefox) limits a run to one.

import { existsSync } from 'node:fs';

import { launch as launchChromium, CHROMIUM } from './browser.mjs';

export const FIREFOX = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';

async function launchFirefox() {
  if (!existsSync(FIREFOX)) throw new Error(`no Firefox at ${FIREFOX}: run scripts/install-test-deps.sh (Debian package firefox-esr)`);
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    protocol: 'webDriverBiDi',
    timeout: 60_000,
    // No first-run pages, updates or telemetry: the profile is a fresh temporary one.
    extraPrefsFirefox: { 'app.update.enabled': false, 'datareporting.policy.dataSubmissionEnabled': false },
  });
}

/** Every engine, by name: its binary, how to start it, and real input through its driver
 * (a click and typing, into open shadow roots too: playwright's CSS pierces them, puppeteer's
 * `>>>` does). */
export const ENGINES = {
  chromium: {
    binary: CHROMIUM,
    launch: launchChromium,
    click: (page, selector) => page.click(selector),
    type: async (page, selector, text) => { await page.fill(selector, text); await page.press(selector, 'Enter'); },
  },
  firefox: {
    binary: FIREFOX,
    launch: launchFirefox,
    click: (page, selector) => page.locator(`>>> ${selector}`).click(),
    type: async (page, selector, text) => { await page.locator(`>>> ${selector}`).fill(text); await page.keyboard.press('Enter'); },
  },
};

/** The engines this run uses: all, or those PORCH_BROWSERS names (comma-separated). */
export function engines() {
  const wanted = (process.env.PORCH_BROWSERS || Object.keys(ENGINES).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of wanted) if (!ENGINES[name]) throw new Error(`PORCH_BROWSERS names ${name}; known: ${Object.keys(ENGINES).join(', ')}`);
  return wanted.map((name) => ({ name, ...ENGINES[name] }));
}

/** Polls `check()` until truthy, failing with `what` and the last value seen. */
export async function eventually(what, check, { timeout = 20_000 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
