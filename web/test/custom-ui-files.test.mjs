// Files in the reference custom UI (issue 21), in Chromium with axe at 1280×800 and 390×844:
// the attach button sends a picture with its progress, its preview (made by Porch) shows in the
// conversation with a link to the file; a file of a refused type is refused in plain words
// (the cause in the console); the agent's PDF shows as a link, without a picture.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { DEVELOPER_TEXT, SCREENS } from './lib/widget.mjs';

const T = { timeout: 120_000 };
// A real 1×1 PNG, so the browser decodes it (and Porch makes its preview).
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

for (const screen of SCREENS) {
  describe(`files in the custom UI at ${screen.name}`, { timeout: 600_000 }, () => {
    const env = porchAndChromium();

    it('sends a picture with progress, shows its preview and link; refuses in plain words', T, async () => {
      const { name: _name, ...options } = screen;
      const page = await openPage(await env.browser.newContext(options), `${env.porch.baseUrl}/examples/custom-ui.html?deployment=${env.porch.deployment.id}&name=Flo`);
      await page.evaluate(() => {
        const status = document.getElementById('file-status');
        window.statusSeen = [];
        new MutationObserver(() => window.statusSeen.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
      });
      await page.setInputFiles('#file', { name: 'receipt.png', mimeType: 'image/png', buffer: PNG });
      const shown = await until(page, 'the preview', () => page.evaluate(() => {
        const img = document.querySelector('#log li.mine img.preview');
        const link = document.querySelector('#log li.mine .text a');
        return img && img.complete && img.naturalWidth === 1 && link?.href
          && { alt: img.alt, src: img.getAttribute('src'), href: link.href, text: link.textContent };
      }), { kind: 'custom' });
      assert.equal(shown.alt, 'Preview of receipt.png');
      assert.match(shown.src, /\/api\/v2\/attachments\/previews\//);
      assert.equal(shown.text, 'receipt.png');
      assert.deepEqual(Buffer.from(await (await fetch(shown.href)).arrayBuffer()), PNG);
      const seen = await page.evaluate(() => window.statusSeen);
      assert.ok(seen.some((t) => /^Sending receipt\.png… \d+%$/.test(t)), `progress: ${JSON.stringify(seen)}`);

      await page.setInputFiles('#file', { name: 'page.html', mimeType: 'text/html', buffer: Buffer.from('<p>hi</p>') });
      await until(page, 'the refusal', (p) => p.locator('#file-status').textContent().then((t) => t === 'This kind of file cannot be sent. Send a picture or a PDF.'));
      assert.doesNotMatch(await page.evaluate(() => document.body.innerText), DEVELOPER_TEXT);
      assert.ok(page.logs.some((l) => /^error: Porch: the file was not sent: attachment_type_refused/.test(l)), page.logs.join('\n'));

      const cid = await page.evaluate(() => JSON.parse(sessionStorage.getItem('porch:custom-ui')).session.conversationId);
      const grant = await env.porch.api('POST', `/api/v2/agent/conversations/${cid}/attachments`, {
        bearer: env.agentToken, json: { clientMessageId: 'pdf-1', name: 'manual.pdf', size: 12, contentType: 'application/pdf' }, expect: 201,
      });
      assert.equal((await fetch(grant.body.uploadUrl, { method: 'PUT', body: Buffer.from('%PDF-1.7\nabc') })).status, 201);
      await until(page, 'the agent\'s PDF as a link', () => page.evaluate(() => {
        const link = [...document.querySelectorAll('#log li.theirs .text a')].find((a) => a.textContent === 'manual.pdf');
        return link?.href && link.parentElement.querySelectorAll('img').length === 0;
      }), { kind: 'custom' });
      assert.deepEqual(await axeSerious(page), []);
      await page.context().close();
    });
  });
}
