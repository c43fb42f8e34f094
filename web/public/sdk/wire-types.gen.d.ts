// Generated from crates/porch-wire and crates/porch-core/src/limits.rs by
// crates/porch-core/src/sdk_wire/: do not edit. Regenerate with scripts/regen-sdk-wire.sh.
// The frames and REST bodies, as serde writes them (docs/protocol.md, docs/api.md).

import type { ErrorCode } from './wire.gen.js';

/** A frame from a client to the gateway (docs/protocol.md). */
export type ClientFrame =
  /** Post a message; answered by `ack` or `error`. */
  | { type: 'send'; clientMessageId: string; text: string; conversationId?: string }
  /** Guests: pick a quick reply of a bot's message. */
  | { type: 'choose'; clientMessageId: string; text: string; choice: Choice }
  /** "I am typing." */
  | { type: 'typing'; conversationId?: string }
  /** "I have read up to `seq`." */
  | { type: 'read'; seq: number; conversationId?: string }
  /** Agents: `available` or `away`. */
  | { type: 'status'; status: string }
  /** Agents: take the conversation offered. */
  | { type: 'accept'; conversationId: string }
  /** Agents: pass the offer on. */
  | { type: 'decline'; conversationId: string }
  /** Agents: to another agent (`agentId`) or queue (`queue`), with an internal `note`. */
  | { type: 'transfer'; conversationId: string; agentId?: string; queue?: string; note?: string }
  /** Agents: back to its queue. */
  | { type: 'unassign'; conversationId: string }
  /** Agents: close, with a wrap-up code. */
  | { type: 'close'; conversationId: string; wrapUp?: string }
  /** A fresh access token for this connection. */
  | { type: 'refresh'; token: string }
  /** Answered by `pong`. */
  | { type: 'ping'; id?: string };

/** A frame from the gateway to a client (docs/protocol.md). */
export type ServerFrame =
  /** First frame of every connection. */
  | ({ type: 'ready' } & Ready)
  /** A new entry in a conversation's log. */
  | { type: 'message'; message: Message }
  /** A `send` of this connection was durably stored. */
  | { type: 'ack'; clientMessageId: string; message: Message; duplicate: boolean }
  /** Someone is typing. */
  | { type: 'typing'; conversationId: string; participant: Participant }
  /** Someone read up to `seq`. */
  | { type: 'read'; conversationId: string; participant: Participant; seq: number }
  /** A conversation changed state or appeared. */
  | { type: 'conversation'; conversation: Conversation }
  /** A request of this connection failed; the connection stays open. */
  | { type: 'error'; code: ErrorCode; message: string; clientMessageId?: string; retryAfterMs?: number }
  /** Guests: the deployment's notice was set or cleared. */
  | { type: 'notice'; notice: Notice | null }
  /** Guests: where the waiting guest stands in its queue. */
  | { type: 'queue'; conversationId: string; position: number; estimatedWaitMs?: number }
  /** Agents: the agent's status as stored. */
  | { type: 'status'; status: AgentStatus }
  /** Supervisors only: an agent's status, capacity, queues or load changed, as stored now (docs/routing.md, Supervisors). Not ordered, not replayed: re-read the overview after each `ready`. */
  | { type: 'agent'; agent: AgentOverview }
  /** Agents: a waiting conversation offered until `expiresAtMs` (Unix ms). */
  | { type: 'offer'; conversation: Conversation; expiresAtMs: number }
  /** Agents: an offer ended, and why. */
  | { type: 'offerEnded'; conversationId: string; reason: OfferEndReason }
  /** Answer to a `refresh`. */
  | { type: 'refreshed'; tokenExpiresInMs: number }
  /** Answer to a `ping`. */
  | { type: 'pong'; id?: string };

/** Why an agent's offer ended. */
export type OfferEndReason = 'accepted' | 'declined' | 'expired';

/** The body of the `ready` frame. */
export interface Ready {
  sessionId: string;
  role: Role;
  participant: Participant;
  /** Guests: their conversation. */
  conversation?: Conversation;
  /** Agents: the open conversations of their queues. */
  conversations?: Conversation[];
  /** Agents: `conversations` is not all of them; list the rest over REST. */
  moreConversations?: true;
  /** Guests: the conversation's latest `seq`. */
  lastSeq?: number;
  notice?: Notice;
  queue?: QueuePosition;
  /** What happened to an `afterSeq` resume request. */
  resume?: Resume;
  heartbeatIntervalMs: number;
  tokenExpiresInMs: number;
  limits: ConnectionLimits;
}

/** The outcome of a resume request (`afterSeq` in the gateway URL). */
export interface Resume {
  recovered: boolean;
  afterSeq: number;
  replayed: number;
  reason?: string;
}

/** The limits `ready` announces. */
export interface ConnectionLimits {
  messageBytesMax: number;
  textCharsMax: number;
  attachments: AttachmentLimits;
}

/** Who sent a message. */
export type Role = 'guest' | 'agent' | 'system' | 'bot';

/** The author of a message or a typing/read event. */
export interface Participant {
  role: Role;
  id: string;
  displayName?: string;
}

