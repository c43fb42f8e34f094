// docs/identity.md's Node signer (jose), taken from the page as it is, against a real porch:
// the builder registers its ES256 public key with the CLI, signs for a logged-in visitor, and
// the widget endpoint opens that customer's session; the same token again is a replay. Then the
// same customer on two devices (two Chromium profiles): each sees both conversations.

import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { exportJWK, generateKeyPair } from 'jose';

import { cli } from '../lib/porch-process.mjs';
import { launchBrowser, openDemo } from './lib/browser.mjs';
import { startPorch } from './lib/porch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The ```js identity-signer block of docs/identity.md, as a module next to this test (so it
 *  resolves `jose` from this suite's node_modules). */
async function docSigner() {
  const doc = await readFile(path.join(here, '../../docs/identity.md'), 'utf8');
  const blocks = doc.split('```js identity-signer\n').slice(1).map((b) => b.split('\n```')[0]);
  assert.equal(blocks.length, 1, 'docs/identity.md has one Node signer');
  const file = path.join(here, `.identity-signer-${process.pid}.mjs`);
  await writeFile(file, blocks[0]);
  try {
    return await import(file);
  } finally {
    await rm(file, { force: true });
  }
}

let porch;
before(async () => { porch = await startPorch(); });
after(async () => { await porch?.stop(); });

test("docs/identity.md's Node signer opens the customer's session, once", async () => {
  const { identityToken } = await docSigner();
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwkFile = path.join(porch.dataDir, 'public.jwk.json');
  await writeFile(jwkFile, JSON.stringify(await exportJWK(publicKey)));
  const key = await cli(porch.dataDir, ['identity-keys', 'add', '--deployment', porch.deployment.id, '--jwk', jwkFile]);
  assert.equal(key.alg, 'ES256');
  assert.equal(key.secret, null, 'nothing secret is shown for a public key');

  const user = { id: 'crm-42', name: 'Ann Lee', email: 'ann@example.com' };
  const token = await identityToken(await exportJWK(privateKey), key.kid, porch.deployment.id, user);
  const widgetPath = `/api/v2/webmessaging/deployments/${porch.deployment.id}/guests`;
  const open = () => porch.api('POST', widgetPath, { headers: { origin: porch.origin }, json: { identityToken: token } });

  const first = await open();
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal(first.body.guest.externalId, 'crm-42');
  assert.equal(first.body.guest.displayName, 'Ann Lee');
  const listed = await porch.expect(200, 'GET', '/api/v2/webmessaging/guests/conversations', { bearer: first.body.accessToken });
  assert.deepEqual(listed.conversations.map((c) => c.id), [first.body.conversationId]);

  const again = await open();
  assert.equal(again.status, 403);
  assert.equal(again.body.error, 'identity_replayed');
});

/** In the page: open a widget session with `identityToken`, then list the customer's
 *  conversations with the session's token, as a page script would. */
async function openAndList(page, deploymentId, identityToken) {
  return page.evaluate(async ([dep, token]) => {
    const opened = await fetch(`/api/v2/webmessaging/deployments/${dep}/guests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identityToken: token }),
    });
    const session = await opened.json();
    if (opened.status !== 201) return { status: opened.status, session };
    const listed = await fetch('/api/v2/webmessaging/guests/conversations', {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    return { status: opened.status, session, list: await listed.json() };
  }, [deploymentId, identityToken]);
}

test('the same customer in two Chromium profiles sees the same conversations', { timeout: 90_000 }, async () => {
  const { identityToken } = await docSigner();
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwkFile = path.join(porch.dataDir, 'phone-and-laptop.jwk.json');
  await writeFile(jwkFile, JSON.stringify(await exportJWK(publicKey)));
  const key = await cli(porch.dataDir, ['identity-keys', 'add', '--deployment', porch.deployment.id, '--jwk', jwkFile]);
  const privateJwk = await exportJWK(privateKey);
  const user = { id: 'crm-two-devices', name: 'Bo Dee', email: 'bo@example.com' };
  const sign = () => identityToken(privateJwk, key.kid, porch.deployment.id, user);

  const phone = await launchBrowser();
  const laptop = await launchBrowser();
  try {
    const onPhone = await openAndList(await openDemo(phone.context, porch.baseUrl), porch.deployment.id, await sign());
    assert.equal(onPhone.status, 201, JSON.stringify(onPhone.session));
    const laptopPage = await openDemo(laptop.context, porch.baseUrl);
    const onLaptop = await openAndList(laptopPage, porch.deployment.id, await sign());
    assert.equal(onLaptop.status, 201, JSON.stringify(onLaptop.session));
    const both = [onLaptop.session.conversationId, onPhone.session.conversationId];
    assert.deepEqual(new Set(onLaptop.list.conversations.map((c) => c.id)), new Set(both));
    // Back on the phone, later: the laptop's conversation is there too.
    const phoneAgain = await openDemo(phone.context, porch.baseUrl);
    const relisted = await phoneAgain.evaluate(async (token) => {
      const res = await fetch('/api/v2/webmessaging/guests/conversations', { headers: { authorization: `Bearer ${token}` } });
      return res.json();
    }, onPhone.session.accessToken);
    assert.deepEqual(relisted, onLaptop.list, 'both devices list the same page');
  } finally {
    await phone.close();
    await laptop.close();
  }
});
