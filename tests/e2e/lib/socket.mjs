// A WebSocket client for tests, on the third-party `ws` package: records every frame and the
// close, and lets a test wait for a condition with a deadline. Every failed wait says what
// was seen, so a red test explains itself.

import WebSocket from 'ws';

/** The first subprotocol value; the access token is the second. */
export const MARKER = 'NICE-WebSocket-Auth';
const DEFAULT_WAIT_MS = 5_000;

function show(value) {
  const s = JSON.stringify(value);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

export class Conn {
  /**
   * Opens `url` offering `protocols` (the browser call is `new WebSocket(url, [MARKER, token])`).
   * `onOpen(ws)` runs synchronously in the open handler, before any frame is read.
   */
  constructor(url, protocols, { label = 'socket', onOpen, wsOptions = {} } = {}) {
    this.label = label;
    this.frames = [];
    this.closed = null; // { code, reason } once closed
    this.httpRefusal = null; // { status, body } when the server did not answer 101
    this.waiters = new Set();
    this.ws = protocols === undefined ? new WebSocket(url, wsOptions) : new WebSocket(url, protocols, wsOptions);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => {
        if (onOpen) onOpen(this.ws);
        resolve(this);
      });
      this.ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c) => { body += c; }).on('end', () => {
          this.httpRefusal = { status: res.statusCode, body };
          reject(new Error(`${label}: HTTP ${res.statusCode} instead of 101: ${body}`));
          req.destroy();
        });
      });
      this.ws.once('error', (e) => reject(new Error(`${label}: ${e.message}`)));
    });
    this.opened.catch(() => {}); // a test that expects a refusal need not await `opened`
    this.ws.on('error', () => {}); // reported through `opened`, `closed` and waits
    this.ws.on('message', (data, isBinary) => {
      let frame;
      try { frame = isBinary ? { binary: data.length } : JSON.parse(data.toString('utf8')); } catch { frame = { unparsed: data.toString('utf8') }; }
      this.frames.push(frame);
      this.poke();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8') };
      this.poke();
    });
  }

  /** Everything seen so far, for failure messages. */
  describe() {
    const frames = this.frames.map((f, i) => `  #${i} ${show(f)}`).join('\n') || '  (none)';
    const close = this.closed ? `close ${this.closed.code} ${show(this.closed.reason)}` : 'still open';
    return `${this.label}: frames seen:\n${frames}\n  ${close}`;
  }

  poke() {
    for (const w of this.waiters) w.check();
  }

  /**
   * Waits for the first frame (from index `from`) matching `pred`; resolves with the frame.
   * Fails on timeout, or when the socket closes first.
   */
  waitFor(pred, what, { timeout = DEFAULT_WAIT_MS, from = 0 } = {}) {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          const index = this.frames.findIndex((f, i) => i >= from && pred(f));
          if (index >= 0) { done(); resolve(this.frames[index]); return; }
          if (this.closed) { done(); reject(new Error(`${this.label} closed while waiting for ${what}\n${this.describe()}`)); }
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no ${what} within ${timeout} ms\n${this.describe()}`));
      }, timeout);
      const done = () => { clearTimeout(timer); this.waiters.delete(waiter); };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** Waits for a frame of `type` (and matching `pred`, if given). */
  waitType(type, pred = () => true, opts = {}) {
    return this.waitFor((f) => f.type === type && pred(f), `"${type}" frame`, opts);
  }

  /** Waits for the close; resolves with { code, reason }. */
  waitClose({ timeout = DEFAULT_WAIT_MS } = {}) {
    return new Promise((resolve, reject) => {
      const waiter = { check: () => { if (this.closed) { done(); resolve(this.closed); } } };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: not closed within ${timeout} ms\n${this.describe()}`));
      }, timeout);
      const done = () => { clearTimeout(timer); this.waiters.delete(waiter); };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  send(frame) {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a ping and waits for its pong. The gateway answers frames in order, so every frame
   * it sent before the pong has arrived by then: a barrier instead of a sleep. */
  async barrier(id = `b${Date.now()}${Math.random()}`) {
    this.send({ type: 'ping', id });
    await this.waitType('pong', (f) => f.id === id);
  }

  /** Closes politely and waits (bounded) for the close to finish. */
  async close() {
    if (this.closed) return;
    if (this.ws.readyState === WebSocket.CONNECTING) { this.ws.terminate(); return; }
    this.ws.close(1000, 'test done');
    await this.waitClose({ timeout: 3_000 }).catch(() => this.ws.terminate());
  }
}

/** Opens a socket the way the user's browser code does and waits for `ready`. */
export async function connectReady(url, token, opts = {}) {
  const conn = new Conn(url, [MARKER, token], opts);
  await conn.opened;
  const ready = await conn.waitType('ready');
  return { conn, ready };
}

/** Message frames of `conversationId`, in arrival order. */
export function messagesOf(conn, conversationId) {
  return conn.frames.filter((f) => f.type === 'message' && f.message?.conversationId === conversationId).map((f) => f.message);
}
