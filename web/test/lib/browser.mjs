// Headless Chromium (Debian's /usr/bin/chromium, never a downloaded one) through
// playwright-core, plus what the browser tests read from the pages: the messages each UI
// shows, and axe-core's verdict.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];

export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/install-test-deps.sh (Debian package chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
}

/** Opens `url` in a new page; the page's console and errors are kept for failure messages. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.logs = [];
  page.on('console', (m) => page.logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => page.logs.push(`pageerror: ${e.message}`));
  const res = await page.goto(url, { timeout: 15_000 });
  if (res?.status() !== 200) throw new Error(`GET ${url}: ${res?.status()}`);
  return page;
}

/** What a page's message list shows, as `seq:text` lines (pending ones as `…:text`). */
export function shown(page, kind) {
  return page.evaluate((k) => {
    const lists = {
      widget: () => document.getElementById('porch-widget')?.shadowRoot?.querySelectorAll('.log .msg') ?? [],
      console: () => document.querySelectorAll('#messages .msg'),
      custom: () => document.querySelectorAll('#log li'),
    };
    return [...lists[k]()].map((el) => `${el.classList.contains('pending') ? '…' : el.dataset.seq}:${el.querySelector('.text').textContent}`);
  }, kind);
}

/** Polls `check(page)` until truthy; on timeout fails with what the page showed and logged. */
export async function until(page, what, check, { timeout = 20_000, kind } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check(page);
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) {
      const list = kind ? await shown(page, kind).catch((e) => `(${e.message})`) : '';
      throw new Error(`${page.url()}: timed out after ${timeout} ms waiting for ${what}; last: ${JSON.stringify(last)}\n`
        + `${kind ? `messages shown: ${JSON.stringify(list)}\n` : ''}console:\n${page.logs?.slice(-30).join('\n') || '(empty)'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

let axeSource;
/**
 * Runs axe-core in the page (it reads open shadow roots too) and returns the violations of
 * impact serious or critical, each with the elements it names.
 */
export async function axeSerious(page, context = 'document') {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // evaluate() is not subject to the page's CSP, so axe needs no script-src exception.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async (ctx) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(ctx === 'document' ? document : ctx, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  }, context);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
