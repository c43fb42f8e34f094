// The `porch` process for the Node test suites (tests/e2e and web/test): the binary under test,
// its CLI, and `porch serve` on a port of ours, with the tails of its output kept for failure
// messages. Node built-ins only, so both suites import it by path. No mocks: the tests drive
// the real binary.

import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The binary under test: `PORCH_BIN`, else the debug build of this checkout. */
export const PORCH_BIN = process.env.PORCH_BIN
  || path.join(process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target'), 'debug', 'porch');

const START_TIMEOUT_MS = 20_000;
const CLI_TIMEOUT_MS = 20_000;
const LOG_KEEP_BYTES = 64 * 1024;

/** The environment porch runs with: ours, minus every PORCH_* setting, so a developer's shell
 * or CI cannot change what the tests see (e.g. PORCH_ALLOW_QUERY_TOKEN=true). */
function cleanEnv() {
  const env = { ...process.env, RUST_BACKTRACE: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('PORCH_')) delete env[key];
  return env;
}

/** A port that was free a moment ago. Needed before `serve` starts because the deployment's
 * allowed origin (`http://127.0.0.1:PORT`) must name it. */
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

/** Runs a porch CLI command on `dataDir`; resolves with its stdout. */
export function run(dataDir, args) {
  const full = [...args, '--data-dir', dataDir];
  return new Promise((resolve, reject) => {
    execFile(PORCH_BIN, full, { env: cleanEnv(), timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`porch ${full.join(' ')} failed (${err.code ?? err.signal}):\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

/** Runs a porch CLI command with `--json`; resolves with the object it printed. */
export async function cli(dataDir, args) {
  const stdout = await run(dataDir, [...args, '--json']);
  try {
    // The JSON object is the whole output; tolerate a line of text around it.
    return JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1));
  } catch (e) {
    throw new Error(`porch ${args.join(' ')} printed no JSON object: ${e.message}\nstdout: ${stdout}`);
  }
}

/** Keeps the tail of a stream, for failure messages. */
function tail() {
  let text = '';
  return {
    push(chunk) { text = (text + chunk).slice(-LOG_KEEP_BYTES); },
    get text() { return text; },
  };
}

/**
 * Spawns `porch serve` on 127.0.0.1:`port`. `ready` resolves with `{ baseUrl }` once it printed
 * its listening line, and rejects (with its stderr) if it exits or says nothing in time.
 */
export function spawnServe(dataDir, port, serveArgs = []) {
  const child = spawn(PORCH_BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...serveArgs], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout = tail();
  const stderr = tail();
  child.stderr.setEncoding('utf8').on('data', (c) => stderr.push(c));
  const ready = new Promise((resolve, reject) => {
    const fail = (why) => reject(new Error(`${why}\n--- porch stderr ---\n${stderr.text}\n--- porch stdout ---\n${stdout.text}`));
    const timer = setTimeout(() => fail(`porch serve printed no "listening on" line within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout.push(chunk);
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(stdout.text);
      if (m) {
        clearTimeout(timer);
        if (Number(m[2]) === port) resolve({ baseUrl: m[1] });
        else fail(`asked porch to listen on port ${port}, it says: ${m[0]}`);
      }
    });
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('exit', (code, signal) => { clearTimeout(timer); fail(`porch serve exited (${code ?? signal}) before listening`); });
  });
  return { child, stdout, stderr, ready };
}

/** Stops a `porch serve` child: `signal` (SIGTERM: sessions close with 4200), then SIGKILL
 * after 5 s. Resolves once it has exited; does nothing if it already has. */
export async function stopServe(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
