/* porch-sdk 0.1.0: the Porch browser SDK (docs/sdk.md) */

// wire.gen.js
var API_VERSION = "0.1.0";
var PROTOCOL_MARKER = "NICE-WebSocket-Auth";
var CLOSE_REASON_BYTES_MAX = 123;
var PATHS = {
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
  guestQueue: "/api/v2/webmessaging/guests/queue",
  guestIdentity: "/api/v2/webmessaging/guests/identity",
  guestToken: "/api/v2/webmessaging/guests/token",
  agentLogin: "/api/v2/agents/login",
  agentToken: "/api/v2/agents/token",
  agentApi: "/api/v2/agent",
  openapi: "/api/v2/openapi.json",
  webhookEndpoints: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks",
  webhookEndpoint: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}",
  webhookSecret: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/secret",
  webhookDead: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/dead",
  webhookReplay: "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/dead/replay",
  botToken: "/api/v2/bots/token",
  botApi: "/api/v2/bot",
  guestAttachments: "/api/v2/webmessaging/guests/attachments",
  guestAttachment: "/api/v2/webmessaging/guests/attachments/{attachment_id}",
  agentAttachments: "/api/v2/agent/conversations/{id}/attachments",
  agentAttachment: "/api/v2/agent/conversations/{id}/attachments/{attachment_id}",
  attachmentUpload: "/api/v2/attachments/uploads/{grant}",
  attachmentContent: "/api/v2/attachments/content/{grant}",
  attachmentPreview: "/api/v2/attachments/previews/{grant}",
  customerErasure: "/api/v2/webmessaging/deployments/{deployment_id}/customers/erasure"
};
var RECONNECT_RULES = [
  [4e3, 4099, "terminal"],
  [1007, 1007, "terminal"],
  [1009, 1009, "terminal"],
  [4200, 4299, "immediate"]
];
var ERRORS = {
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
  bot_credentials_invalid: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
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
  bot_disabled: { status: 403, close: 4009, reconnect: "terminal", retryable: true },
  token_revoked: { status: 401, close: 4003, reconnect: "terminal", retryable: true },
  subprotocol_missing: { status: 401, close: 4001, reconnect: "terminal", retryable: true },
  subprotocol_misspelled: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  subprotocol_order: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  token_characters: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  token_in_query: { status: 401, close: 4008, reconnect: "terminal", retryable: true },
  origin_not_allowed: { status: 403, close: 4005, reconnect: "terminal", retryable: true },
  guest_revoked: { status: 401, close: 4006, reconnect: "terminal", retryable: true },
  guest_erased: { status: 401, close: 4014, reconnect: "terminal", retryable: true },
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
  conversation_not_yours: { status: 403, close: 4004, reconnect: "terminal", retryable: true },
  transfer_target_invalid: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  transfer_agent_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: true },
  transfer_queue_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: true },
  transfer_agent_unavailable: { status: 409, close: 4013, reconnect: "terminal", retryable: true },
  wrap_up_unknown: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  wrap_up_required: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  not_supervisor: { status: 403, close: 4004, reconnect: "terminal", retryable: true },
  guest_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: true },
  customer_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: true },
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
  content_invalid: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  idempotency_conflict: { status: 422, close: 4007, reconnect: "terminal", retryable: false },
  webhook_target_refused: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  webhook_event_type_unknown: { status: 400, close: 4007, reconnect: "terminal", retryable: false },
  webhook_endpoints_full: { status: 409, close: 4007, reconnect: "terminal", retryable: true },
  attachment_too_large: { status: 413, close: 4007, reconnect: "terminal", retryable: true },
  attachment_quota_full: { status: 409, close: 4007, reconnect: "terminal", retryable: true },
  attachment_type_refused: { status: 415, close: 4007, reconnect: "terminal", retryable: true },
  attachment_type_mismatch: { status: 415, close: 4007, reconnect: "terminal", retryable: true },
  attachment_body_too_long: { status: 413, close: 4007, reconnect: "terminal", retryable: true },
  attachment_body_too_short: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  attachment_truncated: { status: 400, close: 4007, reconnect: "terminal", retryable: true },
  upload_too_slow: { status: 408, close: 4007, reconnect: "terminal", retryable: true },
  upload_already_complete: { status: 409, close: 4007, reconnect: "terminal", retryable: true },
  attachment_url_invalid: { status: 403, close: 4003, reconnect: "terminal", retryable: true },
  attachment_url_expired: { status: 410, close: 4002, reconnect: "terminal", retryable: true },
  attachment_unknown: { status: 404, close: 4010, reconnect: "terminal", retryable: true },
  attachment_deleted: { status: 410, close: 4010, reconnect: "terminal", retryable: false },
  preview_unavailable: { status: 404, close: 4010, reconnect: "terminal", retryable: false },
  range_not_satisfiable: { status: 416, close: 4007, reconnect: "terminal", retryable: true },
  rate_limited: { status: 429, close: 4100, reconnect: "backoff", retryable: true },
  too_many_connections: { status: 429, close: 4101, reconnect: "backoff", retryable: true },
  store_unavailable: { status: 503, close: 4102, reconnect: "backoff", retryable: true },
  store_full: { status: 503, close: 4104, reconnect: "backoff", retryable: true },
  broker_unavailable: { status: 503, close: 4103, reconnect: "backoff", retryable: true },
  server_shutdown: { status: 503, close: 4200, reconnect: "immediate", retryable: true },
  slow_consumer: { status: 503, close: 4201, reconnect: "immediate", retryable: true },
  idle_timeout: { status: 408, close: 4202, reconnect: "immediate", retryable: true },
  node_resync: { status: 503, close: 4203, reconnect: "immediate", retryable: true },
  internal: { status: 500, close: 1011, reconnect: "backoff", retryable: true }
};
var LIMITS = {
  messageBytesMax: 65536,
  textCharsMax: 4e3,
  clientMessageIdCharsMax: 128,
  heartbeatIntervalMs: 25e3,
  historyPageMax: 200,
  historyPageDefault: 50,
  resumeMessagesMax: 1e3,
  tokenLeewaySecs: 30,
  lastMessagePreviewCharsMax: 140
};

// errors.js
var PorchError = class extends Error {
  /**
   * @param {object} init
   * @param {string} init.code a code of the protocol.md table, or one of the SDK's:
   *   `network` (Porch unreachable), `session_missing`, `ended`, `bad_response`, `csp_blocked`
   *   (the page's Content-Security-Policy blocks Porch)
   * @param {string} init.message cause and fix, without the `[ref …]`
   * @param {string | null} [init.ref] the reference in the server's log
   * @param {number} [init.status] HTTP status, for REST failures
   * @param {number} [init.closeCode] WebSocket close code, for closes
   * @param {string} [init.clientMessageId] the send this error is about
   * @param {boolean} [init.fatal] true when the SDK stopped because of it
   * @param {number | null} [init.retryInMs] when the SDK tries again, if it does
   */
  constructor({ code, message, ref = null, status, closeCode, clientMessageId, fatal = false, retryInMs = null }) {
    super(`${code}: ${message}${ref ? ` [ref ${ref}]` : ""}`);
    this.name = "PorchError";
    this.code = code;
    this.detail = message;
    this.ref = ref;
    this.status = status;
    this.closeCode = closeCode;
    this.clientMessageId = clientMessageId;
    this.fatal = fatal;
    this.retryInMs = retryInMs;
  }
};
function isRetryableSendError(code) {
  return (
    /** @type {Record<string, {retryable: boolean}>} */
    ERRORS[code]?.retryable ?? true
  );
}
async function errorFromResponse(res, what) {
  const text = await res.text().catch(() => "");
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
  }
  if (body && typeof body.error === "string") {
    const split = /^(.*?)(?: \[ref ([A-Za-z0-9]+)\])?$/.exec(String(body.error_description ?? ""));
    const retryAfterSecs = Number(res.headers?.get?.("retry-after"));
    return new PorchError({
      code: body.error,
      message: split?.[1] || body.error,
      ref: body.error_ref ?? split?.[2] ?? null,
      status: res.status,
      retryInMs: retryAfterSecs > 0 ? retryAfterSecs * 1e3 : null
    });
  }
  const shown = text.replace(/\s+/g, " ").slice(0, 120);
  return new PorchError({
    code: "bad_response",
    message: `${what} answered HTTP ${res.status} without a Porch error body${shown ? ` (${shown})` : ""}; is a proxy in the way?`,
    status: res.status
  });
}

