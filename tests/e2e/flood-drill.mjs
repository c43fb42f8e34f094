// The flood drill: a real `porch serve` under a slowloris attack (Debian's slowhttptest) and a
// WebSocket handshake flood, both from 127.0.0.1, while a legitimate guest from 127.0.0.2
// opens real sessions (Node `ws`) every 100 ms.
//
// It fails (exit 1) if a legitimate handshake fails, if the flood is never refused, if the
// slow connections are not cut, or if Porch's file descriptors do not return to their
// baseline within 15 s of the attack. It prints the legitimate handshake latencies during the
// attack (a figure, not a pass mark: SECURITY.md quotes it with this command).
//
//   node tests/e2e/flood-drill.mjs [--seconds 10] [--json FILE]
//
// Bounded: the attack lasts --seconds, everything targets 127.0.0.1, and it stops by itself.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

import { startPorch } from './lib/porch.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const ATTACK_SECONDS = Number(args.seconds ?? 10);
const HEADER_TIMEOUT_MS = 2_000;
const FLOOD_CONCURRENCY = 32;
const LEGIT_INTERVAL_MS = 100;
const LEGIT_TIMEOUT_MS = 5_000;
const FD_SETTLE_MS = 15_000;

const openFds = async (pid) => (await readdir(`/proc/${pid}/fd`)).length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];

/** One WebSocket handshake attempt from 127.0.0.1, read up to the status line, then dropped. */
function floodOnce(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
    let head = '';
    const done = (status) => { socket.destroy(); resolve(status); };
    socket.setTimeout(LEGIT_TIMEOUT_MS, () => done(0));
    socket.on('error', () => done(0));
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (head.length >= 12) done(Number(head.slice(9, 12)));
    });
    socket.write(`GET /api/v2/gateway HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
      + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
      + 'Sec-WebSocket-Protocol: NICE-WebSocket-Auth, x.y.z\r\n\r\n');
  });
}

async function flood(port, until) {
  const statuses = new Map();
  const worker = async () => {
    while (Date.now() < until) {
      const status = await floodOnce(port);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: FLOOD_CONCURRENCY }, worker));
  return Object.fromEntries(statuses);
}

/** A real guest session from 127.0.0.2: resolves with the ms until `ready`, or throws. */
function legitSession(porch, token) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(porch.gatewayUrl, ['NICE-WebSocket-Auth', token], { localAddress: '127.0.0.2', origin: porch.origin });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no ready within 5 s')); }, LEGIT_TIMEOUT_MS);
    ws.on('message', (data) => {
      if (JSON.parse(data.toString()).type !== 'ready') return;
      clearTimeout(timer);
      resolve(performance.now() - started);
      ws.close();
    });
    ws.on('close', (code, reason) => { clearTimeout(timer); reject(new Error(`closed ${code} ${reason}`)); });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

async function legit(porch, token, until) {
  const latencies = [];
  const failures = [];
  while (Date.now() < until) {
    const tick = sleep(LEGIT_INTERVAL_MS);
    try {
      latencies.push(await legitSession(porch, token));
    } catch (e) {
      failures.push(e.message);
    }
    await tick;
  }
  return { latencies: latencies.sort((a, b) => a - b), failures };
}

/** slowhttptest in slowloris mode; resolves with its CSV (seconds, closed, pending, connected, available). */
async function slowloris(port, seconds) {
  const dir = await mkdtemp(path.join(tmpdir(), 'porch-slowloris-'));
  const child = spawn('slowhttptest', ['-H', '-c', '1000', '-r', '200', '-i', '1', '-x', '24', '-p', '3',
    '-l', String(seconds), '-u', `http://127.0.0.1:${port}/livez`, '-g', '-o', path.join(dir, 'run')], { stdio: 'ignore' });
  const exited = new Promise((resolve, reject) => { child.once('exit', resolve); child.once('error', reject); });
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
  await exited;
  clearTimeout(killer);
  const csv = await readFile(path.join(dir, 'run.csv'), 'utf8').catch(() => '');
  await rm(dir, { recursive: true, force: true });
  return csv.trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
}

async function main() {
  const porch = await startPorch({ serveArgs: ['--http-header-timeout-ms', String(HEADER_TIMEOUT_MS)] });
  const failures = [];
  try {
    const pid = porch.proc.child.pid;
    const guest = await porch.createGuest();
    await legitSession(porch, guest.accessToken); // warm: the first session opens the store's pages
    await sleep(500);
    const fdsBefore = await openFds(pid);
    const until = Date.now() + ATTACK_SECONDS * 1000;
    let fdsPeak = fdsBefore;
    const sampler = setInterval(async () => { fdsPeak = Math.max(fdsPeak, await openFds(pid).catch(() => 0)); }, 250);
    const [slow, floodStatuses, calm] = await Promise.all([slowloris(porch.port, ATTACK_SECONDS), flood(porch.port, until), legit(porch, guest.accessToken, until)]);
    clearInterval(sampler);
    const settleStart = Date.now();
    let fdsAfter = await openFds(pid);
    while (fdsAfter > fdsBefore + 5 && Date.now() - settleStart < FD_SETTLE_MS) {
      await sleep(250);
      fdsAfter = await openFds(pid);
    }
    const settledMs = Date.now() - settleStart;
    const l = calm.latencies;
    const report = {
      attackSeconds: ATTACK_SECONDS,
      headerTimeoutMs: HEADER_TIMEOUT_MS,
      legit: { sessions: l.length, failures: calm.failures.length, p50Ms: +percentile(l, 0.5)?.toFixed(1), p99Ms: +percentile(l, 0.99)?.toFixed(1), maxMs: +l.at(-1)?.toFixed(1) },
      flood: { statuses: floodStatuses, attempts: Object.values(floodStatuses).reduce((a, b) => a + b, 0) },
      slowloris: { samples: slow.length, maxConnected: Math.max(0, ...slow.map((r) => r[3])), closedByServer: Math.max(0, ...slow.map((r) => r[1])) },
      fds: { before: fdsBefore, peak: fdsPeak, after: fdsAfter, settledMs },
    };
    console.log(JSON.stringify(report, null, 2));
    if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2));
    if (calm.failures.length > 0) failures.push(`legitimate sessions failed during the attack: ${calm.failures.slice(0, 3).join('; ')}`);
    if (l.length < ATTACK_SECONDS * 2) failures.push(`too few legitimate sessions completed: ${l.length}`);
    if (!(floodStatuses[429] > 0)) failures.push(`the handshake flood was never refused with 429: ${JSON.stringify(floodStatuses)}`);
    if (slow.length === 0) failures.push('slowhttptest produced no statistics');
    else if (report.slowloris.closedByServer === 0) failures.push('no slow connection was closed by the server');
    if (fdsAfter > fdsBefore + 5) failures.push(`file descriptors did not return to baseline: ${fdsBefore} before, ${fdsAfter} after ${FD_SETTLE_MS} ms`);
  } finally {
    await porch.stop();
  }
  if (failures.length > 0) {
    console.error(`flood drill FAILED:\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log('flood drill passed');
}

await main();
