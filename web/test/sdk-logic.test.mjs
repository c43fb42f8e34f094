// The SDK's pure decisions, without a socket: backoff, close classes, reason parsing, the
// seq log, the outbox, refresh timing, typing, URLs, storage, notice changes.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';

import { BACKOFF_CAP_MS, RECONNECT_SPREAD_MS, backoffDelay, reconnectDelay, sessionRetryDelay } from '../public/sdk/backoff.js';
import { gatewayUrlOf } from '../public/sdk/probe.js';
import { Sends } from '../public/sdk/sends.js';
import { classifyClose, parseReason, describeBareClose } from '../public/sdk/close-codes.js';
import { SeqLog } from '../public/sdk/seq-log.js';
import { Outbox, newClientMessageId } from '../public/sdk/outbox.js';
import { refreshDelay, refreshRetryDelay } from '../public/sdk/refresh.js';
import { TypingThrottle, TypingTracker } from '../public/sdk/typing.js';
import { baseUrlFromGateway } from '../public/sdk/http.js';
import { noticeChange, withAfterSeq, splitRef } from '../public/sdk/util.js';
import { SavedState, memoryStorage } from '../public/sdk/storage.js';
import { errorFromResponse, isRetryableSendError } from '../public/sdk/errors.js';
import { ERRORS, RECONNECT_RULES } from '../public/sdk/wire.gen.js';
import { pageContext } from '../public/sdk/context.js';
import { lastMessageOf } from '../public/sdk/preview.js';

