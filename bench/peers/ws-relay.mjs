// The `ws-relay` peer of BENCHMARKS.md: the least a Node relay built on the `ws` library does,
// so Porch can be compared with what a small hand-written Node service would cost.
//
//   node bench/peers/ws-relay.mjs [port]      (default 19602; or PORT=…)
//
// `ws` is loaded from the folder bench/peers/install-ws-relay.sh installs it into
// (WS_RELAY_DIR, else ${PORCH_PEERS_DIR:-~/.cache/porch-peers}/ws-relay): nothing of it is in
// the repository. porch-bench starts and stops this script itself (`--target ws-relay`).
//
// Protocol, on 127.0.0.1 only:
// - WebSocket on any path: `{"type":"ready"}` on connection (the handshake's end for S2);
//   a text frame `{"type":"sub","channel":"c"}` subscribes to channel c and is answered by
//   `{"type":"subscribed","channel":"c"}` (so the harness knows when to publish); any other
//   frame is echoed back to its sender (S4 ping-pong).
// - `POST /publish` with JSON `{"channel":"c","data":…}`: `data` (a string as is, anything
//   else as JSON) goes as one text frame to every subscriber of c; the answer is 202 (S3).
// No storage, no auth, no compression: the same bare work as the other peers.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

const peersDir = process.env.PORCH_PEERS_DIR ?? join(homedir(), '.cache', 'porch-peers');
const installDir = process.env.WS_RELAY_DIR ?? join(peersDir, 'ws-relay');
let WebSocketServer;
try {
  ({ WebSocketServer } = createRequire(join(installDir, 'package.json'))('ws'));
} catch (e) {
  console.error(`ws is not installed in ${installDir}: run bench/peers/install-ws-relay.sh (${e.message})`);
  process.exit(2);
}

const port = Number(process.argv[2] ?? process.env.PORT ?? 19602);
// As Porch's gateway and the bare server: a connection storm must not overflow the accept queue.
const BACKLOG = 4096;
// Longer than any pause in a run, so a keep-alive publisher never races a closing socket.
const KEEP_ALIVE_MS = 60_000;
// A publish body larger than this is refused (the harness sends ~200 bytes).
const BODY_MAX_BYTES = 1 << 20;
// A `sub` frame is never larger than this; longer frames are echoed unparsed.
const SUB_FRAME_MAX_BYTES = 1024;

/** channel name → Set of sockets */
const channels = new Map();

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/publish') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > BODY_MAX_BYTES) {
      res.writeHead(413).end();
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end('body is not JSON');
      return;
    }
    if (typeof body?.channel !== 'string' || body.data === undefined) {
      res.writeHead(400).end('expected {"channel": string, "data": …}');
      return;
    }
    const text = typeof body.data === 'string' ? body.data : JSON.stringify(body.data);
    for (const socket of channels.get(body.channel) ?? []) socket.send(text);
    res.writeHead(202).end();
  });
});
server.keepAliveTimeout = KEEP_ALIVE_MS;

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (socket) => {
  const subscribed = new Set();
  socket.on('message', (data, isBinary) => {
    const channel = !isBinary && subscription(data);
    if (channel === false) {
      socket.send(data, { binary: isBinary });
      return;
    }
    if (!channels.has(channel)) channels.set(channel, new Set());
    channels.get(channel).add(socket);
    subscribed.add(channel);
    socket.send(JSON.stringify({ type: 'subscribed', channel }));
  });
  socket.on('close', () => {
    for (const channel of subscribed) {
      const sockets = channels.get(channel);
      sockets.delete(socket);
      if (sockets.size === 0) channels.delete(channel);
    }
  });
  socket.send('{"type":"ready"}');
});

/** The channel of a `sub` frame, or false for anything else (which is echoed). */
function subscription(data) {
  // Only small JSON objects are parsed: an echo of the harness's padding costs no parse.
  if (data.length > SUB_FRAME_MAX_BYTES || data[0] !== 0x7b /* { */) return false;
  try {
    const frame = JSON.parse(data.toString('utf8'));
    return frame.type === 'sub' && typeof frame.channel === 'string' ? frame.channel : false;
  } catch {
    return false;
  }
}

server.listen({ port, host: '127.0.0.1', backlog: BACKLOG }, () => {
  const { address, port: bound } = server.address();
  console.log(`listening on ${address}:${bound}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
