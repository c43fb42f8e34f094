// Generated from crates/porch-wire and crates/porch-core/src/limits.rs by
// crates/porch-core/src/sdk_wire.rs: do not edit. Regenerate with scripts/regen-sdk-wire.sh.
// Plain data, no side effects: bundlers drop what a program does not use.

/** The server version this SDK was written from. */
export const API_VERSION = "0.1.0";
/** The first `Sec-WebSocket-Protocol` value; the token is the second. */
export const PROTOCOL_MARKER = "NICE-WebSocket-Auth";
/** Longest close reason, in bytes (RFC 6455). */
export const CLOSE_REASON_BYTES_MAX = 123;

/** Every REST and gateway path; `{name}` parts are filled in by the caller. */
export const PATHS = {
  gateway: "/api/v2/gateway",
  oauthToken: "/api/v2/oauth/token",
  oauthIntrospect: "/api/v2/oauth/introspect",
  guests: "/api/v2/webmessaging/guests",
  widgetGuests: "/api/v2/webmessaging/deployments/{deployment_id}/guests",
  widgetConfig: "/api/v2/webmessaging/deployments/{deployment_id}/widget",
  deploymentNotice: "/api/v2/webmessaging/deployments/{deployment_id}/notice",
  guestMessages: "/api/v2/webmessaging/guests/messages",
  guestConversations: "/api/v2/webmessaging/guests/conversations",
  guestConversationMessages: "/api/v2/webmessaging/guests/conversations/{conversation_id}/messages",
  guestIdentity: "/api/v2/webmessaging/guests/identity",
  guestToken: "/api/v2/webmessaging/guests/token",
  agentLogin: "/api/v2/agents/login",
  agentToken: "/api/v2/agents/token",
  agentApi: "/api/v2/agent",
  openapi: "/api/v2/openapi.json",
  webhookEndpoints: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks",
  webhookEndpoint: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}",
};

/** Close codes by inclusive range `[first, last, class]`; any other code backs off. */
export const RECONNECT_RULES = [
  [4000, 4099, "terminal"],
  [1007, 1007, "terminal"],
  [1009, 1009, "terminal"],
  [4200, 4299, "immediate"],
];

/** Every error code: HTTP status, close code, what a client does after that close,
 * and whether the same request may succeed if sent again (protocol.md, "Error codes"). */
export const ERRORS = {
  invalid_request: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  invalid_client: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
  unsupported_grant_type: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  invalid_scope: { status: 400, close: 4003, reconnect: "terminal", retryable: true },
  token_missing: { status: 401, close: 4001, reconnect: "terminal", retryable: true },
  token_malformed: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
  token_expired: { status: 401, close: 4002, reconnect: "terminal", retryable: true },
  token_not_yet_valid: { status: 401, close: 4002, reconnect: "terminal", retryable: true },
  token_signature_invalid: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
  token_key_unknown: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
  token_wrong_kind: { status: 401, close: 4004, reconnect: "terminal", retryable: true },
  token_wrong_issuer: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
  token_subject_wrong: { status: 403, close: 4004, reconnect: "terminal", retryable: true },
  insufficient_scope: { status: 403, close: 4004, reconnect: "terminal", retryable: true },
  agent_credentials_invalid: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
  identity_token_malformed: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_key_unknown: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_algorithm_wrong: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_signature_invalid: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_subject_missing: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_audience_wrong: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_expired: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_not_yet_valid: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_lifetime_too_long: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  identity_replayed: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  guest_already_known: { status: 409, close: 4007, reconnect: "terminal", retryable: true },
  agent_disabled: { status: 403, close: 4009, reconnect: "terminal", retryable: true },
  client_disabled: { status: 403, close: 4009, reconnect: "terminal", retryable: true },
  token_revoked: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
  subprotocol_missing: { status: 401, close: 4001, reconnect: "terminal", retryable: true },
  subprotocol_misspelled: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  subprotocol_order: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  token_characters: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  token_in_query: { status: 401, close: 4008, reconnect: "terminal", retryable: true },
  origin_not_allowed: { status: 403, close: 4005, reconnect: "terminal", retryable: true },
  guest_revoked: { status: 401, close: 4006, reconnect: "terminal", retryable: true },
  deployment_disabled: { status: 403, close: 4009, reconnect: "terminal", retryable: true },
  deployment_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: true },
  conversation_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: false },
  conversation_closed: { status: 409, close: 4011, reconnect: "terminal", retryable: false },
  conversation_taken: { status: 409, close: 4012, reconnect: "terminal", retryable: false },
  agent_at_capacity: { status: 409, close: 4013, reconnect: "terminal", retryable: true },
  agent_status_invalid: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  offer_expired: { status: 409, close: 4012, reconnect: "terminal", retryable: true },
  offer_not_yours: { status: 403, close: 4004, reconnect: "terminal", retryable: true },
  manual_take_off: { status: 403, close: 4004, reconnect: "terminal", retryable: true },
  guest_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: true },
  webhook_endpoint_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: true },
  not_found: { status: 404, close: 4010, reconnect: "terminal", retryable: false },
  bad_json: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  bad_frame: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  unknown_frame_type: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  text_too_long: { status: 413, close: 1009, reconnect: "terminal", retryable: false },
  body_too_large: { status: 413, close: 1009, reconnect: "terminal", retryable: false },
  message_too_big: { status: 413, close: 1009, reconnect: "terminal", retryable: false },
  invalid_utf8: { status: 400, close: 1007, reconnect: "terminal", retryable: false },
  protocol_error: { status: 400, close: 1002, reconnect: "backoff", retryable: false },
  idempotency_conflict: { status: 422, close: 4007, reconnect: "terminal", retryable: false },
  webhook_target_refused: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  webhook_event_type_unknown: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  webhook_endpoints_full: { status: 409, close: 4007, reconnect: "terminal", retryable: true },
  rate_limited: { status: 429, close: 4100, reconnect: "backoff", retryable: true },
  too_many_connections: { status: 429, close: 4101, reconnect: "backoff", retryable: true },
  store_unavailable: { status: 503, close: 4102, reconnect: "backoff", retryable: true },
  store_full: { status: 503, close: 4104, reconnect: "backoff", retryable: true },
  broker_unavailable: { status: 503, close: 4103, reconnect: "backoff", retryable: true },
  server_shutdown: { status: 503, close: 4200, reconnect: "immediate", retryable: true },
  slow_consumer: { status: 503, close: 4201, reconnect: "immediate", retryable: true },
  idle_timeout: { status: 408, close: 4202, reconnect: "immediate", retryable: true },
  node_resync: { status: 503, close: 4203, reconnect: "immediate", retryable: true },
  internal: { status: 500, close: 1011, reconnect: "backoff", retryable: true },
};

/** The server's default limits; `ready.limits` carries those in force. */
export const LIMITS = {
  messageBytesMax: 65536,
  textCharsMax: 4000,
  clientMessageIdCharsMax: 128,
  heartbeatIntervalMs: 25000,
  historyPageMax: 200,
  historyPageDefault: 50,
  resumeMessagesMax: 1000,
  tokenLeewaySecs: 30,
};
