//! WebSocket frames. Every frame is one JSON text message with a `type` field.
//!
//! The server sends `ready` first, before it reads anything from the client. Frames a client
//! sends before it has seen `ready` are therefore not an error: they are read after `ready`
//! went out, in the order sent.

use serde::{Deserialize, Serialize};

use crate::code::ErrorCode;
use crate::rest::{Conversation, Message, Notice, Participant, Role};

/// A frame from a client (guest or agent) to the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ClientFrame {
    /// Post a message. Answered by `ack` (or `error` carrying the same `clientMessageId`).
    Send {
        client_message_id: String,
        text: String,
        /// Required for agents (who serve many conversations); ignored-if-equal for guests.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<String>,
    },
    /// Guests: pick a quick reply of a bot's message (docs/bots.md). `text` is the reply's
    /// label, `choice` the bot message's `seq` and the reply's `id`. Stored as a message, like
    /// `send`'s, and answered the same way: `ack` (with the same dedupe of `clientMessageId`),
    /// or `error` with the same `clientMessageId` (`content_invalid` when the choice names no
    /// quick reply of that message; nothing stored).
    Choose { client_message_id: String, text: String, choice: crate::bot::Choice },
    /// "I am typing." Send at most every few seconds while typing; not stored.
    Typing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<String>,
    },
    /// "I have read up to `seq`." Stored per participant; forwarded to the other side.
    Read {
        seq: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<String>,
    },
    /// Agents: "my status is now `status`" (`available` or `away`, docs/routing.md). Answered
    /// by `status`, or by `error` (`agent_status_invalid`) with nothing changed. A string, so
    /// that a status that does not exist gets its own code.
    Status { status: String },
    /// Agents: "I take the conversation offered to me" (docs/routing.md). Answered by
    /// `offerEnded` (`accepted`) and the conversation's `conversation` frame, or by `error`
    /// (`offer_expired`, `offer_not_yours`, `conversation_taken`, `agent_at_capacity`) with
    /// nothing changed.
    Accept { conversation_id: String },
    /// Agents: "not me": the offer goes to the next agent. Answered by `offerEnded`
    /// (`declined`), or by `error` (`offer_expired`, `offer_not_yours`).
    Decline { conversation_id: String },
    /// Agents: hand a conversation one holds to another agent (`agentId`) or queue (`queue`),
    /// with an internal `note` only agents read (docs/routing.md). Answered by the log entry
    /// and the `conversation` frame, or by `error` with nothing changed.
    Transfer {
        conversation_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Agents: put a conversation one holds back in its queue. Answered as `transfer`.
    Unassign { conversation_id: String },
    /// Agents: close a conversation, with a `wrapUp` code from the deployment's list. Answered
    /// as `transfer`.
    Close {
        conversation_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wrap_up: Option<String>,
    },
    /// "Here is a fresh access token for this connection" (from `POST …/guests/token` or
    /// `POST /api/v2/agents/token`), so a session outlives its first token without
    /// reconnecting. Answered by `refreshed`, or by `error` with the token's refusal and
    /// nothing changed: the connection goes on under the old token (until it expires).
    Refresh { token: String },
    /// Application-level ping (browsers cannot send protocol pings). Answered by `pong`.
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

/// A frame from the gateway to a client.
// `Ready` is large and sent once per connection; frames are built, serialized and dropped, so
// boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ServerFrame {
    /// First frame of every connection: the session is authenticated and live.
    Ready(Ready),
    /// A new entry in a conversation's log (from anyone, including this connection).
    Message { message: Message },
    /// A `send` of this connection was durably stored.
    Ack {
        client_message_id: String,
        message: Message,
        /// True when the id had been stored before: nothing new was created.
        duplicate: bool,
    },
    /// Someone in the conversation is typing.
    Typing { conversation_id: String, participant: Participant },
    /// Someone read the conversation up to `seq`.
    Read { conversation_id: String, participant: Participant, seq: u64 },
    /// A conversation changed state, or (for agents) appeared in one of their queues.
    Conversation { conversation: Conversation },
    /// A request of this connection failed; the connection stays open.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_message_id: Option<String>,
        /// For `rate_limited` and the `*_unavailable` codes: wait this long, then retry the
        /// same frame (with the same `clientMessageId`; nothing was stored).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// Guests: the deployment's notice was set (`notice`) or cleared (`null`). It replaces
    /// whatever notice the client showed; `ready` carries the one current at connection.
    Notice { notice: Option<Notice> },
    /// Guests: where the waiting guest now stands in its queue (docs/routing.md). Sent when its
    /// position or estimate changes; never once an agent holds the conversation.
    Queue {
        conversation_id: String,
        position: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_wait_ms: Option<u64>,
    },
    /// Agents: the agent's status as stored, after its own `status` frame (or when the server
    /// set it `away` because an offer ran out).
    Status { status: crate::rest::AgentStatus },
    /// Supervisors only: an agent's status, capacity, queues or load changed (docs/routing.md,
    /// "Supervisors"). Informational, not ordered: it replaces what the client showed of that
    /// agent; after a reconnect, re-read the overview.
    Agent { agent: crate::supervisor::AgentOverview },
    /// Agents: this waiting conversation is offered to you until `expiresAtMs` (Unix ms):
    /// `accept` or `decline` it (docs/routing.md).
    Offer { conversation: crate::rest::Conversation, expires_at_ms: i64 },
    /// Agents: your offer of this conversation ended, and why.
    OfferEnded { conversation_id: String, reason: OfferEndReason },
    /// Answer to a `refresh`: the connection now runs under the new token, which expires in
    /// `tokenExpiresInMs` (on the server's clock, like `ready`'s).
    Refreshed { token_expires_in_ms: i64 },
    /// Answer to a client `ping`.
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

/// Why an agent's offer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OfferEndReason {
    /// The agent accepted: the conversation is assigned to it.
    Accepted,
    /// The agent declined: the next agent gets the offer.
    Declined,
    /// The offer ran out: the next agent gets it, and the agent was set `away`.
    Expired,
}