// http.js
var REQUEST_TIMEOUT_MS = 15e3;
var GATEWAY_PATH = PATHS.gateway;
function fillPath(template, params2) {
  return template.replace(/\{([a-z_]+)\}/g, (_, name) => encodeURIComponent(params2[name] ?? ""));
}
function baseUrlFromGateway(gatewayUrl) {
  const url = new URL(gatewayUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  const path = url.pathname.endsWith(GATEWAY_PATH) ? url.pathname.slice(0, -GATEWAY_PATH.length) : "";
  return `${url.origin}${path}`;
}
function trimBase(baseUrl) {
  return String(baseUrl).replace(/\/+$/, "");
}
async function request(fetchFn, baseUrl, method, path, { token, json, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== void 0) headers["content-type"] = "application/json";
  const url = `${trimBase(baseUrl)}${path}`;
  const what = `${method} ${path.split("?")[0]}`;
  let res;
  try {
    res = await fetchFn(url, {
      method,
      headers,
      body: json === void 0 ? void 0 : JSON.stringify(json),
      // Cookies are not how Porch authenticates; sending none keeps CORS simple.
      credentials: "omit",
      signal: AbortSignal.timeout(timeoutMs)
    });
  } catch (caught) {
    const e = (
      /** @type {Error | undefined} */
      caught
    );
    const why = e?.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : e?.message || String(e);
    throw new PorchError({
      code: "network",
      message: `${what} could not reach Porch at ${new URL(url).host} (${why}); check the network, that the page's origin is allowed, and that its Content-Security-Policy connect-src includes ${new URL(url).origin} (a CORS or CSP refusal looks the same to page script)`
    });
  }
  if (!res.ok) throw await errorFromResponse(res, what);
  try {
    return await res.json();
  } catch {
    throw new PorchError({ code: "bad_response", message: `${what} answered ${res.status} with a body that is not JSON`, status: res.status });
  }
}

// outbox.js
function newClientMessageId(randomBytes = () => globalThis.crypto.getRandomValues(new Uint8Array(16))) {
  return `c-${Array.from(randomBytes(), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
var Outbox = class {
  /**
   * @param {OutboxEntry[]} [entries] restored from storage
   * @param {{newId?: () => string, now?: () => number}} [options]
   */
  constructor(entries = [], { newId = () => newClientMessageId(), now = () => Date.now() } = {}) {
    this._entries = /* @__PURE__ */ new Map();
    for (const e of entries) {
      if (e && typeof e.clientMessageId === "string" && typeof e.text === "string") this._entries.set(e.clientMessageId, e);
    }
    this._newId = newId;
    this._now = now;
  }
  /**
   * @param {string} text
   * @param {string} [conversationId]
   * @param {{clientMessageId?: string, choice?: {seq: number, id: string}}} [given] a pick's own id and choice
   * @returns {OutboxEntry}
   */
  add(text, conversationId, given = {}) {
    const entry = { clientMessageId: given.clientMessageId ?? this._newId(), text, createdAtMs: this._now() };
    if (conversationId) entry.conversationId = conversationId;
    if (given.choice) entry.choice = given.choice;
    this._entries.set(entry.clientMessageId, entry);
    return entry;
  }
  /**
   * Removes and returns the entry, or undefined when it was not (or no longer) pending.
   * @param {string} clientMessageId
   */
  remove(clientMessageId) {
    const entry = this._entries.get(clientMessageId);
    this._entries.delete(clientMessageId);
    return entry;
  }
  /** @param {string} clientMessageId */
  has(clientMessageId) {
    return this._entries.has(clientMessageId);
  }
  get size() {
    return this._entries.size;
  }
  /** Pending entries, oldest first: the order to resend them in. */
  list() {
    return [...this._entries.values()];
  }
  toJSON() {
    return this.list();
  }
};

// attach.js
function guestTarget(guest) {
  return { fetch: guest._fetch, baseUrl: guest._baseUrl, token: guest._session?.accessToken, path: PATHS.guestAttachments, limits: guest.limits?.attachments };
}
function refuseFile(file, limits) {
  if (!limits) return null;
  if (file.size === 0 || file.size > limits.bytesMax) {
    return new PorchError({ code: "attachment_too_large", message: `the file has ${file.size} bytes; a file may have 1 to ${limits.bytesMax}` });
  }
  if (!limits.types.includes(file.type)) {
    return new PorchError({ code: "attachment_type_refused", message: `${file.type || "a file of unknown type"} cannot be sent; allowed: ${limits.types.join(", ")}` });
  }
  return null;
}
async function attach(to, file, options = {}) {
  const refused = refuseFile(file, to.limits);
  if (refused) throw refused;
  const json = {
    clientMessageId: options.clientMessageId ?? newClientMessageId(),
    name: options.name ?? file.name ?? "file",
    size: file.size,
    contentType: file.type
  };
  const grant = await request(to.fetch, to.baseUrl, "POST", to.path, { token: to.token, json });
  const sent = options.onProgress && typeof XMLHttpRequest === "function" ? await putWithProgress(grant.uploadUrl, file, options.onProgress) : await put(to.fetch, grant.uploadUrl, file);
  options.onProgress?.({ loaded: file.size, total: file.size });
  return sent.message;
}
async function put(fetchFn, url, file) {
  let res;
  try {
    res = await fetchFn(url, { method: "PUT", body: file, credentials: "omit", headers: { "content-type": "application/octet-stream" } });
  } catch {
    throw unreachable();
  }
  if (!res.ok) throw await errorFromResponse(res, "PUT upload");
  return res.json();
}
function putWithProgress(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: file.size });
    xhr.onerror = () => reject(unreachable());
    xhr.onload = () => {
      const headers = { "retry-after": xhr.getResponseHeader("retry-after") ?? "" };
      const res = new Response(xhr.responseText, { status: xhr.status, headers });
      if (res.ok) res.json().then(resolve, reject);
      else errorFromResponse(res, "PUT upload").then(reject);
    };
    xhr.send(file);
  });
}
function unreachable() {
  return new PorchError({ code: "network", message: "the upload could not reach Porch; check the network (and that the page's connect-src allows Porch), then attach the file again" });
}
function attachmentUrl(to, attachmentId) {
  return request(to.fetch, to.baseUrl, "GET", `${to.path}/${encodeURIComponent(attachmentId)}`, { token: to.token });
}

// backoff.js
var BACKOFF_BASE_MS = 500;
var BACKOFF_CAP_MS = 3e4;
var BACKOFF_41XX_MIN_MS = 1e3;
var IMMEDIATE_MIN_UPTIME_MS = 2e3;
var RECONNECT_SPREAD_MS = 3e3;
function backoffDelay(attempt, { baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}
function reconnectDelay({ kind, attempt, closeCode = 0, uptimeMs = 0 }, options = {}) {
  if (kind === "terminal") return null;
  const settled = attempt === 0 && uptimeMs >= IMMEDIATE_MIN_UPTIME_MS;
  if (kind === "refresh" && settled) return 0;
  if (kind === "immediate" && settled) {
    const { spreadMs = RECONNECT_SPREAD_MS, random = Math.random } = options;
    return Math.floor(random() * spreadMs);
  }
  const delay = backoffDelay(attempt, options);
  if (closeCode >= 4100 && closeCode <= 4199) return Math.max(BACKOFF_41XX_MIN_MS, delay);
  return delay;
}
function sessionRetryDelay(error, attempt, options = {}) {
  const passing = error.code === "network" || error.code === "rate_limited" || (error.status ?? 0) >= 500;
  if (!passing || error.fatal) return null;
  return Math.max(backoffDelay(attempt, options), error.retryInMs ?? 0);
}

// close-codes.js
function classifyClose(code) {
  if (code === ERRORS.token_expired.close) return "refresh";
  const rule = RECONNECT_RULES.find(([first, last]) => code >= first && code <= last);
  return rule ? rule[2] : "backoff";
}
function parseReason(reason) {
  const text = String(reason ?? "");
  const m = /^([a-z][a-z0-9_]*): ([\s\S]*?)(?: \[ref ([A-Za-z0-9]+)\])?$/.exec(text);
  if (!m) return { code: null, message: text, ref: null };
  return { code: m[1], message: m[2], ref: m[3] ?? null };
}
function describeBareClose(code, host) {
  switch (code) {
    case 1006:
      return `lost the connection to ${host} (close 1006: network failure, server down or restarting, or the upgrade was refused before it began)`;
    case 1001:
      return `${host} is going away (close 1001)`;
    case 1011:
      return `${host} hit an internal error (close 1011); the reference is in the server log`;
    case 1e3:
    case 1005:
      return `${host} closed the connection (close ${code}) without a reason`;
    default:
      return `the connection to ${host} closed with code ${code} and no reason`;
  }
}

// csp.js
var VIOLATIONS_KEPT_MAX = 20;
var seen = [];
var watching = false;
function watchViolations() {
  const doc = globalThis.document;
  if (watching || !doc?.addEventListener) return;
  watching = true;
  doc.addEventListener("securitypolicyviolation", (e) => {
    let url;
    try {
      url = new URL(e.blockedURI);
    } catch {
      return;
    }
    seen.push({ url, directive: e.effectiveDirective || e.violatedDirective });
    if (seen.length > VIOLATIONS_KEPT_MAX) seen.shift();
  });
}
function wasBlocked(target) {
  let url;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  return seen.some((v) => v.url.protocol === url.protocol && v.url.host === url.host);
}
function cspError(targets) {
  const blocked = [...new Set(targets.filter(wasBlocked).map((t) => new URL(t).origin))];
  return new PorchError({
    code: "csp_blocked",
    message: `this page's Content-Security-Policy blocks ${blocked.join(" and ")}: add ${blocked.join(" ")} to its connect-src (the browser console names the policy's directive)`,
    fatal: true
  });
}

// refresh.js
var REFRESH_MIN_DELAY_MS = 1e3;
var REFRESH_MARGIN_MIN_MS = 5e3;
var REFRESH_MARGIN_MAX_MS = 5 * 6e4;
function refreshDelay(expiresInMs) {
  const margin = Math.min(REFRESH_MARGIN_MAX_MS, Math.max(REFRESH_MARGIN_MIN_MS, expiresInMs / 5));
  return Math.max(REFRESH_MIN_DELAY_MS, Math.floor(expiresInMs - margin));
}
function refreshRetryDelay(expiresInMs) {
  return Math.max(REFRESH_MIN_DELAY_MS, Math.floor(expiresInMs / 10));
}
var RefreshTimer = class {
  /**
   * @param {{ refresh: () => Promise<void>, onFatal: (e: import('./errors.js').PorchError) => void, onError: (e: import('./errors.js').PorchError) => void }} hooks
   *   `refresh` gets and stores a fresh token; `onFatal` gets a refusal that will not pass
   *   (the credentials are dead); `onError` one that may.
   */
  constructor(hooks) {
    this._hooks = hooks;
    this._timer = void 0;
  }
  /** @param {number} expiresInMs the token's remaining lifetime, from the server's `ready` */
  schedule(expiresInMs) {
    this.clear();
    if (!Number.isFinite(expiresInMs)) return;
    const deadline = Date.now() + expiresInMs;
    const attempt = (delay) => {
      this._timer = setTimeout(async () => {
        try {
          await this._hooks.refresh();
        } catch (caught) {
          const e = (
            /** @type {import('./errors.js').PorchError} */
            caught
          );
          if (!mayPass(e)) return this._hooks.onFatal(e);
          this._hooks.onError(e);
          const left = deadline - Date.now();
          if (left > 0) attempt(refreshRetryDelay(left));
        }
      }, delay);
    };
    attempt(refreshDelay(expiresInMs));
  }
  clear() {
    clearTimeout(this._timer);
    this._timer = void 0;
  }
};
function mayPass(e) {
  return e.code === "network" || e.code === "bad_response" || (e.status ?? 0) >= 429;
}
var REFRESH_ANSWER_TIMEOUT_MS = 1e4;
var LiveRefresh = class {
  constructor() {
    this._waiting = null;
  }
  /**
   * @param {(frame: object) => boolean} send the connection's `send` (false: no live socket)
   * @param {string} token
   * @param {number} [timeoutMs]
   * @returns {Promise<RefreshOutcome>}
   */
  request(send, token, timeoutMs = REFRESH_ANSWER_TIMEOUT_MS) {
    this.cancel();
    if (!send({ type: "refresh", token })) return Promise.resolve({ inPlace: false, error: null });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.cancel(), timeoutMs);
      this._waiting = { settle: resolve, timer };
    });
  }
  /**
   * Offers a frame from the socket; true when it was the refresh's answer (and is consumed).
   * @param {any} frame
   */
  answer(frame) {
    if (!this._waiting) return false;
    if (frame?.type === "refreshed") {
      this._settle({ inPlace: true, expiresInMs: Number(frame.tokenExpiresInMs) });
      return true;
    }
    if (frame?.type === "error" && frame.clientMessageId == null) {
      const split = /^(.*?)(?: \[ref ([A-Za-z0-9]+)\])?$/.exec(String(frame.message ?? ""));
      const error = new PorchError({ code: String(frame.code), message: split?.[1] ?? "", ref: split?.[2] ?? null });
      this._settle({ inPlace: false, error });
      return true;
    }
    return false;
  }
  /** The socket went away, or no answer came in time: the caller reconnects instead. */
  cancel() {
    this._settle({ inPlace: false, error: null });
  }
  /** @param {RefreshOutcome} outcome */
  _settle(outcome) {
    const waiting = this._waiting;
    this._waiting = null;
    if (!waiting) return;
    clearTimeout(waiting.timer);
    waiting.settle(outcome);
  }
};
async function applyFreshToken(conn, token, timer) {
  if (!conn) return false;
  const outcome = await conn.refreshInPlace(token);
  if (outcome.inPlace) {
    timer.schedule(outcome.expiresInMs);
    return true;
  }
  conn.reconnectNow();
  return false;
}

// connection.js
var MARKER = PROTOCOL_MARKER;
var CONNECT_TIMEOUT_MS = 15e3;
var DEFAULT_HEARTBEAT_MS = LIMITS.heartbeatIntervalMs;
var Connection = class {
  /**
   * @param {object} o
   * @param {any} o.WebSocket the constructor (the browser's, or e.g. the `ws` package's)
   * @param {() => string} o.url the gateway URL to open now (with `afterSeq` for guests)
   * @param {() => string} o.token the access token to offer now
   * @param {(frame: any) => void} o.onReady
   * @param {(frame: any) => void} o.onFrame every other frame
   * @param {(state: ConnectionState, info: {retryInMs?: number, cause?: PorchError}) => void} o.onState
   * @param {(error: PorchError) => void} o.onError non-fatal ones say when the next try is
   * @param {(cause: PorchError) => Promise<void>} o.onExpired called on close 4002: get a new
   *   token or throw the PorchError that explains why not
   * @param {import('./porch.js').BackoffOptions} [o.backoff]
   * @param {number} [o.connectTimeoutMs]
   */
  constructor(o) {
    this._o = o;
    this.state = "idle";
    this._socket = null;
    this._attempt = 0;
    this._everOpen = false;
    this._readyAt = 0;
    this._lastHeardAt = 0;
    this._stopped = false;
    this._timers = /* @__PURE__ */ new Set();
    this._heartbeat = void 0;
    this._pingId = 0;
    this._refreshing = false;
    this._liveRefresh = new LiveRefresh();
    this._onOnline = () => {
      if (this.state === "reconnecting" && !this._socket) this.reconnectNow();
    };
  }
  start() {
    if (this._stopped || this.state !== "idle") return;
    watchViolations();
    globalThis.addEventListener?.("online", this._onOnline);
    this._open();
  }
  /**
   * Sends a frame if a session is live; false otherwise (the caller keeps it for later).
   * @param {object} frame a client frame of protocol.md
   */
  send(frame) {
    if (this.state !== "open" || this._socket?.readyState !== 1) return false;
    this._socket.send(JSON.stringify(frame));
    return true;
  }
  /**
   * Hands the live socket a fresh token (a `refresh` frame); resolves with whether it took it.
   * @param {string} token
   */
  refreshInPlace(token) {
    return this._liveRefresh.request((frame) => this.send(frame), token);
  }
  /** Replaces the socket at once, e.g. after a token refresh: the next one uses the new token. */
  reconnectNow() {
    if (this._stopped || this._refreshing) return;
    this._clearTimers();
    this._drop(1e3, "reconnecting");
    this._open();
  }
  /** Ends for good, closing with 1000. */
  stop(reason = "client ended the session") {
    if (this._stopped) return;
    this._stopped = true;
    globalThis.removeEventListener?.("online", this._onOnline);
    this._clearTimers();
    this._drop(1e3, reason);
    this._setState("closed");
  }
  get host() {
    try {
      return new URL(this._o.url()).host;
    } catch {
      return "the gateway";
    }
  }
  _open() {
    this._setState(this._everOpen || this._attempt > 0 ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new this._o.WebSocket(this._o.url(), [MARKER, this._o.token()]);
    } catch (e) {
      this._fail(new PorchError({
        code: "token_characters",
        message: `the WebSocket could not be created (${/** @type {{name?: string} | undefined} */
        e?.name ?? "Error"}): the gateway URL or the access token holds characters a subprotocol cannot; send accessToken exactly as Porch issued it`
      }));
      return;
    }
    this._socket = socket;
    this._lastHeardAt = Date.now();
    socket.onmessage = (ev) => this._onMessage(socket, ev.data);
    socket.onclose = (ev) => this._onClose(socket, ev.code, ev.reason);
    socket.onerror = () => {
      if (this._socket === socket && wasBlocked(socket.url ?? "")) {
        this._socket = null;
        this._fail(cspError([socket.url]));
      }
    };
    const timeoutMs = this._o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this._later(() => {
      if (this._socket !== socket || this._readyAt) return;
      this._drop(1e3, "no ready in time");
      this._lost(1006, new PorchError({ code: "network", message: `no answer from ${this.host} within ${timeoutMs} ms`, closeCode: 1006 }), 0);
    }, timeoutMs, "connect");
  }
  /** @param {WebSocket} socket @param {unknown} data */
  _onMessage(socket, data) {
    if (socket !== this._socket || typeof data !== "string") return;
    this._lastHeardAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      this._o.onError(new PorchError({ code: "bad_frame", message: `the gateway sent a frame that is not JSON: ${data.slice(0, 80)}` }));
      return;
    }
    if (frame?.type === "ready") {
      this._readyAt = Date.now();
      this._attempt = 0;
      this._everOpen = true;
      this._clearTimer("connect");
      this._startHeartbeat(frame.heartbeatIntervalMs || DEFAULT_HEARTBEAT_MS);
      this._setState("open");
      this._o.onReady(frame);
    } else if (!this._liveRefresh.answer(frame)) {
      this._o.onFrame(frame);
    }
  }
  /** Browsers answer the server's pings without telling page script, so a dead link (no
   * RST, e.g. a laptop lid closed) is only seen by pinging ourselves and hearing nothing.
   * @param {number} intervalMs
   */
  _startHeartbeat(intervalMs) {
    clearInterval(this._heartbeat);
    this._heartbeat = setInterval(() => {
      const silentMs = Date.now() - this._lastHeardAt;
      if (silentMs > 2 * intervalMs + 5e3) {
        this._drop(1e3, "no answer to pings");
        const cause = new PorchError({ code: "network", message: `nothing heard from ${this.host} for ${Math.round(silentMs / 1e3)} s`, closeCode: 1006 });
        this._lost(1006, cause, Date.now() - this._readyAt);
        return;
      }
      this.send({ type: "ping", id: `p-${this._pingId += 1}` });
    }, intervalMs);
  }
  /** @param {WebSocket} socket @param {number} code @param {string} reason */
  async _onClose(socket, code, reason) {
    if (socket !== this._socket) return;
    this._liveRefresh.cancel();
    const uptimeMs = this._readyAt ? Date.now() - this._readyAt : 0;
    this._socket = null;
    this._readyAt = 0;
    this._clearTimers();
    if (this._stopped) return;
    const parsed = parseReason(reason);
    const cause = new PorchError({
      code: parsed.code ?? (code === 1006 ? "network" : `close_${code}`),
      message: parsed.code ? parsed.message : reason || describeBareClose(code, this.host),
      ref: parsed.ref,
      closeCode: code
    });
    const kind = classifyClose(code);
    if (kind === "terminal") {
      this._fail(cause);
      return;
    }
    if (kind === "refresh") {
      this._setState("reconnecting", { cause });
      this._refreshing = true;
      try {
        await this._o.onExpired(cause);
      } catch (e) {
        if (!this._stopped) this._fail(e instanceof PorchError ? e : cause);
        return;
      } finally {
        this._refreshing = false;
      }
      if (this._stopped || this._socket) return;
    }
    this._lost(code, cause, uptimeMs, kind);
  }
  /**
   * The socket is gone for a reason that may pass: schedule the next try.
   * @param {number} code
   * @param {PorchError} cause
   * @param {number} uptimeMs
   * @param {import('./close-codes.js').CloseClass} [kind]
   */
  _lost(code, cause, uptimeMs, kind = classifyClose(code)) {
    this._socket = null;
    this._readyAt = 0;
    clearInterval(this._heartbeat);
    const delay = reconnectDelay({ kind, attempt: this._attempt, closeCode: code, uptimeMs }, this._o.backoff) ?? 0;
    this._attempt += 1;
    cause.retryInMs = delay;
    this._o.onError(cause);
    this._setState("reconnecting", { retryInMs: delay, cause });
    this._later(() => this._open(), delay, "retry");
  }
  /** @param {PorchError} error */
  _fail(error) {
    error.fatal = true;
    this._stopped = true;
    globalThis.removeEventListener?.("online", this._onOnline);
    this._clearTimers();
    this._drop(1e3, "giving up");
    this._setState("closed", { cause: error });
    this._o.onError(error);
  }
  /**
   * Forgets the current socket and closes it without hearing its close event.
   * @param {number} code
   * @param {string} reason
   */
  _drop(code, reason) {
    const socket = this._socket;
    this._socket = null;
    this._readyAt = 0;
    clearInterval(this._heartbeat);
    this._liveRefresh.cancel();
    if (!socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    try {
      socket.close(code, reason);
    } catch {
    }
  }
  /**
   * @param {ConnectionState} state
   * @param {{retryInMs?: number, cause?: PorchError}} [info]
   */
  _setState(state, info = {}) {
    if (state === this.state && !info.cause) return;
    this.state = state;
    this._o.onState(state, info);
  }
  /** @param {() => void} fn @param {number} ms @param {string} name */
  _later(fn, ms, name) {
    this._clearTimer(name);
    const timer = setTimeout(() => {
      this._timers.delete(entry);
      fn();
    }, ms);
    const entry = { name, timer };
    this._timers.add(entry);
  }
  /** @param {string} name */
  _clearTimer(name) {
    for (const entry of [...this._timers]) {
      if (entry.name === name) {
        clearTimeout(entry.timer);
        this._timers.delete(entry);
      }
    }
  }
  _clearTimers() {
    for (const entry of this._timers) clearTimeout(entry.timer);
    this._timers.clear();
    clearInterval(this._heartbeat);
  }
};

// context.js
var URL_MAX = 2048;
var TITLE_MAX = 300;
var AGENT_MAX = 512;
var CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;
function pageContext(env = (
  /** @type {any} */
  globalThis
)) {
  const { location, document, navigator } = env;
  if (!location) return null;
  const context = {};
  const url = /^https?:$/.test(location.protocol) ? location.href.split("#")[0] : "";
  if (url && url.length <= URL_MAX) context.pageUrl = url;
  const title = cut(document?.title ?? "", TITLE_MAX);
  if (title) context.pageTitle = title;
  const agent = cut(navigator?.userAgent ?? "", AGENT_MAX);
  if (agent) context.userAgent = agent;
  return context;
}
function cut(s, max) {
  return [...s.replace(CONTROL, " ").trim()].slice(0, max).join("").trim();
}
function withContext(body) {
  const b = { ...body ?? {} };
  if (b.context === void 0) {
    const context = pageContext();
    if (context && Object.keys(context).length) b.context = context;
  }
  if (b.context === null) delete b.context;
  return b;
}

// probe.js
var PROBE_TIMEOUT_MS = 1e4;
function gatewayUrlOf(baseUrl) {
  const url = new URL(`${String(baseUrl).replace(/\/+$/, "")}${GATEWAY_PATH}`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}
function probeGateway(WebSocketImpl, gatewayUrl, timeoutMs = PROBE_TIMEOUT_MS) {
  const url = new URL(gatewayUrl);
  url.searchParams.set("probe", "1");
  return new Promise(
    /** @param {(value?: void) => void} resolve @param {(e: PorchError) => void} reject */
    (resolve, reject) => {
      let socket;
      const finish = (error) => {
        clearTimeout(timer);
        if (socket) socket.onopen = socket.onerror = socket.onclose = null;
        try {
          socket?.close();
        } catch {
        }
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => finish(null), timeoutMs);
      try {
        socket = new WebSocketImpl(url.toString());
      } catch (e) {
        finish(new PorchError({ code: "network", message: `a WebSocket to ${url.host} could not be created (${/** @type {Error | undefined} */
        e?.name ?? "Error"})` }));
        return;
      }
      socket.onerror = () => {
        if (wasBlocked(url.toString())) finish(cspError([url.toString()]));
      };
      socket.onclose = (e) => {
        if (e.code === 1e3) return finish(null);
        if (wasBlocked(url.toString())) return finish(cspError([url.toString()]));
        const parsed = parseReason(e.reason);
        if (parsed.code) return finish(new PorchError({ code: parsed.code, message: parsed.message, ref: parsed.ref, closeCode: e.code }));
        finish(new PorchError({ code: "network", message: `could not open a WebSocket to ${url.host} (close ${e.code})`, closeCode: e.code }));
      };
    }
  );
}

// guest-session.js
var TOKEN_LEEWAY_MS = LIMITS.tokenLeewaySecs * 1e3;
var widgetGuestsPath = (id) => fillPath(PATHS.widgetGuests, { deployment_id: id });
var widgetConfigPath = (id) => fillPath(PATHS.widgetConfig, { deployment_id: id });
async function createSession(o) {
  const path = widgetGuestsPath(o.deploymentId);
  const url = `${trimBase(o.baseUrl)}${path}`;
  for (let attempt = 0; ; attempt += 1) {
    if (o.isEnded()) throw ended();
    if (attempt === 0) o.onTry(0, null);
    try {
      const body = typeof o.guest === "function" ? o.guest() : o.guest;
      return await request(o.fetch, o.baseUrl, "POST", path, { json: withContext(body) });
    } catch (caught) {
      const e = (
        /** @type {PorchError} */
        caught
      );
      if (o.isEnded()) throw ended();
      if (wasBlocked(url)) throw cspError([url]);
      const delay = sessionRetryDelay(e, attempt, o.backoff);
      if (delay === null) throw e;
      e.retryInMs = delay;
      o.onTry(attempt + 1, e);
      await o.pause.for(delay);
    }
  }
}
async function checkPage(o) {
  const gatewayUrl = gatewayUrlOf(o.baseUrl);
  const widgetUrl = `${trimBase(o.baseUrl)}${widgetConfigPath(o.deploymentId)}`;
  let notice;
  try {
    notice = await o.peekNotice();
  } catch (caught) {
    const e = (
      /** @type {PorchError} */
      caught
    );
    if (e.code !== "network") throw e;
    await probeGateway(o.WebSocket, gatewayUrl).catch(() => {
    });
    throw wasBlocked(widgetUrl) ? cspError([widgetUrl, gatewayUrl]) : e;
  }
  await probeGateway(o.WebSocket, gatewayUrl);
  return { notice };
}
function widgetEndpoint({ baseUrl, deploymentId }, what) {
  if (!baseUrl || !deploymentId) {
    throw new PorchError({ code: "session_missing", message: `${what} reads the widget endpoint: pass \`baseUrl\` and \`deploymentId\` to new PorchGuest()` });
  }
  return { baseUrl, deploymentId };
}
async function readWidgetConfig(fetchFn, opt) {
  const { baseUrl, deploymentId } = widgetEndpoint(opt, "peekNotice()");
  const config = await request(fetchFn, baseUrl, "GET", widgetConfigPath(deploymentId));
  const welcome = {
    greeting: config?.greeting ?? null,
    replyWithinMins: config?.replyWithinMins ?? null,
    offlineForm: config?.offlineForm === true,
    agentsAvailable: config?.agentsAvailable !== false
  };
  return { notice: config?.notice ?? null, welcome };
}
var Pause = class {
  constructor() {
    this._done = null;
  }
  /** @param {number} ms */
  for(ms) {
    return new Promise(
      /** @param {(value?: void) => void} resolve */
      (resolve) => {
        const done = () => {
          clearTimeout(timer);
          globalThis.removeEventListener?.("online", done);
          this._done = null;
          resolve();
        };
        const timer = setTimeout(done, ms);
        globalThis.addEventListener?.("online", done);
        this._done = done;
      }
    );
  }
  wake() {
    this._done?.();
  }
};
function normalize(s) {
  for (const field of ["gatewayUrl", "accessToken"]) {
    if (typeof s?.[field] !== "string" || !s[field]) {
      throw new PorchError({ code: "session_missing", message: `the session has no ${field}: pass the object POST /api/v2/webmessaging/guests returned` });
    }
  }
  const expiresAtMs = Number.isFinite(s.expiresAtMs) ? s.expiresAtMs : Date.now() + (s.expiresIn ?? 3600) * 1e3;
  return {
    gatewayUrl: s.gatewayUrl,
    accessToken: s.accessToken,
    expiresAtMs,
    guestId: s.guestId ?? s.guest?.id ?? null,
    conversationId: s.conversationId ?? null,
    deploymentId: s.deploymentId ?? null
  };
}
function pickSession(given, saved) {
  if (given && saved?.session?.guestId === given.guestId) {
    return { session: saved.session.expiresAtMs > given.expiresAtMs ? saved.session : given, restored: saved };
  }
  if (given) return { session: given, restored: null };
  if (saved?.session && usable(saved.session)) return { session: saved.session, restored: saved };
  if (!saved?.session && saved?.outbox?.length) return { session: null, restored: saved };
  return { session: null, restored: null };
}
function usable(session) {
  return typeof session.accessToken === "string" && session.expiresAtMs + TOKEN_LEEWAY_MS > Date.now();
}
function closedError() {
  return new PorchError({ code: "conversation_closed", message: "the conversation is closed; start a new one (end({ forget: true }), then a new PorchGuest)" });
}
function ended() {
  return new PorchError({ code: "ended", message: "the chat was ended on this page (end() was called)" });
}
async function adoptSession(guest, session, reconnect) {
  const fresh = normalize(session);
  guest._session = { ...guest._session, ...fresh };
  guest._persist();
  const inPlace = reconnect && !guest._ended && await applyFreshToken(guest._conn, fresh.accessToken, guest._refresh);
  guest.emit("refresh", { expiresAtMs: fresh.expiresAtMs, inPlace });
}

