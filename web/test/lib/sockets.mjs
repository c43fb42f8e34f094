// A WebSocket constructor for the SDK (Node 20 has no global one) on the `ws` package, with
// the network under the test's control: cut live sockets (the SDK sees 1006, as on a real
// network loss), refuse new ones for a while, drop chosen incoming frames. It records every
// URL opened and every frame sent, so tests can check what went over the wire.

import WS from 'ws';

export function controlledSockets() {
  const ctl = {
    /** Every URL a socket was opened with. */
    urls: [],
    /** Every frame the SDK sent, parsed. */
    sent: [],
    /** Sockets currently open or opening. */
    live: new Set(),
    /** While true, new sockets fail at once with 1006 (the server "unreachable"). */
    blocked: false,
    /** (frame, socket) => true to swallow an incoming frame before the SDK sees it. */
    dropIncoming: null,
    cutAll() {
      for (const s of [...ctl.live]) s.cut();
    },
  };

  class TestSocket {
    constructor(url, protocols) {
      ctl.urls.push(url);
      this.url = url;
      this.protocol = '';
      this.readyState = 0;
      this.onopen = null;
      this.onmessage = null;
      this.onclose = null;
      this.onerror = null;
      if (ctl.blocked) {
        this.readyState = 3;
        setTimeout(() => this.onclose?.({ code: 1006, reason: '', wasClean: false }), 5);
        return;
      }
      ctl.live.add(this);
      this._ws = new WS(url, protocols);
      this._ws.on('open', () => {
        this.readyState = 1;
        this.protocol = this._ws.protocol;
        this.onopen?.({});
      });
      this._ws.on('message', (data) => {
        if (this._cut) return;
        const text = data.toString('utf8');
        if (ctl.dropIncoming?.(JSON.parse(text), this)) return;
        this.onmessage?.({ data: text });
      });
      this._ws.on('close', (code, reason) => {
        this.readyState = 3;
        ctl.live.delete(this);
        if (!this._cut) this.onclose?.({ code, reason: reason.toString('utf8'), wasClean: code !== 1006 });
      });
      this._ws.on('error', () => { /* a close follows */ });
    }

    send(data) {
      ctl.sent.push(JSON.parse(data));
      this._ws.send(data);
    }

    close(code, reason) {
      this.readyState = 2;
      try { this._ws?.close(code, reason); } catch { this._ws?.terminate(); }
    }

    /** The network goes: the TCP connection is destroyed and the SDK hears 1006. */
    cut() {
      if (this._cut) return;
      this._cut = true;
      this.readyState = 3;
      ctl.live.delete(this);
      this._ws?.terminate();
      setTimeout(() => this.onclose?.({ code: 1006, reason: '', wasClean: false }), 0);
    }
  }

  ctl.WebSocket = TestSocket;
  return ctl;
}

/** Records an emitter's events, for assertions and for failure messages. */
export function record(emitter, types) {
  const events = [];
  for (const type of types) emitter.on(type, (payload) => events.push({ type, payload }));
  events.of = (type) => events.filter((e) => e.type === type).map((e) => e.payload);
  events.show = () => events.map((e) => `${e.type} ${JSON.stringify(e.payload, (k, v) => (k === 'accessToken' ? '<token>' : v))}`.slice(0, 300)).join('\n');
  return events;
}

/**
 * Waits until `check()` returns something truthy; on timeout fails with `what` and `show()`.
 * @template T
 * @param {string} what
 * @param {() => T | Promise<T>} check
 * @param {{timeout?: number, show?: () => string}} [options]
 * @returns {Promise<T>}
 */
export async function waitFor(what, check, { timeout = 10_000, show } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last check: ${last instanceof Error ? last.message : JSON.stringify(last)}${show ? `\n--- seen ---\n${show()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `fetch` with a log of URLs and a hook to fail or alter requests. */
export function controlledFetch({ origin, refuse } = {}) {
  const log = [];
  const f = async (url, init = {}) => {
    log.push({ url: String(url), method: init.method ?? 'GET' });
    if (refuse?.(String(url), init)) throw new TypeError('fetch failed (refused by the test)');
    const headers = { ...init.headers };
    // Node sends no Origin; the widget endpoint and guest REST check it like a browser's.
    if (origin) headers.origin = origin;
    return fetch(url, { ...init, headers });
  };
  f.log = log;
  return f;
}
