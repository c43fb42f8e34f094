// Types of the Porch browser SDK (porch.js). Hand-written, but for the wire shapes: the SDK is
// plain JavaScript with no build step.

// The wire shapes (frames, and the bodies in them and of the REST API the SDK calls) are
// generated from porch-wire: wire-types.gen.d.ts (scripts/regen-sdk-wire.sh). What follows
// here is the SDK's own: its options, events, classes, and the few shapes it builds itself.
export type * from './wire-types.gen.js';
import type {
  AgentOverview,
  AgentSession,
  AgentStatus,
  AgentStatusResponse,
  AttachmentUrl,
  CannedReply,
  Choice,
  ConnectionLimits,
  Conversation,
  GuestSession as WireGuestSession,
  Message,
  Notice,
  OfferEndReason,
  Participant,
  QueuePosition,
  QuickReply,
  Resume,
  VisitorContext,
  Welcome as WireWelcome,
} from './wire-types.gen.js';

/** Short-lived URLs of one attachment (no token needed: the URL is the grant). */
export type AttachmentUrls = AttachmentUrl;

export interface AttachOptions {
  /** Called as the bytes go out (where the browser reports it) and once at the end. */
  onProgress?: (progress: { loaded: number; total: number }) => void;
  /** The name shown (default: the File's own). */
  name?: string;
  /** Makes a retry idempotent, as for a send (default: a new one). */
  clientMessageId?: string;
}

/** Where `PorchAgent.transfer` sends a conversation: exactly one of `agentId` and `queue`. */
export type TransferTarget =
  | { agentId: string; queue?: never; note?: string }
  | { queue: string; agentId?: never; note?: string };

/** What the deployment's operator set for new visitors (`porch deployments update --greeting
 * --reply-within-mins --offline-form`): the greeting in their words, how soon they usually
 * answer, and whether to ask for an email while nobody can answer; and whether someone can
 * answer now (api.md, the widget endpoint). */
export interface Welcome extends WireWelcome {
  /** An agent of the deployment's queue is available with room, or a bot starts the queue
   * (as of a read a few seconds old at most). True when the server does not say. */
  agentsAvailable: boolean;
}

/** A session from your backend (`POST /api/v2/webmessaging/guests`, the generated
 * `GuestSession`) or the widget endpoint: the SDK needs `gatewayUrl` and `accessToken`; pass
 * the rest on as it came. */
export type GuestSession = Pick<WireGuestSession, 'gatewayUrl' | 'accessToken'> &
  Partial<WireGuestSession> & { [key: string]: unknown };

/** `GET`/`PUT /api/v2/agent/status`: the agent's status, capacity and load as stored. */
export type AgentRoutingState = AgentStatusResponse;

/** A waiting conversation offered to this agent until `expiresAtMs` (Unix ms): an `offer`
 * frame without its tag. */
export interface Offer {
  conversation: Conversation;
  expiresAtMs: number;
}

/** The Web Storage methods: `sessionStorage`, `localStorage` or your own adapter. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface BackoffOptions {
  /** First ceiling, doubled per attempt. Default 500. */
  baseMs?: number;
  /** Largest ceiling. Default 30000. */
  capMs?: number;
  /** After a 42xx close ("reconnect, to any node"), the first try waits a uniform draw in
   * [0, spreadMs), so a draining node's sessions do not all reconnect at once. Default 3000. */
  spreadMs?: number;
  /** Uniform in [0, 1): override in tests. */
  random?: () => number;
}

interface CommonOptions {
  /** A WebSocket constructor; default `globalThis.WebSocket` (in Node 20, pass the `ws` package's). */
  WebSocket?: unknown;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  backoff?: BackoffOptions;
  /** Give up on a socket with no `ready` after this long. Default 15000. */
  connectTimeoutMs?: number;
  /** Minimum time between outgoing typing frames. Default 3000. */
  typingIntervalMs?: number;
}