// guest-close.js
var CLOSE_FRAME_WAIT_MS = 5e3;
var TIMER_MAX_MS = 2 ** 31 - 1;
var CloseWindow = class {
  /** @param {import('./guest.js').PorchGuest} guest */
  constructor(guest) {
    this._guest = guest;
    this.final = false;
    this._timer = null;
    this._waiting = null;
  }
  /**
   * Follows the conversation as `ready` or a `conversation` frame tells it: closed (within
   * its window or for good), or open again after a reopen.
   * @param {Conversation | null} conversation
   */
  follow(conversation) {
    if (!conversation) return;
    this._stopWaiting();
    if (conversation.state === "closed") this.close(conversation.reopenUntilMs ?? null);
    else if (this._guest.closed) this._reopened();
  }
  /** Follows entries released in order: the last one that changes state decides.
   * @param {Message[]} messages */
  entries(messages) {
    const last = [...messages].reverse().find((m) => m.sender?.role === "system" && m.event);
    if (!last) return;
    if (last.event !== "closed") {
      this._stopWaiting();
      if (this._guest.closed) this._reopened(
        /** @type {import('./porch.js').ConversationState} */
        last.event
      );
      return;
    }
    if (this._guest.closed || this._waiting) return;
    this._waiting = setTimeout(() => {
      this._waiting = null;
      this.close(null);
    }, CLOSE_FRAME_WAIT_MS);
  }
  /**
   * The conversation is closed: until `untilMs` (epoch ms) writing reopens it; without it, or
   * once it is past, the close is final. `closed` is emitted when it closes and again when the
   * close becomes final.
   * @param {number | null} untilMs
   */
  close(untilMs) {
    if (this.final) return;
    const g = this._guest;
    if (untilMs === null || !(untilMs > Date.now())) return this.toFinal();
    const first = !g.closed;
    g.closed = true;
    g.reopenUntilMs = untilMs;
    this._markClosed();
    this._arm(untilMs);
    if (first) g.emit("closed", { conversation: g.conversation, unsent: [], reopenUntilMs: untilMs, final: false });
  }
  /**
   * The close is final, however the client learned it (the window passed, a send was refused,
   * `ready` after a reconnect or a reload, no window at all): the saved session is forgotten (a
   * reload starts afresh), the socket and timers stop, and unsent messages are dropped and
   * reported in `closed.unsent`. Emitted once; the messages stay readable.
   */
  toFinal() {
    if (this.final) return;
    const g = this._guest;
    this.final = true;
    this.clear();
    g.closed = true;
    g.reopenUntilMs = null;
    this._markClosed();
    g._saved.clear();
    g._refresh.clear();
    const unsent = g._sends.dropAll(closedError());
    g._conn?.stop("the conversation is closed");
    g.emit("closed", { conversation: g.conversation, unsent, reopenUntilMs: null, final: true });
  }
  /** Stops the timers (the guest ended, or the close went final). */
  clear() {
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    this._stopWaiting();
  }
  /** Learned from an entry, before (or instead of) the `conversation` frame. */
  _markClosed() {
    const g = this._guest;
    g._typingIn.clear();
    if (g.conversation && g.conversation.state !== "closed") {
      g.conversation = { ...g.conversation, state: "closed" };
      g.emit("conversation", g.conversation);
    }
  }
  /** A send reopened it (this guest's, or one from another tab): open as before.
   * @param {import('./porch.js').ConversationState} [state] where its entry took it */
  _reopened(state) {
    const g = this._guest;
    this.clear();
    g.closed = false;
    g.reopenUntilMs = null;
    if (state && g.conversation && g.conversation.state !== state) {
      const { reopenUntilMs: _gone, ...open } = g.conversation;
      g.conversation = { ...open, state };
      g.emit("conversation", g.conversation);
    }
    g.emit("reopened", { conversation: g.conversation });
  }
  /** @param {number} untilMs */
  _arm(untilMs) {
    if (this._timer) clearTimeout(this._timer);
    const waitMs = Math.min(untilMs - Date.now(), TIMER_MAX_MS);
    this._timer = setTimeout(() => {
      this._timer = null;
      if (Date.now() >= untilMs) this.toFinal();
      else this._arm(untilMs);
    }, Math.max(waitMs, 0));
  }
  _stopWaiting() {
    if (this._waiting) clearTimeout(this._waiting);
    this._waiting = null;
  }
};

