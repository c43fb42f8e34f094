// Files in the widget (issue 21), in Chromium: the attach button sends a picture, the status
// line shows its progress, its preview (made by Porch) shows in the conversation and the
// picture opens from its link; a
// file of a refused type is refused in plain words before any upload, and HTML named .png is
// refused by the server in the same words; the agent's PDF shows as a link that downloads.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { axeSerious, until } from './lib/browser.mjs';
import { porchAndChromium } from './lib/suite.mjs';
import { DEVELOPER_TEXT, SCREENS, conversationOf, panel, widgetPage, write } from './lib/widget.mjs';

const T = { timeout: 120_000 };
// A real 1×1 PNG, so the browser decodes it.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe('files in the widget (issue 21)', { timeout: 300_000 }, () => {
  const env = porchAndChromium();
  const shopUrl = () => `${env.porch.baseUrl}/examples/widget-host.html?deployment=${env.porch.deployment.id}`;
  const inShadow = (page, fn) => page.evaluate((f) => new Function('root', `return (${f})(root)`)(document.getElementById('porch-widget').shadowRoot), fn.toString());

  it('sends a picture with its progress and shows it; refuses what cannot be sent in plain words', T, async () => {
    const page = await widgetPage(env.browser, SCREENS[0], shopUrl());
    await page.click('.launcher');
    await write(page, 'My order is broken');
    const cid = await conversationOf(page, env.porch.deployment.id);
    await page.evaluate(() => {
      // Every status line shown, to see the progress go by.
      const status = document.getElementById('porch-widget').shadowRoot.querySelector('.status');
      window.statusSeen = [];
      new MutationObserver(() => window.statusSeen.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
    });
    await page.setInputFiles('.file', { name: 'broken.png', mimeType: 'image/png', buffer: PNG });
    const shown = await until(page, 'the picture in the conversation', () => inShadow(page, (root) => {
      const img = root.querySelector('.msg.mine img.preview');
      return img && img.complete && img.naturalWidth === 1 && { alt: img.alt, src: img.getAttribute('src'), link: root.querySelector('.msg.mine .file-link').getAttribute('href') };
    }));
    assert.equal(shown.alt, 'Preview of broken.png');
    assert.match(shown.src, /\/api\/v2\/attachments\/previews\//, 'the preview Porch made, not the file');
    assert.match(shown.link, /\/api\/v2\/attachments\/content\//);
    const seen = await page.evaluate(() => window.statusSeen);
    assert.ok(seen.some((t) => /^Sending broken\.png… \d+%$/.test(t)), `progress on the status line: ${JSON.stringify(seen)}`);
    assert.equal((await panel(page)).status, '', 'and gone once sent');
    const log = await env.porch.history(cid, env.agentToken);
    assert.equal(log.at(-1).attachment?.name, 'broken.png', 'the agent has it');

    await page.setInputFiles('.file', { name: 'page.html', mimeType: 'text/html', buffer: Buffer.from('<script>alert(1)</script>') });
    await until(page, 'the type refused', () => panel(page).then((p) => p.status === 'This kind of file cannot be sent. Send a picture or a PDF.'));
    await page.setInputFiles('.file', { name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('<!doctype html><script>alert(1)</script>') });
    await until(page, 'the disguised page refused by the server', () => panel(page).then((p) => p.status === 'This kind of file cannot be sent. Send a picture or a PDF.' && p));
    assert.doesNotMatch((await panel(page)).text, DEVELOPER_TEXT);
    assert.equal((await env.porch.history(cid, env.agentToken)).filter((m) => m.attachment).length, 1, 'nothing else stored');

    // The agent's PDF: a link, no picture.
    const grant = await env.porch.api('POST', `/api/v2/agent/conversations/${cid}/attachments`, {
      bearer: env.agentToken, json: { clientMessageId: 'pdf-1', name: 'manual.pdf', size: 12, contentType: 'application/pdf' }, expect: 201,
    });
    const put = await fetch(grant.body.uploadUrl, { method: 'PUT', body: Buffer.from('%PDF-1.7\nabc') });
    assert.equal(put.status, 201);
    const pdf = await until(page, 'the agent\'s file', () => inShadow(page, (root) => {
      const link = [...root.querySelectorAll('.msg.theirs .file-link')].find((a) => a.textContent === 'manual.pdf');
      return link && link.getAttribute('href') !== '#' && { href: link.href, images: link.parentElement.querySelectorAll('img').length };
    }));
    assert.equal(pdf.images, 0);
    const download = await fetch(pdf.href);
    assert.match(download.headers.get('content-disposition'), /^attachment;/);
    assert.deepEqual(await axeSerious(page), []);
    await page.context().close();
  });
});