export interface GuestDetails {
  displayName?: string;
  email?: string;
  attributes?: Record<string, string>;
  /** Where the visitor is, for the agent. By default the SDK sends this page's address
   * (without its fragment), title and `User-Agent`; give your own, or `null` to send none. */
  context?: VisitorContext | null;
  /** A JWT your backend signed for the logged-in visitor (docs/identity.md): the session is
   * that customer's. Used once: give `guest` as a function that returns a fresh one. */
  identityToken?: string;
}

export interface GuestOptions extends CommonOptions {
  /** A session from your backend. */
  session?: GuestSession;
  /** Porch's base URL, e.g. `https://chat.example.com`. Needed with `deploymentId`; otherwise derived from `gatewayUrl`. */
  baseUrl?: string;
  /** Create the session from the browser (the widget endpoint; the page's origin must be allowed). */
  deploymentId?: string;
  /** Sent to the widget endpoint when it creates the session; a function is called then. */
  guest?: GuestDetails | (() => GuestDetails);
  /** Where the session (token included), last seq and outbox survive a reload. Default
   * `sessionStorage`; `null` keeps nothing. */
  storage?: StorageLike | null;
  /** Default `porch:guest:<deploymentId>`. */
  storageKey?: string;
}

export interface AgentOptions extends CommonOptions {
  session: AgentSession;
  baseUrl?: string;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface OutboxEntry {
  clientMessageId: string;
  text: string;
  conversationId?: string;
  /** A guest's pick of a bot's quick reply (`guest.choose`): sent as a `choose` frame. */
  choice?: Choice;
  createdAtMs: number;
}

export declare class PorchError extends Error {
  constructor(init: {
    code: string;
    /** The cause and the fix, without the `[ref …]`. */
    message: string;
    ref?: string | null;
    status?: number;
    closeCode?: number;
    clientMessageId?: string;
    fatal?: boolean;
    retryInMs?: number | null;
  });
  /** A code of protocol.md's table (`token_expired`, `origin_not_allowed`, …), or the SDK's
   * own: `network`, `session_missing`, `ended`, `bad_response`, `csp_blocked` (the page's
   * Content-Security-Policy blocks Porch), `close_<n>`. */
  code: ErrorCode | SdkErrorCode | (string & {});
  /** The cause and the fix, without the log reference. */
  detail: string;
  /** The reference in Porch's log for this refusal. */
  ref: string | null;
  status?: number;
  closeCode?: number;
  clientMessageId?: string;
  /** True when the client stopped because of this error. */
  fatal: boolean;
  /** When the client tries again, if it does. */
  retryInMs: number | null;
}

export interface StateEvent {
  state: ConnectionState;
  previous: ConnectionState;
  retryInMs?: number;
  cause?: PorchError;
}

export interface GuestEvents {
  state: StateEvent;
  ready: { lastSeq: number; resume: Resume | null; conversation: Conversation | null };
  /** A new entry, in seq order, each once. */
  message: Message;
  /** Older entries to put before those shown (ascending). */
  history: { messages: Message[]; hasOlder: boolean };
  ack: { clientMessageId: string; message: Message; duplicate: boolean };
  /** The unacknowledged sends changed. */
  outbox: { pending: OutboxEntry[] };
  typing: { participant: Participant; active: boolean };
  read: { participant: Participant; seq: number };
  conversation: Conversation;
  /** The deployment's notice changed (set, replaced, or `null`: cleared), live or as found by
   * a (re)connection's `ready`. Not emitted again for the notice already held. */
  notice: Notice | null;
  /** The deployment's greeting and usual reply time, read by `peekNotice()` (and `check()`). */
  welcome: Welcome;
  /** `inPlace`: the live connection took the new token (a `refresh` frame); false when it reconnected with it, or when there was no connection to move. */
  refresh: { expiresAtMs: number; inPlace: boolean };
  /** The conversation was closed (by an agent), however the client learned it: live, or in
   * `ready` after a reconnect or a reload. Within its reopen window (`final: false`,
   * `reopenUntilMs` set) the session, socket and outbox stay and `send()` reopens it; emitted
   * again with `final: true` once the window has gone by (or a send was refused
   * `conversation_closed`): the saved session is forgotten, the socket stopped, and `unsent`
   * are the messages dropped. A close without a window is final at once. */
  closed: { conversation: Conversation | null; unsent: OutboxEntry[]; reopenUntilMs: number | null; final: boolean };
  /** A send within the window reopened the closed conversation (this page's, or another tab's): it is open again. */
  reopened: { conversation: Conversation | null };
  /** The conversation's place in its queue changed (from `ready` or a `queue` frame); `null`
   * once an agent holds it or it closed. Show it as "You are number 3 in the queue · about 2 min". */
  queue: QueuePosition | null;
  error: PorchError;
}

export interface AgentEvents {
  state: StateEvent;
  /** `moreConversations`: the server listed only the most recently active that fit in one frame; list the rest over REST. */
  ready: { conversations: Conversation[]; moreConversations: boolean };
  conversations: { conversations: Conversation[] };
  conversation: Conversation;
  message: { conversationId: string; message: Message };
  history: { conversationId: string; messages: Message[]; hasOlder: boolean };
  ack: { clientMessageId: string; message: Message; duplicate: boolean };
  outbox: { pending: OutboxEntry[] };
  typing: { conversationId: string; participant: Participant; active: boolean };
  read: { conversationId: string; participant: Participant; seq: number };
  /** The token was exchanged (`POST /api/v2/agents/token`); `session` is the one to keep if you store it. */
  refresh: { expiresAtMs: number; session: AgentSession; inPlace: boolean };
  /** The agent's status as the server says it: after `setStatus`, a `status` frame (e.g. `away` once an offer ran out). */
  status: { status: AgentStatus };
  /** A new offer to this agent (docs/routing.md#offers); answer with `accept` or `decline` before `expiresAtMs`. */
  offer: Offer;
  /** An offer ended: `accepted` (the conversation is yours), `declined`, or `expired` (you were set `away`). */
  offerEnded: { conversationId: string; reason: OfferEndReason };
  /** The live offers changed (one came, ended, or the connection started over). */
  offers: { offers: Offer[] };
  /** Supervisors only: an agent's status or load changed, on any node; the agent as stored now. Not replayed: read the overview again after each `ready`. */
  agent: AgentOverview;
  error: PorchError;
}

declare class Emitter<E> {
  on<K extends keyof E>(type: K, listener: (payload: E[K]) => void): () => void;
  off<K extends keyof E>(type: K, listener: (payload: E[K]) => void): void;
}

export declare class PorchGuest extends Emitter<GuestEvents> {
  constructor(options?: GuestOptions);
  readonly state: ConnectionState;
  readonly guestId: string | null;
  readonly conversationId: string | null;
  readonly conversation: Conversation | null;
  readonly messages: Message[];
  readonly lastSeq: number | null;
  readonly pending: OutboxEntry[];
  readonly hasOlder: boolean;
  readonly limits: ConnectionLimits | null;
  /** Where the waiting conversation stands in its queue; null once an agent holds it (the `queue` event). */
  readonly queue: QueuePosition | null;
  /** The deployment's current notice (null before the first `ready`, or when there is none). */
  readonly notice: Notice | null;
  /** The deployment's greeting and usual reply time (null until `peekNotice()` read them). */
  readonly welcome: Welcome | null;
  /** True while the conversation is closed (see the `closed` event); false again once a send reopened it. */
  readonly closed: boolean;
  /** While closed and within the reopen window: until when (epoch ms) `send()` reopens the conversation; null when open or once the close is final. */
  readonly reopenUntilMs: number | null;
  /** Before any session (`baseUrl` and `deploymentId`): reads the widget endpoint and probes
   * the gateway, so a page that cannot work is known before the visitor writes. Rejects with
   * `origin_not_allowed`, `deployment_unknown`, `deployment_disabled`, `csp_blocked`, or
   * `network` (Porch did not answer: may pass). */
  check(): Promise<{ notice: Notice | null }>;
  /** The deployment's notice before any session (the widget endpoint: `baseUrl` and `deploymentId`, no token, from the deployment's origins only); sets `notice` and emits `notice` when it changed, and sets and emits `welcome`. */
  peekNotice(): Promise<Notice | null>;
  /** Whether `start()` would restore something: a saved session still usable, or messages written before a session existed (a reload while it was being created), which go into the session `start()` creates. */
  hasSavedSession(): boolean;
  /** Restores, takes or creates a session and connects; resolves on the first `ready`. A
   * session created at the widget endpoint is retried with backoff while Porch cannot be
   * reached; a refusal rejects. */
  start(): Promise<this>;
  /** Resolves with the stored message once acknowledged; the outbox resends it across reconnects. */
  send(text: string): Promise<Message>;
  /** Picks a quick reply of a bot's message: a message whose text is the label and whose
   * `content.choice` names it, sent as a `choose` frame and queued in the outbox like `send`
   * (a second pick of the same reply is the same send); resolves with the stored message. */
  choose(message: Message, reply: QuickReply): Promise<Message>;
  /** Sends a file: refused before upload when `limits.attachments` refuse it (`attachment_too_large`, `attachment_type_refused`); resolves with its attachment message. */
  attach(file: Blob & { name?: string }, options?: AttachOptions): Promise<Message>;
  /** A short-lived URL reading an attachment of this conversation (for `<img src>` or a download link). */
  attachmentUrl(attachmentId: string): Promise<AttachmentUrls>;
  typing(): void;
  markRead(seq?: number): void;
  loadOlder(limit?: number): Promise<Message[]>;
  refreshToken(options?: { reconnect?: boolean }): Promise<void>;
  /** The visitor logged in: the session becomes the customer's an identity token your backend
   * signed names (docs/identity.md), keeping its conversation and `seq`; rejects with the
   * token's refusal (`identity_expired`, `identity_replayed`, `guest_already_known`, …). */
  identify(identityToken: string): Promise<void>;
  end(options?: { forget?: boolean }): void;
}

export declare class PorchAgent extends Emitter<AgentEvents> {
  static login(options: { baseUrl: string; name: string; secret: string; fetch?: typeof fetch }): Promise<AgentSession>;
  constructor(options: AgentOptions);
  readonly state: ConnectionState;
  readonly session: AgentSession;
  readonly agentId: string;
  readonly conversations: Conversation[];
  /** As in the last `ready`: the server listed only the most recently active conversations that fit in one frame; list the rest over REST. */
  readonly moreConversations: boolean;
  conversation(id: string): Conversation | null;
  messages(id: string): Message[];
  hasOlder(id: string): boolean;
  pending(id: string): OutboxEntry[];
  start(): Promise<this>;
  open(id: string): Promise<Message[]>;
  loadOlder(id: string, limit?: number): Promise<Message[]>;
  send(conversationId: string, text: string): Promise<Message>;
  /** Sends a file into a conversation of the agent's queues; resolves with its attachment message. */
  attach(conversationId: string, file: Blob & { name?: string }, options?: AttachOptions): Promise<Message>;
  attachmentUrl(conversationId: string, attachmentId: string): Promise<AttachmentUrls>;
  typing(conversationId: string): void;
  markRead(conversationId: string, seq: number): void;
  assign(id: string): Promise<Conversation>;
  /** `wrapUp`: one of the deployment's wrap-up codes, required when it has a list. */
  close(id: string, options?: { wrapUp?: string }): Promise<Conversation>;
  /** To another agent of the conversation's queue, or to another queue, with a note only agents read. */
  transfer(id: string, target: TransferTarget): Promise<Conversation>;
  /** Back to the conversation's queue, where offers run again. */
  unassign(id: string): Promise<Conversation>;
  /** The agent's status as the server last said it (null until it did). */
  readonly status: AgentStatus | null;
  /** The live offers to this agent, the one that runs out first first. */
  readonly offers: Offer[];
  /** `GET /api/v2/agent/status`: status, capacity and load. */
  routing(): Promise<AgentRoutingState>;
  /** `PUT /api/v2/agent/status`: `available` (offer me conversations) or `away`. */
  setStatus(status: 'available' | 'away'): Promise<AgentRoutingState>;
  /** Searches the agent's queues' conversations (closed ones unless `state` says otherwise) by the guest's name or email, or a message's text; `before` is the last id of the previous page. The ones found become known to `conversation(id)` and `open(id)`. */
  search(options?: { q?: string; state?: string; before?: string; limit?: number }): Promise<{ conversations: Conversation[]; hasMore: boolean }>;
  /** Where the conversation's visitor was when it started (`{}` when nobody said). */
  visitor(conversationId: string): Promise<VisitorContext>;
  /** The same customer's conversations (its `externalId`), newest first, in the agent's queues. */
  customerConversations(conversationId: string, options?: { before?: string; limit?: number }): Promise<{ conversations: Conversation[]; hasMore: boolean }>;
  /** The canned replies of the conversation's deployment, by shortcut. */
  cannedReplies(conversationId: string): Promise<CannedReply[]>;
  /** Accepts an offer; resolves once the conversation is the agent's, rejects with `offer_expired`, `offer_not_yours`, `conversation_taken`, `agent_at_capacity`. */
  accept(conversationId: string): Promise<void>;
  /** Declines an offer: it goes to the next agent. */
  decline(conversationId: string): Promise<void>;
  /** Exchanges the still-valid token for a fresh one (the SDK does it by itself before expiry and on close 4002). */
  refreshToken(options?: { reconnect?: boolean }): Promise<void>;
  end(): void;
}

export declare function memoryStorage(): StorageLike;
export declare function defaultStorage(): StorageLike;

export type CloseClass = 'terminal' | 'refresh' | 'backoff' | 'immediate';
export declare function classifyClose(code: number): CloseClass;
export declare function parseReason(reason: string): { code: string | null; message: string; ref: string | null };
export declare function backoffDelay(attempt: number, options?: BackoffOptions): number;
export declare function sessionRetryDelay(
  error: { code: string; status?: number; retryInMs?: number | null; fatal?: boolean },
  attempt: number,
  options?: BackoffOptions,
): number | null;
export declare function reconnectDelay(
  input: { kind: CloseClass; attempt: number; closeCode?: number; uptimeMs?: number },
  options?: BackoffOptions,
): number | null;
export declare function refreshDelay(expiresInMs: number): number;
export declare function newClientMessageId(randomBytes?: () => Uint8Array): string;
export declare const MARKER: 'NICE-WebSocket-Auth';

export declare class SeqLog<T extends { seq: number } = Message> {
  constructor(floor?: number | null);
  floor: number | null;
  lastSeq: number | null;
  readonly anchored: boolean;
  readonly hasGap: boolean;
  readonly hasOlder: boolean;
  readonly messages: T[];
  has(seq: number): boolean;
  anchor(floor: number): T[];
  insert(entry: T): T[];
  addOlder(entries: T[]): T[];
}

export declare class Outbox {
  constructor(entries?: OutboxEntry[], options?: { newId?: () => string; now?: () => number });
  readonly size: number;
  add(text: string, conversationId?: string): OutboxEntry;
  remove(clientMessageId: string): OutboxEntry | undefined;
  has(clientMessageId: string): boolean;
  list(): OutboxEntry[];
  /** `list()`: what `JSON.stringify` saves. */
  toJSON(): OutboxEntry[];
}

// Only what is marked `export` above is exported (a declaration file exports everything otherwise,
// and porch.js has no Emitter or CommonOptions to import).
// The wire contract, generated from porch-wire (wire.gen.d.ts; scripts/regen-sdk-wire.sh).
export { API_VERSION, PROTOCOL_MARKER, CLOSE_REASON_BYTES_MAX, PATHS, RECONNECT_RULES, ERRORS, LIMITS } from './wire.gen.js';
export type { ErrorCode, ErrorSpec, ReconnectClass } from './wire.gen.js';
import type { ErrorCode } from './wire.gen.js';

/** The codes the SDK itself reports, beside Porch's `ErrorCode`s. */
export type SdkErrorCode = 'network' | 'session_missing' | 'ended' | 'bad_response' | 'csp_blocked' | `close_${number}`;
