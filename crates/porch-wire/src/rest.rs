//! REST request and response bodies. Field names are camelCase on the wire, except the OAuth
//! token response and every error body, which follow RFC 6749's snake_case.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::code::ErrorCode;
pub use crate::lists::{AgentCard, LastMessage, Preview, PreviewKind};

/// Error body of every REST endpoint: the RFC 6749 §5.2 shape, used everywhere so a client
/// parses one shape. `error_description` names the cause and the fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code (see `docs/protocol.md`, "Error codes").
    pub error: ErrorCode,
    /// Cause and fix, for people.
    pub error_description: String,
    /// Correlation id, also written in the server log line for this failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_ref: Option<String>,
}

/// `POST /api/v2/oauth/token` success (RFC 6749 §5.1). No refresh token, per §4.4.3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// `POST /api/v2/oauth/introspect` answer (RFC 7662 §2.2), with Porch's reason when inactive.
///
/// RFC 7662 suggests not telling why a token is inactive; Porch tells the authenticated
/// client that asks, because "why does my user's token fail" is the question it exists for.
/// Tokens that belong to another client are reported inactive with no details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectionResponse {
    pub active: bool,
    /// `client`, `guest` or `agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Why the token is inactive: the same code and message the gateway would close with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_reason: Option<ErrorBody>,
}

/// `POST /api/v2/webmessaging/guests` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateGuestRequest {
    /// The deployment (website or channel) the guest talks to.
    pub deployment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The customer's own id for this person, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Free-form string attributes shown to agents.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Where the visitor was when the chat started, for the agent (a backend may pass on what
    /// its page told it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<VisitorContext>,
}

/// Where a visitor was when its conversation started, as its browser said: shown to the
/// agent beside the chat (`GET /api/v2/agent/conversations/{id}/visitor`). Each field is
/// optional and bounded (`VISITOR_*_CHARS_MAX`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VisitorContext {
    /// The page's address (`http:` or `https:`), without its fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_title: Option<String>,
    /// The browser's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// `POST /api/v2/webmessaging/deployments/{deploymentId}/guests` body (the standard widget):
/// the guest's attributes; the deployment is in the path, the caller proven by `Origin`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WidgetGuestRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Where the visitor is (the widget and the SDK send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<VisitorContext>,
    /// A JWT the builder's backend signed for a logged-in customer (docs/identity.md): the
    /// session becomes that customer's (`externalId` = its `sub`; its `name` and `email`, when
    /// given, replace the fields above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_token: Option<String>,
}

/// `POST /api/v2/webmessaging/guests/identity` body: an anonymous guest session becomes the
/// customer an identity token names, keeping its conversation (docs/identity.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentifyGuestRequest {
    pub identity_token: String,
}

/// A guest session: what `POST /guests` creates and `GET /guests/{guestId}` returns.
///
/// `gatewayUrl` and `accessToken` are all a browser needs:
/// `new WebSocket(gatewayUrl, ['NICE-WebSocket-Auth', accessToken])`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestSession {
    pub guest_id: String,
    pub conversation_id: String,
    pub deployment_id: String,
    /// Absolute `ws://` or `wss://` URL of the gateway.
    pub gateway_url: String,
    /// Guest access token (a JWT, audience `porch-guest`). Minted fresh on every response.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of `accessToken` in seconds.
    pub expires_in: u64,
    /// Expiry of `accessToken`, milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
    pub guest: Guest,
}

/// What is known about a guest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Guest {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    pub created_at_ms: i64,
    /// How Porch knows this guest is the customer `externalId` names; absent for an
    /// anonymous guest (docs/identity.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<Verification>,
}

/// How a guest's `externalId` was vouched for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verification {
    /// The builder's backend created the session with it (OAuth client credentials).
    Backend,
    /// An identity token the builder's backend signed, checked by Porch.
    IdentityToken,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Backend => "backend",
            Verification::IdentityToken => "identityToken",
        }
    }

    pub fn parse(s: &str) -> Option<Verification> {
        [Verification::Backend, Verification::IdentityToken].into_iter().find(|v| v.as_str() == s)
    }
}

