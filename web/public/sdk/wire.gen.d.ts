// Generated from crates/porch-wire and crates/porch-core/src/limits.rs by
// crates/porch-core/src/sdk_wire/: do not edit. Regenerate with scripts/regen-sdk-wire.sh.

/** Every code Porch answers a refusal with (REST `error`, `error` frames, close reasons). */
export type ErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "token_missing"
  | "token_malformed"
  | "token_expired"
  | "token_not_yet_valid"
  | "token_signature_invalid"
  | "token_key_unknown"
  | "token_wrong_kind"
  | "token_wrong_issuer"
  | "token_subject_wrong"
  | "insufficient_scope"
  | "agent_credentials_invalid"
  | "bot_credentials_invalid"
  | "identity_token_malformed"
  | "identity_key_unknown"
  | "identity_algorithm_wrong"
  | "identity_signature_invalid"
  | "identity_subject_missing"
  | "identity_audience_wrong"
  | "identity_expired"
  | "identity_not_yet_valid"
  | "identity_lifetime_too_long"
  | "identity_replayed"
  | "guest_already_known"
  | "agent_disabled"
  | "client_disabled"
  | "bot_disabled"
  | "token_revoked"
  | "subprotocol_missing"
  | "subprotocol_misspelled"
  | "subprotocol_order"
  | "token_characters"
  | "token_in_query"
  | "origin_not_allowed"
  | "guest_revoked"
  | "guest_erased"
  | "deployment_disabled"
  | "deployment_unknown"
  | "conversation_unknown"
  | "conversation_closed"
  | "conversation_taken"
  | "agent_at_capacity"
  | "agent_status_invalid"
  | "offer_expired"
  | "offer_not_yours"
  | "manual_take_off"
  | "conversation_not_yours"
  | "transfer_target_invalid"
  | "transfer_agent_unknown"
  | "transfer_queue_unknown"
  | "transfer_agent_unavailable"
  | "wrap_up_unknown"
  | "wrap_up_required"
  | "not_supervisor"
  | "guest_unknown"
  | "customer_unknown"
  | "webhook_endpoint_unknown"
  | "not_found"
  | "bad_json"
  | "bad_frame"
  | "unknown_frame_type"
  | "text_too_long"
  | "body_too_large"
  | "message_too_big"
  | "invalid_utf8"
  | "protocol_error"
  | "content_invalid"
  | "idempotency_conflict"
  | "webhook_target_refused"
  | "webhook_event_type_unknown"
  | "webhook_endpoints_full"
  | "attachment_too_large"
  | "attachment_quota_full"
  | "attachment_type_refused"
  | "attachment_type_mismatch"
  | "attachment_body_too_long"
  | "attachment_body_too_short"
  | "attachment_truncated"
  | "upload_too_slow"
  | "upload_already_complete"
  | "attachment_url_invalid"
  | "attachment_url_expired"
  | "attachment_unknown"
  | "attachment_deleted"
  | "preview_unavailable"
  | "range_not_satisfiable"
  | "rate_limited"
  | "too_many_connections"
  | "store_unavailable"
  | "store_full"
  | "broker_unavailable"
  | "server_shutdown"
  | "slow_consumer"
  | "idle_timeout"
  | "node_resync"
  | "internal";

/** What a client does after a close: stop, back off, or reconnect soon and resume. */
export type ReconnectClass = 'terminal' | 'backoff' | 'immediate';

export interface ErrorSpec {
  /** HTTP status on REST. */
  readonly status: number;
  /** WebSocket close code, when the error ends a connection. */
  readonly close: number;
  /** What a client does after that close. */
  readonly reconnect: ReconnectClass;
  /** Whether the same request (same `clientMessageId`) may succeed if sent again. */
  readonly retryable: boolean;
}

export declare const API_VERSION: "0.1.0";
export declare const PROTOCOL_MARKER: "NICE-WebSocket-Auth";
export declare const CLOSE_REASON_BYTES_MAX: 123;

