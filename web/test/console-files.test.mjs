// Files in the console (issue 21), in Chromium with axe at 1280×800 and 390×844: the attach
// button sends a picture with its progress under the composer, the picture's preview (made by
// Porch) shows in the conversation with a link that downloads the file; a dropped PDF shows
// as a link; a pasted picture is sent; a file of a refused type is refused with the server's
// cause and code; once retention has deleted a closed conversation's files, their messages
// say "file removed".

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, openPage, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { SCREENS } from './lib/widget.mjs';

const T = { timeout: 120_000 };
// A real 1×1 PNG, so the browser decodes it (and Porch makes its preview).
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

for (const screen of SCREENS) {
  describe(`files in the console at ${screen.name}`, { timeout: 600_000 }, () => {
    // Retention of 1 s: a restart's first sweep deletes a closed conversation's files.
    const env = porchAndChromium({ serveArgs: ['--attachment-retention-secs', '1'] });

    it('attaches, shows progress, previews, downloads, refuses with the cause, says removed', T, async () => {
      const { porch } = env;
      const { body: guest } = await porch.api('POST', '/api/v2/webmessaging/guests', {
        bearer: await porch.clientToken(), json: { deploymentId: porch.deployment.id, displayName: 'Ines' }, expect: 201,
      });
      const cid = guest.conversationId;
      await porch.api('POST', '/api/v2/webmessaging/guests/messages', {
        bearer: guest.accessToken, json: { clientMessageId: 'c-1', text: 'Here is my screenshot' }, expect: 201,
      });

      const { name: _name, ...options } = screen;
      const page = await openPage(await env.browser.newContext(options), `${porch.baseUrl}/console/`);
      await page.fill('#login-name', porch.agent.name);
      await page.fill('#login-secret', porch.agent.secret);
      await page.press('#login-secret', 'Enter');
      await page.locator(`[data-conversation-id="${cid}"]`).click();
      await until(page, 'the message', (p) => p.locator('#messages').textContent().then((t) => t.includes('Here is my screenshot')));
      await page.evaluate(() => {
        const status = document.getElementById('attach-status');
        window.statusSeen = [];
        new MutationObserver(() => window.statusSeen.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
      });

      await page.setInputFiles('#attach-file', { name: 'label.png', mimeType: 'image/png', buffer: PNG });
      const shown = await until(page, 'the preview', () => page.evaluate(() => {
        const img = document.querySelector('#messages .msg.mine img.preview');
        const link = document.querySelector('#messages .msg.mine .file-link');
        return img && img.complete && img.naturalWidth === 1 && link?.href
          && { alt: img.alt, src: img.getAttribute('src'), href: link.href, download: link.getAttribute('download'), text: link.textContent };
      }), { kind: 'console' });
      assert.equal(shown.alt, 'Preview of label.png');
      assert.match(shown.src, /\/api\/v2\/attachments\/previews\//);
      assert.equal(shown.download, 'label.png');
      assert.equal(shown.text, `label.png (${PNG.length} B)`);
      const file = await fetch(shown.href);
      assert.equal(file.status, 200);
      assert.deepEqual(Buffer.from(await file.arrayBuffer()), PNG, 'the link downloads the file');
      const seen = await page.evaluate(() => window.statusSeen);
      assert.ok(seen.some((t) => /^Sending label\.png… \d+%$/.test(t)), `progress: ${JSON.stringify(seen)}`);
      assert.equal(await page.locator('#attach-status').textContent(), '', 'and gone once sent');

      await page.setInputFiles('#attach-file', { name: 'page.html', mimeType: 'text/html', buffer: Buffer.from('<script>alert(1)</script>') });
      const refused = await until(page, 'the refusal', (p) => p.locator('#attach-status').textContent().then((t) => t.includes('not sent') && t));
      assert.match(refused, /^page\.html was not sent: .*allowed: .*\(attachment_type_refused\)$/);

      // A PDF dropped on the conversation, a picture pasted into the reply.
      await page.evaluate((png) => {
        const drop = new DataTransfer();
        drop.items.add(new File(['%PDF-1.7\nabc'], 'manual.pdf', { type: 'application/pdf' }));
        document.getElementById('messages').dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
        const paste = new DataTransfer();
        paste.items.add(new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }));
        document.getElementById('reply').dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
      }, PNG.toString('base64'));
      await until(page, 'the dropped PDF and the pasted picture', () => page.evaluate(() => {
        const links = [...document.querySelectorAll('#messages .msg.mine .file-link')];
        const pdf = links.find((a) => a.textContent.startsWith('manual.pdf'));
        const pasted = links.find((a) => a.textContent.startsWith('pasted.png'));
        return pdf?.href && pasted && pdf.parentElement.querySelectorAll('img').length === 0;
      }), { kind: 'console' });
      const log = await porch.history(cid, env.agentToken);
      assert.deepEqual(log.filter((m) => m.attachment).map((m) => m.attachment.name).sort(), ['label.png', 'manual.pdf', 'pasted.png']);
      assert.deepEqual(await axeSerious(page), []);

      // Closed, past retention: the restart's sweep deletes the files, the messages stay.
      await env.agentCloses(cid);
      await new Promise((r) => setTimeout(r, 1_100));
      await porch.restart();
      await page.reload();
      await page.locator(`#closed-list [data-conversation-id="${cid}"]`).click();
      await until(page, 'the files removed', () => page.evaluate(() => {
        const texts = [...document.querySelectorAll('#messages .msg.mine .text')].map((t) => t.textContent);
        return texts.includes('label.png (file removed)') && texts.includes('manual.pdf (file removed)')
          && document.querySelectorAll('#messages img.preview').length === 0;
      }), { kind: 'console' });
      await page.context().close();
    });
  });
}