/// `POST .../messages` body, for guests and agents alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMessageRequest {
    /// Chosen by the client, unique per sender and conversation; a retry with the same id
    /// returns the original message and creates nothing.
    pub client_message_id: String,
    pub text: String,
    /// A guest's pick of a bot's quick reply (docs/bots.md); the text is its label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<crate::bot::Choice>,
}

/// Answer to a send, over REST (`201` new, `200` replay) and inside a WebSocket `ack`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageResponse {
    pub message: Message,
    /// True when this `clientMessageId` had been stored before: nothing new was created.
    pub duplicate: bool,
}

/// Who sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    Guest,
    Agent,
    /// Porch itself: conversation state changes ("assigned", "closed").
    System,
    /// A bot of the deployment (docs/bots.md).
    Bot,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Guest => "guest",
            Role::Agent => "agent",
            Role::System => "system",
            Role::Bot => "bot",
        }
    }
}

/// The author of a message or a typing/read event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub role: Role,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// One entry of a conversation's log. `seq` starts at 1 and grows by exactly 1 per entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub seq: u64,
    /// Absent on system messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    pub sender: Participant,
    pub text: String,
    /// For system messages: the state change they record (`assigned`, `closed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ConversationState>,
    /// A bot's quick replies and cards, or a guest's pick of a quick reply (docs/bots.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<crate::bot::Content>,
    /// Agents only: the internal note of a transfer (docs/routing.md). Never sent to a guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Agents only: the wrap-up code a close recorded (docs/routing.md). Never sent to a guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up: Option<String>,
    pub created_at_ms: i64,
    /// An attachment message's file (docs/attachments.md); `text` is then its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<crate::attachment::Attachment>,
    /// A tombstone: the entry of a customer an operator erased (docs/identity.md, "Erasure").
    /// Its `text` is empty and its sender has no display name; `seq`, time and sender's role
    /// stay, so the log keeps its sequence. Absent (false) on every other entry.
    #[serde(default, skip_serializing_if = "is_false")]
    pub erased: bool,
    /// A reopen (docs/routing.md): the system entry that takes a closed conversation back to
    /// its last agent (`event: assigned`) or its queue (`event: waiting`) when its guest writes
    /// within `reopen_window_secs` of the close. Absent (false) on every other entry.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reopened: bool,
    /// A queue's unanswered fallback (docs/routing.md): the system entry Porch wrote because the
    /// conversation waited the queue's fallback time with no agent (a message to the guest, a
    /// move to another queue, or a close). Absent (false) on every other entry.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fallback: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Message {
    /// True when the entry carries something only agents may read.
    pub fn is_internal(&self) -> bool {
        self.note.is_some() || self.wrap_up.is_some()
    }

    /// The entry as a guest sees it: the same `seq` and text, without what is for agents only.
    pub fn for_guest(mut self) -> Message {
        self.note = None;
        self.wrap_up = None;
        self
    }
}

/// A page of history. Messages are always in ascending `seq` order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// True when more messages lie beyond this page in the direction asked.
    pub has_more: bool,
    /// The conversation's latest `seq` when the page was read.
    pub last_seq: u64,
}

/// Where a conversation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConversationState {
    /// In its queue, no agent yet.
    Waiting,
    /// An agent took it.
    Assigned,
    /// Ended; no more messages are accepted.
    Closed,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Waiting => "waiting",
            ConversationState::Assigned => "assigned",
            ConversationState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ConversationState> {
        match s {
            "waiting" => Some(ConversationState::Waiting),
            "assigned" => Some(ConversationState::Assigned),
            "closed" => Some(ConversationState::Closed),
            _ => None,
        }
    }
}

/// Whether an agent takes new conversations (`docs/routing.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AgentStatus {
    /// Offered waiting conversations while it has spare capacity.
    Available,
    /// Connected, but offered nothing (set by the agent, or after letting an offer expire).
    Away,
    /// No connection; offered nothing.
    Offline,
}