// guest-history.js
var { guestMessages: MESSAGES } = PATHS;
var HISTORY_PAGE = LIMITS.historyPageDefault;
var FILL_PAGE = LIMITS.historyPageMax;
function loadOlder(guest, limit) {
  if (!guest._log.hasOlder) return Promise.resolve([]);
  guest._older ?? (guest._older = (async () => {
    try {
      const page = await guest._api("GET", `${MESSAGES}?before=${(guest._log.floor ?? 0) + 1}&limit=${limit}`);
      const added = guest._log.addOlder(page.messages);
      guest.emit("history", { messages: added, hasOlder: guest._log.hasOlder });
      return added;
    } finally {
      guest._older = null;
    }
  })());
  return guest._older;
}
function fill(guest) {
  guest._filling ?? (guest._filling = (async () => {
    try {
      for (let page = 0; page < 1e4; page += 1) {
        const got = await guest._api("GET", `${MESSAGES}?after=${guest._log.lastSeq}&limit=${FILL_PAGE}`);
        for (const m of got.messages) guest._release(guest._log.insert(m));
        if (!got.hasMore || !got.messages.length) break;
      }
    } catch (e) {
      guest.emit(
        "error",
        /** @type {import('./errors.js').PorchError} */
        e
      );
    } finally {
      guest._filling = null;
    }
  })());
  return guest._filling;
}

// emitter.js
var Emitter = class {
  constructor() {
    this._listeners = /* @__PURE__ */ new Map();
  }
  /**
   * Subscribes; returns the function that unsubscribes.
   * @template {keyof Events & string} K
   * @param {K} type
   * @param {(payload: Events[K]) => void} listener
   * @returns {() => void}
   */
  on(type, listener) {
    let set = this._listeners.get(type);
    if (!set) this._listeners.set(type, set = /* @__PURE__ */ new Set());
    set.add(listener);
    return () => this.off(type, listener);
  }
  /**
   * @template {keyof Events & string} K
   * @param {K} type
   * @param {(payload: Events[K]) => void} listener
   */
  off(type, listener) {
    this._listeners.get(type)?.delete(listener);
  }
  /**
   * @template {keyof Events & string} K
   * @param {K} type
   * @param {Events[K]} payload
   */
  emit(type, payload) {
    for (const listener of [...this._listeners.get(type) ?? []]) {
      try {
        listener(payload);
      } catch (e) {
        setTimeout(() => {
          throw e;
        }, 0);
      }
    }
  }
};

// queue.js
var QueuePlace = class {
  /** @param {import('./emitter.js').Emitter<import('./porch.js').GuestEvents>} guest */
  constructor(guest) {
    this._guest = guest;
    this.current = null;
    guest.on("message", (m) => {
      if (m.event === "assigned" || m.event === "closed") this.set(null);
    });
    guest.on("conversation", (c) => {
      if (c?.state !== "waiting") this.set(null);
    });
    guest.on("closed", () => this.set(null));
  }
  /** Takes a place from `ready`'s `queue` or a `queue` frame (absent: no place).
   * @param {{position?: unknown, estimatedWaitMs?: unknown} | null | undefined} from */
  set(from) {
    const next = placeOf(from);
    if (same(next, this.current)) return;
    this.current = next;
    this._guest.emit("queue", next);
  }
};
function placeOf(from) {
  const position = Number(from?.position);
  if (!Number.isSafeInteger(position) || position < 1) return null;
  const wait = Number(from?.estimatedWaitMs);
  return Number.isSafeInteger(wait) && wait >= 0 ? { position, estimatedWaitMs: wait } : { position };
}
function same(a, b) {
  return a === b || a !== null && b !== null && a.position === b.position && a.estimatedWaitMs === b.estimatedWaitMs;
}