/** One entry of a conversation's log. */
export interface Message {
  id: string;
  conversationId: string;
  /** Position in the conversation's log: from 1, no gaps. */
  seq: number;
  clientMessageId?: string;
  sender: Participant;
  text: string;
  /** Set on system entries: the state change they record. */
  event?: ConversationState;
  /** A bot's quick replies and cards, or a guest's pick (docs/bots.md). */
  content?: Content;
  /** Agents only: a transfer's internal note (never sent to guests). */
  note?: string;
  /** Agents only: a close's wrap-up code (never sent to guests). */
  wrapUp?: string;
  createdAtMs: number;
  /** Set on attachment messages (whose `text` is the file's name). */
  attachment?: Attachment;
  /** A tombstone: an erased customer's entry (docs/identity.md). */
  erased?: true;
  /** The system entry of a reopen (docs/routing.md). */
  reopened?: true;
  /** The system entry of a queue's unanswered fallback (docs/routing.md). */
  fallback?: true;
}

/** Where a conversation stands. */
export type ConversationState = 'waiting' | 'assigned' | 'closed';

/** A conversation as agents (and, in `ready`, guests) see it. */
export interface Conversation {
  id: string;
  deploymentId: string;
  queue: string;
  state: ConversationState;
  guest: Guest;
  assignedAgentId?: string;
  lastSeq: number;
  createdAtMs: number;
  updatedAtMs: number;
  /** A closed conversation its guest may still reopen by writing: until when (epoch ms, the server's clock). Absent when it is not closed, or reopening is off (docs/routing.md, Reopen). */
  reopenUntilMs?: number;
  /** Agents only: the preview of the latest entry, for lists (api.md, "Last message"). Absent before the first entry and in what guests get. */
  lastMessage?: LastMessage;
  /** Guests only: the agent who holds the conversation (state `assigned`). */
  agent?: AgentCard;
}

/** The preview of a conversation's latest entry (api.md, "Last message"). */
export interface LastMessage extends Preview {
  seq: number;
  createdAtMs: number;
}

/** What a list shows of an entry: who wrote it, its kind, its text on one line. */
export interface Preview {
  senderRole: Role;
  /** The sender's id, as in the entry's `sender`. */
  senderId: string;
  kind: PreviewKind;
  /** One line, at most `LIMITS.lastMessagePreviewCharsMax` characters; empty for an attachment. */
  text: string;
  /** `text` was cut: show an ellipsis. */
  truncated?: true;
}

/** `attachment`: a file (its name is not shown); `system`: Porch's own entry. */
export type PreviewKind = 'text' | 'attachment' | 'system';

/** The agent who holds a guest's conversation, as the guest sees them (protocol.md). */
export interface AgentCard {
  /** The display name an operator set, else the login name. */
  name: string;
  /** An https URL of the agent's picture. */
  avatarUrl?: string;
}

/** What is known about a guest. */
export interface Guest {
  id: string;
  displayName?: string;
  email?: string;
  externalId?: string;
  attributes?: Record<string, string>;
  createdAtMs: number;
  /** How `externalId` was vouched for; absent for an anonymous guest. */
  verifiedBy?: Verification;
}

/** How a guest's `externalId` was vouched for. */
export type Verification = 'backend' | 'identityToken';

/** Whether an agent takes new conversations (docs/routing.md). */
export type AgentStatus = 'available' | 'away' | 'offline';

/** A deployment's notice. Written by the customer: show `text` as text, never as HTML. */
export interface Notice {
  id: string;
  deploymentId: string;
  text: string;
  createdAtMs: number;
}

/** Where a waiting guest stands in its queue (docs/routing.md, "Queue positions"). */
export interface QueuePosition {
  /** 1 is the next conversation of the queue to get an agent. */
  position: number;
  /** Absent while the queue has no history. */
  estimatedWaitMs?: number;
}

/** What a message carries beside its text (docs/bots.md). */
export interface Content {
  quickReplies?: QuickReply[];
  cards?: Card[];
  choice?: Choice;
}

/** One quick reply: `id` for the bot, `label` for the visitor. */
export interface QuickReply {
  id: string;
  label: string;
}

/** A card of a bot's message: plain text and https:// links. */
export interface Card {
  title: string;
  text?: string;
  links?: CardLink[];
}

/** A link of a card. */
export interface CardLink {
  label: string;
  url: string;
}

/** A guest's pick: the `seq` of the message that offered the quick reply, and its `id`. */
export interface Choice {
  seq: number;
  id: string;
}

/** The file of an attachment message (docs/attachments.md). */
export interface Attachment {
  id: string;
  name: string;
  size: number;
  /** Detected from the file's first bytes. */
  contentType: string;
  /** The file's bytes are deleted: show it as removed. */
  deleted?: true;
}

/** What may be attached, announced in `ready` and by the widget endpoint. */
export interface AttachmentLimits {
  bytesMax: number;
  conversationBytesMax: number;
  types: string[];
}

/** `POST …/attachments` body: ask for an upload. */
export interface UploadRequest {
  clientMessageId: string;
  name: string;
  size: number;
  contentType: string;
}

