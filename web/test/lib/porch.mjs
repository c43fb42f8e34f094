// A real `porch serve` for the web tests: temp data dir, records made with the real CLI, and
// restart on the same port and data dir (the browser pages must find it where they left it).
// The process itself is tests/lib/porch-process.mjs, shared with tests/e2e.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { cli, freePort, run, spawnServe, stopServe } from '../../../tests/lib/porch-process.mjs';

/**
 * A running Porch with one deployment whose origins are Porch's own (so the pages it serves
 * can use the widget endpoint) plus `extraOrigins`, one agent, one OAuth client (the
 * customer's backend, scopes `guests` and `notices`), and `serveArgs` passed to serve. Its
 * deployments have the offline form off (`liveChat`).
 */
export async function startPorch({ extraOrigins = [], serveArgs = [] } = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'porch-web-'));
  try {
    const agent = await cli(dataDir, ['agents', 'create', '--name', 'alice']);
    const client = await cli(dataDir, ['clients', 'create', '--name', 'web-backend', '--scope', 'guests', '--scope', 'notices']);
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const origins = [`http://127.0.0.1:${port}`, ...extraOrigins];
      const deployment = await liveChat(dataDir, await cli(dataDir, ['deployments', 'create', '--name', `web-${port}`, ...origins.flatMap((o) => ['--origin', o])]));
      const proc = spawnServe(dataDir, port, serveArgs);
      try {
        await proc.ready;
        return new Porch({ dataDir, port, proc, deployment, agent, client, serveArgs });
      } catch (e) {
        proc.child.kill('SIGKILL');
        if (attempt >= 3 || !/in use/i.test(proc.stderr.text)) throw e;
      }
    }
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

export class Porch {
  constructor({ dataDir, port, proc, deployment, agent, client, serveArgs }) {
    Object.assign(this, { dataDir, port, proc, deployment, agent, client, serveArgs });
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.origin = this.baseUrl;
  }

  get logs() { return this.proc.stderr.text; }

  /** Stops the process: SIGTERM (sessions close with 4200) or SIGKILL (sockets just drop). */
  async kill(signal = 'SIGTERM') {
    await stopServe(this.proc.child, signal);
  }

  /** Starts again on the same port and data dir. The port was ours a moment ago; TIME_WAIT
   * sockets do not block it (porch binds with SO_REUSEADDR). */
  async restart() {
    await this.kill();
    this.proc = spawnServe(this.dataDir, this.port, this.serveArgs);
    await this.proc.ready;
  }

  /** Starts it again if a test left it stopped. */
  async ensureRunning() {
    const { child } = this.proc;
    if (child.exitCode !== null || child.signalCode !== null) await this.restart();
  }

  async stop() {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** Another deployment (the CLI works while the server runs), allowing Porch's origin.
   * `offlineForm`: keep the offline form on (see `liveChat`). */
  async createDeployment({ name, ttlSecs, origins = [this.origin], offlineForm = false } = {}) {
    const ttl = ttlSecs ? ['--guest-token-ttl-secs', String(ttlSecs)] : [];
    const created = await cli(this.dataDir, ['deployments', 'create', '--name', name ?? `web-${Date.now()}`, ...origins.flatMap((o) => ['--origin', o]), ...ttl]);
    return offlineForm ? created : liveChat(this.dataDir, created);
  }

  /** Any other CLI verb, with `--json`: the parsed answer. @param {string[]} args */
  cli(args) {
    return cli(this.dataDir, args);
  }

  revokeGuest(guestId) {
    return run(this.dataDir, ['guests', 'revoke', guestId]);
  }

  /** One JSON request; fails with the whole answer unless the status is `expect`. */
  async api(method, urlPath, { bearer, json, headers = {}, expect } = {}) {
    const h = { ...headers };
    if (bearer) h.authorization = `Bearer ${bearer}`;
    if (json !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(this.baseUrl + urlPath, { method, headers: h, body: json === undefined ? undefined : JSON.stringify(json), signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let body = text;
    try { body = JSON.parse(text); } catch { /* keep text */ }
    if (expect !== undefined && res.status !== expect) throw new Error(`${method} ${urlPath}: expected ${expect}, got ${res.status}: ${text}`);
    return { status: res.status, body, headers: res.headers };
  }

  /** A guest session through the widget endpoint, as the widget makes it (Origin = Porch's). */
  async createGuest(displayName = 'Ann', deploymentId = this.deployment.id) {
    const { body } = await this.api('POST', `/api/v2/webmessaging/deployments/${deploymentId}/guests`, {
      json: { displayName }, headers: { origin: this.origin }, expect: 201,
    });
    return body;
  }

  /** The backend's client token (client credentials grant, HTTP Basic); kept for the run
   * (signing keys live in the store, so it outlives a restart). */
  async clientToken() {
    this._clientToken ??= (async () => {
      const res = await fetch(`${this.baseUrl}/api/v2/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(this.client.id)}:${encodeURIComponent(this.client.secret)}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`POST /api/v2/oauth/token: expected 200, got ${res.status}: ${text}`);
      return JSON.parse(text).access_token;
    })().catch((e) => { this._clientToken = null; throw e; });
    return this._clientToken;
  }

  /** Sets a deployment's notice, as the customer's backend does; resolves with the notice. */
  async setNotice(text, deploymentId = this.deployment.id) {
    const { body } = await this.api('PUT', noticePath(deploymentId), { bearer: await this.clientToken(), json: { text }, expect: 200 });
    return body.notice;
  }

  async clearNotice(deploymentId = this.deployment.id) {
    await this.api('DELETE', noticePath(deploymentId), { bearer: await this.clientToken(), expect: 200 });
  }

  async agentLogin() {
    const { body } = await this.api('POST', '/api/v2/agents/login', { json: { name: this.agent.name, secret: this.agent.secret }, expect: 200 });
    return body;
  }

  /** A guest's whole log over REST (the truth the UIs are compared with). */
  async history(conversationId, agentToken) {
    const { body } = await this.api('GET', `/api/v2/agent/conversations/${conversationId}/messages?after=0&limit=200`, { bearer: agentToken, expect: 200 });
    return body.messages;
  }
}

/** Turns the deployment's offline form off: most pages test the live chat, whose agent is
 * rarely `available` when the widget loads (widget-offline.test.mjs tests the form). */
function liveChat(dataDir, deployment) {
  return cli(dataDir, ['deployments', 'update', deployment.id, '--offline-form', 'false']);
}

const noticePath = (deploymentId) => `/api/v2/webmessaging/deployments/${encodeURIComponent(deploymentId)}/notice`;
