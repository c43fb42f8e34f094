//! Close codes and error codes: what a client sees when something goes wrong.
//!
//! Every failure a client can meet has one `ErrorCode`, declared once in the table below with
//! its wire name, its HTTP status on REST, its WebSocket close code on the gateway and a
//! one-line summary. `docs/protocol.md` renders the same table for people; a test checks that
//! the two agree, so the document cannot drift from the code.
//!
//! Close codes fall into ranges (Pusher's convention), so a client knows what to do next
//! without knowing every code:
//! - 4000–4099: terminal. Do not reconnect with the same credentials; fix the cause first.
//! - 4100–4199: back off (at least 1 s, with jitter), then reconnect.
//! - 4200–4299: reconnect soon (to any node, after a random delay of up to 3 s, so a draining
//!   node's sessions do not all arrive at once) and resume from the last sequence number seen.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A WebSocket close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// RFC 6455 §7.4.1: normal closure (a client or agent ended the session).
    pub const NORMAL: CloseCode = CloseCode(1000);

    /// What a client should do after this close code: the class of the first rule of
    /// `RECONNECT_RULES` whose range holds it, else `Backoff`.
    pub fn reconnect_class(self) -> ReconnectClass {
        RECONNECT_RULES
            .iter()
            .find(|(first, last, _)| (*first..=*last).contains(&self.0))
            .map_or(ReconnectClass::Backoff, |(_, _, class)| *class)
    }
}

/// The close codes, by inclusive range, after which a client does not back off; every other
/// code (1006, 1011, 41xx, unknown ones) backs off. A table rather than a `match`, so the
/// SDK's copy is written from it (`web/public/sdk/wire.gen.js`).
pub const RECONNECT_RULES: &[(u16, u16, ReconnectClass)] = &[
    (4000, 4099, ReconnectClass::Terminal),
    // The client sent invalid UTF-8, or a message over the limit: sending it again fails again.
    (1007, 1007, ReconnectClass::Terminal),
    (1009, 1009, ReconnectClass::Terminal),
    (4200, 4299, ReconnectClass::Immediate),
];

/// What a client does after a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReconnectClass {
    /// Do not reconnect with the same credentials: fix the cause named in the reason first.
    Terminal,
    /// Reconnect after an exponential, jittered backoff of at least one second.
    Backoff,
    /// Reconnect without escalating backoff, to any node, after a random delay of up to 3 s
    /// (protocol.md: one node's sessions must not all arrive elsewhere at once), and resume
    /// from the last sequence number seen.
    Immediate,
}

/// How one `ErrorCode` shows itself to REST and WebSocket clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorSpec {
    /// HTTP status on REST endpoints (and on a refused upgrade).
    pub http_status: u16,
    /// Close code on the gateway, for errors that end the connection.
    pub close_code: CloseCode,
    /// One line on what happened, for the documentation table.
    pub summary: &'static str,
}

macro_rules! error_codes {
    ($( $variant:ident = $name:literal, $http:literal, $close:literal, $summary:literal; )*) => {
        /// Every failure a client can meet, as a stable machine-readable code.
        ///
        /// The `snake_case` name is what goes on the wire: in REST bodies (`"error"`), in
        /// WebSocket `error` frames (`"code"`) and at the start of every close reason.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $variant, )* }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The wire name, e.g. `token_expired`.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $name, )* }
            }

            /// HTTP status, close code and summary: the one table of the whole system.
            pub fn spec(self) -> ErrorSpec {
                match self {
                    $( ErrorCode::$variant => ErrorSpec {
                        http_status: $http,
                        close_code: CloseCode($close),
                        summary: $summary,
                    }, )*
                }
            }

            /// Whether the same request may succeed if sent again unchanged (a message with the
            /// same `clientMessageId` and text), after a wait, a reconnect or a fresh token.
            /// False when the request itself, or the conversation it names, is at fault:
            /// sending it again fails again, so a client drops it and says why.
            pub fn retryable(self) -> bool {
                !NOT_RETRYABLE.contains(&self)
            }

            /// Parses a wire name back into a code.
            pub fn from_name(name: &str) -> Option<ErrorCode> {
                match name { $( $name => Some(ErrorCode::$variant), )* _ => None }
            }
        }
    };
}