/** A deterministic PRNG (mulberry32), so a failing shuffle can be replayed from its seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('backoff', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    assert.equal(backoffDelay(0, { random: () => 0.999999 }), 499);
    assert.equal(backoffDelay(3, { random: () => 0.5 }), 2000);
    assert.equal(backoffDelay(0, { random: () => 0 }), 0, 'full jitter may retry at once');
    for (const attempt of [6, 7, 20, 1000, Number.MAX_SAFE_INTEGER]) {
      const d = backoffDelay(attempt, { random: () => 0.999999 });
      assert.ok(d < BACKOFF_CAP_MS && d >= BACKOFF_CAP_MS - 1, `attempt ${attempt}: ${d}`);
    }
  });

  it('spreads a draining node\'s crowd: 10,000 guests closed with 4200 come back over 3 s, evenly', () => {
    const random = prng(11);
    const delays = Array.from({ length: 10_000 }, () => reconnectDelay({ kind: 'immediate', attempt: 0, closeCode: 4200, uptimeMs: 600_000 }, { random }));
    assert.equal(RECONNECT_SPREAD_MS, 3_000, 'the window protocol.md states');
    assert.ok(Math.max(...delays) < RECONNECT_SPREAD_MS && Math.min(...delays) >= 0);
    const perTenth = new Array(30).fill(0);
    for (const d of delays) perTenth[Math.floor(d / 100)] += 1;
    // Uniform: about 333 per 100 ms; none at once in the first millisecond.
    assert.ok(Math.max(...perTenth) < 450 && Math.min(...perTenth) > 230, `per 100 ms: ${perTenth}`);
    assert.ok(delays.filter((d) => d < 1).length < 20, 'not a herd in the first millisecond');
  });

  it('spreads a crowd: 1000 clients at attempt 5 do not retry together', () => {
    const random = prng(7);
    const delays = Array.from({ length: 1000 }, () => backoffDelay(5, { random }));
    const buckets = new Set(delays.map((d) => Math.floor(d / 1000)));
    assert.ok(buckets.size >= 15, `delays fall in ${buckets.size} one-second buckets of 16`);
    assert.ok(Math.max(...delays) < 16_000);
  });

  it('reconnects soon after 42xx, spread over 3 s, only from a session that lived', () => {
    const one = { random: () => 0.5 };
    assert.equal(reconnectDelay({ kind: 'immediate', attempt: 0, closeCode: 4200, uptimeMs: 60_000 }, one), RECONNECT_SPREAD_MS / 2);
    assert.equal(reconnectDelay({ kind: 'refresh', attempt: 0, closeCode: 4002, uptimeMs: 60_000 }, one), 0, 'an expired token is nobody else\'s: at once');
    assert.equal(reconnectDelay({ kind: 'immediate', attempt: 0, closeCode: 4201, uptimeMs: 100 }, one), 250, 'a flapping server is backed off');
    assert.equal(reconnectDelay({ kind: 'immediate', attempt: 2, closeCode: 4200, uptimeMs: 60_000 }, one), 1000);
    assert.equal(reconnectDelay({ kind: 'terminal', attempt: 0, closeCode: 4003 }), null);
    assert.equal(reconnectDelay({ kind: 'backoff', attempt: 0, closeCode: 4100 }, { random: () => 0 }), 1000, '41xx waits at least 1 s');
    assert.equal(reconnectDelay({ kind: 'backoff', attempt: 0, closeCode: 1006 }, { random: () => 0 }), 0);
  });
});

describe('close codes', () => {
  it('classifies every close code of porch-wire as porch-wire does, 4002 aside', () => {
    // wire.gen.js is porch-wire's table (crates/porch-core/tests/sdk_wire.rs holds it there).
    for (const [name, spec] of Object.entries(ERRORS)) {
      const expected = spec.close === ERRORS.token_expired.close ? 'refresh' : spec.reconnect;
      assert.equal(classifyClose(spec.close), expected, `${name} (close ${spec.close})`);
    }
    // Codes no error uses: the network's 1006, and whatever a proxy or a newer server sends.
    for (const code of [1000, 1001, 1005, 1006, 4150, 4299, 4300, 4999]) {
      const rule = RECONNECT_RULES.find(([first, last]) => code >= first && code <= last);
      assert.equal(classifyClose(code), rule ? rule[2] : 'backoff', `close ${code}`);
    }
  });

  it('keeps a failed send for later exactly when porch-wire calls its code retryable', () => {
    for (const [name, spec] of Object.entries(ERRORS)) assert.equal(isRetryableSendError(name), spec.retryable, name);
    assert.equal(isRetryableSendError('network'), true, 'the SDK\'s own codes may pass');
    assert.equal(isRetryableSendError('text_too_long'), false);
  });

  it('splits a reason into code, cause and ref', () => {
    assert.deepEqual(
      parseReason('token_wrong_kind: OAuth client token sent (aud porch-api); the gateway needs the accessToken of POST /guests [ref cmcvws]'),
      { code: 'token_wrong_kind', message: 'OAuth client token sent (aud porch-api); the gateway needs the accessToken of POST /guests', ref: 'cmcvws' },
    );
    assert.deepEqual(parseReason('server_shutdown: reconnect…'), { code: 'server_shutdown', message: 'reconnect…', ref: null });
    assert.deepEqual(parseReason(''), { code: null, message: '', ref: null });
    assert.deepEqual(parseReason('Going Away'), { code: null, message: 'Going Away', ref: null });
  });

  it('explains a bare 1006 instead of saying "connection failed"', () => {
    const text = describeBareClose(1006, 'chat.example:443');
    assert.match(text, /chat\.example:443/);
    assert.match(text, /1006/);
    assert.doesNotMatch(text, /^connection failed$/i);
  });
});

describe('SeqLog', () => {
  const msg = (seq) => ({ seq, text: `m${seq}` });

  it('releases each entry once, in order, whatever order they arrive in', () => {
    for (let seed = 1; seed <= 200; seed += 1) {
      const random = prng(seed);
      const log = new SeqLog(0);
      // Every seq 1..30 up to three times (replay, live, REST overlap), shuffled.
      const arrivals = [];
      for (let s = 1; s <= 30; s += 1) for (let k = 0; k < 1 + Math.floor(random() * 3); k += 1) arrivals.push(msg(s));
      arrivals.sort(() => random() - 0.5);
      const released = arrivals.flatMap((m) => log.insert(m)).map((m) => m.seq);
      assert.deepEqual(released, Array.from({ length: 30 }, (_, i) => i + 1), `seed ${seed}`);
      assert.equal(log.lastSeq, 30);
      assert.equal(log.hasGap, false);
    }
  });

  it('holds entries behind a gap and says so', () => {
    const log = new SeqLog(4);
    assert.deepEqual(log.insert(msg(7)), []);
    assert.equal(log.hasGap, true);
    assert.deepEqual(log.insert(msg(5)).map((m) => m.seq), [5]);
    assert.deepEqual(log.insert(msg(6)).map((m) => m.seq), [6, 7]);
    assert.equal(log.hasGap, false);
    assert.deepEqual(log.insert(msg(3)), [], 'older than the floor: history, not news');
  });

  it('holds everything until anchored, then drops what the anchor covers', () => {
    const log = new SeqLog();
    assert.equal(log.anchored, false);
    assert.deepEqual(log.insert(msg(9)), []);
    assert.deepEqual(log.insert(msg(11)), []);
    assert.deepEqual(log.anchor(9).map((m) => m.seq), [], '9 is history now; 11 waits for 10');
    assert.equal(log.hasGap, true);
    assert.deepEqual(log.insert(msg(10)).map((m) => m.seq), [10, 11]);
  });

  it('prepends older pages contiguously and knows when history is exhausted', () => {
    const log = new SeqLog(5);
    log.insert(msg(6));
    assert.equal(log.hasOlder, true);
    assert.deepEqual(log.addOlder([msg(4), msg(5), msg(2), msg(3)]).map((m) => m.seq), [2, 3, 4, 5]);
    assert.deepEqual(log.addOlder([msg(4)]), [], 'not directly below the floor');
    assert.deepEqual(log.addOlder([msg(1)]).map((m) => m.seq), [1]);
    assert.equal(log.hasOlder, false);
    assert.deepEqual(log.messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  });
});

describe('outbox', () => {
  it('keeps send order and ids across a save and restore', () => {
    let n = 0;
    const box = new Outbox([], { newId: () => `c-${(n += 1)}`, now: () => 42 });
    box.add('one');
    box.add('two', 'cnv_1');
    box.add('three');
    box.remove('c-2');
    const restored = new Outbox(JSON.parse(JSON.stringify(box)));
    assert.deepEqual(restored.list(), [
      { clientMessageId: 'c-1', text: 'one', createdAtMs: 42 },
      { clientMessageId: 'c-3', text: 'three', createdAtMs: 42 },
    ]);
    assert.equal(restored.remove('c-9'), undefined);
  });

  it('makes 128-bit ids that fit the protocol (1 to 128 bytes)', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newClientMessageId()));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, /^c-[0-9a-f]{32}$/);
  });
});

describe('refresh timing', () => {
  it('refreshes well before expiry and never in a tight loop', () => {
    assert.equal(refreshDelay(3_600_000), 3_300_000, 'an hour: 5 minutes early');
    assert.equal(refreshDelay(40_000), 32_000, 'a fifth early');
    assert.equal(refreshDelay(10_000), 5_000, 'at least 5 s early');
    assert.equal(refreshDelay(2_000), 1_000, 'but never sooner than 1 s');
    assert.equal(refreshDelay(-5_000), 1_000);
    assert.equal(refreshRetryDelay(60_000), 6_000);
    assert.equal(refreshRetryDelay(500), 1_000);
  });
});

describe('typing', () => {
  it('sends at most one frame per interval while typing, and again right after a send', () => {
    let now = 0;
    const t = new TypingThrottle(3000, () => now);
    const sent = [];
    for (now = 0; now <= 7000; now += 250) if (t.take()) sent.push(now);
    assert.deepEqual(sent, [0, 3000, 6000]);
    t.reset();
    assert.equal(t.take(), true);
  });

  it('shows an indicator until it expires or is stopped, announcing each change once', () => {
    const timers = [];
    const changes = [];
    const tracker = new TypingTracker((key, p, active) => changes.push(`${key}:${active}`), {
      showMs: 100,
      setTimer: (fn) => { timers.push(fn); return timers.length; },
      clearTimer: (id) => { timers[id - 1] = null; },
    });
    tracker.typing('a', { id: 'a' });
    tracker.typing('a', { id: 'a' });
    tracker.typing('b', { id: 'b' });
    tracker.stop('b');
    timers.filter(Boolean).forEach((fn) => fn());
    assert.deepEqual(changes, ['a:true', 'b:true', 'b:false', 'a:false']);
  });
});

describe('urls and storage', () => {
  it('derives the REST base from the gateway URL, path prefix included', () => {
    assert.equal(baseUrlFromGateway('wss://chat.example.com/api/v2/gateway'), 'https://chat.example.com');
    assert.equal(baseUrlFromGateway('ws://127.0.0.1:8080/porch/api/v2/gateway'), 'http://127.0.0.1:8080/porch');
  });

  it('puts only afterSeq in the gateway URL', () => {
    assert.equal(withAfterSeq('ws://h/api/v2/gateway', null), 'ws://h/api/v2/gateway');
    assert.equal(withAfterSeq('ws://h/api/v2/gateway', 0), 'ws://h/api/v2/gateway?afterSeq=0');
    assert.equal(withAfterSeq('ws://h/api/v2/gateway?afterSeq=3', 9), 'ws://h/api/v2/gateway?afterSeq=9');
  });

  it('splits the ref off error frame messages', () => {
    assert.deepEqual(splitRef('text too long [ref ab12cd]'), { message: 'text too long', ref: 'ab12cd' });
    assert.deepEqual(splitRef('no ref here'), { message: 'no ref here', ref: null });
  });

  it('tells a notice change by id: set, replaced, cleared; the same one (or none again) is no change', () => {
    const a = { id: 'ntc_a', deploymentId: 'dep_1', text: 'Closed today', createdAtMs: 1 };
    const b = { id: 'ntc_b', deploymentId: 'dep_1', text: 'Closed today', createdAtMs: 2 };
    assert.equal(noticeChange(null, a), a);
    assert.equal(noticeChange(a, b), b, 'a new PUT is a new notice, even with the same text');
    assert.equal(noticeChange(a, null), null, 'a notice frame clearing it');
    assert.equal(noticeChange(a, undefined), null, 'a ready without the field: cleared while away');
    assert.equal(noticeChange(a, { ...a }), undefined, 'the same notice in the next ready');
    assert.equal(noticeChange(null, null), undefined);
    assert.equal(noticeChange(null, undefined), undefined);
  });

  it('saves and loads one versioned record, and survives a storage that throws', () => {
    const storage = memoryStorage();
    const saved = new SavedState(storage, 'k');
    saved.save({ lastSeq: 3 });
    assert.deepEqual(saved.load(), { lastSeq: 3, v: 1 });
    storage.setItem('k', '{"lastSeq":3,"v":0}');
    assert.equal(saved.load(), null, 'an older shape is ignored');
    storage.setItem('k', 'not json');
    assert.equal(saved.load(), null);
    const broken = new SavedState({ getItem() { throw new Error('denied'); }, setItem() { throw new Error('quota'); }, removeItem() { throw new Error('denied'); } }, 'k');
    broken.save({ a: 1 });
    broken.clear();
    assert.equal(broken.load(), null);
  });

  it('reads a Porch error body into code, cause and ref; a foreign body names the status', async () => {
    const porchBody = new Response('{"error":"token_expired","error_description":"expired 2026-11-26T12:00:03Z (310s ago); get a new one","error_ref":"vrpcws"}', { status: 401 });
    const e = await errorFromResponse(porchBody, 'POST /x');
    assert.deepEqual([e.code, e.detail, e.ref, e.status], ['token_expired', 'expired 2026-11-26T12:00:03Z (310s ago); get a new one', 'vrpcws', 401]);
    const proxy = await errorFromResponse(new Response('<html>Bad Gateway</html>', { status: 502 }), 'GET /y');
    assert.equal(proxy.code, 'bad_response');
    assert.match(proxy.detail, /GET \/y answered HTTP 502.*Bad Gateway/);
  });
});

describe('creating a session from the browser', () => {
  it('tries again while Porch is unreachable, overloaded or limiting, never after a refusal', () => {
    const half = { random: () => 0.5 };
    assert.equal(sessionRetryDelay({ code: 'network' }, 0, half), 250);
    assert.equal(sessionRetryDelay({ code: 'network' }, 3, half), 2000);
    assert.equal(sessionRetryDelay({ code: 'network' }, 40, half), BACKOFF_CAP_MS / 2, 'capped');
    assert.equal(sessionRetryDelay({ code: 'store_unavailable', status: 503 }, 0, half), 250);
    assert.equal(sessionRetryDelay({ code: 'bad_response', status: 502 }, 0, half), 250, 'a proxy\'s 502');
    assert.equal(sessionRetryDelay({ code: 'rate_limited', status: 429, retryInMs: 7000 }, 0, half), 7000, 'Retry-After is the least wait');
    for (const code of ['origin_not_allowed', 'deployment_unknown', 'deployment_disabled', 'invalid_request']) {
      assert.equal(sessionRetryDelay({ code, status: code === 'deployment_unknown' ? 404 : 403 }, 0, half), null, code);
    }
    assert.equal(sessionRetryDelay({ code: 'csp_blocked', fatal: true }, 0, half), null);
  });

  it('reads Retry-After from a refusal', async () => {
    const res = new Response(JSON.stringify({ error: 'rate_limited', error_description: 'slow down [ref abc123]' }), { status: 429, headers: { 'retry-after': '3' } });
    const e = await errorFromResponse(res, 'POST /x');
    assert.deepEqual([e.code, e.retryInMs, e.ref], ['rate_limited', 3000, 'abc123']);
  });

  it('sends the page\'s context within the server\'s bounds, without the fragment', () => {
    const page = (href, title, userAgent = 'Mozilla/5.0') => pageContext({
      location: { href, protocol: new URL(href).protocol }, document: { title }, navigator: { userAgent },
    });
    assert.deepEqual(page('https://shop.example/a?b=1#top', '  Cart\n— Shop '), {
      pageUrl: 'https://shop.example/a?b=1', pageTitle: 'Cart — Shop', userAgent: 'Mozilla/5.0',
    });
    assert.equal(page('file:///tmp/x.html', 'x').pageUrl, undefined, 'no address of another kind');
    assert.equal(page(`https://x.example/${'a'.repeat(2100)}`, 'x').pageUrl, undefined, 'none rather than a cut one');
    const long = page('https://x.example/', '😀'.repeat(400), 'u'.repeat(600));
    assert.equal([...long.pageTitle].length, 300, 'whole code points, cut to 300');
    assert.equal(long.userAgent.length, 512);
    assert.equal(pageContext({}), null, 'outside a page');
  });

  it('probes the gateway of a base URL, under a path too', () => {
    assert.equal(gatewayUrlOf('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/api/v2/gateway');
    assert.equal(gatewayUrlOf('https://chat.example/porch/'), 'wss://chat.example/porch/api/v2/gateway');
  });

  it('drops every pending send when the conversation closes, and rejects their callers', async () => {
    let changes = 0;
    const sends = new Sends(() => { changes += 1; });
    const a = sends.add('one');
    const b = sends.add('two');
    const dropped = sends.dropAll(new Error('closed'));
    assert.deepEqual(dropped.map((e) => e.text), ['one', 'two']);
    assert.equal(sends.list().length, 0);
    await assert.rejects(a.acked, /closed/);
    await assert.rejects(b.acked, /closed/);
    assert.equal(changes, 3, 'two adds and one drop');
    assert.deepEqual(sends.dropAll(new Error('again')), [], 'nothing left');
    assert.equal(changes, 3);
  });
});

describe('the preview of a conversation\'s latest entry (api.md, "Last message")', () => {
  // The cases of porch_core::preview's tests: the SDK moves a list on as the server would.
  const of = (text, { role = 'guest', attachment } = {}) => lastMessageOf({ seq: 3, createdAtMs: 9, text, sender: { role, id: 'p_1' }, attachment });
  it('puts text on one line, cut on a character boundary and marked', () => {
    assert.deepEqual(of('  hello\n\n\tworld \u0007! '), { seq: 3, createdAtMs: 9, senderRole: 'guest', senderId: 'p_1', kind: 'text', text: 'hello world !' });
    const cut = of('é'.repeat(141));
    assert.equal([...cut.text].length, 140);
    assert.equal(cut.truncated, true);
    assert.equal(of('a'.repeat(140)).truncated, undefined);
    const spaced = of(`${'a'.repeat(139)} b`);
    assert.deepEqual([spaced.text.length, spaced.truncated], [139, true]);
    assert.equal(of('a\u202Egnp.exe\u2066b').text, 'agnp.exeb');
  });
  it('says a file is one, without its name, and marks Porch\'s own entries', () => {
    const file = of('\u202Efdp.exe', { attachment: { id: 'att_1' } });
    assert.deepEqual([file.kind, file.text], ['attachment', '']);
    assert.equal(of('Ann joined the conversation', { role: 'system' }).kind, 'system');
  });
});

describe('the SDK source', () => {
  it('never logs (tokens must not reach a console) and has no dependencies', async () => {
    const dir = new URL('../public/sdk/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.js'));
    assert.ok(files.length >= 10, `SDK files: ${files}`);
    for (const f of files) {
      const src = await readFile(new URL(f, dir), 'utf8');
      assert.doesNotMatch(src, /console\.\w+\(/, `${f} calls console`);
      for (const [, spec] of src.matchAll(/^\s*(?:import|export)\s[^'"]*from\s+'([^']+)'/gm)) {
        assert.match(spec, /^\.\/[\w.-]+\.js$/, `${f} imports ${spec}: only sibling modules`);
      }
      assert.ok(src.split('\n').length < 400, `${f} is over 400 lines`);
    }
  });

  it('exports what test/types/conforms.ts holds to porch.d.ts', async () => {
    // conforms.ts cannot import porch.js (TypeScript resolves it to porch.d.ts), so it lists
    // the exports itself; this keeps that list the module's own.
    const exported = Object.keys(await import('../public/sdk/porch.js')).sort();
    const conforms = await readFile(new URL('./types/conforms.ts', import.meta.url), 'utf8');
    const block = /export const implementation: typeof Declared = \{([^}]*)\}/.exec(conforms);
    assert.ok(block, 'conforms.ts lists the implementation');
    const listed = block[1].split(',').map((name) => name.trim()).filter(Boolean).sort();
    assert.deepEqual(listed, exported);
  });
});