impl AgentStatus {
    pub const ALL: [AgentStatus; 3] =
        [AgentStatus::Available, AgentStatus::Away, AgentStatus::Offline];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Available => "available",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<AgentStatus> {
        AgentStatus::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// A conversation as agents (and, in `ready`, guests) see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    pub deployment_id: String,
    pub queue: String,
    pub state: ConversationState,
    pub guest: Guest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_agent_id: Option<String>,
    pub last_seq: u64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// A closed conversation its guest may still reopen by writing (docs/routing.md, "Reopen"):
    /// until when, in epoch ms. Absent when it is not closed or reopening is off. The server
    /// sets it where it sends the conversation (the store does not know the window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopen_until_ms: Option<i64>,
    /// Agents only: the latest entry, previewed for lists (`LastMessage`); absent before the
    /// first entry and after an erasure. Never sent to a guest (`Conversation::for_guest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<LastMessage>,
    /// For guests: the name and avatar of the agent who holds the conversation, in their
    /// `ready`, REST answers and live `conversation` frames (whose copy agents hear too);
    /// absent while nobody holds it, and in what the store reads for agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentCard>,
}

impl Conversation {
    /// The conversation as a guest sees it: without the preview of its latest entry (agents'
    /// lists only), with the card of the agent who holds it, if any.
    pub fn for_guest(mut self, agent: Option<AgentCard>) -> Conversation {
        self.last_message = None;
        self.agent = agent.filter(|_| self.state == ConversationState::Assigned);
        self
    }
}

/// `GET /api/v2/agent/conversations` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
}

/// Where a waiting guest stands in its queue (docs/routing.md, "Queue positions"): in
/// `ready`, in `queue` frames and in `GET /api/v2/webmessaging/guests/queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuePosition {
    /// 1 is the next conversation of the queue to get an agent.
    pub position: u32,
    /// How long the guest may still wait, from the queue's recent waits; absent while the
    /// queue has no history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_wait_ms: Option<u64>,
}

/// `GET /api/v2/webmessaging/guests/queue`: the guest's place in its queue; `null` once an
/// agent holds the conversation (or it closed), and past the positions a node reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestQueue {
    pub queue: Option<QueuePosition>,
}

/// A page of a customer's conversations (`GET /api/v2/webmessaging/guests/conversations`):
/// newest first by creation, so a page never shifts under a reader paging with `before`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    /// True when older conversations lie beyond this page (ask again with `before` set to the
    /// last one's id).
    pub has_more: bool,
}

/// `POST /api/v2/agents/login` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentLoginRequest {
    pub name: String,
    pub secret: String,
}

/// `POST /api/v2/agents/login` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSession {
    pub agent_id: String,
    pub name: String,
    /// Agent token (a JWT, audience `porch-agent`).
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub expires_at_ms: i64,
    /// Absolute `ws://` or `wss://` URL of the gateway (the same one guests use).
    pub gateway_url: String,
    /// Queues whose conversations this agent serves (a supervisor sees every queue's).
    pub queues: Vec<String>,
    /// A supervisor (docs/routing.md, "Supervisors"); absent for a plain agent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supervisor: bool,
}

/// `POST /api/v2/agent/conversations/{id}/transfer` body: exactly one of `agentId` and
/// `queue`, and an internal `note` only agents read (docs/routing.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `POST /api/v2/agent/conversations/{id}/close` body (optional): the wrap-up code, one of the
/// deployment's list (docs/routing.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up: Option<String>,
}

/// `PUT /api/v2/agent/status` body: the status the agent chooses, `available` or `away`. A
/// string, so that a status that does not exist is refused with `agent_status_invalid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentStatusRequest {
    pub status: String,
}

