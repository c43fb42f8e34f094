// What the Chromium suites of the widget and the pages set up alike: a real Porch and
// Debian's Chromium for the whole suite, an agent token, and the agent's REST calls.

import { after, afterEach, before } from 'node:test';

import { launch } from './browser.mjs';
import { startPorch } from './porch.mjs';

/**
 * Registers the suite's hooks and returns what they set up: `porch`, `browser`,
 * `agentToken` (once `before` has run), and the agent's calls. A test that stopped Porch
 * gets it back before the next one starts.
 */
export function porchAndChromium(options) {
  const env = {
    porch: null,
    browser: null,
    agentToken: '',
    /** The agent answers in a conversation over REST. */
    agentSays: (cid, text) => env.porch.api('POST', `/api/v2/agent/conversations/${cid}/messages`, {
      bearer: env.agentToken, json: { clientMessageId: `a-${Date.now()}-${Math.random()}`, text }, expect: 201,
    }),
    agentCloses: (cid) => env.porch.api('POST', `/api/v2/agent/conversations/${cid}/close`, { bearer: env.agentToken, expect: 200 }),
    /** The conversation's log as `seq:text` lines: what a page must show. */
    truth: async (cid) => (await env.porch.history(cid, env.agentToken)).map((m) => `${m.seq}:${m.text}`),
  };
  before(async () => {
    env.porch = await startPorch(options);
    env.browser = await launch();
    env.agentToken = (await env.porch.agentLogin()).accessToken;
  });
  after(async () => {
    await env.browser?.close();
    await env.porch?.stop();
  });
  afterEach(() => env.porch?.ensureRunning());
  return env;
}