// sends.js
var SEND_RETRY_MS = 2e3;
var Sends = class {
  /** @param {() => void} onChange the pending list changed (persist it, show it) */
  constructor(onChange) {
    this.outbox = new Outbox();
    this._waiters = /* @__PURE__ */ new Map();
    this._acked = /* @__PURE__ */ new Map();
    this._onChange = onChange;
  }
  /**
   * Puts restored entries (an earlier page's) before the current ones.
   * @param {OutboxEntry[] | null | undefined} entries
   */
  restore(entries) {
    this.outbox = new Outbox([...entries ?? [], ...this.outbox.list()]);
    this._onChange();
  }
  /**
   * A pick that is pending already (a second click) is the same send: the same promise.
   * @param {string} text
   * @param {string} [conversationId]
   * @param {{clientMessageId?: string, choice?: {seq: number, id: string}}} [given]
   * @returns {{entry: import('./outbox.js').OutboxEntry, acked: Promise<Message>, repeat?: boolean}} repeat: pending already, sent already
   */
  add(text, conversationId, given) {
    const pending = given?.clientMessageId && this.outbox.list().find((e) => e.clientMessageId === given.clientMessageId);
    const acked = pending && this._acked.get(pending.clientMessageId);
    if (pending && acked) return { entry: pending, acked, repeat: true };
    const entry = this.outbox.add(text, conversationId, given);
    const promise = new Promise(
      /** @param {(m: Message) => void} resolve @param {(e: PorchError) => void} reject */
      (resolve, reject) => this._waiters.set(entry.clientMessageId, { resolve, reject })
    );
    this._acked.set(entry.clientMessageId, promise);
    promise.then(() => this._acked.delete(entry.clientMessageId), () => this._acked.delete(entry.clientMessageId));
    this._onChange();
    return { entry, acked: promise };
  }
  list() {
    return this.outbox.list();
  }
  /**
   * The send is stored: resolve its caller, drop it from the outbox.
   * @param {string} clientMessageId
   * @param {Message} message
   */
  settle(clientMessageId, message) {
    const had = this.outbox.remove(clientMessageId);
    this._waiters.get(clientMessageId)?.resolve(message);
    this._waiters.delete(clientMessageId);
    if (had) this._onChange();
  }
  /**
   * The server refused a send (`error` frame with its clientMessageId).
   * @param {string} clientMessageId
   * @param {PorchError} error
   * @returns {'retry' | 'dropped' | 'unknown'} retry: keep it and resend later
   */
  refuse(clientMessageId, error) {
    if (!this.outbox.has(clientMessageId)) return "unknown";
    if (isRetryableSendError(error.code)) return "retry";
    this.outbox.remove(clientMessageId);
    this._waiters.get(clientMessageId)?.reject(error);
    this._waiters.delete(clientMessageId);
    this._onChange();
    return "dropped";
  }
  /**
   * An `error` frame about a send: when the refusal may pass, keep the send and resend it
   * after the server's `retryAfterMs` (rate limits say exactly when), or SEND_RETRY_MS.
   * @param {{clientMessageId?: string, retryAfterMs?: number}} frame
   * @param {PorchError} error
   * @param {(entry: OutboxEntry) => void} resend
   * @returns {number | null} the wait before the resend, or null if it will not be resent
   */
  refuseFrame(frame, error, resend) {
    if (!frame.clientMessageId || this.refuse(frame.clientMessageId, error) !== "retry") return null;
    const delayMs = typeof frame.retryAfterMs === "number" && Number.isFinite(frame.retryAfterMs) ? frame.retryAfterMs : SEND_RETRY_MS;
    setTimeout(() => {
      const entry = this.outbox.list().find((e) => e.clientMessageId === frame.clientMessageId);
      if (entry) resend(entry);
    }, delayMs);
    return delayMs;
  }
  /** Rejects every waiting caller and empties the outbox (the conversation is closed: no
   * send can succeed); returns the entries dropped, oldest first.
   * @param {PorchError} error
   */
  dropAll(error) {
    const dropped = this.outbox.list();
    this.rejectAll(error);
    this.outbox = new Outbox();
    if (dropped.length) this._onChange();
    return dropped;
  }
  /**
   * Rejects every waiting caller (the client ended); the outbox itself is kept.
   * @param {PorchError} error
   */
  rejectAll(error) {
    for (const { reject } of this._waiters.values()) reject(error);
    this._waiters.clear();
  }
};

// seq-log.js
var SeqLog = class {
  /**
   * @param {number | null} [floor] the seq just before the first entry this log will hold;
   *   null while unknown ("unanchored"): entries are then held until `anchor` is called.
   */
  constructor(floor = null) {
    this.floor = floor;
    this.lastSeq = floor;
    this._entries = /* @__PURE__ */ new Map();
    this._pending = /* @__PURE__ */ new Map();
  }
  get anchored() {
    return this.floor !== null;
  }
  /** Entries are missing between lastSeq and something already received. */
  get hasGap() {
    return this.anchored && this._pending.size > 0;
  }
  /** Older entries exist before the floor (seq starts at 1 and has no gaps). */
  get hasOlder() {
    return this.anchored && /** @type {number} */
    this.floor > 0;
  }
  /** The contiguous run, ascending. */
  get messages() {
    return [...this._entries.values()].sort((a, b) => a.seq - b.seq);
  }
  /** @param {number} seq */
  has(seq) {
    return this._entries.has(seq);
  }
  /**
   * Fixes the floor of an unanchored log (e.g. at `ready.lastSeq`) and releases what was
   * held after it. Held entries at or below the floor are dropped: they are history, which
   * the caller pages over REST.
   * @param {number} floor
   * @returns {Entry[]} entries now released, ascending
   */
  anchor(floor) {
    if (this.anchored) return [];
    this.floor = floor;
    this.lastSeq = floor;
    for (const seq of [...this._pending.keys()]) if (seq <= floor) this._pending.delete(seq);
    return this._drain();
  }
  /**
   * Adds one entry.
   * @param {Entry} entry
   * @returns {Entry[]} entries now released in order: [] for a duplicate, for an entry older
   *   than the floor, or for one held behind a gap
   */
  insert(entry) {
    const { seq } = entry;
    if (!Number.isSafeInteger(seq) || seq < 1) return [];
    if (!this.anchored) {
      this._pending.set(seq, entry);
      return [];
    }
    if (seq <= /** @type {number} */
    this.lastSeq || this._pending.has(seq)) return [];
    this._pending.set(seq, entry);
    return this._drain();
  }
  /**
   * Prepends a page of older history (REST `before=`). Entries already held, or not directly
   * below the floor, are ignored, so the run stays contiguous.
   * @param {Entry[]} entries any order
   * @returns {Entry[]} the entries added, ascending
   */
  addOlder(entries) {
    if (!this.anchored) return [];
    const added = [];
    const bySeq = new Map(entries.map((e) => [e.seq, e]));
    let floor = (
      /** @type {number} */
      this.floor
    );
    while (floor > 0 && bySeq.has(floor)) {
      const entry = (
        /** @type {Entry} */
        bySeq.get(floor)
      );
      this._entries.set(floor, entry);
      added.push(entry);
      floor -= 1;
    }
    this.floor = floor;
    return added.reverse();
  }
  /** Moves held entries into the run while the next seq is there. */
  _drain() {
    const released = [];
    let next = (
      /** @type {number} */
      this.lastSeq + 1
    );
    while (this._pending.has(next)) {
      const entry = (
        /** @type {Entry} */
        this._pending.get(next)
      );
      this._pending.delete(next);
      this._entries.set(next, entry);
      released.push(entry);
      this.lastSeq = next;
      next += 1;
    }
    return released;
  }
};

// storage.js
var VERSION = 1;
function memoryStorage() {
  const map = /* @__PURE__ */ new Map();
  return {
    getItem: (k) => map.has(k) ? map.get(k) : null,
    setItem: (k, v) => {
      map.set(k, String(v));
    },
    removeItem: (k) => {
      map.delete(k);
    }
  };
}
function defaultStorage() {
  try {
    const s = globalThis.sessionStorage;
    if (s) {
      s.getItem("porch:probe");
      return s;
    }
  } catch {
  }
  return memoryStorage();
}
var SavedState = class {
  /** @param {StorageLike | null} storage null: save nothing @param {string} key */
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
  }
  /** @returns {any | null} */
  load() {
    if (!this.storage) return null;
    try {
      const raw = this.storage.getItem(this.key);
      if (!raw) return null;
      const parsed = JSON.parse(raw);
      return parsed && parsed.v === VERSION ? parsed : null;
    } catch {
      return null;
    }
  }
  /** @param {object} state */
  save(state) {
    if (!this.storage) return;
    try {
      this.storage.setItem(this.key, JSON.stringify({ ...state, v: VERSION }));
    } catch {
    }
  }
  clear() {
    try {
      this.storage?.removeItem(this.key);
    } catch {
    }
  }
};

// typing.js
var TYPING_SEND_INTERVAL_MS = 3e3;
var TYPING_SHOW_MS = 6e3;
var TypingThrottle = class {
  /** @param {number} [intervalMs] @param {() => number} [now] */
  constructor(intervalMs = TYPING_SEND_INTERVAL_MS, now = () => Date.now()) {
    this.intervalMs = intervalMs;
    this._now = now;
    this._lastSentAt = -Infinity;
  }
  /** True when a `typing` frame should go out now (and records that it did). */
  take() {
    const t = this._now();
    if (t - this._lastSentAt < this.intervalMs) return false;
    this._lastSentAt = t;
    return true;
  }
  /** After sending a message: the next keystroke is news again. */
  reset() {
    this._lastSentAt = -Infinity;
  }
};
var TypingTracker = class {
  /**
   * @param {(key: string, participant: import('./porch.js').Participant, active: boolean) => void} onChange
   * @param {{showMs?: number, setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout}} [options]
   */
  // The defaults wrap the globals: a browser's setTimeout called as a method of another
  // object throws "Illegal invocation".
  constructor(onChange, { showMs = TYPING_SHOW_MS, setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (t) => clearTimeout(t) } = {}) {
    this._onChange = onChange;
    this._showMs = showMs;
    this._setTimer = setTimer;
    this._clearTimer = clearTimer;
    this._active = /* @__PURE__ */ new Map();
  }
  /** @param {string} key @param {import('./porch.js').Participant} participant */
  typing(key, participant) {
    const current = this._active.get(key);
    if (current) this._clearTimer(current.timer);
    const timer = this._setTimer(() => this.stop(key), this._showMs);
    this._active.set(key, { timer, participant });
    if (!current) this._onChange(key, participant, true);
  }
  /** @param {string} key */
  stop(key) {
    const current = this._active.get(key);
    if (!current) return;
    this._clearTimer(current.timer);
    this._active.delete(key);
    this._onChange(key, current.participant, false);
  }
  clear() {
    for (const key of [...this._active.keys()]) this.stop(key);
  }
};

// util.js
function withAfterSeq(gatewayUrl, afterSeq) {
  if (afterSeq === null || afterSeq === void 0) return gatewayUrl;
  const url = new URL(gatewayUrl);
  url.searchParams.set("afterSeq", String(afterSeq));
  return url.toString();
}
function splitRef(text) {
  const m = /^([\s\S]*?)(?: \[ref ([A-Za-z0-9]+)\])?$/.exec(String(text ?? ""));
  return { message: m?.[1] ?? String(text), ref: m?.[2] ?? null };
}
function noticeChange(current, next) {
  const notice = next ?? null;
  return (notice?.id ?? null) === (current?.id ?? null) ? void 0 : notice;
}
function choiceBody(message, reply) {
  return {
    clientMessageId: `pick-${message.id}-${reply.id}`.slice(0, 128),
    text: reply.label,
    choice: { seq: message.seq, id: reply.id }
  };
}

// pick.js
function sendFrame(entry) {
  const { clientMessageId, text, choice } = entry;
  return choice ? { type: "choose", clientMessageId, text, choice: { seq: choice.seq, id: choice.id } } : { type: "send", clientMessageId, text };
}

