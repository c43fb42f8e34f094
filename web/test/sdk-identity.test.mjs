// The guest SDK with an identity token (docs/identity.md) against a real Porch: `guest` passes
// `identityToken` to the widget endpoint when the session is created, so the session is the
// customer's the builder's backend signed for. The token is signed here as a backend would,
// HS256 with the secret `porch identity-keys add` printed (node:crypto, no library).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';

import { PorchGuest, memoryStorage } from '../public/sdk/porch.js';
import { cli } from '../../tests/lib/porch-process.mjs';
import { startPorch } from './lib/porch.mjs';
import { controlledFetch, controlledSockets } from './lib/sockets.mjs';

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function sign(key, deploymentId, sub) {
  const now = Math.floor(Date.now() / 1000);
  const signed = `${b64({ alg: 'HS256', kid: key.kid })}.${b64({ sub, name: 'Ann Lee', aud: deploymentId, iat: now, exp: now + 120, jti: randomUUID() })}`;
  const mac = createHmac('sha256', Buffer.from(key.secret, 'base64url')).update(signed).digest('base64url');
  return `${signed}.${mac}`;
}

describe('PorchGuest with an identity token', { timeout: 120_000 }, () => {
  let porch;
  before(async () => { porch = await startPorch(); });
  after(async () => { await porch?.stop(); });

  it("opens the customer's session, signed when it is created", { timeout: 60_000 }, async () => {
    const key = await cli(porch.dataDir, ['identity-keys', 'add', '--deployment', porch.deployment.id]);
    let signed = 0;
    const storage = memoryStorage();
    const guest = new PorchGuest({
      baseUrl: porch.baseUrl,
      deploymentId: porch.deployment.id,
      guest: () => { signed += 1; return { identityToken: sign(key, porch.deployment.id, 'crm-42') }; },
      WebSocket: controlledSockets().WebSocket,
      fetch: controlledFetch({ origin: porch.origin }),
      storage,
    });
    try {
      await guest.start();
      const { session } = JSON.parse(storage.getItem(`porch:guest:${porch.deployment.id}`));
      const res = await fetch(`${porch.baseUrl}/api/v2/webmessaging/guests/conversations`, {
        headers: { authorization: `Bearer ${session.accessToken}` },
      });
      const [conversation] = (await res.json()).conversations;
      assert.equal(conversation.id, guest.conversationId);
      assert.equal(conversation.guest.externalId, 'crm-42');
      assert.equal(conversation.guest.displayName, 'Ann Lee');
      assert.equal(signed, 1, 'one token for one session');
    } finally {
      guest.end();
    }
  });
});
