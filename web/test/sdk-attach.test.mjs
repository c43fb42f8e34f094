// Attachments through the SDK against a real Porch (docs/attachments.md): a guest attaches a
// file and the agent reads it back; a file the announced limits refuse is refused before any
// request; an agent attaches too.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PorchAgent, PorchGuest, memoryStorage } from '../public/sdk/porch.js';
import { refuseFile } from '../public/sdk/attach.js';
import { startPorch } from './lib/porch.mjs';
import { controlledFetch, controlledSockets } from './lib/sockets.mjs';

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(5000).fill(7)]);

describe('attachments through the SDK', { timeout: 120_000 }, () => {
  let porch;
  let agentSession;
  const clients = [];

  before(async () => {
    porch = await startPorch();
    agentSession = await porch.agentLogin();
  });
  after(async () => {
    for (const c of clients) c.end();
    await porch?.stop();
  });

  async function startedGuest() {
    const fetch = controlledFetch({ origin: porch.origin });
    const guest = new PorchGuest({ baseUrl: porch.baseUrl, deploymentId: porch.deployment.id, fetch, storage: memoryStorage(), WebSocket: controlledSockets().WebSocket });
    clients.push(guest);
    await guest.start();
    return guest;
  }

  it('announces the limits, attaches a file with progress, and reads it back', async () => {
    const guest = await startedGuest();
    assert.deepEqual(guest.limits?.attachments.types.includes('image/png'), true);
    const progress = [];
    const file = new File([PNG], 'screen.png', { type: 'image/png' });
    const message = await guest.attach(file, { onProgress: (p) => progress.push(p) });
    assert.equal(message.attachment?.name, 'screen.png');
    assert.equal(message.attachment?.size, PNG.length);
    assert.equal(message.text, 'screen.png');
    assert.deepEqual(progress.at(-1), { loaded: PNG.length, total: PNG.length });

    const { url } = await guest.attachmentUrl(message.attachment.id);
    const res = await fetch(url);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), PNG);

    const agent = new PorchAgent({ session: agentSession, storage: memoryStorage() });
    clients.push(agent);
    const back = await agent.attachmentUrl(guest.conversationId, message.attachment.id);
    assert.equal((await fetch(back.url)).status, 200);
    const pdf = new File([new TextEncoder().encode('%PDF-1.7\nmanual')], 'manual.pdf', { type: 'application/pdf' });
    const sent = await agent.attach(guest.conversationId, pdf);
    assert.equal(sent.attachment?.contentType, 'application/pdf');
  });

  it('refuses before any request what the limits refuse, with the server codes', async () => {
    const guest = await startedGuest();
    const before = guest._fetch.log.length;
    const html = new File(['<script>alert(1)</script>'], 'a.html', { type: 'text/html' });
    await assert.rejects(guest.attach(html), { code: 'attachment_type_refused' });
    assert.equal(guest._fetch.log.length, before, 'nothing was sent');
    const limits = { bytesMax: 10, conversationBytesMax: 100, types: ['image/png'] };
    assert.equal(refuseFile(new Blob([PNG], { type: 'image/png' }), limits)?.code, 'attachment_too_large');
    assert.equal(refuseFile(new Blob([PNG.slice(0, 9)], { type: 'image/png' }), limits), null);
    // The server checks the content all the same: HTML declared as PNG is refused there.
    const disguised = new File(['<!doctype html><script>x</script>'], 'a.png', { type: 'image/png' });
    await assert.rejects(guest.attach(disguised), { code: 'attachment_type_mismatch' });
  });
});
