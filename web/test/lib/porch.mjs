// A real `porch serve` for the web tests: temp data dir, records made with the real CLI, and
// restart on the same port and data dir (the browser pages must find it where they left it).
// The approach of tests/e2e/lib/porch.mjs, plus kill/restart.

import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const PORCH_BIN = process.env.PORCH_BIN
  || path.join(process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target'), 'debug', 'porch');

const START_TIMEOUT_MS = 20_000;
const CLI_TIMEOUT_MS = 20_000;
const LOG_KEEP = 64 * 1024;

/** Ours minus PORCH_*: a developer's shell must not change what the tests see. */
function cleanEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PORCH_')) delete env[key];
  return env;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a porch command; resolves with its stdout. */
export function run(dataDir, args) {
  const full = [...args, '--data-dir', dataDir];
  return new Promise((resolve, reject) => {
    execFile(PORCH_BIN, full, { env: cleanEnv(), timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`porch ${full.join(' ')} failed (${err.code ?? err.signal}):\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

/** Runs a porch command with --json; resolves with the object it printed. */
export async function cli(dataDir, args) {
  const stdout = await run(dataDir, [...args, '--json']);
  try {
    return JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1));
  } catch (e) {
    throw new Error(`porch ${args.join(' ')} printed no JSON: ${e.message}\n${stdout}`);
  }
}

function spawnServe(dataDir, port, extraArgs) {
  const child = spawn(PORCH_BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...extraArgs], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c) => { err = (err + c).slice(-LOG_KEEP); });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`porch serve printed no "listening on" within ${START_TIMEOUT_MS} ms\n${err}`)), START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (c) => {
      out = (out + c).slice(-LOG_KEEP);
      if (/listening on http:\/\/127\.0\.0\.1:\d+/.test(out)) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`porch serve exited (${code ?? signal}) before listening\n${err}`)); });
  });
  return { child, ready, logs: () => err };
}

/**
 * A running Porch with one deployment whose origins are Porch's own (so the pages it serves
 * can use the widget endpoint) plus `extraOrigins`, one agent, and `serveArgs` passed to serve.
 */
export async function startPorch({ extraOrigins = [], serveArgs = [] } = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'porch-web-'));
  try {
    const agent = await cli(dataDir, ['agents', 'create', '--name', 'alice']);
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const origins = [`http://127.0.0.1:${port}`, ...extraOrigins];
      const deployment = await cli(dataDir, ['deployments', 'create', '--name', `web-${port}`, ...origins.flatMap((o) => ['--origin', o])]);
      const proc = spawnServe(dataDir, port, serveArgs);
      try {
        await proc.ready;
        return new Porch({ dataDir, port, proc, deployment, agent, serveArgs });
      } catch (e) {
        proc.child.kill('SIGKILL');
        if (attempt >= 3 || !/in use/i.test(proc.logs())) throw e;
      }
    }
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

export class Porch {
  constructor({ dataDir, port, proc, deployment, agent, serveArgs }) {
    Object.assign(this, { dataDir, port, proc, deployment, agent, serveArgs });
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.origin = this.baseUrl;
  }

  get logs() { return this.proc.logs(); }

  /** Stops the process: SIGTERM (sessions close with 4200) or SIGKILL (sockets just drop). */
  async kill(signal = 'SIGTERM') {
    const { child } = this.proc;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
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

  /** Another deployment (the CLI works while the server runs), allowing Porch's origin. */
  createDeployment({ name, ttlSecs, origins = [this.origin] } = {}) {
    const ttl = ttlSecs ? ['--guest-token-ttl-secs', String(ttlSecs)] : [];
    return cli(this.dataDir, ['deployments', 'create', '--name', name ?? `web-${Date.now()}`, ...origins.flatMap((o) => ['--origin', o]), ...ttl]);
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