/** Where to `PUT` an upload's bytes, until when. */
export interface UploadGrant {
  attachmentId: string;
  uploadUrl: string;
  expiresAtMs: number;
}

/** Short-lived URLs of one attachment (no token needed: the URL is the grant). */
export interface AttachmentUrl {
  url: string;
  /** For a PNG or JPEG: its preview, a small PNG. */
  previewUrl?: string;
  expiresAtMs: number;
}

/** The error body of every REST endpoint (RFC 6749 §5.2). */
export interface ErrorBody {
  error: ErrorCode;
  /** Cause and fix, for people. */
  error_description: string;
  /** Correlation id, also in the server's log line. */
  error_ref?: string;
}

/** A guest session: what `POST /api/v2/webmessaging/guests` (your backend) and the widget endpoint return. */
export interface GuestSession {
  guestId: string;
  conversationId: string;
  deploymentId: string;
  gatewayUrl: string;
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  expiresAtMs: number;
  guest: Guest;
}

/** `POST /api/v2/webmessaging/deployments/{deploymentId}/guests` body. */
export interface WidgetGuestRequest {
  displayName?: string;
  email?: string;
  attributes?: Record<string, string>;
  context?: VisitorContext;
  identityToken?: string;
}

/** Where a visitor was when its conversation started. */
export interface VisitorContext {
  pageUrl?: string;
  pageTitle?: string;
  userAgent?: string;
}

/** `POST /api/v2/webmessaging/guests/identity` body. */
export interface IdentifyGuestRequest {
  identityToken: string;
}

/** `POST …/messages` body, for guests and agents alike. */
export interface SendMessageRequest {
  clientMessageId: string;
  text: string;
  choice?: Choice;
}

/** Answer to a send over REST. */
export interface SendMessageResponse {
  message: Message;
  duplicate: boolean;
}

/** A page of history, in ascending `seq` order. */
export interface MessagePage {
  messages: Message[];
  hasMore: boolean;
  lastSeq: number;
}

/** A page of conversations, newest first. */
export interface ConversationPage {
  conversations: Conversation[];
  hasMore: boolean;
}

/** `GET /api/v2/agent/conversations` answer. */
export interface ConversationList {
  conversations: Conversation[];
}

/** `GET /api/v2/webmessaging/guests/queue` answer. */
export interface GuestQueue {
  queue: QueuePosition | null;
}

/** `POST /api/v2/agents/login` body. */
export interface AgentLoginRequest {
  name: string;
  secret: string;
}

/** What `POST /api/v2/agents/login` returns. */
export interface AgentSession {
  agentId: string;
  name: string;
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  expiresAtMs: number;
  gatewayUrl: string;
  queues: string[];
  /** A supervisor sees every queue's conversations (docs/routing.md). */
  supervisor?: true;
}

/** `POST /api/v2/agent/conversations/{id}/transfer` body: exactly one of `agentId` and `queue`. */
export interface TransferRequest {
  agentId?: string;
  queue?: string;
  note?: string;
}

/** `POST /api/v2/agent/conversations/{id}/close` body. */
export interface CloseRequest {
  wrapUp?: string;
}

/** `PUT /api/v2/agent/status` body. */
export interface AgentStatusRequest {
  status: string;
}

/** `GET` and `PUT /api/v2/agent/status`: the agent's status, capacity and load as stored. */
export interface AgentStatusResponse {
  agentId: string;
  status: AgentStatus;
  /** How many conversations the agent may hold at once. */
  capacity: number;
  /** How many it holds now. */
  load: number;
}

/** One agent as a supervisor sees it: an entry of the overview's `agents` (`GET /api/v2/agent/supervisor/overview`), and the `agent` frame. */
export interface AgentOverview {
  id: string;
  name: string;
  status: AgentStatus;
  /** As routing resolves it now. */
  capacity: number;
  /** Conversations it holds now. */
  load: number;
  queues: string[];
  supervisor: boolean;
}

/** A canned reply of a deployment: `text`, inserted after `/shortcut`. */
export interface CannedReply {
  shortcut: string;
  text: string;
}

/** `GET /api/v2/agent/conversations/{id}/canned-replies` answer. */
export interface CannedReplyList {
  replies: CannedReply[];
}

/** Answer of every notice endpoint: the current notice, `null` when there is none. */
export interface NoticeState {
  notice: Notice | null;
}

/** What the standard widget greets a new visitor with, set per deployment by its operator. */
export interface Welcome {
  /** The deployment's own words; `null` for none. */
  greeting: string | null;
  /** How soon the team usually answers; `null` to say nothing. */
  replyWithinMins: number | null;
  /** Ask a new visitor for an email and a message while nobody can answer. */
  offlineForm: boolean;
}

/** `GET /api/v2/webmessaging/deployments/{deploymentId}/widget`: what the widget shows before any session. */
export interface WidgetConfig extends Welcome {
  notice: Notice | null;
  /** Someone can answer the deployment's queue now. */
  agentsAvailable: boolean;
  attachments: AttachmentLimits;
}