export declare const PATHS: {
  readonly gateway: "/api/v2/gateway";
  readonly oauthToken: "/api/v2/oauth/token";
  readonly oauthIntrospect: "/api/v2/oauth/introspect";
  readonly guests: "/api/v2/webmessaging/guests";
  readonly widgetGuests: "/api/v2/webmessaging/deployments/{deployment_id}/guests";
  readonly widgetConfig: "/api/v2/webmessaging/deployments/{deployment_id}/widget";
  readonly deploymentNotice: "/api/v2/webmessaging/deployments/{deployment_id}/notice";
  readonly guestMessages: "/api/v2/webmessaging/guests/messages";
  readonly guestConversations: "/api/v2/webmessaging/guests/conversations";
  readonly guestConversationMessages: "/api/v2/webmessaging/guests/conversations/{conversation_id}/messages";
  readonly guestQueue: "/api/v2/webmessaging/guests/queue";
  readonly guestIdentity: "/api/v2/webmessaging/guests/identity";
  readonly guestToken: "/api/v2/webmessaging/guests/token";
  readonly agentLogin: "/api/v2/agents/login";
  readonly agentToken: "/api/v2/agents/token";
  readonly agentApi: "/api/v2/agent";
  readonly openapi: "/api/v2/openapi.json";
  readonly webhookEndpoints: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks";
  readonly webhookEndpoint: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}";
  readonly webhookSecret: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/secret";
  readonly webhookDead: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/dead";
  readonly webhookReplay: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/dead/replay";
  readonly botToken: "/api/v2/bots/token";
  readonly botApi: "/api/v2/bot";
  readonly guestAttachments: "/api/v2/webmessaging/guests/attachments";
  readonly guestAttachment: "/api/v2/webmessaging/guests/attachments/{attachment_id}";
  readonly agentAttachments: "/api/v2/agent/conversations/{id}/attachments";
  readonly agentAttachment: "/api/v2/agent/conversations/{id}/attachments/{attachment_id}";
  readonly attachmentUpload: "/api/v2/attachments/uploads/{grant}";
  readonly attachmentContent: "/api/v2/attachments/content/{grant}";
  readonly attachmentPreview: "/api/v2/attachments/previews/{grant}";
  readonly customerErasure: "/api/v2/webmessaging/deployments/{deployment_id}/customers/erasure";
};

export declare const RECONNECT_RULES: ReadonlyArray<readonly [number, number, ReconnectClass]>;

