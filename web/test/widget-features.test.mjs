// What visitors expect from the widget (issue 19), in Chromium on a laptop and a phone screen
// with axe: timestamps and grouped messages, "waiting for an agent" then the agent's name in
// the header, a message box that grows and is 16 px, its words in French and in Arabic (right
// to left), the page's colours and font through custom properties, and the host page's API
// (open, close, on, setAttributes).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, shown, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS, conversationOf, panel, porchEvents, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };

describe('the widget visitors expect (issue 19)', { timeout: 600_000 }, () => {
  const env = porchAndChromium();
  const { agentSays } = env;
  const shopUrl = (extra = '') => `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}${extra}`;
  /** Each bubble: its side, whether it is grouped under the one before, its heading. */
  const bubbles = (page) => page.evaluate(() => [...document.getElementById('porch-widget').shadowRoot.querySelectorAll('.log .msg')].map((el) => ({
    text: el.querySelector('.text').textContent,
    grouped: el.classList.contains('grouped'),
    heading: el.querySelector('.meta')?.checkVisibility() ? el.querySelector('.meta').innerText.trim() : null,
    time: el.querySelector('time')?.dateTime ?? null,
    left: el.getBoundingClientRect().left,
    right: el.getBoundingClientRect().right,
  })));
  const inShadow = (page, fn, arg) => page.evaluate(([f, a]) => new Function('root', 'arg', `return (${f})(root, arg)`)(document.getElementById('porch-widget').shadowRoot, a), [fn.toString(), arg]);

  for (const screen of SCREENS) {
    describe(`on ${screen.name}`, () => {
      it('timestamps, grouped messages, "waiting for an agent", then the agent\'s name in the header', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        await page.click('.launcher');
        await write(page, 'First question');
        await write(page, 'And a detail');
        const cid = await conversationOf(page, env.porch.deployment.id);
        await until(page, 'both stored', async (p) => (await shown(p, 'widget')).filter((l) => /^\d+:/.test(l)).length === 2, { kind: 'widget' });
        await until(page, 'waiting for an agent', (p) => panel(p).then((s) => /^(Waiting for an agent…|You are number \d+ in the queue)/.test(s.subtitle)));
        await agentSays(cid, 'Hello, I can help');
        await until(page, 'the agent\'s name in the header', (p) => panel(p).then((s) => s.subtitle === 'You are chatting with alice'));
        const list = await until(page, 'the reply', (p) => bubbles(p).then((b) => b.length === 4 && b));
        const [first, second, joined, reply] = list;
        assert.match(first.heading, /^You \d{1,2}:\d{2}/, `a heading with the time: ${first.heading}`);
        assert.ok(first.time && Math.abs(Date.parse(first.time) - Date.now()) < 120_000, 'a machine-readable time');
        assert.equal(second.grouped, true, 'the second message of the same sender joins the group');
        assert.equal(second.heading, null, 'no second heading');
        assert.equal(joined.text, 'alice joined the conversation');
        assert.match(reply.heading, /^alice \d{1,2}:\d{2}/);
        assert.equal(reply.grouped, false);
        assert.ok(first.right > reply.right, 'the visitor\'s messages on the right, the agent\'s on the left');
        assert.deepEqual(await axeSerious(page), []);
        await page.context().close();
      });

      it('the message box is 16 px and grows with its text, up to a limit', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        await page.click('.launcher');
        const box = () => inShadow(page, (root) => {
          const input = root.querySelector('#porch-input');
          return { height: input.getBoundingClientRect().height, font: getComputedStyle(input).fontSize };
        });
        const one = await box();
        assert.equal(one.font, '16px', 'phones do not zoom into a 16 px field');
        await page.focus('#porch-input');
        for (let i = 0; i < 3; i += 1) {
          await page.keyboard.type(`line ${i}`);
          await page.keyboard.press('Shift+Enter');
        }
        const four = await box();
        assert.ok(four.height > one.height + 30, `it grew: ${one.height} → ${four.height}`);
        for (let i = 0; i < 10; i += 1) await page.keyboard.press('Shift+Enter');
        assert.ok((await box()).height <= 120, 'up to 120 px, then it scrolls');
        await page.keyboard.press('Enter');
        await until(page, 'back to one line after sending', () => box().then((b) => Math.abs(b.height - one.height) < 2));
        await page.context().close();
      });

      it('French, and Arabic laid out right to left', T, async () => {
        const fr = await widgetPage(env.browser, screen, shopUrl('&lang=fr'));
        await fr.click('.launcher');
        assert.equal(await fr.getAttribute('#porch-input', 'placeholder'), 'Écrivez un message…');
        assert.equal(await fr.textContent('.send'), 'Envoyer');
        assert.equal(await fr.getAttribute('.launcher', 'aria-label'), 'Ouvrir la discussion');
        assert.deepEqual(await axeSerious(fr), []);
        await fr.context().close();

        const ar = await widgetPage(env.browser, screen, shopUrl('&lang=ar'));
        await ar.click('.launcher');
        assert.equal(await ar.getAttribute('#porch-panel', 'dir'), 'rtl');
        assert.equal(await ar.getAttribute('#porch-panel', 'lang'), 'ar');
        assert.equal(await ar.getAttribute('#porch-input', 'placeholder'), 'اكتب رسالة…');
        await write(ar, 'مرحبا');
        const cid = await conversationOf(ar, env.porch.deployment.id);
        await until(ar, 'stored', async (p) => (await shown(p, 'widget')).includes('1:مرحبا'), { kind: 'widget' });
        await agentSays(cid, 'أهلا');
        await until(ar, 'the agent joined, in Arabic', (p) => panel(p).then((s) => s.text.includes('انضم موظف الدعم إلى المحادثة')));
        const [mine, , theirs] = await until(ar, 'three entries', (p) => bubbles(p).then((b) => b.length === 3 && b));
        assert.match(mine.heading, /^أنت/);
        assert.ok(mine.left < theirs.left, 'right to left: the visitor\'s messages on the left, the agent\'s on the right');
        assert.deepEqual(await axeSerious(ar), []);
        await ar.context().close();
      });

      it('the page sets colours and the font through custom properties, nothing else', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        await page.addStyleTag({ content: '#porch-widget { --porch-accent: #7a1f5c; --porch-font: "Courier New", monospace; }' });
        await page.click('.launcher');
        const look = await inShadow(page, (root) => ({
          launcher: getComputedStyle(root.querySelector('.launcher')).backgroundColor,
          header: getComputedStyle(root.querySelector('header')).backgroundColor,
          font: getComputedStyle(root.querySelector('.panel')).fontFamily,
        }));
        assert.deepEqual(look, { launcher: 'rgb(122, 31, 92)', header: 'rgb(122, 31, 92)', font: '"Courier New", monospace' });
        assert.deepEqual(await axeSerious(page), [], 'the page\'s colour still reads');
        await page.context().close();
      });

      it('the host page opens and closes it, hears messages and unread counts, and sets the visitor\'s details', T, async () => {
        const page = await widgetPage(env.browser, screen, shopUrl());
        await until(page, 'the API', (p) => p.evaluate(() => typeof window.porchWidget?.open === 'function'));
        assert.equal(await page.evaluate(() => window.porchWidget.setAttributes({ displayName: 42 })), false, 'a wrong value is refused');
        assert.ok(page.logs.some((l) => /^error: Porch widget: setAttributes: displayName must be a string/.test(l)), page.logs.join('\n'));
        assert.equal(await page.evaluate(() => window.porchWidget.setAttributes({ displayName: 'Zoe', attributes: { plan: 'pro' } })), true);
        await page.evaluate(() => {
          window.heard = [];
          window.porchWidget.on('message', (m) => window.heard.push(m.text));
        });
        // Asked as soon as the API exists: it opens once the page check let the launcher show.
        await page.evaluate(() => window.porchWidget.open());
        await until(page, 'the panel open', (p) => panel(p).then((s) => s.open));
        await write(page, 'Hi, Zoe here');
        const cid = await conversationOf(page, env.porch.deployment.id);
        await until(page, 'stored', async (p) => (await shown(p, 'widget')).includes('1:Hi, Zoe here'), { kind: 'widget' });
        const { body } = await env.porch.api('GET', '/api/v2/agent/conversations', { bearer: env.agentToken, expect: 200 });
        const conversation = body.conversations.find((c) => c.id === cid);
        assert.equal(conversation.guest.displayName, 'Zoe');
        assert.deepEqual(conversation.guest.attributes, { plan: 'pro' });
        await page.evaluate(() => window.porchWidget.close());
        assert.equal((await panel(page)).open, false);
        await agentSays(cid, 'Hello Zoe');
        await until(page, 'one unread', (p) => porchEvents(p, 'unread').then((u) => u.at(-1)?.count === 1));
        assert.equal(await page.locator('.badge').textContent(), '1');
        assert.deepEqual(await page.evaluate(() => window.heard), ['Hi, Zoe here', 'Hello Zoe']);
        await page.evaluate(() => window.porchWidget.open());
        await until(page, 'read once opened', (p) => porchEvents(p, 'unread').then((u) => u.at(-1)?.count === 0));
        assert.deepEqual(await axeSerious(page), []);
        await page.context().close();
      });
    });
  }
});