// guest.js
var { guestToken: TOKEN } = PATHS;
var PorchGuest = class extends Emitter {
  /** @param {import('./porch.js').GuestOptions} [options] */
  constructor(options = {}) {
    super();
    this._opt = options;
    this._fetch = options.fetch ?? ((...a) => globalThis.fetch(...a));
    const storage = options.storage === null ? null : options.storage ?? defaultStorage();
    const key = options.storageKey ?? `porch:guest:${options.deploymentId ?? options.session?.deploymentId ?? "default"}`;
    this._saved = new SavedState(storage, key);
    this._session = null;
    this._log = new SeqLog(null);
    this._sends = new Sends(() => {
      this._persist();
      this.emit("outbox", { pending: this.pending });
    });
    this._typingOut = new TypingThrottle(options.typingIntervalMs);
    this._typingIn = new TypingTracker((_key, participant, active) => this.emit("typing", { participant, active }));
    this._conn = null;
    this._starting = null;
    this._startWaiter = null;
    this._baseUrl = "";
    this._ended = false;
    this._historyLoaded = false;
    this._filling = null;
    this._older = null;
    this._refresh = new RefreshTimer({
      refresh: () => this.refreshToken({ reconnect: true }),
      onFatal: (e) => this._onConnectionError(Object.assign(e, { fatal: true }), true),
      onError: (e) => this.emit("error", e)
    });
    this._readSent = 0;
    this._readWanted = 0;
    this._pause = new Pause();
    this._place = new QueuePlace(this);
    this.state = "idle";
    this.closed = false;
    this.reopenUntilMs = null;
    this._close = new CloseWindow(this);
    this.conversation = null;
    this.limits = null;
    this.notice = null;
    this.welcome = null;
    watchViolations();
  }
  /** Ids of this session (never the token). */
  get guestId() {
    return this._session?.guestId ?? null;
  }
  get conversationId() {
    return this._session?.conversationId ?? null;
  }
  /** The messages known, ascending by seq, each once. */
  get messages() {
    return this._log.messages;
  }
  /** The highest seq up to which nothing is missing (null before the first `ready`). */
  get lastSeq() {
    return this._log.lastSeq;
  }
  /** Sent, not yet acknowledged, oldest first. */
  get pending() {
    return this._sends.list();
  }
  get hasOlder() {
    return this._log.hasOlder;
  }
  /** Where the waiting conversation stands in its queue; null once an agent holds it. */
  get queue() {
    return this._place.current;
  }
  /** Whether `start()` would restore a saved session, or messages written before a session existed (e.g. to reopen a widget after a reload). */
  hasSavedSession() {
    const saved = this._saved.load();
    return Boolean(saved?.session ? usable(saved.session) : saved?.outbox?.length);
  }
  /** Gets a session (saved, given or created) and connects; resolves on the first `ready`. @returns {Promise<this>} */
  start() {
    this._starting ?? (this._starting = this._start().catch((e) => {
      if (!this._conn) {
        this._starting = null;
        if (!this._ended) this._setState("idle", {});
      }
      throw e;
    }));
    return (
      /** @type {Promise<this>} */
      this._starting
    );
  }
  /** @returns {Promise<PorchGuest>} */
  async _start() {
    const given = this._opt.session ? normalize(this._opt.session) : null;
    const { restored, ...picked } = pickSession(given, this._saved.load());
    let session = picked.session;
    if (!session && this._opt.baseUrl && this._opt.deploymentId) {
      session = await this._create(this._opt.baseUrl, this._opt.deploymentId);
    } else if (!session) {
      this._saved.clear();
      throw new PorchError({ code: "session_missing", message: "no usable session: pass `session` (from your backend's POST /api/v2/webmessaging/guests) or `baseUrl` and `deploymentId` (the widget endpoint)" });
    }
    if (this._ended) throw ended();
    this._session = session;
    this._baseUrl = trimBase(this._opt.baseUrl ?? baseUrlFromGateway(session.gatewayUrl));
    if (restored) {
      if (Number.isSafeInteger(restored.lastSeq)) this._log = new SeqLog(restored.lastSeq);
      this._sends.restore(restored.outbox);
    }
    this._persist();
    return new Promise((resolve, reject) => {
      this._startWaiter = { resolve, reject };
      this._conn = new Connection({
        WebSocket: this._opt.WebSocket ?? globalThis.WebSocket,
        url: () => withAfterSeq(
          /** @type {Session} */
          this._session.gatewayUrl,
          this._log.lastSeq
        ),
        token: () => (
          /** @type {Session} */
          this._session.accessToken
        ),
        onReady: (f) => this._onReady(f),
        onFrame: (f) => this._onFrame(f),
        onState: (state, info) => this._setState(state, info),
        onError: (e) => this._onConnectionError(e),
        onExpired: () => this.refreshToken({ reconnect: false }),
        backoff: this._opt.backoff,
        connectTimeoutMs: this._opt.connectTimeoutMs
      });
      this._conn.start();
    });
  }
  /** Creates the session at the widget endpoint, trying again while Porch cannot be reached
   * (see `createSession`). @param {string} baseUrl @param {string} deploymentId */
  _create(baseUrl, deploymentId) {
    const onTry = (_attempt, error) => {
      if (error) this.emit("error", error);
      this._setState(error ? "reconnecting" : "connecting", error ? { retryInMs: error.retryInMs ?? void 0, cause: error } : {});
    };
    return createSession({ fetch: this._fetch, baseUrl, deploymentId, guest: this._opt.guest, backoff: this._opt.backoff, pause: this._pause, isEnded: () => this._ended, onTry }).then(normalize);
  }
  /**
   * Checks, before there is a session, that this page can use Porch (see `checkPage`):
   * resolves with `{ notice }`, or rejects with why it cannot (`origin_not_allowed`,
   * `deployment_unknown`, `deployment_disabled`, `csp_blocked`, or `network`, which may pass).
   */
  async check() {
    const { baseUrl, deploymentId } = widgetEndpoint(this._opt, "check()");
    return checkPage({ baseUrl, deploymentId, WebSocket: this._opt.WebSocket ?? globalThis.WebSocket, peekNotice: () => this.peekNotice() });
  }
  /** Before there is a session (the widget endpoint: no token), reads the deployment's notice
   * and welcome, so a visitor reads "we are closed" or the greeting before writing. */
  async peekNotice() {
    const config = await readWidgetConfig(this._fetch, this._opt);
    this._setNotice(config.notice);
    this.welcome = config.welcome;
    this.emit("welcome", this.welcome);
    return this.notice;
  }
  /**
   * Queues a message; resolves with the stored message once acknowledged. Survives
   * reconnects (and reloads, when storage persists): the same clientMessageId is resent.
   * @param {string} text
   * @returns {Promise<Message>}
   */
  send(text) {
    return this._queue({ text: String(text ?? "") });
  }
  /** Sends (or queues, while offline) a message or a pick: the outbox, then a `send` or `choose` frame. @param {{text: string, clientMessageId?: string, choice?: {seq: number, id: string}}} body @returns {Promise<Message>} */
  _queue(body) {
    if (this._ended) return Promise.reject(ended());
    if (this._close.final) return Promise.reject(closedError());
    if (!body.text.trim()) return Promise.reject(new PorchError({ code: "invalid_request", message: "a message needs some text" }));
    const chars = [...body.text].length, max = this.limits?.textCharsMax;
    if (max && chars > max) return Promise.reject(new PorchError({ code: "text_too_long", message: `${chars} characters; the limit is ${max}` }));
    const { entry, acked, repeat } = this._sends.add(body.text, void 0, body);
    if (!repeat) this._conn?.send(sendFrame(entry));
    this._typingOut.reset();
    return acked;
  }
  /** Sends a file (docs/attachments.md). @param {Blob & {name?: string}} file @param {import('./porch.js').AttachOptions} [options] @returns {Promise<Message>} */
  attach(file, options) {
    return attach(guestTarget(this), file, options);
  }
  /** A short-lived URL reading an attachment of this conversation. @param {string} attachmentId */
  attachmentUrl(attachmentId) {
    return attachmentUrl(guestTarget(this), attachmentId);
  }
  /** Call on every keystroke; frames go out at most every few seconds. */
  typing() {
    if (this.state === "open" && this._typingOut.take()) this._conn?.send({ type: "typing" });
  }
  /** Picks a quick reply of a bot's `message` (docs/bots.md): its label is sent as a message naming the choice (a `choose` frame, queued like `send`). @param {Message} message @param {import('./porch.js').QuickReply} reply @returns {Promise<Message>} */
  choose(message, reply) {
    return this._queue(choiceBody(message, reply));
  }
  /** Tells the conversation this guest has read up to `seq` (default: everything received). @param {number} [seq] */
  markRead(seq = this._log.lastSeq ?? 0) {
    this._readWanted = Math.max(this._readWanted, seq);
    if (this._readWanted > this._readSent && this._conn?.send({ type: "read", seq: this._readWanted })) {
      this._readSent = this._readWanted;
    }
  }
  /** Loads the page before the oldest message known; resolves with it (ascending). @param {number} [limit] @returns {Promise<Message[]>} */
  loadOlder(limit = HISTORY_PAGE) {
    return loadOlder(this, limit);
  }
  /** Exchanges the token; with `reconnect`, moves the connection onto it (in place, else by reconnecting). @param {{reconnect?: boolean}} [options] */
  async refreshToken({ reconnect = true } = {}) {
    await adoptSession(this, await this._api("POST", TOKEN), reconnect);
  }
  /** The visitor logged in: this session becomes the customer's an identity token names, keeping its conversation and `seq` (docs/identity.md). @param {string} identityToken */
  async identify(identityToken) {
    await adoptSession(this, await this._api("POST", PATHS.guestIdentity, { identityToken }), true);
  }
  /** Closes the socket and stops. `forget` also drops the saved session (the guest is done). @param {{forget?: boolean}} [options] */
  end({ forget = false } = {}) {
    if (this._ended) return;
    this._ended = true;
    this._pause.wake();
    this._refresh.clear();
    this._typingIn.clear();
    this._close.clear();
    this._conn ? this._conn.stop("the guest ended the chat") : this._setState("closed", {});
    this._sends.rejectAll(ended());
    this._startWaiter?.reject(ended());
    if (forget) this._saved.clear();
  }
  /** @param {any} frame the `ready` frame (protocol.md) */
  _onReady(frame) {
    this.limits = frame.limits ?? null;
    if (frame.conversation) this.conversation = frame.conversation;
    this._setNotice(frame.notice);
    this._place.set(frame.queue);
    const head = frame.lastSeq ?? 0;
    this._release(this._log.anchor(head));
    this.emit("ready", { lastSeq: head, resume: frame.resume ?? null, conversation: this.conversation });
    const final = this._close.final || this.conversation?.state === "closed" && !(Number(this.conversation.reopenUntilMs) > Date.now());
    if (!final) for (const e of this._sends.list()) this._conn?.send(sendFrame(e));
    this._readSent = 0;
    this.markRead(this._readWanted);
    if (!final) this._refresh.schedule(frame.tokenExpiresInMs);
    if (head > (this._log.lastSeq ?? 0) && !frame.resume?.recovered) this._fill();
    if (!this._historyLoaded) {
      this._historyLoaded = true;
      this.loadOlder().catch((e) => this.emit(
        "error",
        /** @type {PorchError} */
        e
      ));
    }
    this._startWaiter?.resolve(this);
    this._startWaiter = null;
    this._close.follow(this.conversation);
  }
  /** @param {any} frame a frame of protocol.md */
  _onFrame(frame) {
    switch (frame.type) {
      case "message":
        this._onMessage(frame.message);
        break;
      case "ack":
        this._sends.settle(frame.clientMessageId, frame.message);
        this.emit("ack", { clientMessageId: frame.clientMessageId, message: frame.message, duplicate: frame.duplicate });
        break;
      case "typing":
        this._typingIn.typing(frame.participant?.id ?? "?", frame.participant);
        break;
      case "read":
        this.emit("read", { participant: frame.participant, seq: frame.seq });
        break;
      case "conversation":
        this.conversation = frame.conversation;
        this.emit("conversation", frame.conversation);
        this._close.follow(frame.conversation);
        break;
      case "notice":
        this._setNotice(frame.notice);
        break;
      case "queue":
        this._place.set(frame);
        break;
      case "error":
        this._onErrorFrame(frame);
        break;
      default:
        break;
    }
  }
  /** @param {Notice | null | undefined} next */
  _setNotice(next) {
    const notice = noticeChange(this.notice, next);
    if (notice === void 0) return;
    this.notice = notice;
    this.emit("notice", notice);
  }
  /** @param {Message | undefined} message */
  _onMessage(message) {
    if (!message) return;
    this._release(this._log.insert(message));
    if (this._log.hasGap) this._fill();
  }
  /** Emits entries the log released, in order, and settles our own sends among them. @param {Message[]} messages */
  _release(messages) {
    if (!messages.length) return;
    for (const m of messages) {
      if (m.sender?.id === this.guestId && m.clientMessageId) this._sends.settle(m.clientMessageId, m);
      if (m.sender?.id) this._typingIn.stop(m.sender.id);
      this.emit("message", m);
    }
    this._persist();
    this._close.entries(messages);
  }
  _onErrorFrame(frame) {
    const { message, ref } = splitRef(frame.message);
    const error = new PorchError({ code: frame.code, message, ref, clientMessageId: frame.clientMessageId });
    error.retryInMs = this._sends.refuseFrame(frame, error, (e) => this._conn?.send(sendFrame(e)));
    this.emit("error", error);
    if (frame.code === "conversation_closed") this._close.toFinal();
  }
  /** Pages forward from lastSeq until nothing is missing (guest-history.js). */
  _fill() {
    return fill(this);
  }
  /** @param {PorchError} error @param {boolean} [stop] */
  _onConnectionError(error, stop = false) {
    if (stop && !this._ended) this._conn?.stop("the token could not be refreshed");
    if (error.fatal) {
      this._refresh.clear();
      if (error.code !== "csp_blocked") this._saved.clear();
      this._startWaiter?.reject(error);
      this._startWaiter = null;
    }
    this.emit("error", error);
  }
  /** @param {import('./porch.js').ConnectionState} state @param {{retryInMs?: number, cause?: PorchError}} info */
  _setState(state, info) {
    if (state === this.state && !info.cause) return;
    const previous = this.state;
    this.state = state;
    if (state !== "open") this._typingIn.clear();
    this.emit("state", { state, previous, ...info });
  }
  _persist() {
    if (this._ended || this._close.final) return;
    if (this._session) {
      this._saved.save({ session: this._session, lastSeq: this._log.lastSeq, outbox: this._sends.list() });
    } else if (this.pending.length && !this._saved.load()?.session) {
      this._saved.save({ session: null, outbox: this._sends.list() });
    }
  }
  /** @param {string} method @param {string} path @param {unknown} [json] @returns {Promise<any>} */
  _api(method, path, json) {
    return request(this._fetch, this._baseUrl, method, path, { token: this._session?.accessToken, json });
  }
};

