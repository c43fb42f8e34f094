// Test harness: a real `porch serve` on a temp data dir, records made with the real CLI, and
// REST helpers that speak the documented wire contract. No mocks: if Porch misbehaves, the
// tests that use this see it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { cli, freePort, spawnServe, stopServe } from '../../lib/porch-process.mjs';

const HTTP_TIMEOUT_MS = 10_000;

/**
 * Starts a Porch with one deployment (origin `http://127.0.0.1:PORT` plus `extraOrigins`),
 * one OAuth client with scope `guests` and one agent. Register `stop` with `t.after`/`after`.
 */
export async function startPorch({ extraOrigins = [], serveArgs = [] } = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'porch-e2e-'));
  try {
    // The test's own records (the server makes no demo set-up without --demo).
    const client = await cli(dataDir, ['clients', 'create', '--name', 'e2e-backend', '--scope', 'guests']);
    const agent = await cli(dataDir, ['agents', 'create', '--name', 'e2e-agent']);
    let lastError;
    // The port can be taken between freePort() and bind; try a few times before giving up.
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const port = await freePort();
      const origins = [`http://127.0.0.1:${port}`, ...extraOrigins];
      const deployment = await cli(dataDir, ['deployments', 'create', '--name', `e2e-${port}`,
        ...origins.flatMap((o) => ['--origin', o])]);
      const proc = spawnServe(dataDir, port, serveArgs);
      try {
        const { baseUrl } = await proc.ready;
        return new Porch({ dataDir, baseUrl, port, proc, deployment, client, agent });
      } catch (e) {
        proc.child.kill('SIGKILL');
        lastError = e;
        if (!/in use/i.test(proc.stderr.text)) break;
      }
    }
    throw lastError;
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

export class Porch {
  constructor({ dataDir, baseUrl, port, proc, deployment, client, agent }) {
    Object.assign(this, { dataDir, baseUrl, port, proc, deployment, client, agent });
    this.origin = `http://127.0.0.1:${port}`;
    this.gatewayUrl = `ws://127.0.0.1:${port}/api/v2/gateway`;
  }

  /** Porch's recent stderr, for failure messages. */
  get logs() {
    return this.proc.stderr.text;
  }

  /** Kills the server and removes the data dir. Safe to call twice. */
  async stop() {
    await stopServe(this.proc.child);
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** Another deployment, made with the CLI while the server runs. */
  createDeployment({ name, origins }) {
    return cli(this.dataDir, ['deployments', 'create', '--name', name, ...origins.flatMap((o) => ['--origin', o])]);
  }

  /**
   * One HTTP request. `bearer`, `basic: [id, secret]`, `json` or `form` as needed.
   * Returns { status, headers, body } with body parsed as JSON when it is JSON.
   */
  async api(method, urlPath, { bearer, basic, json, form, headers = {} } = {}) {
    const h = { ...headers };
    let body;
    if (bearer) h.authorization = `Bearer ${bearer}`;
    if (basic) h.authorization = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`;
    if (json !== undefined) { h['content-type'] = 'application/json'; body = JSON.stringify(json); }
    if (form) { h['content-type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(form).toString(); }
    const res = await fetch(this.baseUrl + urlPath, { method, headers: h, body, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    const text = await res.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON: keep the text */ }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  /** Like `api`, but fails with the whole response unless the status is `expect`. */
  async expect(expectStatus, method, urlPath, opts) {
    const res = await this.api(method, urlPath, opts);
    if (res.status !== expectStatus) {
      throw new Error(`${method} ${urlPath}: expected ${expectStatus}, got ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  /** An OAuth client token (client credentials grant, HTTP Basic), as a customer backend gets. */
  async clientToken() {
    const body = await this.expect(200, 'POST', '/api/v2/oauth/token', {
      basic: [this.client.id, this.client.secret],
      form: { grant_type: 'client_credentials', scope: 'guests' },
    });
    return body.access_token;
  }

  /** A guest session: { guestId, conversationId, gatewayUrl, accessToken, ... }. */
  async createGuest({ displayName = 'E2E Guest', deploymentId = this.deployment.id, clientToken } = {}) {
    const token = clientToken ?? (await this.clientToken());
    return this.expect(201, 'POST', '/api/v2/webmessaging/guests', {
      bearer: token,
      json: { deploymentId, displayName },
    });
  }

  /** The agent's session: { agentId, accessToken, gatewayUrl, queues }. */
  agentLogin() {
    return this.expect(200, 'POST', '/api/v2/agents/login', {
      json: { name: this.agent.name, secret: this.agent.secret },
    });
  }
}