/// An agent's routing state as stored: the answer of `GET` and `PUT /api/v2/agent/status`.
/// The console shows it beside the status switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatusResponse {
    pub agent_id: String,
    pub status: AgentStatus,
    /// How many conversations the agent may hold at once, as routing resolves it now (its
    /// own, else its queues' smallest default, else `agent_capacity_default`).
    pub capacity: u32,
    /// How many it holds now (conversations `assigned` to it).
    pub load: u32,
}

/// One canned reply of a deployment, as agents read it: the console inserts `text` when the
/// agent types `/` and the shortcut in its composer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CannedReply {
    pub shortcut: String,
    pub text: String,
}

/// `GET /api/v2/agent/conversations/{id}/canned-replies`: the canned replies of the
/// conversation's deployment, by shortcut.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CannedReplyList {
    pub replies: Vec<CannedReply>,
}

/// `PUT /api/v2/webmessaging/deployments/{deploymentId}/notice` body: the text every guest of
/// the deployment sees (a service announcement: opening hours, an outage, a wait time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetNoticeRequest {
    /// At most `text_chars_max` Unicode scalar values, like a message.
    pub text: String,
}

/// A deployment's notice: one at a time per deployment, replaced by the next `PUT`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// New on every `PUT`, so a client can tell a new notice from one it has shown.
    pub id: String,
    pub deployment_id: String,
    pub text: String,
    pub created_at_ms: i64,
}

/// Answer of every notice endpoint (`GET`, `PUT`, `DELETE`): the deployment's current notice,
/// `null` when there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticeState {
    pub notice: Option<Notice>,
}

/// `GET /api/v2/webmessaging/deployments/{deploymentId}/widget`: what the standard widget shows
/// before the visitor has a guest session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetConfig {
    /// The deployment's notice, `null` when there is none.
    pub notice: Option<Notice>,
    /// The greeting, reply time and offline form setting, as fields of this object.
    #[serde(flatten)]
    pub welcome: Welcome,
    /// Whether someone can answer the deployment's queue now: one of its agents `available`
    /// with spare capacity, or a bot the queue starts with. As of a read at most
    /// `widget_availability_cache_ms` old. With `offlineForm`, false shows the offline form.
    pub agents_available: bool,
    /// What a visitor may attach, so the widget refuses a file before uploading it.
    pub attachments: crate::attachment::AttachmentLimits,
}

/// What the standard widget greets a new visitor with, set per deployment by its operator
/// (`porch deployments update --greeting … --reply-within-mins … --offline-form …`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Welcome {
    /// The deployment's own words, shown before the visitor writes; `null` for none.
    pub greeting: Option<String>,
    /// How soon the team usually answers, in minutes, which the widget says in the visitor's
    /// language; `null` to say nothing.
    pub reply_within_mins: Option<u32>,
    /// While nobody can answer (`agents_available` false), the widget asks a new visitor for
    /// an email and a message instead of opening the live chat. On unless the operator turns
    /// it off; a welcome stored before the setting existed has it on.
    #[serde(default = "on")]
    pub offline_form: bool,
}

fn on() -> bool {
    true
}

impl Default for Welcome {
    fn default() -> Self {
        Welcome { greeting: None, reply_within_mins: None, offline_form: true }
    }
}

impl Welcome {
    /// Nothing differs from the default: stored as NULL.
    pub fn is_empty(&self) -> bool {
        *self == Welcome::default()
    }
}

/// `POST /api/v2/webmessaging/deployments/{deploymentId}/customers/erasure` body: the customer
/// to erase (client token, scope `erasure`; docs/identity.md, "Erasure").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EraseCustomerRequest {
    /// The customer's id in the builder's system, as its sessions were created with.
    pub external_id: String,
}

/// What an erasure did. Erasing a customer again erases what is new since (a session opened
/// meanwhile) and answers the same way, with the counts of this call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerErasure {
    pub deployment_id: String,
    /// Guest sessions erased and revoked by this call.
    pub guests: u64,
    /// Log entries this call turned into tombstones.
    pub messages: u64,
    /// The conversations those guests had: their logs keep their sequence, with tombstones.
    pub conversation_ids: Vec<String>,
}