// agent-extras.js
var API = `${PATHS.agentApi}/conversations`;
var STATUS = `${PATHS.agentApi}/status`;
async function routing(agent) {
  const state = await agent._api("GET", STATUS);
  agent._setStatus(state.status);
  return state;
}
async function setStatus(agent, status) {
  const state = await request(agent._fetch, agent._baseUrl, "PUT", STATUS, { token: agent.session.accessToken, json: { status } });
  agent._setStatus(state.status);
  return state;
}
async function search(agent, { q, state, before, limit } = {}) {
  const query = params({ q, state, before, limit });
  return known(agent, await agent._api("GET", `${API}/search?${query}`));
}
async function customerConversations(agent, id, { before, limit } = {}) {
  const query = params({ before, limit });
  return known(agent, await agent._api("GET", `${API}/${encodeURIComponent(id)}/customer?${query}`));
}
function visitor(agent, id) {
  return agent._api("GET", `${API}/${encodeURIComponent(id)}/visitor`);
}
async function cannedReplies(agent, id) {
  return (await agent._api("GET", `${API}/${encodeURIComponent(id)}/canned-replies`)).replies;
}
function params(values) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) query.set(k, String(v));
  return query;
}
function known(agent, page) {
  for (const c of page.conversations) if (!agent._summaries.has(c.id)) agent._summaries.set(c.id, c);
  return page;
}
async function action(agent, id, verb, json) {
  const conversation = await agent._api("POST", `${API}/${encodeURIComponent(id)}/${verb}`, json);
  agent._upsert(conversation);
  return conversation;
}
function attachTarget(agent, conversationId) {
  return { fetch: agent._fetch, baseUrl: agent._baseUrl, token: agent.session.accessToken, path: `${API}/${encodeURIComponent(conversationId)}/attachments` };
}
function fill2(agent, id) {
  const running = agent._filling.get(id);
  if (running) return running;
  const run = (async () => {
    try {
      for (let page = 0; page < 1e4; page += 1) {
        const log = agent._logs.get(id);
        if (!log?.anchored) return;
        const got = await agent._api("GET", `${API}/${encodeURIComponent(id)}/messages?after=${log.lastSeq}&limit=${LIMITS.historyPageMax}`);
        for (const m of got.messages) agent._release(id, log.insert(m));
        if (!got.hasMore || !got.messages.length) break;
      }
    } catch (e) {
      agent.emit(
        "error",
        /** @type {import('./errors.js').PorchError} */
        e
      );
    } finally {
      agent._filling.delete(id);
    }
  })();
  agent._filling.set(id, run);
  return run;
}

// agent-frames.js
function onFrame(agent, frame) {
  switch (frame.type) {
    case "message":
      agent._onMessage(frame.message);
      break;
    case "conversation":
      agent._upsert(frame.conversation);
      break;
    case "ack":
      agent._sends.settle(frame.clientMessageId, frame.message);
      agent.emit("ack", { clientMessageId: frame.clientMessageId, message: frame.message, duplicate: frame.duplicate });
      break;
    case "typing":
      agent._typingIn.typing(`${frame.conversationId} ${frame.participant?.id}`, frame.participant);
      break;
    case "read":
      agent.emit("read", { conversationId: frame.conversationId, participant: frame.participant, seq: frame.seq });
      break;
    case "status":
      agent._setStatus(frame.status);
      break;
    case "offer":
      agent._offers.offered(frame);
      break;
    case "offerEnded":
      agent._offers.ended(frame);
      break;
    case "agent":
      if (frame.agent?.id) agent.emit("agent", frame.agent);
      break;
    case "error":
      onError(agent, frame);
      break;
    default:
      break;
  }
}
function onError(agent, frame) {
  const { message, ref } = splitRef(frame.message);
  const error = new PorchError({ code: frame.code, message, ref, clientMessageId: frame.clientMessageId });
  const resend = (e) => agent._conn?.send({ type: "send", conversationId: e.conversationId, clientMessageId: e.clientMessageId, text: e.text });
  error.retryInMs = agent._sends.refuseFrame(frame, error, resend);
  if (!frame.clientMessageId) agent._offers.refused(error);
  agent.emit("error", error);
}

// agent-offers.js
var OFFER_REFUSALS = /* @__PURE__ */ new Set([
  "offer_expired",
  "offer_not_yours",
  "conversation_taken",
  "agent_at_capacity",
  "manual_take_off",
  "conversation_unknown"
]);
var ANSWER_TIMEOUT_MS = 15e3;
var Offers = class {
  /**
   * @param {{send: (frame: object) => boolean, emit: (type: any, payload: any) => void}} io
   *   `send` writes a frame (false when the socket is not open); `emit` tells the agent's
   *   listeners: `offer` (a new one), `offerEnded`, and `offers` whenever the list moves.
   */
  constructor(io) {
    this._io = io;
    this._offers = /* @__PURE__ */ new Map();
    this._answers = [];
  }
  /** The live offers, the one that runs out first first. */
  get list() {
    return [...this._offers.values()].sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  }
  /** An `offer` frame: the same offer may come twice (a reconnect at that very moment). */
  /** @param {any} frame */
  offered(frame) {
    const conversation = frame.conversation;
    if (!conversation?.id) return;
    const known2 = this._offers.has(conversation.id);
    const offer = { conversation, expiresAtMs: Number(frame.expiresAtMs) };
    this._offers.set(conversation.id, offer);
    if (!known2) this._io.emit("offer", offer);
    this.changed();
  }
  /** The list moved. */
  changed() {
    this._io.emit("offers", { offers: this.list });
  }
  /** An `offerEnded` frame: the offer is gone whatever the reason; its answer is settled. */
  /** @param {{conversationId: string, reason: string}} frame */
  ended({ conversationId, reason }) {
    this._offers.delete(conversationId);
    const i = this._answers.findIndex((a) => a.conversationId === conversationId);
    if (i >= 0) {
      const [answer] = this._answers.splice(i, 1);
      clearTimeout(answer.timer);
      answer.resolve();
    }
    this._io.emit("offerEnded", { conversationId, reason });
    this.changed();
  }
  /** An `error` frame without a client message id: refuses the oldest waiting answer. */
  /** @param {PorchError} error @returns {boolean} whether it was an answer's */
  refused(error) {
    if (!OFFER_REFUSALS.has(error.code) || !this._answers.length) return false;
    const answer = (
      /** @type {typeof this._answers[number]} */
      this._answers.shift()
    );
    clearTimeout(answer.timer);
    if (error.code !== "agent_at_capacity") this._offers.delete(answer.conversationId);
    this.changed();
    answer.reject(error);
    return true;
  }
  /** Sends `accept` or `decline`; resolves on `offerEnded`, rejects on a refusal. */
  /** @param {'accept' | 'decline'} type @param {string} conversationId @returns {Promise<void>} */
  answer(type, conversationId) {
    return new Promise((resolve, reject) => {
      if (!this._io.send({ type, conversationId })) {
        reject(new PorchError({ code: "not_connected", message: `cannot ${type} while the connection is down; the offer is sent again after the reconnect` }));
        return;
      }
      const timer = setTimeout(() => {
        this._answers = this._answers.filter((a) => a.timer !== timer);
        reject(new PorchError({ code: "timeout", message: `no answer to ${type} within ${ANSWER_TIMEOUT_MS / 1e3} s` }));
      }, ANSWER_TIMEOUT_MS);
      this._answers.push({ conversationId, resolve, reject, timer });
    });
  }
  /** After a reconnect the server sends the live offers again, right after `ready`. */
  clear() {
    for (const a of this._answers.splice(0)) {
      clearTimeout(a.timer);
      a.reject(new PorchError({ code: "not_connected", message: "the connection was lost before the answer came" }));
    }
    if (this._offers.size) {
      this._offers.clear();
      this.changed();
    }
  }
};

