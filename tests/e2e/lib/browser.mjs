// Headless Chromium (Debian's, never a downloaded one) driven by playwright-core, and waits on
// the demo page's `window.porchDemo.events`.

import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Launches Chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run scripts/install-test-deps.sh (Debian package chromium)`);
  }
  const profile = await mkdtemp(path.join(tmpdir(), 'porch-chromium-'));
  // A persistent context is how playwright takes an explicit --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    timeout: 30_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the demo page; console errors are kept for failure messages. */
export async function openDemo(context, baseUrl) {
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const res = await page.goto(`${baseUrl}/demo/guest.html`, { timeout: 10_000 });
  if (res?.status() !== 200) throw new Error(`GET /demo/guest.html: ${res?.status()}`);
  await page.waitForFunction(() => typeof window.porchDemo?.connect === 'function', null, { timeout: 5_000 });
  page.consoleLines = consoleLines;
  return page;
}

/** The page's events, as plain data. */
export function events(page) {
  return page.evaluate(() => window.porchDemo.events);
}

/**
 * Waits until the page recorded an event that contains `match` (a deep subset: every key of
 * `match` equals the event's, recursively). Resolves with the event; on timeout, fails with
 * every event the page saw and its console.
 */
export async function waitEvent(page, match, { timeout = 5_000 } = {}) {
  try {
    const handle = await page.waitForFunction((m) => {
      const contains = (a, b) => (b !== null && typeof b === 'object'
        ? a !== null && typeof a === 'object' && Object.keys(b).every((k) => contains(a[k], b[k]))
        : a === b);
      return window.porchDemo.events.find((e) => contains(e, m));
    }, match, { timeout, polling: 50 });
    return await handle.jsonValue();
  } catch (e) {
    const seen = await events(page).catch(() => '(page gone)');
    throw new Error(`page: no event like ${JSON.stringify(match)} within ${timeout} ms (${e.message.split('\n')[0]})\n`
      + `events: ${JSON.stringify(seen, null, 1)}\nconsole: ${page.consoleLines?.join('\n') || '(empty)'}`);
  }
}