error_codes! {
    // OAuth2 token endpoint (RFC 6749 §5.2).
    InvalidRequest = "invalid_request", 400, 4007, "The request is missing a parameter or has one twice or malformed.";
    InvalidClient = "invalid_client", 401, 4003, "Client id or secret is wrong.";
    UnsupportedGrantType = "unsupported_grant_type", 400, 4007, "Only grant_type=client_credentials is supported.";
    InvalidScope = "invalid_scope", 400, 4003, "A requested scope is unknown or not granted to this client.";
    // Credentials and tokens.
    TokenMissing = "token_missing", 401, 4001, "No access token was sent.";
    TokenMalformed = "token_malformed", 401, 4003, "The token is not a well-formed JWT.";
    TokenExpired = "token_expired", 401, 4002, "The token's exp is past (beyond the clock-skew leeway).";
    TokenNotYetValid = "token_not_yet_valid", 401, 4002, "The token's nbf/iat is in the future: a clock is wrong.";
    TokenSignatureInvalid = "token_signature_invalid", 401, 4003, "The signature does not match: the token was altered or signed elsewhere.";
    TokenKeyUnknown = "token_key_unknown", 401, 4003, "The token's kid names no key this server knows (rotated out or foreign).";
    TokenWrongKind = "token_wrong_kind", 401, 4004, "A valid token of the wrong kind (audience) for this endpoint.";
    TokenWrongIssuer = "token_wrong_issuer", 401, 4003, "The token was issued by another issuer.";
    TokenSubjectWrong = "token_subject_wrong", 403, 4004, "A refresh frame's token is for another guest or agent than the connection's; refresh with a token of the same one.";
    InsufficientScope = "insufficient_scope", 403, 4004, "The client token lacks the scope this endpoint needs.";
    AgentCredentialsInvalid = "agent_credentials_invalid", 401, 4003, "Agent name or secret is wrong.";
    BotCredentialsInvalid = "bot_credentials_invalid", 401, 4003, "Bot id or secret is wrong, or the bot was removed.";
    // Identity tokens a builder's backend signs for a known customer (docs/identity.md).
    IdentityTokenMalformed = "identity_token_malformed", 403, 4003, "The identity token is not a compact JWS with sub, aud, exp, iat and jti.";
    IdentityKeyUnknown = "identity_key_unknown", 403, 4003, "The identity token's kid names no identity key of this deployment.";
    IdentityAlgorithmWrong = "identity_algorithm_wrong", 403, 4003, "The identity token's alg is not the algorithm of the key its kid names.";
    IdentitySignatureInvalid = "identity_signature_invalid", 403, 4003, "The identity token's signature does not match its key: altered, or signed with another key.";
    IdentitySubjectMissing = "identity_subject_missing", 403, 4003, "The identity token has no sub (the customer's id).";
    IdentityAudienceWrong = "identity_audience_wrong", 403, 4003, "The identity token's aud is not this deployment's id.";
    IdentityExpired = "identity_expired", 403, 4003, "The identity token's exp is past (beyond the clock-skew leeway).";
    IdentityNotYetValid = "identity_not_yet_valid", 403, 4003, "The identity token's iat or nbf is in the future: a clock is wrong.";
    IdentityLifetimeTooLong = "identity_lifetime_too_long", 403, 4003, "The identity token's exp is further ahead than identity_token_lifetime_secs_max.";
    IdentityReplayed = "identity_replayed", 403, 4003, "The identity token's jti was used before, on some node: sign a new token.";
    GuestAlreadyKnown = "guest_already_known", 409, 4007, "The guest session already belongs to another customer; open a new session for this one.";
    AgentDisabled = "agent_disabled", 403, 4009, "The agent is disabled by the operator; its sign-in and tokens are refused.";
    ClientDisabled = "client_disabled", 403, 4009, "The OAuth client is disabled by the operator; its sign-in and tokens are refused.";
    BotDisabled = "bot_disabled", 403, 4009, "The bot is disabled by the operator; its sign-in and tokens are refused, and its queues' new conversations go to their agents.";
    TokenRevoked = "token_revoked", 401, 4003, "The token was issued before its agent's or client's secret was reset.";
    // The handshake itself.
    SubprotocolMissing = "subprotocol_missing", 401, 4001, "No NICE-WebSocket-Auth marker and no Authorization header.";
    SubprotocolMisspelled = "subprotocol_misspelled", 400, 4007, "The marker is misspelled or in the wrong case.";
    SubprotocolOrder = "subprotocol_order", 400, 4007, "The token came before the marker, or extra values were offered.";
    TokenCharacters = "token_characters", 400, 4007, "The token has characters a header token cannot hold.";
    TokenInQuery = "token_in_query", 401, 4008, "The token was sent in the URL, which is disabled.";
    OriginNotAllowed = "origin_not_allowed", 403, 4005, "The page's Origin is not in the deployment's allowlist.";
    // State of the session.
    GuestRevoked = "guest_revoked", 401, 4006, "The guest session was revoked.";
    GuestErased = "guest_erased", 401, 4014, "The guest's customer was erased by the operator; the session is over.";
    DeploymentDisabled = "deployment_disabled", 403, 4009, "The deployment is disabled.";
    DeploymentUnknown = "deployment_unknown", 404, 4010, "No deployment has this id.";
    ConversationUnknown = "conversation_unknown", 404, 4010, "No conversation has this id (or it is not yours).";
    ConversationClosed = "conversation_closed", 409, 4011, "The conversation is closed; start a new guest session.";
    ConversationTaken = "conversation_taken", 409, 4012, "Another agent holds the conversation; only one agent owns it at a time.";
    AgentAtCapacity = "agent_at_capacity", 409, 4013, "The agent holds as many conversations as its capacity allows.";
    AgentStatusInvalid = "agent_status_invalid", 400, 4007, "The status is not one an agent may choose: available or away.";
    OfferExpired = "offer_expired", 409, 4012, "The offer ran out or was declined; the conversation went to the next agent.";
    OfferNotYours = "offer_not_yours", 403, 4004, "The conversation is not offered to this agent; accept or decline only your own offers.";
    ManualTakeOff = "manual_take_off", 403, 4004, "The conversation's queue does not allow taking by hand; accept an offer instead.";
    ConversationNotYours = "conversation_not_yours", 403, 4004, "Only the agent holding the conversation (or a supervisor) may transfer, unassign or close it; take it first, or leave it to its holder.";
    TransferTargetInvalid = "transfer_target_invalid", 400, 4007, "A transfer names exactly one of agentId and queue, another than the conversation's own, and an agent who serves its queue.";
    TransferAgentUnknown = "transfer_agent_unknown", 404, 4010, "No agent has the id a transfer names.";
    TransferQueueUnknown = "transfer_queue_unknown", 404, 4010, "No agent serves, and no operator configured, the queue a transfer names.";
    TransferAgentUnavailable = "transfer_agent_unavailable", 409, 4013, "The agent a transfer names is not available; pick an available agent, or transfer to the queue.";
    WrapUpUnknown = "wrap_up_unknown", 400, 4007, "The wrap-up code is not in the deployment's list; use one of them.";
    WrapUpRequired = "wrap_up_required", 400, 4007, "The deployment has a wrap-up list: a close names one of its codes.";
    NotSupervisor = "not_supervisor", 403, 4004, "Only a supervisor may do this; an operator makes an agent one with `porch agents set NAME --supervisor true`.";
    GuestUnknown = "guest_unknown", 404, 4010, "No guest has this id (or it belongs to another client).";
    CustomerUnknown = "customer_unknown", 404, 4010, "No guest session of this deployment was ever created with this externalId.";
    WebhookEndpointUnknown = "webhook_endpoint_unknown", 404, 4010, "No webhook endpoint of this deployment has this id.";
    NotFound = "not_found", 404, 4010, "No such route.";
    // Bad input after the handshake or in a REST body.
    BadJson = "bad_json", 400, 4007, "The body or frame is not valid JSON of the documented shape.";
    BadFrame = "bad_frame", 400, 4007, "A frame is missing a field or has one of the wrong type.";
    UnknownFrameType = "unknown_frame_type", 400, 4007, "A frame's type is not one the gateway knows.";
    TextTooLong = "text_too_long", 413, 1009, "The message text is longer than the limit.";
    BodyTooLarge = "body_too_large", 413, 1009, "The HTTP body is larger than the limit.";
    MessageTooBig = "message_too_big", 413, 1009, "The WebSocket message is larger than the limit.";
    InvalidUtf8 = "invalid_utf8", 400, 1007, "A text frame or body is not valid UTF-8.";
    ProtocolError = "protocol_error", 400, 1002, "The client broke WebSocket framing (RFC 6455), e.g. reserved bits or an unmasked frame.";
    ContentInvalid = "content_invalid", 400, 4007, "Quick replies, cards or a choice break the bot message format (docs/bots.md).";
    IdempotencyConflict = "idempotency_conflict", 422, 4007, "This clientMessageId was already used with a different text.";
    WebhookTargetRefused = "webhook_target_refused", 400, 4007, "The webhook URL is not https://, or its host is (or resolves to) a loopback, private or link-local address, which this server does not allow.";
    WebhookEventTypeUnknown = "webhook_event_type_unknown", 400, 4007, "An event type of the webhook endpoint is not one Porch sends.";
    WebhookEndpointsFull = "webhook_endpoints_full", 409, 4007, "The deployment has as many webhook endpoints as allowed; remove one first.";
    // Attachments (docs/attachments.md).
    AttachmentTooLarge = "attachment_too_large", 413, 4007, "The file's declared size is over attachment_bytes_max (or is 0); nothing was stored.";
    AttachmentQuotaFull = "attachment_quota_full", 409, 4007, "The conversation's files would exceed attachment_conversation_bytes_max; nothing was stored.";
    AttachmentTypeRefused = "attachment_type_refused", 415, 4007, "The declared or detected type is not one of the allowed types; nothing was stored.";
    AttachmentTypeMismatch = "attachment_type_mismatch", 415, 4007, "The file's content (its first bytes) is not the type it was declared as, e.g. HTML named .png; nothing was stored.";
    AttachmentBodyTooLong = "attachment_body_too_long", 413, 4007, "The upload sent more bytes than its declared size; nothing was stored.";
    AttachmentBodyTooShort = "attachment_body_too_short", 400, 4007, "The upload ended before its declared size; nothing was stored.";
    AttachmentTruncated = "attachment_truncated", 400, 4007, "The upload's connection broke before the body was whole; nothing was stored.";
    UploadTooSlow = "upload_too_slow", 408, 4007, "The upload sent nothing for attachment_upload_idle_ms (a slow drip); nothing was stored.";
    UploadAlreadyComplete = "upload_already_complete", 409, 4007, "This upload URL was used already (or is in use); its attachment exists, ask for a new URL to send another.";
    AttachmentUrlInvalid = "attachment_url_invalid", 403, 4003, "The upload or download URL was altered or signed elsewhere; ask Porch for a new one.";
    AttachmentUrlExpired = "attachment_url_expired", 410, 4002, "The upload or download URL's lifetime is over; ask Porch for a new one.";
    AttachmentUnknown = "attachment_unknown", 404, 4010, "No attachment has this id in a conversation you are in.";
    AttachmentDeleted = "attachment_deleted", 410, 4010, "The file was deleted (its conversation closed longer ago than attachment_retention_secs, or its customer was erased); its message stays, marked deleted.";
    PreviewUnavailable = "preview_unavailable", 404, 4010, "This attachment has no preview (not a PNG or JPEG, too many pixels, or not decodable); show its name and a download link instead.";
    RangeNotSatisfiable = "range_not_satisfiable", 416, 4007, "The Range asked for lies outside the attachment; Content-Range gives its size.";
    // Capacity and server state.
    RateLimited = "rate_limited", 429, 4100, "Too many requests; wait for Retry-After.";
    TooManyConnections = "too_many_connections", 429, 4101, "A connection limit is reached.";
    StoreUnavailable = "store_unavailable", 503, 4102, "The store cannot commit right now; nothing was acknowledged.";
    StoreFull = "store_full", 503, 4104, "The disk under the store is full; nothing was stored, retry later.";
    BrokerUnavailable = "broker_unavailable", 503, 4103, "This node lost its broker; nothing was stored, retry (or reconnect elsewhere).";
    ServerShutdown = "server_shutdown", 503, 4200, "This node is shutting down; reconnect (elsewhere) and resume.";
    SlowConsumer = "slow_consumer", 503, 4201, "The client read too slowly and fell behind; reconnect and resume.";
    IdleTimeout = "idle_timeout", 408, 4202, "Nothing was heard from the client for too long.";
    NodeResync = "node_resync", 503, 4203, "This node missed live events; reconnect and resync.";
    Internal = "internal", 500, 1011, "A bug in Porch; the reference is in the server log.";
}