// preview.js
var BIDI = /[\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/gu;
var BLANK = /^[\s\p{Cc}]$/u;
function lastMessageOf(m) {
  const senderRole = m.sender?.role ?? "system";
  const kind = m.attachment ? "attachment" : senderRole === "system" ? "system" : "text";
  const senderId = m.sender?.id ?? "";
  const preview = { seq: m.seq, createdAtMs: m.createdAtMs, senderRole, senderId, kind, text: "" };
  if (kind === "attachment") return preview;
  const [text, truncated] = oneLine(m.text ?? "", LIMITS.lastMessagePreviewCharsMax);
  return truncated ? { ...preview, text, truncated } : { ...preview, text };
}
function oneLine(text, max) {
  let out = "";
  let count = 0;
  let space = false;
  for (const c of text.replace(BIDI, "")) {
    if (BLANK.test(c)) {
      space = count > 0;
      continue;
    }
    const needed = space ? 2 : 1;
    if (count + needed > max) return [out, true];
    if (space) {
      out += " ";
      space = false;
    }
    out += c;
    count += needed;
  }
  return [out, false];
}

// agent.js
var API2 = `${PATHS.agentApi}/conversations`;
var TOKEN2 = PATHS.agentToken;
var PAGE = LIMITS.historyPageDefault;
var PorchAgent = class extends Emitter {
  /**
   * `POST /api/v2/agents/login`. Resolves with the AgentSession (api.md) to pass to the constructor.
   * @param {{baseUrl: string, name: string, secret: string, fetch?: typeof fetch}} o
   */
  static login({ baseUrl, name, secret, fetch: fetchFn }) {
    return request(fetchFn ?? ((...a) => globalThis.fetch(...a)), baseUrl, "POST", PATHS.agentLogin, { json: { name, secret } });
  }
  /** @param {import('./porch.js').AgentOptions} options */
  constructor(options) {
    super();
    if (!options?.session?.accessToken) {
      throw new PorchError({ code: "session_missing", message: "pass the session PorchAgent.login (POST /api/v2/agents/login) returned" });
    }
    this._opt = options;
    this.session = options.session;
    this._fetch = options.fetch ?? ((...a) => globalThis.fetch(...a));
    this._baseUrl = trimBase(options.baseUrl ?? baseUrlFromGateway(options.session.gatewayUrl));
    this._summaries = /* @__PURE__ */ new Map();
    this._logs = /* @__PURE__ */ new Map();
    this._filling = /* @__PURE__ */ new Map();
    this._sends = new Sends(() => this.emit("outbox", { pending: this._sends.list() }));
    this._typingOut = /* @__PURE__ */ new Map();
    this._typingIn = new TypingTracker((key, participant, active) => {
      this.emit("typing", { conversationId: key.split(" ")[0], participant, active });
    });
    this.state = "idle";
    this._conn = null;
    this._starting = null;
    this._startWaiter = null;
    this.moreConversations = false;
    this._ended = false;
    this.status = null;
    this._offers = new Offers({
      send: (frame) => this._conn?.send(frame) ?? false,
      emit: (type, payload) => this.emit(type, payload)
    });
    this._refresh = new RefreshTimer({
      refresh: () => this.refreshToken({ reconnect: true }),
      onFatal: (e) => {
        this._conn?.stop("the agent token could not be refreshed");
        this._onConnectionError(Object.assign(e, { fatal: true }));
      },
      onError: (e) => this.emit("error", e)
    });
  }
  /** A token past Porch's leeway cannot be exchanged: the agent logs in again. */
  async _refreshAfterExpiry() {
    try {
      await this.refreshToken({ reconnect: false });
    } catch (caught) {
      const e = (
        /** @type {PorchError} */
        caught
      );
      if (e.status !== 401) throw e;
      throw new PorchError({ code: e.code, message: `${e.detail}; log in again (POST /api/v2/agents/login)`, ref: e.ref, status: e.status });
    }
  }
  /**
   * `POST /api/v2/agents/token`: exchanges the still-valid token for a fresh one (the SDK does
   * it by itself before expiry). `reconnect` moves the connection onto the new token at once:
   * in place (a `refresh` frame), or by reconnecting when the gateway does not take it.
   */
  /** @param {{reconnect?: boolean}} [options] */
  async refreshToken({ reconnect = true } = {}) {
    const fresh = await this._api("POST", TOKEN2);
    this.session = { ...this.session, ...fresh };
    const inPlace = reconnect && !this._ended && await applyFreshToken(this._conn, fresh.accessToken, this._refresh);
    this.emit("refresh", { expiresAtMs: fresh.expiresAtMs, session: this.session, inPlace });
  }
  get agentId() {
    return this.session.agentId;
  }
  /** Open conversations of the agent's queues (waiting, assigned), most recently active first. */
  get conversations() {
    return [...this._summaries.values()].filter((c) => c.state !== "closed" && (!c.queue || this.session.supervisor || this.session.queues.includes(c.queue))).sort((a, b) => (b.updatedAtMs ?? 0) - (a.updatedAtMs ?? 0));
  }
  /** @param {string} id @returns {Conversation | null} */
  conversation(id) {
    return this._summaries.get(id) ?? null;
  }
  /** The messages known of an opened conversation, ascending, each once. */
  /** @param {string} id @returns {Message[]} */
  messages(id) {
    return this._logs.get(id)?.messages ?? [];
  }
  /** @param {string} id */
  hasOlder(id) {
    return this._logs.get(id)?.hasOlder ?? false;
  }
  /** @param {string} id */
  pending(id) {
    return this._sends.list().filter((e) => e.conversationId === id);
  }
  /**
   * Connects; resolves on the first `ready`.
   * @returns {Promise<this>}
   */
  start() {
    this._starting ?? (this._starting = new Promise((resolve, reject) => {
      this._startWaiter = { resolve, reject };
      this._conn = new Connection({
        WebSocket: this._opt.WebSocket ?? globalThis.WebSocket,
        url: () => this.session.gatewayUrl,
        token: () => this.session.accessToken,
        onReady: (f) => this._onReady(f),
        onFrame: (f) => this._onFrame(f),
        onState: (state, info) => {
          const previous = this.state;
          this.state = state;
          if (state !== "open") this._typingIn.clear();
          this.emit("state", { state, previous, ...info });
        },
        onError: (e) => this._onConnectionError(e),
        // Closed with 4002: refresh, then the connection reconnects with the new token.
        onExpired: () => this._refreshAfterExpiry(),
        backoff: this._opt.backoff,
        connectTimeoutMs: this._opt.connectTimeoutMs
      });
      this._conn.start();
    }));
    return (
      /** @type {Promise<this>} */
      this._starting
    );
  }
  /**
   * Starts following a conversation: loads its latest page. Resolves with its messages.
   * @param {string} id
   * @returns {Promise<Message[]>}
   */
  async open(id) {
    if (this._logs.has(id)) return this.messages(id);
    const log = (
      /** @type {SeqLog<Message>} */
      new SeqLog(null)
    );
    this._logs.set(id, log);
    try {
      const page = await this._api("GET", `${API2}/${encodeURIComponent(id)}/messages?limit=${PAGE}`);
      this._release(id, log.anchor(page.lastSeq));
      const older = log.addOlder(page.messages);
      this.emit("history", { conversationId: id, messages: older, hasOlder: log.hasOlder });
    } catch (e) {
      this._logs.delete(id);
      throw e;
    }
    return this.messages(id);
  }
  /**
   * Loads the page before the oldest known message of an opened conversation.
   * @param {string} id
   * @param {number} [limit]
   * @returns {Promise<Message[]>}
   */
  async loadOlder(id, limit = PAGE) {
    const log = this._logs.get(id);
    if (!log?.hasOlder) return [];
    const page = await this._api("GET", `${API2}/${encodeURIComponent(id)}/messages?before=${(log.floor ?? 0) + 1}&limit=${limit}`);
    const added = log.addOlder(page.messages);
    this.emit("history", { conversationId: id, messages: added, hasOlder: log.hasOlder });
    return added;
  }
  /**
   * Replies; the first reply to a waiting conversation assigns it. Resolves on the ack.
   * @param {string} conversationId
   * @param {string} text
   * @returns {Promise<Message>}
   */
  send(conversationId, text) {
    const body = String(text ?? "");
    if (!body.trim()) return Promise.reject(new PorchError({ code: "invalid_request", message: "a message needs some text" }));
    const { entry, acked } = this._sends.add(body, conversationId);
    this._conn?.send({ type: "send", conversationId, clientMessageId: entry.clientMessageId, text: body });
    this._typingOut.get(conversationId)?.reset();
    return acked;
  }
  /**
   * Sends a file into a conversation of the agent's queues (docs/attachments.md); the first
   * one to a waiting conversation assigns it, as a reply does. Resolves with its message.
   * @param {string} conversationId @param {Blob & {name?: string}} file
   * @param {import('./porch.js').AttachOptions} [options] @returns {Promise<Message>}
   */
  attach(conversationId, file, options) {
    return attach(attachTarget(this, conversationId), file, options);
  }
  /** A short-lived URL reading an attachment of a conversation. @param {string} conversationId @param {string} attachmentId */
  attachmentUrl(conversationId, attachmentId) {
    return attachmentUrl(attachTarget(this, conversationId), attachmentId);
  }
  /** @param {string} conversationId */
  typing(conversationId) {
    let throttle = this._typingOut.get(conversationId);
    if (!throttle) this._typingOut.set(conversationId, throttle = new TypingThrottle(this._opt.typingIntervalMs));
    if (this.state === "open" && throttle.take()) this._conn?.send({ type: "typing", conversationId });
  }
  /** @param {string} conversationId @param {number} seq */
  markRead(conversationId, seq) {
    if (seq > 0) this._conn?.send({ type: "read", conversationId, seq });
  }
  /** Takes a conversation (`POST …/assign`). Resolves with the updated conversation. */
  /** @param {string} id @returns {Promise<Conversation>} */
  assign(id) {
    return this._action(id, "assign");
  }
  /**
   * Closes a conversation (`POST …/close`): the guest sees an entry with `event: closed`.
   * `wrapUp` is one of the deployment's wrap-up codes, required when it has a list (routing.md).
   * @param {string} id @param {{ wrapUp?: string }} [options] @returns {Promise<Conversation>}
   */
  close(id, { wrapUp } = {}) {
    return this._action(id, "close", wrapUp === void 0 ? void 0 : { wrapUp });
  }
  /**
   * Transfers a conversation the agent holds to another agent of its queue (`agentId`) or to
   * another queue (`queue`), with an internal `note` only agents read (`POST …/transfer`).
   * @param {string} id @param {{ agentId?: string, queue?: string, note?: string }} target
   * @returns {Promise<Conversation>}
   */
  transfer(id, { agentId, queue, note } = {}) {
    return this._action(id, "transfer", { agentId, queue, note });
  }
  /** Puts a conversation the agent holds back in its queue (`POST …/unassign`). */
  /** @param {string} id @returns {Promise<Conversation>} */
  unassign(id) {
    return this._action(id, "unassign");
  }
  // Routing (docs/routing.md) and what the console shows beside the chat: `agent-extras.js`.
  /** The live offers to this agent, the one that runs out first first. */
  get offers() {
    return this._offers.list;
  }
  /** `GET /api/v2/agent/status`: status, capacity and load. */
  routing() {
    return routing(this);
  }
  /** `PUT /api/v2/agent/status`. @param {'available' | 'away'} status */
  setStatus(status) {
    return setStatus(this, status);
  }
  /** Resolves once the conversation is the agent's. @param {string} conversationId @returns {Promise<void>} */
  accept(conversationId) {
    return this._offers.answer("accept", conversationId);
  }
  /** The offer goes to the next agent. @param {string} conversationId @returns {Promise<void>} */
  decline(conversationId) {
    return this._offers.answer("decline", conversationId);
  }
  /** @param {{q?: string, state?: string, before?: string, limit?: number}} [options] */
  search(options) {
    return search(this, options);
  }
  /** @param {string} conversationId */
  visitor(conversationId) {
    return visitor(this, conversationId);
  }
  /** @param {string} conversationId @param {{before?: string, limit?: number}} [options] */
  customerConversations(conversationId, options) {
    return customerConversations(this, conversationId, options);
  }
  /** @param {string} conversationId */
  cannedReplies(conversationId) {
    return cannedReplies(this, conversationId);
  }
  /** @param {import('./porch.js').AgentStatus} status */
  _setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.emit("status", { status });
  }
  end() {
    this._ended = true;
    this._refresh.clear();
    this._typingIn.clear();
    this._offers.clear();
    this._conn?.stop("the agent left");
    this._sends.rejectAll(new PorchError({ code: "ended", message: "the console was closed (end() was called)" }));
  }
  /** @param {string} id @param {'assign' | 'close' | 'transfer' | 'unassign'} verb @param {object} [json] */
  _action(id, verb, json) {
    return action(this, id, verb, json);
  }
  /** @param {any} frame the `ready` frame (protocol.md) */
  _onReady(frame) {
    const fresh = new Map((frame.conversations ?? []).map((c) => [c.id, c]));
    for (const [id, old] of this._summaries) {
      if (!fresh.has(id) && this._logs.has(id)) fresh.set(id, old);
    }
    this._summaries = fresh;
    this._refresh.schedule(frame.tokenExpiresInMs);
    this.moreConversations = frame.moreConversations === true;
    this._offers.clear();
    this.emit("ready", { conversations: this.conversations, moreConversations: this.moreConversations });
    this.emit("conversations", { conversations: this.conversations });
    for (const id of this._logs.keys()) this._fill(id);
    for (const e of this._sends.list()) {
      this._conn?.send({ type: "send", conversationId: e.conversationId, clientMessageId: e.clientMessageId, text: e.text });
    }
    this._startWaiter?.resolve(this);
    this._startWaiter = null;
  }
  /** @param {any} frame a frame of protocol.md (`agent-frames.js`) */
  _onFrame(frame) {
    onFrame(this, frame);
  }
  /** @param {Message | undefined} message */
  _onMessage(message) {
    if (!message) return;
    const id = message.conversationId;
    const summary = this._summaries.get(id);
    if (summary && message.seq > (summary.lastSeq ?? 0)) {
      this._upsert({ ...summary, lastSeq: message.seq, updatedAtMs: message.createdAtMs ?? summary.updatedAtMs, lastMessage: lastMessageOf(message) });
    }
    const log = this._logs.get(id);
    if (!log) return;
    this._release(id, log.insert(message));
    if (log.hasGap) this._fill(id);
  }
  /** @param {string} id @param {Message[]} messages */
  _release(id, messages) {
    for (const m of messages) {
      if (m.sender?.id === this.agentId && m.clientMessageId) this._sends.settle(m.clientMessageId, m);
      if (m.sender?.id) this._typingIn.stop(`${id} ${m.sender.id}`);
      if (m.event === "closed") this._upsert(
        /** @type {Conversation} */
        { ...this._summaries.get(id) ?? { id }, state: "closed" }
      );
      this.emit("message", { conversationId: id, message: m });
    }
  }
  /** @param {Conversation | undefined} conversation */
  _upsert(conversation) {
    if (!conversation?.id) return;
    const old = this._summaries.get(conversation.id);
    const merged = { ...old, ...conversation, lastSeq: Math.max(old?.lastSeq ?? 0, conversation.lastSeq ?? 0) };
    this._summaries.set(conversation.id, merged);
    this.emit("conversation", merged);
    this.emit("conversations", { conversations: this.conversations });
  }
  /** Pages a followed conversation forward from its lastSeq until nothing is missing. @param {string} id @returns {Promise<void>} */
  _fill(id) {
    return fill2(this, id);
  }
  /** @param {PorchError} error */
  _onConnectionError(error) {
    if (error.fatal) {
      this._startWaiter?.reject(error);
      this._startWaiter = null;
    }
    this.emit("error", error);
  }
  /** @param {string} method @param {string} path @param {object} [json] @returns {Promise<any>} */
  _api(method, path, json) {
    return request(this._fetch, this._baseUrl, method, path, { token: this.session.accessToken, json });
  }
};
export {
  API_VERSION,
  CLOSE_REASON_BYTES_MAX,
  ERRORS,
  LIMITS,
  MARKER,
  Outbox,
  PATHS,
  PROTOCOL_MARKER,
  PorchAgent,
  PorchError,
  PorchGuest,
  RECONNECT_RULES,
  SeqLog,
  backoffDelay,
  classifyClose,
  defaultStorage,
  memoryStorage,
  newClientMessageId,
  parseReason,
  reconnectDelay,
  refreshDelay,
  sessionRetryDelay
};
//# sourceMappingURL=porch.esm.js.map
