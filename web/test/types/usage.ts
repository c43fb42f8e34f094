// A small program written against the published types, as a user of the SDK writes it. It is
// compiled (never run) by `tsc -p web`: a change to porch.d.ts that breaks ordinary use fails.

import {
  PorchAgent,
  PorchError,
  PorchGuest,
  memoryStorage,
  ERRORS,
  type AgentSession,
  type ErrorCode,
  type Conversation,
  type GuestSession,
  type Message,
} from '../../public/sdk/porch.js';

export async function guestChat(session: GuestSession, show: (line: string) => void): Promise<void> {
  const chat = new PorchGuest({ session, storage: memoryStorage(), backoff: { capMs: 10_000 } });
  const stop = chat.on('message', (m: Message) => show(`${m.sender.displayName ?? m.sender.role}: ${m.text}`));
  chat.on('state', ({ state, retryInMs, cause }) => {
    if (state === 'reconnecting') show(`reconnecting in ${retryInMs ?? 0} ms (${cause?.code ?? 'network'})`);
  });
  chat.on('notice', (notice) => show(notice ? notice.text : ''));
  chat.on('queue', (q) => show(q ? `number ${q.position}${q.estimatedWaitMs === undefined ? '' : `, ~${Math.ceil(q.estimatedWaitMs / 60_000)} min`}` : ''));
  chat.on('refresh', ({ inPlace }) => show(inPlace ? 'token refreshed' : 'token refreshed by reconnecting'));
  chat.on('closed', ({ unsent }) => show(`closed; ${unsent.length} not sent`));
  chat.on('error', (e: PorchError) => {
    if (e.fatal) show(`${e.code}: ${e.detail}${e.ref ? ` (ref ${e.ref})` : ''}`);
    // The generated wire table: whether sending the same message again may succeed.
    const known = e.code in ERRORS ? ERRORS[e.code as ErrorCode] : null;
    if (known && !known.retryable) show(`not retried: ${e.code} (HTTP ${known.status})`);
  });
  const started: PorchGuest = await chat.start();
  const sent: Message = await started.send('Hello!');
  chat.markRead(sent.seq);
  const older: Message[] = await chat.loadOlder(20);
  show(`${older.length} older, ${chat.queue?.position ?? 'not'} queued, ${chat.pending.length} pending, limit ${chat.limits?.textCharsMax ?? '?'}`);
  stop();
  chat.end({ forget: true });
}

export async function widgetCheck(baseUrl: string, deploymentId: string): Promise<string | null> {
  const chat = new PorchGuest({ baseUrl, deploymentId, guest: () => ({ displayName: 'Ada' }) });
  try {
    const { notice } = await chat.check();
    return notice?.text ?? null;
  } catch (e) {
    return e instanceof PorchError ? e.code : 'unknown';
  }
}

export async function agentDesk(baseUrl: string, name: string, secret: string): Promise<AgentSession> {
  const session = await PorchAgent.login({ baseUrl, name, secret });
  const agent = new PorchAgent({ session });
  agent.on('ready', ({ conversations, moreConversations }) => {
    if (moreConversations) void conversations.length;
  });
  agent.on('message', ({ conversationId, message }) => agent.markRead(conversationId, message.seq));
  agent.on('typing', ({ participant, active }) => void `${participant.id} ${active}`);
  agent.on('refresh', ({ session: fresh }) => void fresh.expiresAtMs);
  await agent.start();
  const waiting: Conversation | undefined = agent.conversations.find((c) => c.state === 'waiting');
  if (waiting) {
    await agent.assign(waiting.id);
    await agent.open(waiting.id);
    await agent.send(waiting.id, 'How can I help?');
    const moved: Conversation = await agent.transfer(waiting.id, { queue: 'billing', note: 'refund' });
    void moved.queue;
    await agent.transfer(waiting.id, { agentId: 'agt_2' });
    await agent.unassign(waiting.id);
    const closed: Conversation = await agent.close(waiting.id, { wrapUp: 'resolved' });
    void closed.state;
  }
  agent.end();
  return agent.session;
}

// What must not compile: each line below is an error tsc has to report.
export async function misdirect(agent: PorchAgent): Promise<void> {
  // @ts-expect-error a transfer names one of agentId and queue, not both
  await agent.transfer('cnv_1', { agentId: 'agt_2', queue: 'billing' });
}

export function misuse(chat: PorchGuest): void {
  // @ts-expect-error an event the SDK never emits
  chat.on('mesage', () => {});
  // @ts-expect-error a message's text is a string
  chat.on('message', (m) => m.text.toFixed());
  // @ts-expect-error send takes the text only
  void chat.send('hi', 'conversation-id');
}
