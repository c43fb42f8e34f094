// A reference bot for Porch (docs/bots.md), Node built-ins only. It hears the deployment's
// webhooks (Standard Webhooks signatures, checked here in a few lines), greets each new
// conversation with quick replies, and hands off to people once the guest picks a topic.
//
//   PORCH_URL=https://porch.example BOT_ID=bot_… BOT_SECRET=sec_… WEBHOOK_SECRET=whsec_… \
//   PORT=8787 node examples/bot/bot.mjs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const { PORCH_URL, BOT_ID, BOT_SECRET, WEBHOOK_SECRET, PORT = '8787' } = process.env;
const TOPICS = [{ id: 'billing', label: 'Billing' }, { id: 'tech', label: 'Something broke' }];
const help = [{ title: 'Help centre', text: 'Answers to common questions', links: [{ label: 'Open', url: 'https://help.example/' }] }];

/** Standard Webhooks: HMAC-SHA256 of `id.timestamp.body`, five minutes of tolerance. */
function verified(h, body) {
  const [id, ts] = [h['webhook-id'], Number(h['webhook-timestamp'])];
  if (!id || !(Math.abs(Date.now() / 1000 - ts) < 300)) return false;
  const key = Buffer.from(WEBHOOK_SECRET.replace(/^whsec_/, ''), 'base64');
  const want = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  return String(h['webhook-signature'] ?? '').split(' ').some((s) => {
    const got = Buffer.from(s.replace(/^v1,/, ''), 'base64');
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

let token = { accessToken: '', expiresAtMs: 0 };
async function porch(path, json) {
  if (Date.now() > token.expiresAtMs - 60_000) {
    token = await (await fetch(`${PORCH_URL}/api/v2/bots/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ botId: BOT_ID, secret: BOT_SECRET }) })).json();
  }
  const res = await fetch(PORCH_URL + path, { method: 'POST', headers: { authorization: `Bearer ${token.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(json) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

/** Replies are keyed by the event they answer, so a redelivered event is a duplicate. */
async function handle({ type, data }) {
  const { conversationId: id, message, queue } = data;
  if (queue !== `bot:${BOT_ID}`) return; // handed off already, or not this bot's
  const say = (key, text, more = {}) => porch(`/api/v2/bot/conversations/${id}/messages`, { clientMessageId: key, text, ...more });
  if (type === 'conversation.created') return say(`hello-${id}`, 'Hi! What is it about?', { quickReplies: TOPICS });
  if (type !== 'message.created' || message.sender.role !== 'guest') return;
  const topic = TOPICS.find((t) => t.id === message.content?.choice?.id);
  if (!topic) return say(`re-${message.id}`, 'Please pick a topic, or read our help centre:', { quickReplies: TOPICS, cards: help });
  await say(`re-${message.id}`, `Thanks! A person from ${topic.label} will take it from here.`);
  await porch(`/api/v2/bot/conversations/${id}/handoff`, { summary: `Topic: ${topic.label}. Guest wrote: ${message.text}` });
}

createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', async () => {
    if (!verified(req.headers, body)) return res.writeHead(401).end();
    try { await handle(JSON.parse(body)); res.writeHead(204).end(); } catch (e) { console.error(e.message); res.writeHead(500).end(); }
  });
}).listen(Number(PORT), '127.0.0.1', () => console.log(`bot listening on ${PORT}`));