export declare const ERRORS: {
  /** The request is missing a parameter or has one twice or malformed. */
  readonly invalid_request: ErrorSpec;
  /** Client id or secret is wrong. */
  readonly invalid_client: ErrorSpec;
  /** Only grant_type=client_credentials is supported. */
  readonly unsupported_grant_type: ErrorSpec;
  /** A requested scope is unknown or not granted to this client. */
  readonly invalid_scope: ErrorSpec;
  /** No access token was sent. */
  readonly token_missing: ErrorSpec;
  /** The token is not a well-formed JWT. */
  readonly token_malformed: ErrorSpec;
  /** The token's exp is past (beyond the clock-skew leeway). */
  readonly token_expired: ErrorSpec;
  /** The token's nbf/iat is in the future: a clock is wrong. */
  readonly token_not_yet_valid: ErrorSpec;
  /** The signature does not match: the token was altered or signed elsewhere. */
  readonly token_signature_invalid: ErrorSpec;
  /** The token's kid names no key this server knows (rotated out or foreign). */
  readonly token_key_unknown: ErrorSpec;
  /** A valid token of the wrong kind (audience) for this endpoint. */
  readonly token_wrong_kind: ErrorSpec;
  /** The token was issued by another issuer. */
  readonly token_wrong_issuer: ErrorSpec;
  /** A refresh frame's token is for another guest or agent than the connection's; refresh with a token of the same one. */
  readonly token_subject_wrong: ErrorSpec;
  /** The client token lacks the scope this endpoint needs. */
  readonly insufficient_scope: ErrorSpec;
  /** Agent name or secret is wrong. */
  readonly agent_credentials_invalid: ErrorSpec;
  /** Bot id or secret is wrong, or the bot was removed. */
  readonly bot_credentials_invalid: ErrorSpec;
  /** The identity token is not a compact JWS with sub, aud, exp, iat and jti. */
  readonly identity_token_malformed: ErrorSpec;
  /** The identity token's kid names no identity key of this deployment. */
  readonly identity_key_unknown: ErrorSpec;
  /** The identity token's alg is not the algorithm of the key its kid names. */
  readonly identity_algorithm_wrong: ErrorSpec;
  /** The identity token's signature does not match its key: altered, or signed with another key. */
  readonly identity_signature_invalid: ErrorSpec;
  /** The identity token has no sub (the customer's id). */
  readonly identity_subject_missing: ErrorSpec;
  /** The identity token's aud is not this deployment's id. */
  readonly identity_audience_wrong: ErrorSpec;
  /** The identity token's exp is past (beyond the clock-skew leeway). */
  readonly identity_expired: ErrorSpec;
  /** The identity token's iat or nbf is in the future: a clock is wrong. */
  readonly identity_not_yet_valid: ErrorSpec;
  /** The identity token's exp is further ahead than identity_token_lifetime_secs_max. */
  readonly identity_lifetime_too_long: ErrorSpec;
  /** The identity token's jti was used before, on some node: sign a new token. */
  readonly identity_replayed: ErrorSpec;
  /** The guest session already belongs to another customer; open a new session for this one. */
  readonly guest_already_known: ErrorSpec;
  /** The agent is disabled by the operator; its sign-in and tokens are refused. */
  readonly agent_disabled: ErrorSpec;
  /** The OAuth client is disabled by the operator; its sign-in and tokens are refused. */
  readonly client_disabled: ErrorSpec;
  /** The bot is disabled by the operator; its sign-in and tokens are refused, and its queues' new conversations go to their agents. */
  readonly bot_disabled: ErrorSpec;
  /** The token was issued before its agent's or client's secret was reset. */
  readonly token_revoked: ErrorSpec;
  /** No NICE-WebSocket-Auth marker and no Authorization header. */
  readonly subprotocol_missing: ErrorSpec;
  /** The marker is misspelled or in the wrong case. */
  readonly subprotocol_misspelled: ErrorSpec;
  /** The token came before the marker, or extra values were offered. */
  readonly subprotocol_order: ErrorSpec;
  /** The token has characters a header token cannot hold. */
  readonly token_characters: ErrorSpec;
  /** The token was sent in the URL, which is disabled. */
  readonly token_in_query: ErrorSpec;
  /** The page's Origin is not in the deployment's allowlist. */
  readonly origin_not_allowed: ErrorSpec;
  /** The guest session was revoked. */
  readonly guest_revoked: ErrorSpec;
  /** The guest's customer was erased by the operator; the session is over. */
  readonly guest_erased: ErrorSpec;
  /** The deployment is disabled. */
  readonly deployment_disabled: ErrorSpec;
  /** No deployment has this id. */
  readonly deployment_unknown: ErrorSpec;
  /** No conversation has this id (or it is not yours). */
  readonly conversation_unknown: ErrorSpec;
  /** The conversation is closed; start a new guest session. */
  readonly conversation_closed: ErrorSpec;
  /** Another agent holds the conversation; only one agent owns it at a time. */
  readonly conversation_taken: ErrorSpec;
  /** The agent holds as many conversations as its capacity allows. */
  readonly agent_at_capacity: ErrorSpec;
  /** The status is not one an agent may choose: available or away. */
  readonly agent_status_invalid: ErrorSpec;
  /** The offer ran out or was declined; the conversation went to the next agent. */
  readonly offer_expired: ErrorSpec;
  /** The conversation is not offered to this agent; accept or decline only your own offers. */
  readonly offer_not_yours: ErrorSpec;
  /** The conversation's queue does not allow taking by hand; accept an offer instead. */
  readonly manual_take_off: ErrorSpec;
  /** Only the agent holding the conversation (or a supervisor) may transfer, unassign or close it; take it first, or leave it to its holder. */
  readonly conversation_not_yours: ErrorSpec;
  /** A transfer names exactly one of agentId and queue, another than the conversation's own, and an agent who serves its queue. */
  readonly transfer_target_invalid: ErrorSpec;
  /** No agent has the id a transfer names. */
  readonly transfer_agent_unknown: ErrorSpec;
  /** No agent serves, and no operator configured, the queue a transfer names. */
  readonly transfer_queue_unknown: ErrorSpec;
  /** The agent a transfer names is not available; pick an available agent, or transfer to the queue. */
  readonly transfer_agent_unavailable: ErrorSpec;
  /** The wrap-up code is not in the deployment's list; use one of them. */
  readonly wrap_up_unknown: ErrorSpec;
  /** The deployment has a wrap-up list: a close names one of its codes. */
  readonly wrap_up_required: ErrorSpec;
  /** Only a supervisor may do this; an operator makes an agent one with `porch agents set NAME --supervisor true`. */
  readonly not_supervisor: ErrorSpec;
  /** No guest has this id (or it belongs to another client). */
  readonly guest_unknown: ErrorSpec;
  /** No guest session of this deployment was ever created with this externalId. */
  readonly customer_unknown: ErrorSpec;
  /** No webhook endpoint of this deployment has this id. */
  readonly webhook_endpoint_unknown: ErrorSpec;
  /** No such route. */
  readonly not_found: ErrorSpec;
  /** The body or frame is not valid JSON of the documented shape. */
  readonly bad_json: ErrorSpec;
  /** A frame is missing a field or has one of the wrong type. */
  readonly bad_frame: ErrorSpec;
  /** A frame's type is not one the gateway knows. */
  readonly unknown_frame_type: ErrorSpec;
  /** The message text is longer than the limit. */
  readonly text_too_long: ErrorSpec;
  /** The HTTP body is larger than the limit. */
  readonly body_too_large: ErrorSpec;
  /** The WebSocket message is larger than the limit. */
  readonly message_too_big: ErrorSpec;
  /** A text frame or body is not valid UTF-8. */
  readonly invalid_utf8: ErrorSpec;
  /** The client broke WebSocket framing (RFC 6455), e.g. reserved bits or an unmasked frame. */
  readonly protocol_error: ErrorSpec;
  /** Quick replies, cards or a choice break the bot message format (docs/bots.md). */
  readonly content_invalid: ErrorSpec;
  /** This clientMessageId was already used with a different text. */
  readonly idempotency_conflict: ErrorSpec;
  /** The webhook URL is not https://, or its host is (or resolves to) a loopback, private or link-local address, which this server does not allow. */
  readonly webhook_target_refused: ErrorSpec;
  /** An event type of the webhook endpoint is not one Porch sends. */
  readonly webhook_event_type_unknown: ErrorSpec;
  /** The deployment has as many webhook endpoints as allowed; remove one first. */
  readonly webhook_endpoints_full: ErrorSpec;
  /** The file's declared size is over attachment_bytes_max (or is 0); nothing was stored. */
  readonly attachment_too_large: ErrorSpec;
  /** The conversation's files would exceed attachment_conversation_bytes_max; nothing was stored. */
  readonly attachment_quota_full: ErrorSpec;
  /** The declared or detected type is not one of the allowed types; nothing was stored. */
  readonly attachment_type_refused: ErrorSpec;
  /** The file's content (its first bytes) is not the type it was declared as, e.g. HTML named .png; nothing was stored. */
  readonly attachment_type_mismatch: ErrorSpec;
  /** The upload sent more bytes than its declared size; nothing was stored. */
  readonly attachment_body_too_long: ErrorSpec;
  /** The upload ended before its declared size; nothing was stored. */
  readonly attachment_body_too_short: ErrorSpec;
  /** The upload's connection broke before the body was whole; nothing was stored. */
  readonly attachment_truncated: ErrorSpec;
  /** The upload sent nothing for attachment_upload_idle_ms (a slow drip); nothing was stored. */
  readonly upload_too_slow: ErrorSpec;
  /** This upload URL was used already (or is in use); its attachment exists, ask for a new URL to send another. */
  readonly upload_already_complete: ErrorSpec;
  /** The upload or download URL was altered or signed elsewhere; ask Porch for a new one. */
  readonly attachment_url_invalid: ErrorSpec;
  /** The upload or download URL's lifetime is over; ask Porch for a new one. */
  readonly attachment_url_expired: ErrorSpec;
  /** No attachment has this id in a conversation you are in. */
  readonly attachment_unknown: ErrorSpec;
  /** The file was deleted (its conversation closed longer ago than attachment_retention_secs, or its customer was erased); its message stays, marked deleted. */
  readonly attachment_deleted: ErrorSpec;
  /** This attachment has no preview (not a PNG or JPEG, too many pixels, or not decodable); show its name and a download link instead. */
  readonly preview_unavailable: ErrorSpec;
  /** The Range asked for lies outside the attachment; Content-Range gives its size. */
  readonly range_not_satisfiable: ErrorSpec;
  /** Too many requests; wait for Retry-After. */
  readonly rate_limited: ErrorSpec;
  /** A connection limit is reached. */
  readonly too_many_connections: ErrorSpec;
  /** The store cannot commit right now; nothing was acknowledged. */
  readonly store_unavailable: ErrorSpec;
  /** The disk under the store is full; nothing was stored, retry later. */
  readonly store_full: ErrorSpec;
  /** This node lost its broker; nothing was stored, retry (or reconnect elsewhere). */
  readonly broker_unavailable: ErrorSpec;
  /** This node is shutting down; reconnect (elsewhere) and resume. */
  readonly server_shutdown: ErrorSpec;
  /** The client read too slowly and fell behind; reconnect and resume. */
  readonly slow_consumer: ErrorSpec;
  /** Nothing was heard from the client for too long. */
  readonly idle_timeout: ErrorSpec;
  /** This node missed live events; reconnect and resync. */
  readonly node_resync: ErrorSpec;
  /** A bug in Porch; the reference is in the server log. */
  readonly internal: ErrorSpec;
};

/** The server's default limits; `ready.limits` carries those in force. */
export declare const LIMITS: {
  /** Largest WebSocket message (and frame) the gateway reads. (bytes) */
  readonly messageBytesMax: number;
  /** Longest message text, in Unicode scalar values. (characters) */
  readonly textCharsMax: number;
  /** Longest `clientMessageId`, in Unicode scalar values (as `text_chars_max`, so the OpenAPI document's `maxLength` says it exactly). (characters) */
  readonly clientMessageIdCharsMax: number;
  /** Interval of the server's protocol pings. (milliseconds) */
  readonly heartbeatIntervalMs: number;
  /** Largest history page; larger `limit` values are clamped to it. (entries) */
  readonly historyPageMax: number;
  /** History page size when a request names no `limit`. (entries) */
  readonly historyPageDefault: number;
  /** Most entries replayed on resume. (entries) */
  readonly resumeMessagesMax: number;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`. (seconds) */
  readonly tokenLeewaySecs: number;
  /** Characters of the preview of a conversation's latest entry in agents' lists (`lastMessage.text`, docs/api.md); a longer text is cut on a character boundary and marked `truncated`. (characters) */
  readonly lastMessagePreviewCharsMax: number;
};