/// The codes `ErrorCode::retryable` says no to: the request is malformed, too large, or
/// names a conversation that cannot take it. A new code is retryable unless listed here.
const NOT_RETRYABLE: &[ErrorCode] = &[
    ErrorCode::InvalidRequest,
    ErrorCode::UnsupportedGrantType,
    ErrorCode::BadJson,
    ErrorCode::BadFrame,
    ErrorCode::UnknownFrameType,
    ErrorCode::TextTooLong,
    ErrorCode::BodyTooLarge,
    ErrorCode::MessageTooBig,
    ErrorCode::InvalidUtf8,
    ErrorCode::ProtocolError,
    ErrorCode::IdempotencyConflict,
    ErrorCode::ConversationUnknown,
    ErrorCode::ConversationClosed,
    ErrorCode::ConversationTaken,
    ErrorCode::AgentStatusInvalid,
    ErrorCode::WebhookTargetRefused,
    ErrorCode::WebhookEventTypeUnknown,
    // A pick naming no quick reply, or content breaking the format: the same again fails again
    // (the SDK would otherwise resend a refused pick over the gateway for ever).
    ErrorCode::ContentInvalid,
    ErrorCode::NotFound,
    // A deleted file stays deleted, and an image without a preview stays without one.
    ErrorCode::AttachmentDeleted,
    ErrorCode::PreviewUnavailable,
];

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        ErrorCode::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code `{name}`")))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most bytes a close reason may have (RFC 6455 §5.5: a control frame carries at most
/// 125 payload bytes, two of which are the code).
pub const CLOSE_REASON_BYTES_MAX: usize = 123;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_name_and_a_ranged_close_code() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate name {}", code.as_str());
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(*code));
            let close = code.spec().close_code.0;
            assert!(
                (4000..4300).contains(&close) || [1002, 1007, 1009, 1011].contains(&close),
                "{code} has close code {close} outside the documented ranges"
            );
        }
    }

    #[test]
    fn reconnect_classes_follow_the_ranges() {
        assert_eq!(CloseCode(4003).reconnect_class(), ReconnectClass::Terminal);
        assert_eq!(CloseCode(4100).reconnect_class(), ReconnectClass::Backoff);
        assert_eq!(CloseCode(4201).reconnect_class(), ReconnectClass::Immediate);
        assert_eq!(CloseCode(1011).reconnect_class(), ReconnectClass::Backoff);
        assert_eq!(CloseCode(1002).reconnect_class(), ReconnectClass::Backoff);
        assert_eq!(CloseCode(1009).reconnect_class(), ReconnectClass::Terminal);
        assert_eq!(CloseCode(4299).reconnect_class(), ReconnectClass::Immediate);
        assert_eq!(CloseCode(4300).reconnect_class(), ReconnectClass::Backoff);
    }

    #[test]
    fn what_the_request_caused_is_not_retryable() {
        assert!(!ErrorCode::TextTooLong.retryable());
        assert!(!ErrorCode::ConversationClosed.retryable());
        assert!(!ErrorCode::ContentInvalid.retryable(), "a pick naming no quick reply");
        assert!(ErrorCode::RateLimited.retryable());
        assert!(ErrorCode::StoreUnavailable.retryable());
        assert!(ErrorCode::TokenExpired.retryable(), "sent again with a fresh token");
    }
}