/// Body of the `ready` frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    /// Id of this connection, for logs and support.
    pub session_id: String,
    pub role: Role,
    /// Who this connection speaks as.
    pub participant: Participant,
    /// The guest's conversation (guests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
    /// Agents: the open conversations of their queues, with `lastSeq`, when the connection
    /// became live. Events for them follow in `seq` order; fetch any older history over REST.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversations: Vec<Conversation>,
    /// Agents: true when `conversations` is not all of them. The list stops where `ready` would
    /// no longer fit the connection's write buffer (`connection_write_buffer_bytes_max`),
    /// keeping the most recently active; list the others with
    /// `GET /api/v2/agent/conversations`. Their live events arrive all the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more_conversations: bool,
    /// The conversation's latest `seq` when the connection became live (guests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
    /// The deployment's notice when the connection became live (guests only, when there is one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// Guests whose conversation waits for an agent: where it stands in its queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<crate::rest::QueuePosition>,
    /// What happened to an `afterSeq` resume request, if one was made (guests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
    /// The server sends a protocol ping this often; a client may also send `ping` frames.
    pub heartbeat_interval_ms: u64,
    /// Milliseconds until the access token expires; refresh before then.
    pub token_expires_in_ms: i64,
    /// Limits that apply to this connection.
    pub limits: ConnectionLimits,
}

/// The outcome of a resume request (`afterSeq` in the gateway URL).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resume {
    /// True: every message after `afterSeq` follows this frame, in order, then live ones.
    /// False: the gap is too large (see `reason`); page history over REST instead.
    pub recovered: bool,
    pub after_seq: u64,
    /// How many messages are replayed after `ready` (0 when not recovered).
    pub replayed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Limits a well-behaved client needs to know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionLimits {
    /// Largest WebSocket message the server reads, in bytes.
    pub message_bytes_max: usize,
    /// Longest message text, in Unicode scalar values.
    pub text_chars_max: usize,
    /// What may be attached (docs/attachments.md), so a client refuses a file before uploading.
    pub attachments: crate::attachment::AttachmentLimits,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_from_their_documented_json() {
        let send: ClientFrame =
            serde_json::from_str(r#"{"type":"send","clientMessageId":"c1","text":"hi"}"#).unwrap();
        assert_eq!(
            send,
            ClientFrame::Send {
                client_message_id: "c1".into(),
                text: "hi".into(),
                conversation_id: None
            }
        );
        let read: ClientFrame = serde_json::from_str(r#"{"type":"read","seq":4}"#).unwrap();
        let status: ClientFrame =
            serde_json::from_str(r#"{"type":"status","status":"away"}"#).unwrap();
        assert_eq!(status, ClientFrame::Status { status: "away".into() });
        assert_eq!(read, ClientFrame::Read { seq: 4, conversation_id: None });
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"nope"}"#).is_err());
    }

    #[test]
    fn server_frames_carry_their_type_tag() {
        let pong = serde_json::to_string(&ServerFrame::Pong { id: Some("7".into()) }).unwrap();
        assert_eq!(pong, r#"{"type":"pong","id":"7"}"#);
        let err = serde_json::to_value(ServerFrame::Error {
            code: ErrorCode::BadJson,
            message: "x".into(),
            client_message_id: None,
            retry_after_ms: None,
        })
        .unwrap();
        assert_eq!(err["code"], "bad_json");
    }
}
